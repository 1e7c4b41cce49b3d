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

-- One row per identifier, keyed by its lower-cased form so that two handles differing only
-- by case cannot coexist; look-ups match folded and the exact handle. Listing a prefix is a
-- range of the key ('p/' <= folded < 'p0', byte order). vals is the JSON array of the values
-- as text: idnode never queries inside it, and text costs no parsing on write or read
-- (cast to jsonb for ad-hoc queries).
CREATE TABLE handles (
    folded      TEXT COLLATE "C" PRIMARY KEY,
    handle      TEXT   NOT NULL,
    vals        TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One row per change. A create keeps no copy of its values: they are the next row's
-- vals_before, or the current record.
CREATE TABLE history (
    id          BIGSERIAL,
    handle      TEXT COLLATE "C" NOT NULL,
    action      TEXT   NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor       TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    vals_before TEXT,
    vals_after  TEXT,
    PRIMARY KEY (handle, id)
);

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
