//! A document built with GS1's JavaScript SDK and sent by its own capture client.

use std::path::Path;

use serde_json::Value;

use crate::common::TestNode;
use crate::epcis::{answered, encode, without_record_time};

/// A document built with GS1's JavaScript SDK (`epcis2.js` from npm, installed under
/// target/ on first use) and sent by its own capture client is captured; the SDK polls the
/// job to success; every event reads back as the SDK built it.
async fn epcis2_js(n: &TestNode) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("epcis2-js");
    let dir = idnode_testkit::npm_package(&dir, "epcis2.js@2.7.3", &["fs"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/js/epcis2.js");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("{}/epcis", n.base))
        .arg(crate::common::basic(&n.a))
        .env("NODE_PATH", dir.join("node_modules"))
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
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
