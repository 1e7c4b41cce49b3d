//! An identifier's lifecycle: its registration history and the events naming it, in one
//! timeline.

use idnode_core::Identifier;
use idnode_epcis::Role;
use idnode_registry::{Principal, RegistryError};
use idnode_store::{EventFilter, EventOrder};
use serde::Serialize;
use serde_json::Value;

use idnode_epcis::index::rfc3339;

use crate::query::answer;
use crate::{Result, TraceError, Traceability};

/// Most history rows and events in one lifecycle.
const MOST: u64 = 1_000;

/// One moment of a lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Moment {
    /// When (RFC 3339).
    pub time: String,
    /// `registration` (a change of the identifier's record) or `event`.
    pub kind: &'static str,
    /// For a registration: `create`, `update`, `delete`; for an event: its type.
    pub what: String,
    /// For a registration: who made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// For an event: the event, with its `recordTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    #[serde(skip)]
    at: i64,
}

/// An identifier's lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lifecycle {
    /// The identifier.
    pub handle: String,
    /// Whether its registration history is included (only its administrators read it).
    pub history: bool,
    /// The moments, oldest first.
    pub moments: Vec<Moment>,
}

impl Traceability {
    /// The lifecycle of `handle` as `who` may see it: the registration history when `who`
    /// administers it, and the events `who` may read.
    pub async fn lifecycle(&self, who: &Principal, handle: &str) -> Result<Lifecycle> {
        let id = Identifier::parse(handle).map_err(|e| TraceError::NotFound(e.to_string()))?;
        let readable = self.readable(who).await?;
        let mut moments = Vec::new();
        let history = match self.registry.history(who, id.as_str(), MOST).await {
            Ok(rows) => {
                moments.extend(rows.into_iter().map(|h| Moment {
                    time: rfc3339(h.at),
                    kind: "registration",
                    what: h.action.as_str().to_owned(),
                    by: Some(h.actor),
                    event: None,
                    at: h.at,
                }));
                true
            }
            Err(RegistryError::Forbidden(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let f = EventFilter {
            readable,
            keys: vec![(
                Role::ALL.iter().map(|r| r.code()).collect(),
                vec![format!("hdl:{}", id.folded())],
            )],
            order: EventOrder::EventTime,
            limit: MOST,
            ..EventFilter::default()
        };
        for row in self.store.events(&f).await? {
            moments.push(Moment {
                time: rfc3339(row.event_time),
                kind: "event",
                what: row.event_type.clone(),
                by: None,
                event: Some(answer(&row).body),
                at: row.event_time,
            });
        }
        moments.sort_by_key(|m| m.at);
        Ok(Lifecycle {
            handle: id.as_str().to_owned(),
            history,
            moments,
        })
    }
}
