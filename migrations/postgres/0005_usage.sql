-- Per-day usage counters for the statistics reports: resolutions by front end
-- ('resolutions.http', 'resolutions.handle', 'resolutions.dns') and seconds served
-- ('uptime_seconds'), flushed from the running node every minute.
CREATE TABLE usage (
    day     TEXT    NOT NULL,
    metric  TEXT    NOT NULL,
    value   BIGINT  NOT NULL,
    PRIMARY KEY (day, metric)
);
