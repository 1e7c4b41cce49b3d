//! EPP documents as both sides receive them: parsing client and server documents never
//! panics, and whatever parses writes back to a document that parses to the same thing.
#![no_main]

use idnode_epp::{Document, Namespaces, ServerDocument};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ns = Namespaces::default();
    if let Ok(doc) = Document::parse(data, &ns) {
        let again = Document::parse(doc.to_xml(&ns).as_bytes(), &ns).expect("reparses");
        assert_eq!(again, doc);
    }
    if let Ok(ServerDocument::Response(r)) = ServerDocument::parse(data, &ns) {
        let again = ServerDocument::parse(r.to_xml(&ns).as_bytes(), &ns).expect("reparses");
        assert_eq!(again, ServerDocument::Response(r));
    }
    let _ = idnode_epp::body_len(
        [data.first().copied().unwrap_or(0), 0, 0, data.len() as u8],
        idnode_epp::MAX_FRAME,
    );
});
