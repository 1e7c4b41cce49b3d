//! Management API: bulk batches with idempotency, history, OpenAPI.

use serde_json::{json, Value};

use crate::common::{send, TestNode};
use crate::on_both;

async fn batches(n: &TestNode) {
    let a = Some(&n.a);
    let ops: Vec<Value> = (0..2_000)
        .map(|i| {
            json!({"op": "create", "handle": format!("88.118.8/bulk-{i:05}"),
                   "values": [{"index": 1, "type": "URL", "data": format!("https://b/{i}")}]})
        })
        .collect();
    let body = json!({"operations": ops});
    let send_batch = |key: &'static str, body: &Value| {
        n.req(reqwest::Method::POST, "/api/v1/identifiers/batch", a)
            .header("idempotency-key", key)
            .json(body)
    };
    let resp = send_batch("load-1", &body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("idempotent-replayed").is_none());
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first["created"], 2000);
    // The same key and body replays the recorded answer without writing again.
    let resp = send_batch("load-1", &body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    assert_eq!(resp.json::<Value>().await.unwrap(), first);
    // The same key with another body is refused.
    let other = json!({"operations": [{"op": "delete", "handle": "88.118.8/bulk-00001"}]});
    let (s, v) = send(send_batch("load-1", &other)).await;
    assert_eq!((s, v["responseCode"].as_u64()), (409, Some(101)), "{v}");
    assert_eq!(n.get("/api/handles/88.118.8/bulk-00001", None).await.0, 200);
    // Without a key, a repeated create batch fails whole (409: its first item exists).
    let (s, v) = n.post("/api/v1/identifiers/batch", a, &body).await;
    assert_eq!(s, 409);
    assert_eq!(v["problems"].as_array().unwrap().len(), 2000);

    let mixed = json!({"operations": [
        {"op": "update", "handle": "88.118.8/bulk-00000", "values": [{"index": 1, "type": "URL", "data": "https://new"}]},
        {"op": "delete", "handle": "88.118.8/bulk-00001"},
        {"op": "create", "handle": "88.118.8/bulk-new", "values": []}
    ]});
    let (s, v) = n.post("/api/v1/identifiers/batch", a, &mixed).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["created"].as_u64(),
            v["updated"].as_u64(),
            v["deleted"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let (_, r) = n.get("/api/handles/88.118.8/bulk-00000", None).await;
    assert_eq!(r["values"][0]["data"]["value"], "https://new");
    assert_eq!(n.get("/api/handles/88.118.8/bulk-00001", None).await.0, 404);

    // History records who changed what, newest first.
    let (s, h) = n.get("/api/v1/history/88.118.8/bulk-00000", a).await;
    assert_eq!(s, 200);
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["action"], "update");
    assert_eq!(h[0]["actor"], n.a.identity);
    assert_eq!(h[0]["before"][0]["data"]["value"], "https://b/0");
    assert_eq!(h[0]["after"][0]["data"]["value"], "https://new");
    assert_eq!(h[1]["action"], "create");
}
on_both!(bulk_batches_idempotency_and_history, batches);

async fn openapi(n: &TestNode) {
    let (s, doc) = n.get("/api/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/enterprises",
        "/api/v1/enterprises/{id}",
        "/api/v1/enterprises/{id}/suspend",
        "/api/v1/prefixes",
        "/api/v1/identifiers/batch",
        "/api/v1/history/{handle}",
        "/epcis/trace/{epc}",
        "/epcis/recall/{epc}",
        "/epcis/grants",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["basic"]["scheme"],
        "basic"
    );
    // The trace graph: nodes, edges with their kind and the events behind each.
    let edge = &doc["components"]["schemas"]["TraceGraph"]["properties"]["edges"]["items"];
    assert_eq!(edge["properties"]["kind"]["enum"][1], "transformation");
    assert_eq!(edge["properties"]["events"]["type"], "array");
}
on_both!(openapi_document_lists_every_route, openapi);
