//! A document built with GS1's JavaScript SDK and sent by its own capture client.

use crate::common::TestNode;
use crate::epcis::{answered, encode, without_record_time};

/// A document built with GS1's JavaScript SDK (`epcis2.js` from npm, installed under
/// target/ on first use) and sent by its own capture client is captured; the SDK polls the
/// job to success; every event reads back as the SDK built it.
async fn epcis2_js(n: &TestNode) {
    let api = format!("{}/epcis", n.base);
    let auth = crate::common::basic(&n.a);
    let r = crate::common::node_script(
        ("epcis2-js", "epcis2.js@2.7.3", &["fs"]),
        "epcis2.js",
        &[api.as_ref(), auth.as_ref()],
    )
    .await;
    assert_eq!(
        (r["status"].as_u64(), r["success"].as_bool()),
        (Some(202), Some(true)),
        "{r}"
    );
    assert_eq!(r["running"], false);
    let bytes = serde_json::to_vec(&r["document"]).unwrap();
    let capture = idnode_epcis::capture_document(&bytes).unwrap();
    assert_eq!(capture.events.len(), 3);
    for e in &capture.events {
        let (status, doc) = n
            .get(&format!("/epcis/events/{}", encode(&e.hash)), Some(&n.a))
            .await;
        assert_eq!(status, 200);
        let got = answered(&doc);
        assert!(
            got.iter().any(|g| without_record_time(g) == e.body),
            "{got:?}"
        );
    }
}

crate::on_both!(documents_from_epcis2_js_are_captured, epcis2_js);
