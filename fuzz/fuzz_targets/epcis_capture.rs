//! EPCIS capture input: any bytes as a capture document and as a lone event, and any text as
//! an identifier URI. Checking never panics; an accepted document's events each carry a hash
//! ID, and the hash of an event does not depend on its eventID; a GS1 form, once canonical,
//! stays as it is; an identifier's key is its own key.
#![no_main]

use idnode_epcis::{canonical_gs1, capture_document, capture_event, event_hash, IdentifierForms};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = capture_document(data) {
        for e in &c.events {
            assert!(e.hash.starts_with("ni:///sha-256;"));
            let mut other = e.body.clone();
            other["eventID"] = serde_json::json!("urn:uuid:00000000-0000-0000-0000-000000000000");
            assert_eq!(event_hash(&other, &c.namespaces), e.hash);
        }
    }
    let _ = capture_event(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(dl) = canonical_gs1(text) {
            assert_eq!(canonical_gs1(&dl).as_deref(), Some(dl.as_str()), "{text}");
        }
        let forms = IdentifierForms::new(["https://id.example.cn/"]);
        let key = forms.key(text);
        assert_eq!(forms.key(&key), key, "{text}");
    }
});
