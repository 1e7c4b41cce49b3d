//! EPCIS 2.0 query parameters (`query-schema.json`, the REST bindings' query string) parsed
//! into a [`Query`]: the indexed part a repository filters on (types, times, vocabulary
//! values, locations, identifiers by key) and the rest, [`Condition`]s matched on an event's
//! body ([`Query::matches`]). An event is in the answer when it passes both.
//!
//! Without master data stored, `WD_readPoint` / `WD_bizLocation` (the location or its
//! descendants) match the location itself, and `HASATTR_` / `EQ_ATTR_` (master data
//! attributes) match no event.

use serde_json::Value;

use crate::forms::IdentifierForms;
use crate::hash::{canonical_value, term_value, Namespaces};
use crate::index::{millis, Role};
use crate::vocab::Term;

mod condition;

pub use condition::{Cmp, Condition, Scalar};

/// Why a query is refused (the standard's `QueryParameterException`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError(msg.into())
}

/// The order of an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderBy {
    /// By `eventTime` (the default).
    #[default]
    EventTime,
    /// By `recordTime`.
    RecordTime,
}

/// A parsed query.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// `eventType`.
    pub event_types: Vec<String>,
    /// `GE_eventTime`, ms.
    pub ge_event_time: Option<i64>,
    /// `LT_eventTime`, ms.
    pub lt_event_time: Option<i64>,
    /// `GE_recordTime`, ms.
    pub ge_record_time: Option<i64>,
    /// `LT_recordTime`, ms.
    pub lt_record_time: Option<i64>,
    /// `EQ_action`.
    pub actions: Vec<String>,
    /// `EQ_bizStep`, as URIs.
    pub biz_steps: Vec<String>,
    /// `EQ_disposition`, as URIs.
    pub dispositions: Vec<String>,
    /// `EQ_readPoint` / `WD_readPoint`.
    pub read_points: Vec<String>,
    /// `EQ_bizLocation` / `WD_bizLocation`.
    pub biz_locations: Vec<String>,
    /// `EQ_transformationID`.
    pub transformation_ids: Vec<String>,
    /// `EQ_eventID`.
    pub event_ids: Vec<String>,
    /// `MATCH_…`: each entry's roles and keys (all entries required).
    pub keys: Vec<(Vec<Role>, Vec<String>)>,
    /// `EXISTS_errorDeclaration`.
    pub declares_error: Option<bool>,
    /// Conditions on the body.
    pub conditions: Vec<Condition>,
    /// A parameter that no event can meet (master data attributes: none is stored).
    pub nothing: bool,
    /// `orderBy`.
    pub order_by: OrderBy,
    /// `orderDirection=DESC` (default ascending).
    pub descending: bool,
    /// `eventCountLimit`.
    pub event_count_limit: Option<u64>,
    /// `maxEventCount`.
    pub max_event_count: Option<u64>,
    /// `perPage`.
    pub per_page: Option<u64>,
    /// `nextPageToken`.
    pub next_page_token: Option<String>,
}

/// Parameters of the query string that are not query parameters.
const TRANSPORT: [&str; 2] = ["perPage", "nextPageToken"];

impl Query {
    /// Parses query-string pairs (a parameter may repeat; values may be `|`-separated
    /// lists). `ns` declares extension prefixes (the `GS1-Extensions` header).
    pub fn parse(
        pairs: &[(String, String)],
        ns: &Namespaces,
        forms: &IdentifierForms,
    ) -> Result<Self, QueryError> {
        let mut q = Self::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name.as_str()) && !is_list(name) {
                return Err(bad(format!("{name} given twice")));
            }
            seen.push(name);
            q.take(name, value, ns, forms)?;
        }
        if q.event_count_limit.is_some() && q.max_event_count.is_some() {
            return Err(bad("eventCountLimit and maxEventCount exclude each other"));
        }
        Ok(q)
    }

    /// A named query's definition (the `query` object of `POST /queries`: parameter names
    /// with a value each, or an array of values for a list parameter) as query-string
    /// pairs. The transport parameters (`perPage`, `nextPageToken`) belong to a request,
    /// not to a definition.
    pub fn definition_pairs(definition: &Value) -> Result<Vec<(String, String)>, QueryError> {
        let Some(params) = definition.as_object() else {
            return Err(bad(
                "a query definition is a JSON object of query parameters",
            ));
        };
        let scalar = |name: &str, v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(bad(format!("{name}: a string, number or boolean"))),
        };
        let mut pairs = Vec::new();
        for (name, v) in params {
            if TRANSPORT.contains(&name.as_str()) {
                return Err(bad(format!("{name} is given per request, not in a query")));
            }
            match v {
                Value::Array(items) if is_list(name) => {
                    for item in items {
                        pairs.push((name.clone(), scalar(name, item)?));
                    }
                }
                v => pairs.push((name.clone(), scalar(name, v)?)),
            }
        }
        Ok(pairs)
    }

    /// Whether `event` (its document's prefixes `ns`) meets the conditions on the body.
    pub fn matches(&self, event: &Value, ns: &Namespaces) -> bool {
        !self.nothing && self.conditions.iter().all(|c| c.holds(event, ns))
    }

    fn take(
        &mut self,
        name: &str,
        value: &str,
        ns: &Namespaces,
        forms: &IdentifierForms,
    ) -> Result<(), QueryError> {
        let list = || split(value);
        let terms = |t: Term| {
            list()
                .iter()
                .map(|v| term_value(t, v, ns))
                .collect::<Vec<_>>()
        };
        let uris = || {
            list()
                .iter()
                .map(|v| canonical_value(v, ns))
                .collect::<Vec<_>>()
        };
        match name {
            "eventType" => {
                let types = list();
                if let Some(t) = types.iter().find(|t| !is_event_type(t)) {
                    return Err(bad(format!("eventType: unknown type {t}")));
                }
                self.event_types.extend(types);
            }
            "GE_eventTime" => self.ge_event_time = Some(time(name, value)?),
            "LT_eventTime" => self.lt_event_time = Some(time(name, value)?),
            "GE_recordTime" => self.ge_record_time = Some(time(name, value)?),
            "LT_recordTime" => self.lt_record_time = Some(time(name, value)?),
            "EQ_action" => {
                let actions = list();
                if let Some(a) = actions.iter().find(|a| !is_action(a)) {
                    return Err(bad(format!("EQ_action: {a} is not ADD, OBSERVE or DELETE")));
                }
                self.actions.extend(actions);
            }
            "EQ_bizStep" => self.biz_steps.extend(terms(Term::BizStep)),
            "EQ_disposition" => self.dispositions.extend(terms(Term::Disposition)),
            "EQ_readPoint" | "WD_readPoint" => self.read_points.extend(uris()),
            "EQ_bizLocation" | "WD_bizLocation" => self.biz_locations.extend(uris()),
            "EQ_transformationID" => self.transformation_ids.extend(uris()),
            "EQ_eventID" => self.event_ids.extend(list()),
            "EXISTS_errorDeclaration" => self.declares_error = Some(true),
            "orderBy" => {
                self.order_by = match value {
                    "eventTime" => OrderBy::EventTime,
                    "recordTime" => OrderBy::RecordTime,
                    _ => return Err(bad("orderBy: eventTime or recordTime")),
                }
            }
            "orderDirection" => {
                self.descending = match value {
                    "ASC" => false,
                    "DESC" => true,
                    _ => return Err(bad("orderDirection: ASC or DESC")),
                }
            }
            "eventCountLimit" => self.event_count_limit = Some(count(name, value)?),
            "maxEventCount" => self.max_event_count = Some(count(name, value)?),
            "perPage" => self.per_page = Some(count(name, value)?),
            "nextPageToken" => self.next_page_token = Some(value.to_owned()),
            _ if name.starts_with("MATCH_") => {
                let roles = match_roles(name)?;
                let keys = list().iter().map(|v| forms.key(v)).collect();
                self.keys.push((roles, keys));
            }
            _ if name.starts_with("HASATTR_") || name.starts_with("EQ_ATTR_") => {
                self.nothing = true;
            }
            _ => self
                .conditions
                .push(Condition::parse(name, value, ns)?.ok_or_else(|| unknown(name))?),
        }
        Ok(())
    }
}

fn unknown(name: &str) -> QueryError {
    if TRANSPORT.contains(&name) {
        bad(format!("{name}: invalid value"))
    } else {
        bad(format!("unknown query parameter {name}"))
    }
}

/// Parameters whose values accumulate when repeated (any of them matches).
fn is_list(name: &str) -> bool {
    const LISTS: [&str; 8] = [
        "eventType",
        "EQ_action",
        "EQ_bizStep",
        "EQ_disposition",
        "EQ_readPoint",
        "EQ_bizLocation",
        "EQ_transformationID",
        "EQ_eventID",
    ];
    name.starts_with("MATCH_") || LISTS.contains(&name)
}

fn is_event_type(t: &str) -> bool {
    crate::document::EVENT_TYPES.contains(&t)
}

fn is_action(a: &str) -> bool {
    matches!(a, "ADD" | "OBSERVE" | "DELETE")
}

/// A `|`- or `,`-separated list, items trimmed, empty ones left out.
pub(crate) fn split(value: &str) -> Vec<String> {
    value
        .split(['|', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A timestamp parameter as unix ms (a `+` decoded to a space in the offset is taken back).
pub(crate) fn time(name: &str, value: &str) -> Result<i64, QueryError> {
    millis(&value.trim().replace(' ', "+"))
        .ok_or_else(|| bad(format!("{name}: not an RFC 3339 timestamp: {value}")))
}

fn count(name: &str, value: &str) -> Result<u64, QueryError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(format!("{name}: a positive integer")))
}

/// The roles a `MATCH_` parameter looks in.
fn match_roles(name: &str) -> Result<Vec<Role>, QueryError> {
    use Role::{Child, ChildClass, Class, Epc, Input, InputClass, Output, OutputClass, Parent};
    Ok(match name {
        "MATCH_epc" => vec![Epc, Child],
        "MATCH_parentID" => vec![Parent],
        "MATCH_inputEPC" => vec![Input],
        "MATCH_outputEPC" => vec![Output],
        "MATCH_anyEPC" => vec![Epc, Parent, Child, Input, Output],
        "MATCH_epcClass" => vec![Class, ChildClass],
        "MATCH_inputEPCClass" => vec![InputClass],
        "MATCH_outputEPCClass" => vec![OutputClass],
        "MATCH_anyEPCClass" => vec![Class, ChildClass, InputClass, OutputClass],
        _ => return Err(unknown(name)),
    })
}

#[cfg(test)]
mod tests;
