-- Nothing to do on SQLite: migration 0020 on PostgreSQL makes the record-time index a B-tree
-- again; on SQLite it always was one.
SELECT 1;
