//! Every example document of the EPCIS 2.0 standard is accepted, each event typed and
//! identified by its hash ID.

mod common;

use idnode_epcis::document::EVENT_TYPES;

#[test]
fn every_example_of_the_standard_is_accepted() {
    let files = common::examples();
    assert_eq!(files.len(), 47);
    let mut events = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let c = idnode_epcis::capture_document(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!c.events.is_empty(), "{}", f.display());
        for e in &c.events {
            assert!(EVENT_TYPES.contains(&e.kind.as_str()));
            assert!(e.hash.starts_with("ni:///sha-256;") && e.hash.ends_with("?ver=CBV2.0"));
        }
        events += c.events.len();
    }
    assert!(events >= 47, "{events}");
}

/// The XML twins of examples 9.6.1, 9.6.3 and 9.6.4 (`tests/xml/standard-examples.xml`)
/// read into exactly the JSON events of the standard's JSON examples: every field, the CBV
/// URNs as the JSON binding's bare terms, numbers as numbers; so their hash IDs agree too.
#[test]
fn xml_twins_read_as_the_json_examples() {
    let dir = common::examples_dir();
    let mut json_events = Vec::new();
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        json_events.extend(idnode_epcis::capture_document(&bytes).unwrap().events);
    }
    let xml = common::xml_documents()
        .into_iter()
        .find(|p| p.ends_with("standard-examples.xml"))
        .unwrap();
    let json = idnode_epcis::Binding::Xml
        .document_json(std::fs::read(xml).unwrap())
        .unwrap();
    let xml_events = idnode_epcis::capture_document(&json).unwrap().events;
    assert_eq!(xml_events.len(), 4);
    assert_eq!(xml_events.len(), json_events.len());
    for (x, j) in xml_events.iter().zip(&json_events) {
        assert_eq!(x.body, j.body);
        assert_eq!(x.hash, j.hash);
        assert_eq!(x.event_id, j.event_id);
    }
}
