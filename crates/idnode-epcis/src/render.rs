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
    fn contexts_merge_into_one() {
        let a = json!(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"ex": "http://ex.com/"}]);
        let b = json!([{"ex": "http://other.com/", "acme": "http://acme.cn/"}, "https://acme.cn/ctx.jsonld"]);
        assert_eq!(
            merged_context([&a, &b, &Value::Null]),
            json!([STANDARD_CONTEXT, "https://acme.cn/ctx.jsonld", {"ex": "http://ex.com/", "acme": "http://acme.cn/"}])
        );
    }
}
