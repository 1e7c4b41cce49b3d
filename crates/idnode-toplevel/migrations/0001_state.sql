-- State of the top-level node stand-in. Times are unix milliseconds.

-- Secondary nodes allowed to log in: their EPP client id, password hash and prefix.
CREATE TABLE clients (
    id          TEXT    PRIMARY KEY,
    prefix      TEXT    NOT NULL UNIQUE,
    pw_alg      TEXT    NOT NULL,
    pw_salt     BLOB    NOT NULL,
    pw_iter     INTEGER NOT NULL,
    pw_hash     BLOB    NOT NULL
);

CREATE TABLE enterprises (
    ent_id      TEXT    PRIMARY KEY,
    client      TEXT    NOT NULL REFERENCES clients (id),
    credit_code TEXT    NOT NULL,
    profile     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX enterprises_code ON enterprises (client, credit_code);

-- Enterprise prefix applications and their review.
CREATE TABLE prefixes (
    prefix      TEXT    PRIMARY KEY,
    client      TEXT    NOT NULL REFERENCES clients (id),
    ent_id      TEXT    NOT NULL REFERENCES enterprises (ent_id),
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    note        TEXT    NOT NULL DEFAULT '',
    cl_trid     TEXT    NOT NULL,
    sv_trid     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    reviewed_at INTEGER
);

-- Identifier objects (prefixes with their sites, and identifiers), JSON of IdentifierObject.
CREATE TABLE identifiers (
    name        TEXT    PRIMARY KEY,
    client      TEXT    NOT NULL REFERENCES clients (id),
    object      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The poll queue: review results per client, until acknowledged.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    client      TEXT    NOT NULL REFERENCES clients (id),
    review      TEXT    NOT NULL,
    queued_at   INTEGER NOT NULL,
    acked_at    INTEGER
);

-- Every transform command applied, with its response: a command repeated with the same
-- clTRID (a redelivery) is answered from here and not applied again.
CREATE TABLE transactions (
    client      TEXT    NOT NULL,
    cl_trid     TEXT    NOT NULL,
    command     TEXT    NOT NULL,
    object      TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    code        INTEGER NOT NULL,
    response    TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    replays     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (client, cl_trid)
);
