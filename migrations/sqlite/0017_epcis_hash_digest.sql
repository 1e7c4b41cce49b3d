-- The event hash ID (`ni:///sha-256;<64 hex>?ver=CBV2.0`) is held as the 32 bytes of its
-- digest (a BLOB; SQLite keeps a BLOB as it is in a column of any affinity), as on
-- PostgreSQL (migration 0017 there). `own_id` is 1 for an event whose eventID is its own
-- (not its hash ID): only those are in the eventID index.
ALTER TABLE epcis_events ADD COLUMN own_id INTEGER NOT NULL DEFAULT 0;
UPDATE epcis_events SET own_id = 1 WHERE event_id <> hash;
DROP INDEX epcis_events_id;
UPDATE epcis_events SET hash = unhex(substr(hash, 15, 64));
CREATE INDEX epcis_events_id ON epcis_events (event_id) WHERE own_id = 1;
