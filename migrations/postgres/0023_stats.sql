-- Statistics per day and prefix: 'created', 'updated', 'deleted' (counted in the write's own
-- transaction from its history rows) and 'resolutions.<front end>.<outcome>' (flushed from
-- the running node every minute); distinct clients per day and prefix as HyperLogLog
-- registers (2,048 bytes), merged by taking each register's maximum.
CREATE TABLE stats (
    day     TEXT    COLLATE "C" NOT NULL,
    prefix  TEXT    COLLATE "C" NOT NULL,
    metric  TEXT    COLLATE "C" NOT NULL,
    value   BIGINT  NOT NULL,
    PRIMARY KEY (day, prefix, metric)
);
CREATE TABLE stats_clients (
    day     TEXT    COLLATE "C" NOT NULL,
    prefix  TEXT    COLLATE "C" NOT NULL,
    sketch  BYTEA   NOT NULL,
    PRIMARY KEY (day, prefix)
);
