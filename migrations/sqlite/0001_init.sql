-- idnode schema, SQLite flavour. Times are unix milliseconds.

CREATE TABLE enterprises (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE prefixes (
    prefix        TEXT    PRIMARY KEY,
    enterprise_id INTEGER REFERENCES enterprises (id),
    status        TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at    INTEGER NOT NULL
);
CREATE INDEX prefixes_enterprise ON prefixes (enterprise_id);

-- One row per identifier, keyed by its lower-cased form so that two handles differing only
-- by case cannot coexist; look-ups match folded and the exact handle. Listing a prefix is a
-- range of the key ('p/' <= folded < 'p0'). vals is the JSON array of the values (REST form).
CREATE TABLE handles (
    folded      TEXT    PRIMARY KEY,
    handle      TEXT    NOT NULL,
    vals        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per change. A create keeps no copy of its values: they are the next row's
-- vals_before, or the current record.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    handle      TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    vals_before TEXT,
    vals_after  TEXT
);
CREATE INDEX history_handle ON history (handle, id);

-- Secret keys are kept only as salted hashes, never as values.
CREATE TABLE secrets (
    handle      TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    alg         TEXT    NOT NULL,
    salt        BLOB    NOT NULL,
    iterations  INTEGER NOT NULL,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (handle, idx)
);

CREATE TABLE idempotency (
    actor        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
);
