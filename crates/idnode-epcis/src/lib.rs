//! Traceability events as GS1 EPCIS 2.0 and CBV 2.0 define them, without I/O: capture
//! documents and events checked against the standard's JSON Schema and vocabularies
//! ([`document`]), identifiers in their URI forms and the keys events are found by
//! ([`epc`], [`forms`]), the CBV vocabularies
//! ([`vocab`]) and the event hash ID ([`hash`]). The XML binding is read into the JSON one
//! ([`xml`], [`Binding`]).

pub mod document;
pub mod epc;
pub mod forms;
pub mod hash;
pub mod index;
pub mod query;
pub mod render;
pub mod schedule;
pub mod vocab;
pub mod xml;

pub use document::{capture_document, capture_document_proceeding, capture_event, Capture, Event};
pub use epc::canonical_gs1;
pub use forms::IdentifierForms;
pub use hash::{event_hash, prehash, Namespaces};
pub use index::{index, Indexed, Role};
pub use query::{OrderBy, Query, QueryError};
pub use render::{merged_context, query_document, to_digital_links};
pub use schedule::Schedule;

/// How a capture is written: EPCIS 2.0's JSON(-LD) binding or its XML binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `application/json`, `application/ld+json`.
    Json,
    /// `application/xml`, `text/xml`.
    Xml,
}

impl Binding {
    /// A capture document as JSON: as given, or read from XML ([`xml::document`]).
    pub fn document_json(self, bytes: Vec<u8>) -> Result<Vec<u8>, EpcisError> {
        match self {
            Self::Json => Ok(bytes),
            Self::Xml => Ok(serde_json::to_vec(&xml::document(&bytes)?).unwrap_or_default()),
        }
    }

    /// One event as JSON: as given, or read from XML ([`xml::event`]).
    pub fn event_json(self, bytes: Vec<u8>) -> Result<Vec<u8>, EpcisError> {
        match self {
            Self::Json => Ok(bytes),
            Self::Xml => Ok(serde_json::to_vec(&xml::event(&bytes)?).unwrap_or_default()),
        }
    }
}

/// One fault of a refused document: the event it lies in (its place in the document's
/// event list), the field (a JSON pointer into the document) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The event's place in the document, if the fault lies in one.
    pub event: Option<usize>,
    /// JSON pointer to the faulty field (empty: the whole document).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A fault at `pointer`.
    pub fn at(event: Option<usize>, pointer: &str, message: &str) -> Self {
        Self {
            event,
            pointer: pointer.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// Why EPCIS input is refused.
#[derive(Debug, thiserror::Error)]
pub enum EpcisError {
    /// The input is not valid EPCIS 2.0; every fault found is listed.
    #[error("invalid EPCIS input: {}", summary(.0))]
    Invalid(Vec<Problem>),
}

fn summary(problems: &[Problem]) -> String {
    let first = problems
        .first()
        .map_or_else(String::new, |p| format!("{} at '{}'", p.message, p.pointer));
    match problems.len() {
        0 | 1 => first,
        n => format!("{first} (and {} more)", n - 1),
    }
}
