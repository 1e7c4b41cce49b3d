-- The event hash ID (`ni:///sha-256;<64 hex>?ver=CBV2.0`, 89 characters) is held as the 32
-- bytes of its digest: the unique index every capture inserts into holds a third of the
-- bytes, and a B-tree comparison is one memcmp (issue 14: capture throughput; replayed by
-- COPY, PostgreSQL's side of a capture went from 0.243-0.248 to 0.233-0.278 of `\copy`, a
-- noisy gain that the capture benchmark measured together with the rest).
-- `own_id` is 1 for an event whose eventID is its own (not its hash ID): only those are in
-- the eventID index (migration 0012 compared event_id with the hash text for that).
ALTER TABLE epcis_events ADD COLUMN own_id BIGINT NOT NULL DEFAULT 0;
UPDATE epcis_events SET own_id = 1 WHERE event_id <> hash;
DROP INDEX epcis_events_id;
DROP INDEX epcis_events_hash;
-- Every stored hash was written by the node in this form; any other text makes decode()
-- fail and the migration stop, changing nothing.
ALTER TABLE epcis_events ALTER COLUMN hash TYPE BYTEA
    USING decode(substr(hash, 15, 64), 'hex');
CREATE UNIQUE INDEX epcis_events_hash ON epcis_events (hash, owner, declares_error);
CREATE INDEX epcis_events_id ON epcis_events (event_id) WHERE own_id = 1;
