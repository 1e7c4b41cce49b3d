-- The record-time index is a B-tree again (it was made a BRIN index by migration 0019).
-- Results are ordered by id; with only a BRIN index on record_time, PostgreSQL answered
-- `GE_recordTime` for the last capture (1,100 of 111,100 events, `LIMIT 100`) by walking the
-- primary key and filtering every older row out: 33 ms there, and a walk of the whole table
-- for a recent time on a big one (the scheduled subscriptions ask exactly that). With the
-- B-tree: 1 ms (index scan of the 1,100 rows, top-N sort). The capture pays an entry per
-- event for it (measured with BRIN: 4-7% more events/s).
DROP INDEX epcis_events_record;
CREATE INDEX epcis_events_record ON epcis_events (record_time, id);
