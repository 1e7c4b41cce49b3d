//! The XML binding of EPCIS 2.0 (`urn:epcglobal:epcis:xsd:2`), read into the JSON-LD binding
//! so that one validation, one hash and one store serve both. Standard fields are the
//! unqualified elements (or those in an EPCIS namespace); every namespaced element is a
//! user extension and becomes a `prefix:name` member, its namespace declared in the
//! document's `@context` under the prefix the XML used (or a fresh one if that prefix is
//! taken by another namespace). Lists lose their element wrappers (`<epcList><epc>` →
//! `"epcList": [...]`), typed lists keep their `type` attribute (`<source type="…">x` →
//! `{"type": "…", "source": "x"}`), sensor attributes become members (numbers as numbers,
//! `booleanValue` as a boolean), `xsi:nil` fields are left out and EPCIS 1.x
//! `<extension>`/`<baseExtension>` wrappers are read through. The EPCIS header (SBDH and
//! master data) is not read. No DTD is processed and no entity expanded beyond XML's five.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use self::tree::{child, flattened, nil, parse, standard, Attr, Node, EPCIS, EPCIS_QUERY, XSI};

use crate::vocab::{self, Term};
use crate::{EpcisError, Problem};

/// The standard JSON-LD context every converted document names first.
const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The event elements.
const EVENTS: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// Reads an XML `EPCISDocument` (or the events of an `EPCISQueryDocument`) as the JSON
/// `EPCISDocument` it stands for.
pub fn document(bytes: &[u8]) -> Result<Value, EpcisError> {
    let root = parse(bytes)?;
    let query = match (root.ns.as_deref(), root.name.as_str()) {
        (Some(EPCIS), "EPCISDocument") => false,
        (Some(EPCIS_QUERY), "EPCISQueryDocument") => true,
        _ => {
            return Err(invalid(
                "",
                &format!(
                    "a capture takes an EPCISDocument in {EPCIS} (or an EPCISQueryDocument in \
                     {EPCIS_QUERY}), not <{}> in {}",
                    root.name,
                    root.ns.as_deref().unwrap_or("no namespace")
                ),
            ))
        }
    };
    let mut json = Json::default();
    let events = json.event_list(&root, query)?;
    let mut doc = Map::new();
    doc.insert("@context".into(), json.context());
    doc.insert("type".into(), "EPCISDocument".into());
    for attr in ["schemaVersion", "creationDate"] {
        if let Some(a) = root.attrs.iter().find(|a| a.ns.is_none() && a.name == attr) {
            doc.insert(attr.into(), a.value.clone().into());
        }
    }
    let mut body = Map::new();
    body.insert("eventList".into(), Value::Array(events));
    doc.insert("epcisBody".into(), Value::Object(body));
    Ok(Value::Object(doc))
}

/// Reads one XML event (an event element, or a document holding exactly one) as the JSON
/// event it stands for, with its own `@context`.
pub fn event(bytes: &[u8]) -> Result<Value, EpcisError> {
    let root = parse(bytes)?;
    let mut json = Json::default();
    let mut event = if standard(&root) && EVENTS.contains(&root.name.as_str()) {
        json.event(&root, 0)?
    } else {
        let doc = document(bytes)?;
        match doc.pointer("/epcisBody/eventList") {
            Some(Value::Array(list)) if list.len() == 1 => return Ok(one_event(&doc, &list[0])),
            _ => {
                return Err(invalid(
                    "",
                    "POST /events takes one event: an event element or a document holding one",
                ))
            }
        }
    };
    if let Value::Object(m) = &mut event {
        m.insert("@context".into(), json.context());
    }
    Ok(event)
}

/// The one event of a converted document, with the document's `@context`.
fn one_event(doc: &Value, event: &Value) -> Value {
    let mut e = event.clone();
    if let (Value::Object(m), Some(ctx)) = (&mut e, doc.get("@context")) {
        m.insert("@context".into(), ctx.clone());
    }
    e
}

/// A refusal of the whole input.
fn invalid(pointer: &str, message: &str) -> EpcisError {
    EpcisError::Invalid(vec![Problem::at(None, pointer, message)])
}

/// The conversion's state: the prefixes given to extension namespaces.
#[derive(Default)]
struct Json {
    /// Namespace → prefix.
    prefixes: BTreeMap<String, String>,
}

impl Json {
    /// The `@context`: the standard one and the extension namespaces met.
    fn context(&self) -> Value {
        let local: Map<String, Value> = self
            .prefixes
            .iter()
            .map(|(ns, p)| (p.clone(), Value::String(ns.clone())))
            .collect();
        if local.is_empty() {
            Value::String(CONTEXT.into())
        } else {
            Value::Array(vec![CONTEXT.into(), Value::Object(local)])
        }
    }

    /// The member name of a namespaced element or attribute: `prefix:name`.
    fn key(&mut self, ns: &str, prefix: Option<&str>, name: &str) -> String {
        if let Some(p) = self.prefixes.get(ns) {
            return format!("{p}:{name}");
        }
        let taken = |p: &str| self.prefixes.values().any(|q| q == p) || RESERVED.contains(&p);
        let p = match prefix {
            Some(p) if !taken(p) => p.to_owned(),
            _ => (1..)
                .map(|i| format!("ns{i}"))
                .find(|p| !taken(p))
                .unwrap_or_default(),
        };
        self.prefixes.insert(ns.to_owned(), p.clone());
        format!("{p}:{name}")
    }

    /// An attribute's member name: `prefix:name` when namespaced, its name otherwise.
    fn attr_key(&mut self, a: &Attr) -> String {
        match &a.ns {
            Some(ns) => self.key(ns, a.prefix.as_deref(), &a.name),
            None => a.name.clone(),
        }
    }

    /// The events of a document's `EPCISBody`.
    fn event_list(&mut self, root: &Node, query: bool) -> Result<Vec<Value>, EpcisError> {
        let list = if query {
            // EPCISBody/QueryResults/resultsBody/EventList (some writers leave out the
            // first two).
            let results = child(root, "EPCISBody")
                .and_then(|b| child(b, "QueryResults"))
                .unwrap_or(root);
            child(results, "resultsBody").and_then(|r| child(r, "EventList"))
        } else {
            child(root, "EPCISBody").and_then(|b| child(b, "EventList"))
        };
        let Some(list) = list else {
            return Err(invalid(
                "/epcisBody/eventList",
                "the document has no EPCISBody/EventList",
            ));
        };
        let mut events = Vec::new();
        for e in flattened(list) {
            if !standard(e) || !EVENTS.contains(&e.name.as_str()) {
                return Err(invalid(
                    &format!("/epcisBody/eventList/{}", events.len()),
                    &format!("<{}> is not an EPCIS event", e.name),
                ));
            }
            let i = events.len();
            events.push(self.event(e, i)?);
        }
        Ok(events)
    }

    /// One event element.
    fn event(&mut self, n: &Node, index: usize) -> Result<Value, EpcisError> {
        let mut out = Map::new();
        out.insert("type".into(), n.name.clone().into());
        let at = format!("/epcisBody/eventList/{index}");
        for c in flattened(n) {
            if !standard(c) {
                self.extension(c, &mut out);
                continue;
            }
            let value = match c.name.as_str() {
                "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => texts(c, "epc"),
                "quantityList" | "childQuantityList" | "inputQuantityList"
                | "outputQuantityList" => self.quantities(c),
                "readPoint" | "bizLocation" => self.object(c),
                "bizTransactionList" => self.typed(c, "bizTransaction", Term::BizTransaction),
                "sourceList" => self.typed(c, "source", Term::SourceDest),
                "destinationList" => self.typed(c, "destination", Term::SourceDest),
                "sensorElementList" => self.sensors(c),
                "bizStep" => cbv(Term::BizStep, &c.text),
                "disposition" => cbv(Term::Disposition, &c.text),
                "persistentDisposition" => persistent(c),
                "errorDeclaration" => self.error_declaration(c),
                "ilmd" => self.object(c),
                _ if !c.children.is_empty() => {
                    return Err(EpcisError::Invalid(vec![Problem::at(
                        Some(index),
                        &format!("{at}/{}", c.name),
                        &format!("<{}> is not a field of {} in EPCIS 2.0", c.name, n.name),
                    )]))
                }
                _ if nil(c) => continue,
                _ => Value::String(c.text.clone()),
            };
            if out.insert(c.name.clone(), value).is_some() {
                return Err(EpcisError::Invalid(vec![Problem::at(
                    Some(index),
                    &format!("{at}/{}", c.name),
                    &format!("<{}> is given twice", c.name),
                )]));
            }
        }
        Ok(Value::Object(out))
    }

    /// A user extension element, added to `out` (a repeated one becomes an array).
    fn extension(&mut self, n: &Node, out: &mut Map<String, Value>) {
        let key = self.key(
            n.ns.as_deref().unwrap_or_default(),
            n.prefix.as_deref(),
            &n.name,
        );
        let value = self.extension_value(n);
        push(out, key, value);
    }

    /// An extension's value: an object of its children and attributes, or its text typed
    /// by `xsi:type` (booleans and numbers; text otherwise).
    fn extension_value(&mut self, n: &Node) -> Value {
        let attrs: Vec<&Attr> = n
            .attrs
            .iter()
            .filter(|a| a.ns.as_deref() != Some(XSI))
            .collect();
        if n.children.is_empty() && attrs.is_empty() {
            return typed_text(n);
        }
        let mut out = Map::new();
        for a in attrs {
            let key = self.attr_key(a);
            out.insert(key, Value::String(a.value.clone()));
        }
        for c in flattened(n) {
            if standard(c) {
                // Unqualified inside an extension: the extension's own member names.
                let value = self.extension_value(c);
                push(&mut out, c.name.clone(), value);
            } else {
                self.extension(c, &mut out);
            }
        }
        if n.children.is_empty() && !n.text.is_empty() {
            out.insert("@value".into(), typed_text(n));
        }
        Value::Object(out)
    }

    /// An element of standard fields and extensions (`readPoint`, `ilmd`, …) as an object.
    fn object(&mut self, n: &Node) -> Value {
        let mut out = Map::new();
        for c in flattened(n) {
            if standard(c) {
                out.insert(c.name.clone(), Value::String(c.text.clone()));
            } else {
                self.extension(c, &mut out);
            }
        }
        Value::Object(out)
    }

    /// `<quantityList><quantityElement>…` as quantity elements (`quantity` a number).
    fn quantities(&mut self, n: &Node) -> Value {
        let items = flattened(n)
            .map(|q| {
                let mut out = Map::new();
                for c in flattened(q) {
                    if !standard(c) {
                        self.extension(c, &mut out);
                    } else if nil(c) {
                    } else if c.name == "quantity" {
                        out.insert(c.name.clone(), number(&c.text));
                    } else {
                        out.insert(c.name.clone(), Value::String(c.text.clone()));
                    }
                }
                Value::Object(out)
            })
            .collect();
        Value::Array(items)
    }

    /// `<sourceList><source type="t">x</source>` as `[{"type": "t", "source": "x"}]`.
    fn typed(&mut self, n: &Node, name: &str, term: Term) -> Value {
        let items = flattened(n)
            .map(|c| {
                let mut out = Map::new();
                for a in &c.attrs {
                    let value = match (&a.ns, a.name.as_str()) {
                        (None, "type") => cbv(term, &a.value),
                        _ => Value::String(a.value.clone()),
                    };
                    let key = self.attr_key(a);
                    out.insert(key, value);
                }
                out.insert(name.into(), Value::String(c.text.clone()));
                Value::Object(out)
            })
            .collect();
        Value::Array(items)
    }

    /// `<sensorElementList>`: each element's metadata and reports from their attributes.
    fn sensors(&mut self, n: &Node) -> Value {
        let items = flattened(n)
            .map(|element| {
                let mut out = Map::new();
                let mut reports = Vec::new();
                for c in flattened(element) {
                    match (standard(c), c.name.as_str()) {
                        (true, "sensorMetadata") => {
                            out.insert(c.name.clone(), self.attributes(c));
                        }
                        (true, "sensorReport") => reports.push(self.attributes(c)),
                        _ => self.extension(c, &mut out),
                    }
                }
                if !reports.is_empty() {
                    out.insert("sensorReport".into(), Value::Array(reports));
                }
                Value::Object(out)
            })
            .collect();
        Value::Array(items)
    }

    /// A sensor element's attributes as members: measures as numbers, `booleanValue` as a
    /// boolean, extension attributes as `prefix:name`.
    fn attributes(&mut self, n: &Node) -> Value {
        let mut out = Map::new();
        for a in &n.attrs {
            let value = match (&a.ns, a.name.as_str()) {
                (None, m) if MEASURES.contains(&m) => number(&a.value),
                (None, "booleanValue") => boolean(&a.value),
                _ => Value::String(a.value.clone()),
            };
            let key = self.attr_key(a);
            out.insert(key, value);
        }
        for c in flattened(n) {
            self.extension(c, &mut out);
        }
        Value::Object(out)
    }

    /// `<errorDeclaration>` with its corrective event IDs as a list.
    fn error_declaration(&mut self, n: &Node) -> Value {
        let mut out = Map::new();
        for c in flattened(n) {
            if !standard(c) {
                self.extension(c, &mut out);
            } else if c.name == "correctiveEventIDs" {
                out.insert(c.name.clone(), texts(c, "correctiveEventID"));
            } else if c.name == "reason" {
                out.insert(c.name.clone(), cbv(Term::ErrorReason, &c.text));
            } else {
                out.insert(c.name.clone(), Value::String(c.text.clone()));
            }
        }
        Value::Object(out)
    }
}

/// Adds a member; a repeated one becomes an array.
fn push(out: &mut Map<String, Value>, key: String, value: Value) {
    match out.get_mut(&key) {
        Some(Value::Array(items)) => items.push(value),
        Some(first) => *first = Value::Array(vec![first.take(), value]),
        None => {
            out.insert(key, value);
        }
    }
}

/// Prefixes the standard context defines, never given to another namespace.
const RESERVED: [&str; 4] = ["gs1", "cbv", "epcis", "xsd"];

/// Sensor report attributes whose values are numbers.
const MEASURES: [&str; 7] = [
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
];

/// The texts of a list's items (`<epcList><epc>a</epc>…` → `["a", …]`).
fn texts(n: &Node, item: &str) -> Value {
    Value::Array(
        flattened(n)
            .filter(|c| c.name == item)
            .map(|c| Value::String(c.text.clone()))
            .collect(),
    )
}

/// `<persistentDisposition>`: its `set` and `unset` lists.
fn persistent(n: &Node) -> Value {
    let mut out = Map::new();
    for key in ["set", "unset"] {
        let items: Vec<Value> = flattened(n)
            .filter(|c| c.name == key)
            .map(|c| cbv(Term::Disposition, &c.text))
            .collect();
        if !items.is_empty() {
            out.insert(key.into(), Value::Array(items));
        }
    }
    Value::Object(out)
}

/// A CBV value as the JSON binding writes it: a standard term bare
/// (`urn:epcglobal:cbv:bizstep:shipping` and `https://ref.gs1.org/cbv/BizStep-shipping`
/// are `shipping`), anything else as given.
fn cbv(term: Term, text: &str) -> Value {
    let text = text.trim();
    let uri = vocab::web_uri(text);
    Value::String(vocab::bare(term, &uri).unwrap_or(text).to_owned())
}

/// Text as a JSON number when it is one (as written otherwise: the schema then names it).
fn number(text: &str) -> Value {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::Number(i.into());
    }
    t.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or_else(|| Value::String(t.to_owned()), Value::Number)
}

/// `true`/`false` (and `1`/`0`, as XML Schema allows) as a JSON boolean.
fn boolean(text: &str) -> Value {
    match text.trim() {
        "true" | "1" => Value::Bool(true),
        "false" | "0" => Value::Bool(false),
        t => Value::String(t.to_owned()),
    }
}

/// An extension's text, typed by its `xsi:type`.
fn typed_text(n: &Node) -> Value {
    let kind = n
        .attrs
        .iter()
        .find(|a| a.ns.as_deref() == Some(XSI) && a.name == "type")
        .map(|a| a.value.rsplit(':').next().unwrap_or_default());
    match kind {
        Some("boolean") => boolean(&n.text),
        Some(
            "integer" | "int" | "long" | "short" | "byte" | "decimal" | "double" | "float"
            | "nonNegativeInteger" | "positiveInteger" | "unsignedInt" | "unsignedLong",
        ) => number(&n.text),
        _ => Value::String(n.text.clone()),
    }
}

#[cfg(test)]
mod tests;
mod tree;
