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
