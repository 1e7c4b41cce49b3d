-- Capture pays for every index entry of every event (issue 14: capture throughput). Replayed
-- by COPY on this machine (111,100 events of the generated genealogy, two runs each),
-- PostgreSQL's side of a capture went from 19.1-19.5 to 17.0 us per event with these:
-- - The bizStep, bizLocation and readPoint indexes held a NULL entry for every event without
--   the field. No query looks for a missing one: each filters with `IN (…)`, and the lists of
--   values with `IS NOT NULL`, both of which the partial indexes answer.
-- - epcis_keys is looked up by key only for equality (a frontier of a trace, MATCH_ filters:
--   `key IN (…)`), never by range: a hash index holds a 4-byte hash code per row where the
--   primary key's B-tree held the whole key, and an insert goes to its bucket without
--   comparing keys on the way. Its uniqueness was never needed: the rows of an event are
--   written once, with the event, and the node writes each (key, role) of an event once.
DROP INDEX epcis_events_step;
DROP INDEX epcis_events_location;
DROP INDEX epcis_events_read_point;
CREATE INDEX epcis_events_step ON epcis_events (biz_step) WHERE biz_step IS NOT NULL;
CREATE INDEX epcis_events_location ON epcis_events (biz_location) WHERE biz_location IS NOT NULL;
CREATE INDEX epcis_events_read_point ON epcis_events (read_point) WHERE read_point IS NOT NULL;
ALTER TABLE epcis_keys DROP CONSTRAINT epcis_keys_pkey;
CREATE INDEX epcis_keys_key ON epcis_keys USING hash (key);
