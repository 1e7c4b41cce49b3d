-- Capture at bulk-load speed (issue 14): events and keys are written by COPY, and every
-- constraint and index below was paid on every event captured for little use.
-- - The foreign keys of events (to their capture) and of keys (to their event) ran one
--   trigger query per row; events and their keys are written only together, by the capture
--   that owns them, in one transaction, and never deleted.
-- - epcis_keys_event served no query (keys are looked up by key or by link).
-- - epcis_events_id indexed the hash a second time for every event without an eventID
--   (its event_id is its hash): a random key per event. It now holds eventIDs only; the
--   queries look an event up by `event_id <> hash AND event_id = $1` or by its hash.
ALTER TABLE epcis_keys DROP CONSTRAINT epcis_keys_event_fkey;
ALTER TABLE epcis_events DROP CONSTRAINT epcis_events_capture_fkey;
DROP INDEX epcis_keys_event;
DROP INDEX epcis_events_id;
CREATE INDEX epcis_events_id ON epcis_events (event_id) WHERE event_id <> hash;
