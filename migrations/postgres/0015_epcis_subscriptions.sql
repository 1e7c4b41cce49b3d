-- EPCIS query subscriptions (`POST /epcis/queries/{name}/subscriptions`): webhooks. A
-- subscription belongs to the owner of its query and reads as `actor`, who made it (what
-- that enterprise may read when it is delivered). `secret` is the signatureToken sealed
-- with the node's sealing key (hex; '' when none was given): deliveries are signed with
-- HMAC-SHA256 under it. `stream` = 1: every capture is delivered as it is stored;
-- otherwise `schedule` (JSON) says when, and each run delivers the events recorded from
-- `min_record_time` on. `next_run` is when a scheduled subscription runs next.
CREATE TABLE epcis_subscriptions (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner            BIGINT NOT NULL,
    query_name       TEXT COLLATE "C" NOT NULL,
    actor            TEXT COLLATE "C" NOT NULL,
    dest             TEXT COLLATE "C" NOT NULL,
    secret           TEXT COLLATE "C" NOT NULL,
    stream           BIGINT NOT NULL,
    schedule         TEXT COLLATE "C" NOT NULL,
    report_if_empty  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    min_record_time  BIGINT NOT NULL,
    next_run         BIGINT NOT NULL,
    last_notified_at BIGINT
);
CREATE INDEX epcis_subscriptions_query ON epcis_subscriptions (owner, query_name);

-- What is still to deliver: a capture to a stream subscription (a row written in the
-- capture's own transaction, so a stored capture is never lost to its subscribers), or a
-- scheduled run (capture 0). `attempts` failed so far, the next at `next_at` (ms).
CREATE TABLE epcis_deliveries (
    subscription TEXT COLLATE "C" NOT NULL,
    capture      BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    error        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (subscription, capture)
);
CREATE INDEX epcis_deliveries_due ON epcis_deliveries (next_at);
