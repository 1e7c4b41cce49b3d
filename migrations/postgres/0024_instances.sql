-- Leases: which instance sharing this database does a job only one may do at a time
-- (deliver the outbox, poll reviews, deposit escrow, send reports, deliver webhooks). A
-- holder renews its lease before it runs out; another instance takes it once it has.
CREATE TABLE leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
-- Fingerprints of the node's keys (the secret sealing key, the Handle server key), recorded
-- by the first instance: another instance without the same key refuses to start, where it
-- would once have made a key of its own.
CREATE TABLE node_keys (
    name          TEXT    NOT NULL PRIMARY KEY,
    fingerprint   BYTEA   NOT NULL,
    recorded_at   BIGINT  NOT NULL
);
