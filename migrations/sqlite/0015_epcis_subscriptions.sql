-- EPCIS query subscriptions (`POST /epcis/queries/{name}/subscriptions`): webhooks. A
-- subscription belongs to the owner of its query and reads as `actor`, who made it (what
-- that enterprise may read when it is delivered). `secret` is the signatureToken sealed
-- with the node's sealing key (hex; '' when none was given): deliveries are signed with
-- HMAC-SHA256 under it. `stream` = 1: every capture is delivered as it is stored;
-- otherwise `schedule` (JSON) says when, and each run delivers the events recorded from
-- `min_record_time` on. `next_run` is when a scheduled subscription runs next.
CREATE TABLE epcis_subscriptions (
    id               TEXT NOT NULL PRIMARY KEY,
    owner            INTEGER NOT NULL,
    query_name       TEXT NOT NULL,
    actor            TEXT NOT NULL,
    dest             TEXT NOT NULL,
    secret           TEXT NOT NULL,
    stream           INTEGER NOT NULL,
    schedule         TEXT NOT NULL,
    report_if_empty  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    min_record_time  INTEGER NOT NULL,
    next_run         INTEGER NOT NULL,
    last_notified_at INTEGER
);
CREATE INDEX epcis_subscriptions_query ON epcis_subscriptions (owner, query_name);

-- What is still to deliver: a capture to a stream subscription (a row written in the
-- capture's own transaction, so a stored capture is never lost to its subscribers), or a
-- scheduled run (capture 0). `attempts` failed so far, the next at `next_at` (ms).
CREATE TABLE epcis_deliveries (
    subscription TEXT NOT NULL,
    capture      INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    error        TEXT NOT NULL,
    PRIMARY KEY (subscription, capture)
);
CREATE INDEX epcis_deliveries_due ON epcis_deliveries (next_at);
