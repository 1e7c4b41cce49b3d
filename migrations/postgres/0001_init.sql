-- idnode schema, PostgreSQL flavour. Times are unix milliseconds.

CREATE TABLE enterprises (
    id          BIGINT  PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  BIGINT  NOT NULL
);

CREATE TABLE prefixes (
    prefix        TEXT   PRIMARY KEY,
    enterprise_id BIGINT REFERENCES enterprises (id),
    status        TEXT   NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at    BIGINT NOT NULL
);
CREATE INDEX prefixes_enterprise ON prefixes (enterprise_id);

-- One row per identifier; vals is the JSON array of its values (REST form).
CREATE TABLE handles (
    handle      TEXT   PRIMARY KEY,
    folded      TEXT   NOT NULL UNIQUE,
    prefix      TEXT   NOT NULL,
    vals        JSONB  NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX handles_prefix ON handles (prefix, handle);

CREATE TABLE history (
    id          BIGSERIAL PRIMARY KEY,
    handle      TEXT   NOT NULL,
    action      TEXT   NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor       TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    vals_before JSONB,
    vals_after  JSONB
);
CREATE INDEX history_handle ON history (handle, id);

-- Secret keys are kept only as salted hashes, never as values.
CREATE TABLE secrets (
    handle      TEXT    NOT NULL,
    idx         BIGINT  NOT NULL,
    alg         TEXT    NOT NULL,
    salt        BYTEA   NOT NULL,
    iterations  BIGINT  NOT NULL,
    hash        BYTEA   NOT NULL,
    PRIMARY KEY (handle, idx)
);

CREATE TABLE idempotency (
    actor        TEXT   NOT NULL,
    key          TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    status       INT    NOT NULL,
    body         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (actor, key)
);
