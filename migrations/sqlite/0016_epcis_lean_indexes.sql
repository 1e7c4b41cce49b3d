-- The bizStep, bizLocation and readPoint indexes held an entry for every event without the
-- field; no query looks for a missing one (each filters with `IN (…)`, the lists of values
-- with `IS NOT NULL`, which the partial indexes answer). PostgreSQL's migration 0016 also
-- replaces the key index by a hash index, which SQLite does not have.
DROP INDEX epcis_events_step;
DROP INDEX epcis_events_location;
DROP INDEX epcis_events_read_point;
CREATE INDEX epcis_events_step ON epcis_events (biz_step) WHERE biz_step IS NOT NULL;
CREATE INDEX epcis_events_location ON epcis_events (biz_location) WHERE biz_location IS NOT NULL;
CREATE INDEX epcis_events_read_point ON epcis_events (read_point) WHERE read_point IS NOT NULL;
