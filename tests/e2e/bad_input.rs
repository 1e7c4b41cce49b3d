//! Malformed input gets a 4xx with a Handle responseCode and message, and changes nothing.

use serde_json::{json, Value};

use crate::common::{send, TestNode};
use crate::on_both;

fn rc(v: &Value) -> Option<u64> {
    v["responseCode"].as_u64()
}

async fn rejects_bodies(n: &TestNode) {
    let a = Some(&n.a);
    // Bodies: invalid JSON, wrong shapes, bad formats, bad structured payloads.
    let h = "/api/handles/88.118.8/bad";
    let bodies: [(&str, &str, u64); 9] = [
        ("not json", "{\"values\": [", 4),
        ("wrong shape", "42", 4),
        ("values not a list", "{\"values\": 3}", 4),
        (
            "unknown format",
            r#"[{"index":1,"type":"URL","data":{"format":"rot13","value":"x"}}]"#,
            202,
        ),
        (
            "bad base64",
            r#"[{"index":1,"type":"URL","data":{"format":"base64","value":"@@"}}]"#,
            202,
        ),
        (
            "bad admin",
            r#"[{"index":100,"type":"HS_ADMIN","data":"not binary admin"}]"#,
            202,
        ),
        (
            "index zero",
            r#"[{"index":0,"type":"URL","data":"x"}]"#,
            202,
        ),
        (
            "duplicate index",
            r#"[{"index":1,"type":"URL","data":"x"},{"index":1,"type":"URL","data":"y"}]"#,
            202,
        ),
        (
            "bad permissions",
            r#"[{"index":1,"type":"URL","data":"x","permissions":"11111"}]"#,
            202,
        ),
    ];
    for (what, body, want) in bodies {
        let r = n
            .req(reqwest::Method::PUT, h, a)
            .header("content-type", "application/json")
            .body(body);
        let (s, v) = send(r).await;
        assert_eq!((s, rc(&v)), (400, Some(want)), "{what}: {v}");
    }
    // Oversize body (limit 1 MiB).
    let big = json!([{"index": 1, "type": "URL", "data": "x".repeat(2 * 1024 * 1024)}]);
    let (s, v) = n.put(h, a, &big).await;
    assert_eq!((s, rc(&v)), (413, Some(4)), "{v}");
    // Over-long value data (limit 64 KiB) inside an acceptable body.
    let fat = json!([{"index": 1, "type": "URL", "data": "x".repeat(70_000)}]);
    let (s, v) = n.put(h, a, &fat).await;
    assert_eq!((s, rc(&v)), (400, Some(202)), "{v}");
    // Bad query parameters.
    let (s, v) = n.get("/api/handles/88.118.8/bad?index=one", None).await;
    assert_eq!((s, rc(&v)), (400, Some(4)), "{v}");
    let (s, _) = n.get("/api/handles?page=1", a).await;
    assert_eq!(s, 400);
    let (s, _) = n
        .get("/api/handles?prefix=88.118.8&pageSize=100000", a)
        .await;
    assert_eq!(s, 400);
    // Unsupported authorization scheme and garbage credentials.
    let r = n
        .req(reqwest::Method::GET, "/api/handles/88.118.8/bad", None)
        .header("authorization", "Bearer abc");
    assert_eq!(send(r).await.0, 403);
    let r = n
        .req(reqwest::Method::GET, "/api/handles/88.118.8/bad", None)
        .header("authorization", "Basic !!!not-base64");
    assert_eq!(send(r).await.0, 403);
}

async fn rejects_batches(n: &TestNode) {
    let h = "/api/handles/88.118.8/bad";
    let a = Some(&n.a);
    // Nothing above created the handle.
    assert_eq!(n.get(h, None).await.0, 404);

    // Batches: malformed JSON, too many items, and one bad item fail whole.
    let (s, v) = send(
        n.req(reqwest::Method::POST, "/api/v1/identifiers/batch", a)
            .header("content-type", "application/json")
            .body("{\"operations\": [}"),
    )
    .await;
    assert_eq!((s, rc(&v)), (400, Some(4)), "{v}");
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| json!({"op": "delete", "handle": format!("88.118.8/t{i}")}))
        .collect();
    let (s, v) = n
        .post(
            "/api/v1/identifiers/batch",
            a,
            &json!({"operations": too_many}),
        )
        .await;
    assert_eq!((s, rc(&v)), (400, Some(4)), "{v}");
    let mixed = json!({"operations": [
        {"op": "create", "handle": "88.118.8/good-1", "values": [{"index": 1, "type": "URL", "data": "https://g"}]},
        {"op": "create", "handle": "88.118.8/good-2", "values": []},
        {"op": "create", "handle": "88.118.8/bad-3", "values": [{"index": 1, "type": "URL", "data": {"format": "hex", "value": "xyz"}}]},
    ]});
    let (s, v) = n.post("/api/v1/identifiers/batch", a, &mixed).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["problems"][0]["position"], 2);
    assert_eq!(v["problems"][0]["responseCode"], 202);
    assert_eq!(n.get("/api/handles/88.118.8/good-1", None).await.0, 404);
    // A batch failing in the database (an existing handle) also leaves nothing behind.
    n.put("/api/handles/88.118.8/exists", a, &json!([])).await;
    let clash = json!({"operations": [
        {"op": "create", "handle": "88.118.8/fresh", "values": []},
        {"op": "create", "handle": "88.118.8/EXISTS", "values": []},
    ]});
    let (s, v) = n.post("/api/v1/identifiers/batch", a, &clash).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["problems"][0]["responseCode"], 101);
    assert_eq!(v["problems"][0]["position"], 1);
    assert_eq!(n.get("/api/handles/88.118.8/fresh", None).await.0, 404);
}

async fn rejects_management(n: &TestNode) {
    // Management bodies.
    let (s, _) = n
        .post(
            "/api/v1/enterprises",
            Some(&n.operator),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = n
        .post(
            "/api/v1/enterprises",
            Some(&n.operator),
            &json!({"name": "x", "prefix": "88.118"}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = n
        .get("/api/v1/enterprises/not-a-number", Some(&n.operator))
        .await;
    assert!((400..500).contains(&s));
}

async fn rejects(n: &TestNode) {
    let a = Some(&n.a);
    // Malformed handles on every method.
    let long = format!("/api/handles/88.118.8/{}", "x".repeat(300));
    for path in [
        "/api/handles/nohandle",
        "/api/handles/88..118/x",
        "/api/handles/88.118.8/a%07b",
        "/api/handles/88.118.8/%FF%FE",
        "/api/handles/88%20118/x",
        long.as_str(),
    ] {
        let (s, v) = n.get(path, None).await;
        assert_eq!((s, rc(&v)), (400, Some(102)), "GET {path}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        let (s, v) = n.put(path, a, &json!([])).await;
        assert_eq!((s, rc(&v)), (400, Some(102)), "PUT {path}: {v}");
    }
    // Prefixes this node does not serve, or has not allocated.
    for path in ["/api/handles/88.200.1/x", "/api/handles/20.500.1/x"] {
        let (s, v) = n.get(path, None).await;
        assert_eq!((s, rc(&v)), (400, Some(301)), "{path}: {v}");
    }
    let (s, v) = n
        .put("/api/handles/88.118.77/x", Some(&n.operator), &json!([]))
        .await;
    assert_eq!((s, rc(&v)), (400, Some(301)), "{v}");

    rejects_bodies(n).await;
    rejects_batches(n).await;
    rejects_management(n).await;
}
on_both!(malformed_input_is_rejected_and_changes_nothing, rejects);
