//! EPCIS input: any bytes as a capture document and as a lone event (JSON and XML
//! bindings; an XML document read into JSON is checked as JSON captures are), any text as an
//! identifier URI and as a query string, any JSON as a named query's definition and as a
//! subscription schedule (whose next run is always later than the time asked about). Checking never panics; an accepted document's
//! events each carry a hash ID, and the hash of an event does not depend on its eventID; a
//! GS1 form, once canonical, stays as it is; an identifier's key is its own key; a query
//! that parses matches or not every event of an accepted document without panicking.
#![no_main]

use idnode_epcis::{
    canonical_gs1, capture_document, capture_event, event_hash, Binding, IdentifierForms,
    Namespaces, Query, Schedule,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let forms = IdentifierForms::new(["https://id.example.cn/"]);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = Query::parse(&pairs, &Namespaces::default(), &forms).ok();
    if let Ok(c) = capture_document(data) {
        for e in &c.events {
            assert!(e.hash.starts_with("ni:///sha-256;"));
            let mut other = e.body.clone();
            other["eventID"] = serde_json::json!("urn:uuid:00000000-0000-0000-0000-000000000000");
            assert_eq!(event_hash(&other, &c.namespaces), e.hash);
            if let Some(q) = &query {
                let _ = q.matches(&e.body, &c.namespaces);
            }
        }
    }
    let _ = capture_event(data);
    if let Ok(json) = Binding::Xml.document_json(data.to_vec()) {
        if let Ok(c) = capture_document(&json) {
            assert!(c.events.iter().all(|e| e.hash.starts_with("ni:///sha-256;")));
        }
    }
    if let Ok(json) = Binding::Xml.event_json(data.to_vec()) {
        let _ = capture_event(&json);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(pairs) = Query::definition_pairs(&v) {
            let _ = Query::parse(&pairs, &Namespaces::default(), &forms);
        }
        if let Ok(s) = Schedule::parse(&v) {
            let now = 1_796_379_630_000;
            if let Some(next) = s.next_after(now) {
                assert!(next > now);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(dl) = canonical_gs1(text) {
            assert_eq!(canonical_gs1(&dl).as_deref(), Some(dl.as_str()), "{text}");
        }
        let key = forms.key(text);
        assert_eq!(forms.key(&key), key, "{text}");
    }
});
