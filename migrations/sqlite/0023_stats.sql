-- Statistics per day and prefix: 'created', 'updated', 'deleted' (counted in the write's own
-- transaction from its history rows) and 'resolutions.<front end>.<outcome>' (flushed from
-- the running node every minute); distinct clients per day and prefix as HyperLogLog
-- registers (2,048 bytes), merged by taking each register's maximum.
CREATE TABLE stats (
    day     TEXT    NOT NULL,
    prefix  TEXT    NOT NULL,
    metric  TEXT    NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (day, prefix, metric)
) WITHOUT ROWID;
CREATE TABLE stats_clients (
    day     TEXT    NOT NULL,
    prefix  TEXT    NOT NULL,
    sketch  BLOB    NOT NULL,
    PRIMARY KEY (day, prefix)
) WITHOUT ROWID;
