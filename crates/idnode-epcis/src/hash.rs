//! The EPCIS event hash ID of CBV 2.0 (`ni:///sha-256;<hex>?ver=CBV2.0`): a pre-hash string
//! built from an event's fields in the canonical property order, values normalised (UTC
//! timestamps to the millisecond, numbers without trailing zeros, CBV terms and CURIEs as
//! full URIs, GS1 identifiers as constrained canonical Digital Link URIs), lists sorted,
//! extensions as `{namespace}name=value` sorted after the standard fields; `eventID`,
//! `recordTime` and `errorDeclaration` are left out, so a corrective event and a repeated
//! capture of the same event are recognised.
//!
//! Where the reference implementation (`epcis-event-hash-generator`, the algorithm's own
//! prototype) renders a value its own way and the text of the algorithm says nothing, this
//! follows the reference: JSON booleans as `True`/`False`, every value that reads as a
//! number written as a number. Where the reference departs from the written rules (CURIE
//! values and ILMD keys with the standard prefixes left unexpanded, an extension dropped
//! when its namespace lacks a trailing slash), this follows the rules;
//! `tests/reference_hash.rs` lists each such event of the standard's examples.

use std::collections::BTreeMap;

use ring::digest;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::epc::canonical_gs1;
use crate::vocab::{self, Term};

/// Prefixes a document declares in its `@context` (and the standard ones), to expand
/// `prefix:name` keys and values.
#[derive(Clone, Debug, Default)]
pub struct Namespaces(BTreeMap<String, String>);

impl Namespaces {
    /// The standard prefixes plus those a document's `@context` declares.
    pub fn of_document(doc: &Value) -> Self {
        let mut map: BTreeMap<String, String> = [
            ("gs1", "https://gs1.org/voc/"),
            ("cbv", "https://ref.gs1.org/cbv/"),
            ("epcis", "https://ref.gs1.org/epcis/"),
            ("cbvmda", "urn:epcglobal:cbv:mda:"),
        ]
        .into_iter()
        .map(|(p, iri)| (p.to_owned(), iri.to_owned()))
        .collect();
        let mut add = |ctx: &Value| {
            if let Some(o) = ctx.as_object() {
                for (prefix, iri) in o {
                    if let Some(iri) = iri.as_str() {
                        map.insert(prefix.clone(), iri.to_owned());
                    }
                }
            }
        };
        match doc.get("@context") {
            Some(Value::Array(items)) => items.iter().for_each(&mut add),
            Some(ctx) => add(ctx),
            None => {}
        }
        Self(map)
    }

    /// Declares `prefix` as `iri` (as the `GS1-Extensions` header of a query does).
    pub fn declare(&mut self, prefix: &str, iri: &str) {
        self.0.insert(prefix.to_owned(), iri.to_owned());
    }

    /// Declares the prefixes of a `GS1-Extensions` header value (`ex=https://ex.com/,
    /// acme=…`).
    pub fn declare_header(&mut self, header: &str) {
        for pair in header.split(',') {
            if let Some((prefix, iri)) = pair.split_once('=') {
                self.declare(prefix.trim(), iri.trim());
            }
        }
    }

    /// Whether `prefix` is declared (by the document or the standard).
    pub fn declares(&self, prefix: &str) -> bool {
        self.0.contains_key(prefix)
    }

    /// `prefix:name` with a declared prefix as `(iri, name)`.
    fn split<'a>(&'a self, s: &'a str) -> Option<(&'a str, &'a str)> {
        let (prefix, name) = s.split_once(':')?;
        if name.starts_with("//") {
            return None;
        }
        self.0.get(prefix).map(|iri| (iri.as_str(), name))
    }

    /// A key as the pre-hash string writes it: `{iri}name` for a declared prefix.
    pub(crate) fn key(&self, k: &str) -> String {
        match self.split(k) {
            Some((iri, name)) => format!("{{{iri}}}{name}"),
            None => k.to_owned(),
        }
    }
}

/// How a field's children are ordered: `None` for a plain value.
type Order = &'static [(&'static str, Child)];

/// What a field of the canonical order holds.
#[derive(Clone, Copy)]
enum Child {
    /// A value.
    Value,
    /// A CBV term (bare words expand to the vocabulary's URI).
    Term(Term),
    /// A list of values, each written `item=value`.
    List(&'static str, Term),
    /// A list of objects, each written `item` + its fields in `Order`.
    Objects(&'static str, Order),
    /// Values written each as `name=value`, without a list name.
    Each(Term),
    /// Objects written each as `name` + its fields in `Order`, without a list name.
    EachObject(Order),
    /// An object with its fields in `Order` (then its extensions).
    Object(Order),
}

const QUANTITY: Order = &[
    ("epcClass", Child::Value),
    ("quantity", Child::Value),
    ("uom", Child::Value),
];

const METADATA: Order = &[
    ("time", Child::Value),
    ("startTime", Child::Value),
    ("endTime", Child::Value),
    ("deviceID", Child::Value),
    ("deviceMetadata", Child::Value),
    ("rawData", Child::Value),
    ("dataProcessingMethod", Child::Value),
    ("bizRules", Child::Value),
];

const REPORT: Order = &[
    ("type", Child::Term(Term::Measurement)),
    ("exception", Child::Term(Term::Measurement)),
    ("deviceID", Child::Value),
    ("deviceMetadata", Child::Value),
    ("rawData", Child::Value),
    ("dataProcessingMethod", Child::Value),
    ("time", Child::Value),
    ("microorganism", Child::Value),
    ("chemicalSubstance", Child::Value),
    ("value", Child::Value),
    ("component", Child::Term(Term::Component)),
    ("stringValue", Child::Value),
    ("booleanValue", Child::Value),
    ("hexBinaryValue", Child::Value),
    ("uriValue", Child::Value),
    ("minValue", Child::Value),
    ("maxValue", Child::Value),
    ("meanValue", Child::Value),
    ("sDev", Child::Value),
    ("percRank", Child::Value),
    ("percValue", Child::Value),
    ("uom", Child::Value),
    ("coordinateReferenceSystem", Child::Value),
];

const SENSOR_ELEMENT: Order = &[
    ("sensorMetadata", Child::Object(METADATA)),
    ("sensorReport", Child::EachObject(REPORT)),
];

const ID: Order = &[("id", Child::Value)];

const PERSISTENT: Order = &[
    ("set", Child::Each(Term::Disposition)),
    ("unset", Child::Each(Term::Disposition)),
];

/// The canonical property order of CBV 2.0 as the reference implements it:
/// `certificationInfo` after the time zone offset, and the business transaction, source
/// and destination lists not here but sorted with the extensions after the ordered fields
/// (see [`TYPED`]).
const EVENT: Order = &[
    ("eventTime", Child::Value),
    ("eventTimeZoneOffset", Child::Value),
    ("certificationInfo", Child::Value),
    ("parentID", Child::Value),
    ("epcList", Child::List("epc", Term::None)),
    ("inputEPCList", Child::List("epc", Term::None)),
    ("childEPCs", Child::List("epc", Term::None)),
    ("quantityList", Child::Objects("quantityElement", QUANTITY)),
    (
        "childQuantityList",
        Child::Objects("quantityElement", QUANTITY),
    ),
    (
        "inputQuantityList",
        Child::Objects("quantityElement", QUANTITY),
    ),
    ("outputEPCList", Child::List("epc", Term::None)),
    (
        "outputQuantityList",
        Child::Objects("quantityElement", QUANTITY),
    ),
    ("action", Child::Value),
    ("transformationID", Child::Value),
    ("bizStep", Child::Term(Term::BizStep)),
    ("disposition", Child::Term(Term::Disposition)),
    ("persistentDisposition", Child::Object(PERSISTENT)),
    ("readPoint", Child::Object(ID)),
    ("bizLocation", Child::Object(ID)),
    (
        "sensorElementList",
        Child::Objects("sensorElement", SENSOR_ELEMENT),
    ),
];

/// Lists of typed entries, each written `type=…` then `item=…`, sorted.
const TYPED: [(&str, &str, Term); 3] = [
    ("bizTransactionList", "bizTransaction", Term::BizTransaction),
    ("sourceList", "source", Term::SourceDest),
    ("destinationList", "destination", Term::SourceDest),
];

/// Fields never hashed (and JSON-LD keywords, which start with `@`).
const LEFT_OUT: [&str; 6] = [
    "type",
    "eventID",
    "recordTime",
    "errorDeclaration",
    "rdfs:comment",
    "comment",
];

/// The pre-hash string of an event (a JSON object with its `type`).
pub fn prehash(event: &Value, ns: &Namespaces) -> String {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(fields) = event.as_object() else {
        return format!("eventType={kind}");
    };
    let mut out = format!("eventType={kind}");
    out.push_str(&ordered(fields, EVENT, ns));
    let mut rest = Map::new();
    let mut tail = Vec::new();
    for (k, v) in fields {
        if k.starts_with('@') || LEFT_OUT.contains(&k.as_str()) {
            continue;
        }
        if EVENT.iter().any(|(name, _)| name == k) {
            continue;
        }
        match TYPED.iter().find(|(name, _, _)| name == k) {
            Some((name, item, term)) => tail.push(typed(name, item, *term, v, ns)),
            None => {
                rest.insert(k.clone(), v.clone());
            }
        }
    }
    tail.extend(generic_parts(&rest, ns));
    out.push_str(&sorted(tail));
    out
}

/// A list of typed entries: `name` + each entry's `type=…item=…`, sorted.
fn typed(name: &str, item: &str, term: Term, v: &Value, ns: &Namespaces) -> String {
    let parts = items(v)
        .iter()
        .map(|x| {
            let kind = x.get("type").map(|k| value("type", k, term, ns));
            let id = x.get(item).map(|i| value(item, i, Term::None, ns));
            format!(
                "{}{}",
                kind.map(|k| pair("type", &k)).unwrap_or_default(),
                id.map(|i| pair(item, &i)).unwrap_or_default()
            )
        })
        .collect();
    sorted_under(name, parts)
}

/// The event hash ID of an event.
pub fn event_hash(event: &Value, ns: &Namespaces) -> String {
    let d = digest::digest(&digest::SHA256, prehash(event, ns).as_bytes());
    idnode_core::hash_id::hash_id(d.as_ref())
}

/// `fields` in `order` (absent or empty ones left out). The event's few fields are placed
/// in the order, rather than each name of the order looked up among them.
fn ordered(fields: &Map<String, Value>, order: Order, ns: &Namespaces) -> String {
    let mut present: Vec<(usize, &Value)> = fields
        .iter()
        .filter_map(|(k, v)| Some((order.iter().position(|(name, _)| name == k)?, v)))
        .collect();
    present.sort_unstable_by_key(|(at, _)| *at);
    let mut out = String::new();
    for (at, v) in present {
        let (name, child) = order[at];
        out.push_str(&field(name, v, child, ns));
    }
    out
}

/// `fields` not in `order`: extensions inside a standard object.
fn extensions(fields: &Map<String, Value>, order: Order, ns: &Namespaces) -> String {
    let rest: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !k.starts_with('@') && !order.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    generic(&rest, ns)
}

/// Sorted concatenation of `parts`, under `name` when any is not empty.
fn sorted_under(name: &str, parts: Vec<String>) -> String {
    under(name, &sorted(parts))
}

/// `parts` sorted and concatenated.
fn sorted(mut parts: Vec<String>) -> String {
    parts.sort();
    parts.concat()
}

/// `body` after `name`, or nothing for an empty body.
fn under(name: &str, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        concat(&[name, body])
    }
}

/// An object written as its fields in `order`, then its extensions.
fn object(v: &Value, order: Order, ns: &Namespaces) -> String {
    v.as_object()
        .map(|o| ordered(o, order, ns) + &extensions(o, order, ns))
        .unwrap_or_default()
}

fn items(v: &Value) -> &[Value] {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or(std::slice::from_ref(v))
}

/// One field of the canonical order.
fn field(name: &str, v: &Value, child: Child, ns: &Namespaces) -> String {
    match child {
        Child::Value => pair(name, &value(name, v, Term::None, ns)),
        Child::Term(t) => pair(name, &value(name, v, t, ns)),
        Child::List(item, t) => {
            let parts = items(v)
                .iter()
                .map(|x| pair(item, &value(item, x, t, ns)))
                .collect();
            sorted_under(name, parts)
        }
        Child::Objects(item, order) => {
            let parts = items(v)
                .iter()
                .map(|x| under(item, &object(x, order, ns)))
                .collect();
            sorted_under(name, parts)
        }
        Child::Each(t) => sorted(
            items(v)
                .iter()
                .map(|x| pair(name, &value(name, x, t, ns)))
                .collect(),
        ),
        Child::EachObject(order) => sorted(
            items(v)
                .iter()
                .map(|x| under(name, &object(x, order, ns)))
                .collect(),
        ),
        Child::Object(order) => under(name, &object(v, order, ns)),
    }
}

/// `name=value`, or nothing for an empty value.
fn pair(name: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        concat(&[name, "=", value])
    }
}

/// `parts` joined, in one allocation (the pre-hash string is built of many small pieces:
/// `format!` for each took a third of the hash's time).
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.push_str(p));
    out
}

/// Fields outside the canonical order (extensions, `ilmd`), each `{iri}name=value` or
/// `{iri}name` + its own fields, all sorted; an array repeats its key per element.
fn generic(fields: &Map<String, Value>, ns: &Namespaces) -> String {
    sorted(generic_parts(fields, ns))
}

/// The pieces of [`generic`], unsorted.
fn generic_parts(fields: &Map<String, Value>, ns: &Namespaces) -> Vec<String> {
    let mut parts = Vec::new();
    for (k, v) in fields {
        let key = ns.key(k);
        for x in items(v) {
            parts.push(match x {
                Value::Object(o) => format!("{key}{}", generic(o, ns)),
                Value::Array(_) => format!("{key}{}", generic(&wrap(k, x), ns)),
                x => {
                    let text = canonical_value(&scalar(x), ns);
                    if text.is_empty() {
                        key.clone()
                    } else {
                        format!("{key}={text}")
                    }
                }
            });
        }
    }
    parts
}

/// A nested array as a one-field object (its elements keep the field's key).
fn wrap(k: &str, v: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(k.to_owned(), v.clone());
    m
}

/// A JSON scalar as text (booleans as the reference writes them).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// A standard field's value, normalised: timestamps (fields named `…time…` but not
/// `…offset…`) to UTC milliseconds, CBV terms to their URIs, the rest by
/// [`canonical_value`].
fn value(name: &str, v: &Value, term: Term, ns: &Namespaces) -> String {
    let text = scalar(v);
    if names_a_time(name) {
        return timestamp(&text).unwrap_or(text);
    }
    term_value(term, &text, ns)
}

/// Whether a field named `name` holds a timestamp: `…time…` but not `…offset…`, in any case.
fn names_a_time(name: &str) -> bool {
    let has = |word: &str| {
        name.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    has("time") && !has("offset")
}

/// A value from vocabulary `term` normalised: a bare standard term as its URI, anything
/// else by [`canonical_value`].
pub fn term_value(term: Term, text: &str, ns: &Namespaces) -> String {
    vocab::expand(term, text).unwrap_or_else(|| canonical_value(text, ns))
}

/// A value normalised: CBV URNs to web URIs, numbers without trailing zeros, GS1 identifiers
/// to canonical Digital Link URIs, CURIEs expanded.
pub fn canonical_value(text: &str, ns: &Namespaces) -> String {
    let text = vocab::web_uri(text.trim());
    if let Some(n) = number(&text) {
        return n;
    }
    if let Some(dl) = canonical_gs1(&text) {
        return dl;
    }
    match ns.split(&text) {
        Some((iri, name)) => format!("{iri}{name}"),
        None => text,
    }
}

/// A decimal number written without trailing zeros (`1.0` → `1`, `0.3400` → `0.34`).
fn number(s: &str) -> Option<String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, _) = body.split_once(['e', 'E']).unwrap_or((body, ""));
    let plain = !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|&b| b == b'.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit());
    if !plain {
        return None;
    }
    let x: f64 = s.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    // An integral value as the exact integer the double holds (as the reference writes it).
    Some(if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    })
}

/// An RFC 3339 timestamp in UTC with milliseconds (rounded half up), e.g.
/// `2023-01-18T11:04:03.142Z`.
pub fn timestamp(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    // Checked: a timestamp at the edge of the year range must not overflow (it is kept as
    // written instead).
    let t = t.checked_to_offset(UtcOffset::UTC)?;
    let ms = (t.nanosecond() + 500_000) / 1_000_000;
    let t = t
        .replace_nanosecond(0)
        .ok()?
        .checked_add(time::Duration::milliseconds(i64::from(ms)))?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

#[cfg(test)]
mod tests;
