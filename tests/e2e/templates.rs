//! One template refuses the same bad data on every write path that reaches it: REST PUT, the
//! management batch and the Handle protocol (RC 202 with the violations in the message),
//! each listing every violation and writing nothing; a used template no longer changes.
//! (`idnode import` naming line numbers: `crates/idnode/tests/cli.rs`.)

use idnode_handle_proto::{rc, Request};
use serde_json::{json, Value};

use crate::common::{node_with, BACKENDS};
use crate::handle::{as_a, publish_key};
use crate::hdl::Tcp;

fn template() -> Value {
    json!({
        "prefix": "88.118.8", "version": "gear-1",
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 1, "description": "gearbox",
        "items": [
            {"name": "产品名称", "idType": "productName", "required": true,
             "metadata": {"type": "string", "maxLength": 10}},
            {"name": "等级", "idType": "grade", "metadata": {"type": "enum", "values": ["A", "B"]}},
            {"name": "商品条码", "idType": "gtin", "metadata": {"type": "gs1"}}
        ]
    })
}

fn v(index: u32, t: &str, value: &str) -> Value {
    json!({"index": index, "type": t, "data": {"format": "string", "value": value}})
}

/// A value list naming the template: `good` fits, otherwise a missing product name, a grade
/// outside the list and a bad GTIN check digit.
fn values(good: bool) -> Value {
    if good {
        json!([
            v(1001, "TEMPLATE", "gear-1"),
            v(2000, "productName", "齿轮箱"),
            v(2002, "gtin", "4006381333931")
        ])
    } else {
        json!([
            v(1001, "TEMPLATE", "gear-1"),
            v(2001, "grade", "C"),
            v(2002, "gtin", "4006381333932")
        ])
    }
}

fn rules(body: &Value) -> Vec<(u64, String)> {
    body["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["violations"].as_array().cloned().unwrap_or_default())
        .map(|v| {
            (
                v["index"].as_u64().unwrap(),
                v["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const BAD: [(u64, &str); 3] = [(2001, "enum"), (2002, "kind"), (2000, "required")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_template_guards_every_write_path() {
    for backend in BACKENDS {
        let n = node_with(backend, |_| {}).await;
        eprintln!("running on {:?}", n.backend);
        let a = Some(&n.a);
        let (s, b) = n.post("/api/v1/templates", a, &template()).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["items"][2]["idIndex"], 2002);
        let (s, b) = n.get("/api/v1/templates/88.118.8/gear-1", a).await;
        assert_eq!((s, &b["used"]), (200, &json!(false)), "{b}");

        // REST PUT: every violation, nothing written.
        let (s, b) = n
            .put("/api/handles/88.118.8/T-BAD", a, &values(false))
            .await;
        assert_eq!((s, b["responseCode"].as_u64()), (400, Some(202)), "{b}");
        let expected: Vec<(u64, String)> = BAD.iter().map(|(i, r)| (*i, (*r).to_owned())).collect();
        assert_eq!(rules(&b), expected, "{b}");
        assert_eq!(n.get("/api/handles/88.118.8/T-BAD", None).await.0, 404);

        // The management batch: the fitting item is not written either.
        let batch = json!({"operations": [
            {"op": "create", "handle": "88.118.8/T-OK", "values": values(true)},
            {"op": "create", "handle": "88.118.8/T-BAD", "values": values(false)},
        ]});
        let (s, b) = n.post("/api/v1/identifiers/batch", a, &batch).await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(rules(&b), expected, "{b}");
        assert_eq!(b["violations"][0]["handle"], "88.118.8/T-BAD");
        assert_eq!(n.get("/api/handles/88.118.8/T-OK", None).await.0, 404);

        // The Handle protocol: RC 202 (invalid value), the violations in the message.
        publish_key(&n).await;
        let mut tcp = Tcp::connect(n.node.handle_addr).await;
        let hv = |i, t: &str, d: &str| idnode_core::HandleValue::text(i, t, d);
        let bad = vec![
            hv(1001, "TEMPLATE", "gear-1"),
            hv(2001, "grade", "C"),
            hv(2002, "gtin", "4006381333932"),
        ];
        let r = as_a(
            &mut tcp,
            &Request::Create {
                handle: "88.118.8/T-HDL",
                values: bad,
            },
            0,
        )
        .await;
        assert_eq!(r.code(), rc::INVALID_VALUE, "{:?}", r.body());
        let text = format!("{:?}", r.body());
        for needle in [
            "index 2001 (grade)",
            "index 2002 (gtin)",
            "index 2000 (productName)",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        assert_eq!(n.get("/api/handles/88.118.8/T-HDL", None).await.0, 404);

        // What fits is written; from then on the template is used and frozen.
        let (s, b) = n.put("/api/handles/88.118.8/T-OK", a, &values(true)).await;
        assert_eq!(s, 201, "{b}");
        let (s, b) = n.get("/api/v1/templates/88.118.8/gear-1", a).await;
        assert_eq!((s, &b["used"]), (200, &json!(true)), "{b}");
        let (s, b) = n
            .put("/api/v1/templates/88.118.8/gear-1", a, &template())
            .await;
        assert_eq!(s, 409, "{b}");
        let (s, b) = n.get("/api/v1/template-history/88.118.8", a).await;
        assert_eq!((s, b[0]["action"].as_str()), (200, Some("create")), "{b}");

        detail_policy_and_adoption(&n).await;
        n.node.stop().await.unwrap();
    }
}

/// The detail view, a prefix requiring templates, and a node-wide template adopted.
async fn detail_policy_and_adoption(n: &crate::common::TestNode) {
    let a = Some(&n.a);
    // The detail view names each value's item; anonymous readers see it too.
    for who in [a, None] {
        let (s, b) = n.get("/api/v1/identifiers/88.118.8/T-OK", who).await;
        assert_eq!((s, &b["templateVersion"]), (200, &json!("gear-1")), "{b}");
        let gtin = b["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["index"] == 2002)
            .unwrap();
        assert_eq!(
            gtin["item"],
            json!({"name": "商品条码", "idType": "gtin", "kind": "gs1"})
        );
        assert_eq!(gtin["data"]["value"], "4006381333931");
    }
    assert_eq!(n.get("/api/v1/identifiers/88.118.8/NONE", a).await.0, 404);

    // A prefix whose policy requires a template refuses identifiers without one.
    let policy = json!({"templateRequired": true});
    let (s, b) = n.put("/api/v1/prefixes/88.118.8/policy", a, &policy).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = n
        .put("/api/v1/prefixes/88.118.8/policy", Some(&n.b), &policy)
        .await;
    assert_eq!(s, 403, "{b}");
    let plain = json!([v(1, "URL", "https://example.com")]);
    let (s, b) = n.put("/api/handles/88.118.8/T-FREE", a, &plain).await;
    assert_eq!(
        (s, rules(&b)),
        (400, vec![(1001, "template".to_owned())]),
        "{b}"
    );
    let (_, b) = n.get("/api/v1/prefixes", a).await;
    assert_eq!(b[0]["templateRequired"], json!(true), "{b}");

    // The operator publishes a node-wide industry template; the enterprise adopts it.
    let mut industry = template();
    industry["prefix"] = json!("88.118");
    industry["version"] = json!("gear-std-1");
    let (s, b) = n
        .post("/api/v1/templates", Some(&n.operator), &industry)
        .await;
    assert_eq!(s, 201, "{b}");
    let adopt = json!({"prefix": "88.118.8", "from": "gear-std-1", "version": "gear-2"});
    let (s, b) = n.post("/api/v1/template-adoptions", a, &adopt).await;
    assert_eq!(
        (s, &b["adopted"]),
        (201, &json!("88.118/gear-std-1")),
        "{b}"
    );
    let (s, b) = n
        .put(
            "/api/handles/88.118.8/T-ADOPT",
            a,
            &json!([
                v(1001, "TEMPLATE", "gear-2"),
                v(2000, "productName", "齿轮箱")
            ]),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}
