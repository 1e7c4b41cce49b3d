-- The audit log (issue 15): every committed write batch (identifiers, secrets, prefixes,
-- enterprises, templates, tokens, operator actions on the outbox) appends one entry in the
-- same transaction: who (`actor`), from where (`origin`, the client address; '' when not
-- over the network), when (`at`, unix ms), what (`action`, `target`), digests of the state
-- before and after, and the hash chain: `hash` = H(`prev` || the entry's canonical form)
-- with H named by `alg` ('sm3', or 'sha256'). Entries are numbered 1, 2, 3… without gaps.
-- `audit_head` holds the last entry's number and hash: appending locks its one row, so
-- concurrent batches chain one after another. `idnode audit verify` walks the chain.
CREATE TABLE audit_log (
    seq    BIGINT NOT NULL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT COLLATE "C" NOT NULL,
    origin TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    before BYTEA NOT NULL,
    after  BYTEA NOT NULL,
    alg    TEXT COLLATE "C" NOT NULL,
    prev   BYTEA NOT NULL,
    hash   BYTEA NOT NULL
);
CREATE TABLE audit_head (
    id   BIGINT NOT NULL PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
