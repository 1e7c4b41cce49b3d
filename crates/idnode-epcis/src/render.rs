//! Answers as EPCIS documents: events from several captures in one EPCISQueryDocument,
//! under one `@context` holding the standard context and every prefix the events' own
//! documents declared.

use serde_json::{json, Map, Value};

/// The standard's JSON-LD context.
pub const STANDARD_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// One `@context` for events captured under `contexts`: the standard context (and any
/// other context URL given), then one object with every declared prefix (the first
/// declaration of a prefix wins).
pub fn merged_context<'a>(contexts: impl IntoIterator<Item = &'a Value>) -> Value {
    let mut urls: Vec<Value> = vec![Value::String(STANDARD_CONTEXT.into())];
    let mut prefixes = Map::new();
    let mut take = |c: &Value| match c {
        Value::String(s) if !urls.iter().any(|u| u.as_str() == Some(s)) && !is_standard(s) => {
            urls.push(Value::String(s.clone()));
        }
        Value::Object(o) => {
            for (k, v) in o {
                prefixes.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        _ => {}
    };
    for c in contexts {
        match c {
            Value::Array(items) => items.iter().for_each(&mut take),
            c => take(c),
        }
    }
    if !prefixes.is_empty() {
        urls.push(Value::Object(prefixes));
    }
    Value::Array(urls)
}

/// Where an event names identifiers that an EPC URN may express: fields holding one or a
/// list of them (`""`), or an object whose field holds one (locations)…
const EPC_FIELDS: [(&str, &str); 7] = [
    ("epcList", ""),
    ("childEPCs", ""),
    ("inputEPCList", ""),
    ("outputEPCList", ""),
    ("parentID", ""),
    ("readPoint", "id"),
    ("bizLocation", "id"),
];
/// …and lists of objects whose field holds one (quantity classes, sources, destinations).
const EPC_OBJECT_LISTS: [(&str, &str); 6] = [
    ("quantityList", "epcClass"),
    ("childQuantityList", "epcClass"),
    ("inputQuantityList", "epcClass"),
    ("outputQuantityList", "epcClass"),
    ("sourceList", "source"),
    ("destinationList", "destination"),
];

/// Rewrites every GS1 identifier an event names as an EPC URN (`urn:epc:id:sgtin:…`,
/// `urn:epc:class:lgtin:…`, …) into its GS1 Digital Link URI (`GS1-EPC-Format:
/// Always_GS1_Digital_Link`); other values stay as they are.
pub fn to_digital_links(event: &mut Value) {
    let convert = |v: &mut Value| {
        if let Value::String(s) = v {
            if s.starts_with("urn:epc:") {
                if let Some(dl) = crate::epc::canonical_gs1(s) {
                    *s = dl;
                }
            }
        }
    };
    let Some(o) = event.as_object_mut() else {
        return;
    };
    for (name, inner) in EPC_FIELDS {
        match (o.get_mut(name), inner) {
            (Some(Value::Array(items)), "") => items.iter_mut().for_each(convert),
            (Some(v), "") => convert(v),
            (Some(v), field) => v.get_mut(field).into_iter().for_each(convert),
            (None, _) => {}
        }
    }
    for (name, field) in EPC_OBJECT_LISTS {
        if let Some(Value::Array(items)) = o.get_mut(name) {
            items
                .iter_mut()
                .filter_map(|x| x.get_mut(field))
                .for_each(convert);
        }
    }
}

/// Any version of the standard context.
fn is_standard(url: &str) -> bool {
    url.starts_with("https://ref.gs1.org/standards/epcis/") && url.ends_with("epcis-context.jsonld")
}

/// An EPCISQueryDocument answering `query_name` with `events` (each with its
/// document's `@context`), created at `created` (RFC 3339).
pub fn query_document(query_name: &str, events: &[(Value, Value)], created: &str) -> Value {
    let context = merged_context(events.iter().map(|(_, c)| c));
    let list: Vec<Value> = events.iter().map(|(e, _)| e.clone()).collect();
    json!({
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": list}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_urns_become_digital_links() {
        let mut e = json!({
            "type": "AggregationEvent",
            "parentID": "urn:epc:id:sscc:4012345.0000000001",
            "childEPCs": ["urn:epc:id:sgtin:4012345.022222.1", "hdl:88.118.8/X"],
            "childQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.LOTA", "quantity": 1}],
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            "bizStep": "packing"
        });
        to_digital_links(&mut e);
        assert_eq!(
            e,
            json!({
                "type": "AggregationEvent",
                "parentID": "https://id.gs1.org/00/040123450000000016",
                "childEPCs": ["https://id.gs1.org/01/04012345222227/21/1", "hdl:88.118.8/X"],
                "childQuantityList": [{"epcClass": "https://id.gs1.org/01/04012345111118/10/LOTA", "quantity": 1}],
                "readPoint": {"id": "https://id.gs1.org/414/4012345000016"},
                "bizStep": "packing"
            })
        );
    }

    #[test]
    fn contexts_merge_into_one() {
        let a = json!(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"ex": "http://ex.com/"}]);
        let b = json!([{"ex": "http://other.com/", "acme": "http://acme.cn/"}, "https://acme.cn/ctx.jsonld"]);
        assert_eq!(
            merged_context([&a, &b, &Value::Null]),
            json!([STANDARD_CONTEXT, "https://acme.cn/ctx.jsonld", {"ex": "http://ex.com/", "acme": "http://acme.cn/"}])
        );
    }
}
