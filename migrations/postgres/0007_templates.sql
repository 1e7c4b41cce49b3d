-- Metadata templates: one row per (prefix, version); the definition is idnode-template's
-- JSON. `used` turns 1 with the first identifier written against the version, after which
-- it can no longer change or be deleted.
CREATE TABLE templates (
    prefix      TEXT COLLATE "C" NOT NULL,
    version     TEXT COLLATE "C" NOT NULL,
    body        TEXT     NOT NULL,
    used        BIGINT   NOT NULL DEFAULT 0,
    created_at  BIGINT   NOT NULL,
    updated_at  BIGINT   NOT NULL,
    PRIMARY KEY (prefix, version)
);

-- Who changed which template when.
CREATE TABLE template_history (
    id      BIGSERIAL PRIMARY KEY,
    prefix  TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    action  TEXT   NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor   TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    body    TEXT
);
CREATE INDEX template_history_key ON template_history (prefix, version, id);

-- Values of template items declared unique: one holder each within the prefix.
CREATE TABLE unique_values (
    prefix  TEXT COLLATE "C" NOT NULL,
    idx     BIGINT NOT NULL,
    value   TEXT COLLATE "C" NOT NULL,
    handle  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (prefix, idx, value)
);
CREATE INDEX unique_values_handle ON unique_values (handle);
