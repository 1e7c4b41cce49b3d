-- Each event's row holds its identifier keys (`keys`, a JSON array of `[role, key]`); the
-- events of one trace step are the event itself and the other events with its
-- transformationID (the new partial index). The link of every key row, its index and
-- epcis_links are gone (PostgreSQL's migration 0018 has the measurements).
ALTER TABLE epcis_events ADD COLUMN keys TEXT NOT NULL DEFAULT '[]';
UPDATE epcis_events SET keys = (
    SELECT json_group_array(json_array(role, key))
    FROM (SELECT role, key FROM epcis_keys k WHERE k.event = epcis_events.id ORDER BY role, key)
) WHERE id IN (SELECT event FROM epcis_keys);
CREATE INDEX epcis_events_transformation ON epcis_events (transformation_id)
    WHERE transformation_id IS NOT NULL;
DROP INDEX epcis_keys_link;
ALTER TABLE epcis_keys DROP COLUMN link;
DROP TABLE epcis_links;
