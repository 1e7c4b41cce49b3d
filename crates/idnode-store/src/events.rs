//! EPCIS events as stored: capture jobs, the events with their indexed fields, the
//! identifier keys they are found by, and read grants between enterprises.
//!
//! Events are immutable once captured. One capture is one transaction: every new event
//! lands or none does; an event whose hash its owner has stored already is a duplicate,
//! reported and never stored twice.

use serde::{Deserialize, Serialize};

/// An event to store, with what is indexed of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewEvent {
    /// Its place in the captured document.
    pub index: usize,
    /// The event hash ID (`ni:///sha-256;…`).
    pub hash: String,
    /// Its `eventID`, or the hash when it has none.
    pub event_id: String,
    /// Whether it carries an `errorDeclaration` (it then repeats the eventID of the event it
    /// declares in error, and is kept beside it).
    pub declares_error: bool,
    /// `ObjectEvent`, `AggregationEvent`, …
    pub event_type: String,
    /// `eventTime`, unix ms.
    pub event_time: i64,
    /// `action`, if any.
    pub action: Option<String>,
    /// `bizStep` as a URI.
    pub biz_step: Option<String>,
    /// `disposition` as a URI.
    pub disposition: Option<String>,
    /// `readPoint.id`, normalised.
    pub read_point: Option<String>,
    /// `bizLocation.id`, normalised.
    pub biz_location: Option<String>,
    /// `transformationID`, normalised.
    pub transformation_id: Option<String>,
    /// The event as captured (JSON text, without `recordTime`).
    pub body: String,
    /// Identifier keys with their role codes (no pair twice).
    pub keys: Vec<(i64, String)>,
}

impl NewEvent {
    /// Whether its eventID is its own, not its hash ID.
    pub fn has_own_id(&self) -> bool {
        self.event_id != self.hash
    }

    /// Its eventID as the tables hold it: its own, or `''` for an event named by its hash
    /// ID only (migration 0019: the hash ID is not written twice).
    pub fn stored_event_id(&self) -> &str {
        if self.has_own_id() {
            &self.event_id
        } else {
            ""
        }
    }
}

/// A capture to store in one transaction.
#[derive(Clone, Debug)]
pub struct NewCapture {
    /// The enterprise capturing (0: the node operator).
    pub owner: i64,
    /// Who captured (identity).
    pub actor: String,
    /// From where (the client's address, '' when not over the network), for the audit log.
    pub origin: String,
    /// The error behaviour asked for: `true` (rollback) when a refused event refuses the
    /// whole capture (the caller then stores nothing), `false` (proceed) when the others are
    /// stored; recorded with the job.
    pub rollback: bool,
    /// Events of the document refused before storing (`proceed`), recorded with the job.
    pub refused: Vec<NotStored>,
    /// The document's `@context` (JSON text), needed to read the events again.
    pub context: String,
    /// The events, in document order.
    pub events: Vec<NewEvent>,
}

/// How a capture job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaptureState {
    /// No event refused (duplicates of stored ones are no error).
    Success,
    /// Some events refused, the others stored (`proceed`).
    Partial,
    /// Every event refused.
    Failed,
}

impl CaptureState {
    /// The state's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::Partial, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One event of a capture that was not stored, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotStored {
    /// Its place in the document.
    pub index: usize,
    /// Its eventID (or hash).
    pub event_id: String,
    /// `true`: the same event (same hash) is stored already; `false`: refused, see
    /// `reason`.
    pub duplicate: bool,
    /// Why it was refused (empty for a duplicate).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A capture job as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRecord {
    /// Its id.
    pub id: i64,
    /// The capturing enterprise (0: the operator).
    pub owner: i64,
    /// Who captured.
    pub actor: String,
    /// When, unix ms.
    pub created_at: i64,
    /// Whether a refused event refused the whole capture (`GS1-Capture-Error-Behaviour:
    /// rollback`) or not (`proceed`).
    pub rollback: bool,
    /// How it ended.
    pub state: CaptureState,
    /// Events in the document.
    pub events: i64,
    /// Events stored.
    pub stored: i64,
    /// Events not stored: refused ones and duplicates.
    pub not_stored: Vec<NotStored>,
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Row id: the order of recording.
    pub id: i64,
    /// The capturing enterprise (0: the operator).
    pub owner: i64,
    /// The capture job.
    pub capture: i64,
    /// The event hash ID.
    pub hash: String,
    /// Its eventID (or hash).
    pub event_id: String,
    /// Whether it declares an error in an earlier event.
    pub declares_error: bool,
    /// Event type.
    pub event_type: String,
    /// `eventTime`, unix ms.
    pub event_time: i64,
    /// When it was recorded, unix ms.
    pub record_time: i64,
    /// `action`.
    pub action: Option<String>,
    /// `bizStep` URI.
    pub biz_step: Option<String>,
    /// `disposition` URI.
    pub disposition: Option<String>,
    /// `readPoint.id`.
    pub read_point: Option<String>,
    /// `bizLocation.id`.
    pub biz_location: Option<String>,
    /// The event as captured (JSON text).
    pub body: String,
    /// Its document's `@context` (JSON text).
    pub context: String,
}

/// Whose events a reader may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readable {
    /// Everyone's (the operator).
    pub all: bool,
    /// These owners' events, all of them.
    pub owners: Vec<i64>,
    /// These owners' events with this bizStep URI.
    pub steps: Vec<(i64, String)>,
}

impl Readable {
    /// Whether an event of `owner` with `biz_step` may be read.
    pub fn reads(&self, owner: i64, biz_step: Option<&str>) -> bool {
        self.all
            || self.owners.contains(&owner)
            || self
                .steps
                .iter()
                .any(|(o, s)| *o == owner && Some(s.as_str()) == biz_step)
    }
}

/// Which field orders a query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventOrder {
    /// `eventTime`.
    #[default]
    EventTime,
    /// `recordTime` (the order of recording).
    RecordTime,
}

/// What the store filters events by (everything indexed; the rest of a query is matched on
/// the events' bodies by the caller). Empty lists do not filter.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Who reads.
    pub readable: Readable,
    /// Event types.
    pub event_types: Vec<String>,
    /// `eventTime` ≥ this (ms).
    pub ge_event_time: Option<i64>,
    /// `eventTime` < this (ms).
    pub lt_event_time: Option<i64>,
    /// `recordTime` ≥ this (ms).
    pub ge_record_time: Option<i64>,
    /// `recordTime` < this (ms).
    pub lt_record_time: Option<i64>,
    /// Actions.
    pub actions: Vec<String>,
    /// bizStep URIs.
    pub biz_steps: Vec<String>,
    /// Disposition URIs.
    pub dispositions: Vec<String>,
    /// readPoint ids.
    pub read_points: Vec<String>,
    /// bizLocation ids.
    pub biz_locations: Vec<String>,
    /// transformationIDs.
    pub transformation_ids: Vec<String>,
    /// eventIDs (an event's hash ID counts as one).
    pub event_ids: Vec<String>,
    /// Each entry: the event names one of these keys in one of these roles (entries are
    /// all required).
    pub keys: Vec<(Vec<i64>, Vec<String>)>,
    /// `Some(true)`: only events declaring errors; `Some(false)`: only others.
    pub declares_error: Option<bool>,
    /// Order field.
    pub order: EventOrder,
    /// Descending.
    pub descending: bool,
    /// Resume after this (order value, id).
    pub after: Option<(i64, i64)>,
    /// Only the events of this capture job.
    pub capture: Option<i64>,
    /// Most rows.
    pub limit: u64,
}

/// One link of a trace step: the event joins `from` (a frontier key) and `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLink {
    /// The frontier key.
    pub from: String,
    /// Its role code.
    pub from_role: i64,
    /// The key reached.
    pub to: String,
    /// Its role code.
    pub to_role: i64,
    /// The event naming `to` (row id).
    pub event: i64,
    /// Its eventID.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// Its `eventTime`, ms.
    pub event_time: i64,
    /// Its action.
    pub action: Option<String>,
    /// Its owner.
    pub owner: i64,
    /// Its bizStep URI.
    pub biz_step: Option<String>,
    /// Whether it counts: it declares no error and no error was declared about it.
    pub usable: bool,
    /// The event naming `from` (row id): `event`, unless a transformationID links two.
    pub from_event: i64,
    /// That event's owner.
    pub from_owner: i64,
    /// That event's bizStep URI.
    pub from_biz_step: Option<String>,
    /// Whether that event counts.
    pub from_usable: bool,
    /// That event's transformationID.
    pub transformation_id: Option<String>,
}

impl TraceLink {
    /// Whether the link holds for `r`: the events behind it count and `r` reads them.
    pub fn readable_by(&self, r: &Readable) -> bool {
        self.usable
            && r.reads(self.owner, self.biz_step.as_deref())
            && (self.from_event == self.event
                || self.from_usable && r.reads(self.from_owner, self.from_biz_step.as_deref()))
    }
}

/// A read grant: `grantee` may read `owner`'s events (with `biz_step` only, when set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The enterprise whose events.
    pub owner: i64,
    /// The enterprise reading.
    pub grantee: i64,
    /// Only events with this bizStep URI (empty: all).
    pub biz_step: String,
    /// When granted, unix ms.
    pub created_at: i64,
}

/// A named EPCIS query (`POST /epcis/queries`), its owner's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedQuery {
    /// The enterprise whose query (0: the node operator).
    pub owner: i64,
    /// Its name, unique per owner.
    pub name: String,
    /// The query object as given (JSON text).
    pub definition: String,
    /// The `GS1-Extensions` header it was created with.
    pub extensions: String,
    /// When created, unix ms.
    pub created_at: i64,
}

/// A field whose distinct values the vocabulary endpoints list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventField {
    /// `bizStep`.
    BizStep,
    /// `disposition`.
    Disposition,
    /// `readPoint.id`.
    ReadPoint,
    /// `bizLocation.id`.
    BizLocation,
}

impl EventField {
    /// Its column.
    pub fn column(self) -> &'static str {
        match self {
            Self::BizStep => "biz_step",
            Self::Disposition => "disposition",
            Self::ReadPoint => "read_point",
            Self::BizLocation => "biz_location",
        }
    }
}
