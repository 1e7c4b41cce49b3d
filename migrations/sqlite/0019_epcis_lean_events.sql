-- As on PostgreSQL (migration 0019 there): an event without an eventID of its own holds ''
-- as event_id instead of its hash ID a second time, `own_id` goes, and error declarations
-- are looked up by the eventID both ways (the expression is `Dialect::event_id` in
-- idnode-store-sqlite, and must stay the same). The record-time index stays a B-tree
-- (SQLite has no BRIN).
UPDATE epcis_events SET event_id = '' WHERE own_id = 0;
DROP INDEX epcis_events_id;
DROP INDEX epcis_events_declared;
ALTER TABLE epcis_events DROP COLUMN own_id;
CREATE INDEX epcis_events_id ON epcis_events (event_id) WHERE event_id <> '';
CREATE INDEX epcis_events_declared ON epcis_events ((CASE WHEN event_id = '' THEN
    'ni:///sha-256;' || lower(hex(hash)) || '?ver=CBV2.0' ELSE event_id END), owner)
    WHERE declares_error = 1;
