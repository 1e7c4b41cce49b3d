//! What a repository indexes of an event: its times, action, vocabulary values and
//! locations normalised, and every identifier it names under its key ([`IdentifierForms`]),
//! with the role the identifier plays. Queries (`MATCH_…`) and trace steps find events
//! through these keys.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::forms::IdentifierForms;
use crate::hash::{term_value, Namespaces};
use crate::vocab::Term;

/// The role an identifier plays in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// In `epcList` (object and transaction events).
    Epc,
    /// The `parentID` (aggregation, transaction and association events).
    Parent,
    /// In `childEPCs` (aggregation and association events).
    Child,
    /// In `inputEPCList` (transformation events).
    Input,
    /// In `outputEPCList` (transformation events).
    Output,
    /// A class in `quantityList`.
    Class,
    /// A class in `childQuantityList`.
    ChildClass,
    /// A class in `inputQuantityList`.
    InputClass,
    /// A class in `outputQuantityList`.
    OutputClass,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 9] = [
        Self::Epc,
        Self::Parent,
        Self::Child,
        Self::Input,
        Self::Output,
        Self::Class,
        Self::ChildClass,
        Self::InputClass,
        Self::OutputClass,
    ];

    /// The role's number as stored.
    pub fn code(self) -> i64 {
        match self {
            Self::Epc => 1,
            Self::Parent => 2,
            Self::Child => 3,
            Self::Input => 4,
            Self::Output => 5,
            Self::Class => 6,
            Self::ChildClass => 7,
            Self::InputClass => 8,
            Self::OutputClass => 9,
        }
    }

    /// The role a stored number stands for.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The event field holding identifiers of this role, and whether it is a list of
    /// quantity elements (`epcClass` inside) rather than of URIs.
    fn field(self) -> (&'static str, bool) {
        match self {
            Self::Epc => ("epcList", false),
            Self::Parent => ("parentID", false),
            Self::Child => ("childEPCs", false),
            Self::Input => ("inputEPCList", false),
            Self::Output => ("outputEPCList", false),
            Self::Class => ("quantityList", true),
            Self::ChildClass => ("childQuantityList", true),
            Self::InputClass => ("inputQuantityList", true),
            Self::OutputClass => ("outputQuantityList", true),
        }
    }
}

/// The indexed facts of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// `eventTime` in unix milliseconds (UTC).
    pub event_time: i64,
    /// `action` (`ADD`, `OBSERVE`, `DELETE`), if any.
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
    /// Every identifier the event names, by key, with its role (no pair twice).
    pub keys: Vec<(Role, String)>,
}

/// The indexed facts of `event` (a checked event object).
pub fn index(event: &Value, ns: &Namespaces, forms: &IdentifierForms) -> Indexed {
    let text = |name: &str, term: Term| {
        event
            .get(name)
            .and_then(Value::as_str)
            .map(|s| term_value(term, s, ns))
    };
    let id_of = |name: &str| {
        event
            .get(name)
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .map(|s| term_value(Term::None, s, ns))
    };
    let mut keys = Vec::new();
    for role in Role::ALL {
        let (name, quantities) = role.field();
        let Some(v) = event.get(name) else { continue };
        let list = v.as_array().map_or(std::slice::from_ref(v), Vec::as_slice);
        for item in list {
            let uri = if quantities {
                item.get("epcClass").and_then(Value::as_str)
            } else {
                item.as_str()
            };
            if let Some(uri) = uri {
                keys.push((role, forms.key(uri)));
            }
        }
    }
    keys.sort();
    keys.dedup();
    Indexed {
        event_time: event
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(millis)
            .unwrap_or_default(),
        action: text("action", Term::None),
        biz_step: text("bizStep", Term::BizStep),
        disposition: text("disposition", Term::Disposition),
        read_point: id_of("readPoint"),
        biz_location: id_of("bizLocation"),
        transformation_id: text("transformationID", Term::None),
        keys,
    }
}

/// An RFC 3339 timestamp as unix milliseconds.
pub fn millis(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Unix milliseconds as an RFC 3339 timestamp in UTC.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_aggregation_is_indexed_by_parent_and_children_in_every_form() {
        let forms = IdentifierForms::new(["https://id.example.cn/"]);
        let ev = json!({
            "type": "AggregationEvent",
            "eventTime": "2026-03-01T08:00:00.5+08:00",
            "action": "ADD",
            "bizStep": "packing",
            "disposition": "urn:epcglobal:cbv:disp:in_progress",
            "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
            "parentID": "hdl:88.118.8/PALLET-1",
            "childEPCs": ["https://id.example.cn/88.118.8/gbx-1", "info:hdl/88.118.8/GBX-1"],
            "childQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2}]
        });
        let ix = index(&ev, &Namespaces::default(), &forms);
        assert_eq!(ix.event_time, 1_772_323_200_500);
        assert_eq!(ix.action.as_deref(), Some("ADD"));
        assert_eq!(
            ix.biz_step.as_deref(),
            Some("https://ref.gs1.org/cbv/BizStep-packing")
        );
        assert_eq!(
            ix.disposition.as_deref(),
            Some("https://ref.gs1.org/cbv/Disp-in_progress")
        );
        assert_eq!(
            ix.read_point.as_deref(),
            Some("https://id.gs1.org/414/0614141007776")
        );
        assert_eq!(
            ix.keys,
            vec![
                (Role::Parent, "hdl:88.118.8/pallet-1".into()),
                (Role::Child, "hdl:88.118.8/gbx-1".into()),
                (
                    Role::ChildClass,
                    "https://id.gs1.org/01/04012345123456/10/998877".into()
                ),
            ]
        );
    }

    #[test]
    fn milliseconds_round_trip() {
        let ms = millis("2026-03-01T08:00:00.5+08:00").unwrap();
        assert_eq!(rfc3339(ms), "2026-03-01T00:00:00.5Z");
        assert_eq!(millis(&rfc3339(ms)), Some(ms));
    }

    #[test]
    fn roles_round_trip_through_their_codes() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code(0), None);
    }
}
