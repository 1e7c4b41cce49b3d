use serde_json::json;

use super::*;

fn doc(events: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"ext": "https://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-12-04T10:00:00Z",
        "epcisBody": {"eventList": events}
    }))
    .unwrap()
}

fn object_event() -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2026-12-04T09:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit"
    })
}

fn refused(bytes: &[u8]) -> Vec<Problem> {
    match capture_document(bytes) {
        Err(EpcisError::Invalid(p)) => p,
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn faults_are_named_by_event_and_field() {
    let mut no_time = object_event();
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut bad_action = object_event();
    bad_action["action"] = json!("SOMETIMES");
    let problems = refused(&doc(&json!([object_event(), no_time, bad_action])));
    assert!(problems.iter().any(|p| p.event == Some(1)), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.event == Some(2) && p.pointer == "/epcisBody/eventList/2/action"),
        "{problems:?}"
    );
    assert!(problems.iter().all(|p| p.event != Some(0)), "{problems:?}");
}

#[test]
fn extension_terms_need_a_declared_prefix() {
    let mut declared = object_event();
    declared["bizStep"] = json!("ext:galvanising");
    assert!(capture_document(&doc(&json!([declared]))).is_ok());
    let mut full_uri = object_event();
    full_uri["disposition"] = json!("https://ns.example.com/disp/quarantined");
    assert!(capture_document(&doc(&json!([full_uri]))).is_ok());
    let mut undeclared = object_event();
    undeclared["bizStep"] = json!("acme:galvanising");
    let problems = refused(&doc(&json!([undeclared])));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].pointer, "/epcisBody/eventList/0/bizStep");
    assert!(problems[0].message.contains("acme"), "{problems:?}");
    let mut bare = object_event();
    bare["bizStep"] = json!("galvanising");
    assert!(!refused(&doc(&json!([bare]))).is_empty());
}

#[test]
fn other_input_is_refused_with_a_reason() {
    for bytes in [
        &b"not json"[..],
        br#"{"type": "EPCISMasterDataDocument"}"#,
        br#"[]"#,
    ] {
        let problems = refused(bytes);
        assert!(!problems.is_empty());
        assert!(!problems[0].message.is_empty());
    }
}

#[test]
fn a_lone_event_needs_its_context() {
    let mut e = object_event();
    assert!(capture_event(&serde_json::to_vec(&e).unwrap()).is_err());
    e["@context"] = json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]);
    let c = capture_event(&serde_json::to_vec(&e).unwrap()).unwrap();
    assert_eq!(c.events.len(), 1);
    assert_eq!(c.events[0].kind, "ObjectEvent");
}
