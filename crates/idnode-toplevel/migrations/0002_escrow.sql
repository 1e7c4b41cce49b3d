-- Escrow intake, report intake and the IIIDAP bootstrap registry.

-- The node's escrow signing key (ASCII-armored OpenPGP public key).
ALTER TABLE clients ADD COLUMN escrow_key TEXT;

-- Each deposit received and what its verification found: DVPN (passed) or DVFN (failed).
CREATE TABLE deposits (
    client      TEXT    NOT NULL REFERENCES clients (id),
    id          TEXT    NOT NULL,
    resend      INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    watermark   INTEGER NOT NULL,
    prev_id     TEXT,
    status      TEXT    NOT NULL CHECK (status IN ('DVPN', 'DVFN')),
    detail      TEXT    NOT NULL,
    counts      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (client, id, resend)
);

-- Deposit reports (PUT again with the same id overwrites).
CREATE TABLE reports (
    prefix      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    watermark   INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (prefix, id)
);

-- Statistics reports (JSON).
CREATE TABLE statistics (
    prefix      TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (prefix, period)
);

-- IIIDAP base URLs published by each node.
CREATE TABLE bootstrap (
    prefix      TEXT    PRIMARY KEY,
    urls        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
