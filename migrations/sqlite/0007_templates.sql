-- Metadata templates: one row per (prefix, version); the definition is idnode-template's
-- JSON. `used` turns 1 with the first identifier written against the version, after which
-- it can no longer change or be deleted.
CREATE TABLE templates (
    prefix      TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (prefix, version)
) WITHOUT ROWID;

-- Who changed which template when.
CREATE TABLE template_history (
    id      INTEGER PRIMARY KEY,
    prefix  TEXT    NOT NULL,
    version TEXT    NOT NULL,
    action  TEXT    NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor   TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    body    TEXT
);
CREATE INDEX template_history_key ON template_history (prefix, version, id);

-- Values of template items declared unique: one holder each within the prefix.
CREATE TABLE unique_values (
    prefix  TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    value   TEXT    NOT NULL,
    handle  TEXT    NOT NULL,
    PRIMARY KEY (prefix, idx, value)
) WITHOUT ROWID;
CREATE INDEX unique_values_handle ON unique_values (handle);
