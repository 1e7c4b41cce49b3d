-- EPCIS 2.0 events (issue 14). A capture job per document or event posted; events are
-- immutable. `hash` is the CBV 2.0 event hash ID: an owner stores one event once (an event
-- that declares an error in an earlier one has the same hash and is kept beside it,
-- flagged). `event_id` is the eventID, or the hash when the event has none; eventIDs are not
-- unique (GS1's own examples reuse them), `GET /events/{eventID}` answers every event
-- with it. An error declaration retracts its owner's events with its eventID. `owner` is the
-- capturing enterprise, 0 the operator: per owner, so a capture never learns of, collides
-- with or retracts another enterprise's events. `rollback` is the capture's error behaviour;
-- `not_stored` (JSON) lists the events refused or found captured already.
CREATE TABLE epcis_captures (
    id          INTEGER PRIMARY KEY,
    owner       INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    rollback    INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    stored      INTEGER NOT NULL,
    not_stored  TEXT    NOT NULL,
    context     TEXT    NOT NULL
);

CREATE TABLE epcis_events (
    id                INTEGER PRIMARY KEY,
    owner             INTEGER NOT NULL,
    capture           INTEGER NOT NULL REFERENCES epcis_captures (id),
    hash              TEXT    NOT NULL,
    event_id          TEXT    NOT NULL,
    declares_error    INTEGER NOT NULL,
    event_type        TEXT    NOT NULL,
    event_time        INTEGER NOT NULL,
    record_time       INTEGER NOT NULL,
    action            TEXT,
    biz_step          TEXT,
    disposition       TEXT,
    read_point        TEXT,
    biz_location      TEXT,
    transformation_id TEXT,
    body              TEXT    NOT NULL
);
CREATE UNIQUE INDEX epcis_events_hash ON epcis_events (hash, owner, declares_error);
CREATE INDEX epcis_events_declared ON epcis_events (event_id, owner) WHERE declares_error = 1;
CREATE INDEX epcis_events_id ON epcis_events (event_id);
CREATE INDEX epcis_events_time ON epcis_events (event_time, id);
CREATE INDEX epcis_events_record ON epcis_events (record_time, id);
CREATE INDEX epcis_events_step ON epcis_events (biz_step);
CREATE INDEX epcis_events_location ON epcis_events (biz_location);
CREATE INDEX epcis_events_read_point ON epcis_events (read_point);

-- Every identifier an event names, under its key (one key for every URI form of one
-- identifier), with its role (1 epcList, 2 parentID, 3 childEPCs, 4 inputEPCList,
-- 5 outputEPCList, 6 quantityList, 7 childQuantityList, 8 inputQuantityList,
-- 9 outputQuantityList). `link` joins the sides of one step: the event's own id, or for
-- transformation events with a transformationID the link that ID was given
-- (epcis_links), so inputs and outputs captured in different events meet.
CREATE TABLE epcis_keys (
    key    TEXT    NOT NULL,
    role   INTEGER NOT NULL,
    event  INTEGER NOT NULL REFERENCES epcis_events (id),
    link   INTEGER NOT NULL,
    PRIMARY KEY (key, role, event)
) WITHOUT ROWID;
CREATE INDEX epcis_keys_link ON epcis_keys (link, role);
CREATE INDEX epcis_keys_event ON epcis_keys (event);

CREATE TABLE epcis_links (
    transformation_id TEXT    PRIMARY KEY,
    link              INTEGER NOT NULL
) WITHOUT ROWID;

-- Read grants: `grantee` reads `owner`'s events (those with `biz_step` only, when not '').
CREATE TABLE epcis_grants (
    owner       INTEGER NOT NULL,
    grantee     INTEGER NOT NULL,
    biz_step    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, grantee, biz_step)
) WITHOUT ROWID;
CREATE INDEX epcis_grants_grantee ON epcis_grants (grantee);
