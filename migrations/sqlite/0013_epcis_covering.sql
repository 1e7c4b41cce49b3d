-- PostgreSQL's migration 0013 makes the trace walk's indexes covering. Here epcis_keys is a
-- WITHOUT ROWID table: its primary key holds every column, and epcis_keys_link holds the
-- primary key's columns, so both are covering already. Nothing to change.
SELECT 1;
