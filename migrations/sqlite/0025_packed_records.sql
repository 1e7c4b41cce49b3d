-- Compact records (docs/capacity.md). New writes keep a record's values in `packed`, the
-- binary form of idnode_core::packed (~170 bytes for five short values against ~720 as JSON
-- text); `vals` stays for rows written before and is read when `packed` is NULL. `handle` is
-- NULL when it equals `folded` (a lower-case identifier is kept once). SQLite cannot drop
-- NOT NULL in place: the table is rebuilt.
CREATE TABLE handles_packed (
    folded      TEXT    PRIMARY KEY,
    handle      TEXT,
    vals        TEXT,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    packed      BLOB,
    created_in  INTEGER
) WITHOUT ROWID;
INSERT INTO handles_packed (folded, handle, vals, version, created_at, updated_at)
    SELECT folded, handle, vals, version, created_at, updated_at FROM handles;
DROP TABLE handles;
ALTER TABLE handles_packed RENAME TO handles;

-- A run of creates is one history row: handle '', the created names in `names`, and each
-- created handle points at it (`handles.created_in`). When such a handle is deleted, its
-- create is copied to a row of its own with `orig` = the run's id, so its history outlives
-- it; change feeds (`history_range`) skip those copies. Values before and after a change are
-- packed like records; updates no longer keep the values after (the next row's before, or
-- the current record).
ALTER TABLE history ADD COLUMN names BLOB;
ALTER TABLE history ADD COLUMN orig INTEGER;
ALTER TABLE history ADD COLUMN packed_before BLOB;
ALTER TABLE history ADD COLUMN packed_after BLOB;
