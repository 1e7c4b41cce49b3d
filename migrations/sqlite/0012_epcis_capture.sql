-- epcis_keys_event served no query (keys are looked up by key or by link) and was paid on
-- every key captured. (PostgreSQL's migration 0012 also drops the foreign keys of events
-- and keys, which SQLite cannot drop without rebuilding the tables, and indexes eventIDs
-- only; SQLite keeps both.)
DROP INDEX epcis_keys_event;
