-- Compact records (docs/capacity.md). New writes keep a record's values in `packed`, the
-- binary form of idnode_core::packed (~170 bytes for five short values against ~720 as JSON
-- text); `vals` stays for rows written before and is read when `packed` is NULL. `handle` is
-- NULL when it equals `folded` (a lower-case identifier is kept once).
ALTER TABLE handles
    ALTER COLUMN handle DROP NOT NULL,
    ALTER COLUMN vals DROP NOT NULL,
    ADD COLUMN packed BYTEA,
    ADD COLUMN created_in BIGINT;

-- A run of creates is one history row: handle '', the created names in `names`, and each
-- created handle points at it (`handles.created_in`). When such a handle is deleted, its
-- create is copied to a row of its own with `orig` = the run's id, so its history outlives
-- it; change feeds (`history_range`) skip those copies. Values before and after a change are
-- packed like records; updates no longer keep the values after (the next row's before, or
-- the current record).
ALTER TABLE history
    ADD COLUMN names BYTEA,
    ADD COLUMN orig BIGINT,
    ADD COLUMN packed_before BYTEA,
    ADD COLUMN packed_after BYTEA;
