-- The audit log (issue 15): every committed write batch (identifiers, secrets, prefixes,
-- enterprises, templates, tokens, operator actions on the outbox) appends one entry in the
-- same transaction: who (`actor`), from where (`origin`, the client address; '' when not
-- over the network), when (`at`, unix ms), what (`action`, `target`), digests of the state
-- before and after, and the hash chain: `hash` = H(`prev` || the entry's canonical form)
-- with H named by `alg` ('sm3', or 'sha256'). Entries are numbered 1, 2, 3… without gaps.
-- `audit_head` holds the last entry's number and hash: appending locks its one row, so
-- concurrent batches chain one after another. `idnode audit verify` walks the chain.
CREATE TABLE audit_log (
    seq    INTEGER NOT NULL PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    origin TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before BLOB NOT NULL,
    after  BLOB NOT NULL,
    alg    TEXT NOT NULL,
    prev   BLOB NOT NULL,
    hash   BLOB NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
