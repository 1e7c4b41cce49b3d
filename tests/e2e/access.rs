//! The access-control matrix: operator / enterprise A / enterprise B / anonymous against
//! every write and read, through the HTTP API.

use serde_json::json;

use crate::common::{TestNode, Who};
use crate::on_both;

/// Expected outcome of one cell: the HTTP status and, for failures, the Handle code.
fn ok(s: u16) -> (u16, Option<u64>) {
    (s, Some(1))
}
const NEED_AUTH: (u16, Option<u64>) = (401, Some(402));
const FORBIDDEN: (u16, Option<u64>) = (403, Some(401));

async fn matrix_reads(n: &TestNode) {
    let hidden = json!([
        {"index": 1, "type": "URL", "data": "https://x"},
        {"index": 2, "type": "NOTE", "data": "admins only", "permissions": "1100"}
    ]);
    let op = Some(&n.operator);
    let a = Some(&n.a);
    let b = Some(&n.b);
    let who: [(&str, Option<&Who>); 4] =
        [("operator", op), ("A", a), ("B", b), ("anonymous", None)];
    // Reads: everyone resolves; only the operator and A see the admin-only value.
    for (name, w) in who {
        let (s, v) = n.get("/api/handles/88.118.8/target", w).await;
        assert_eq!(s, 200, "read as {name}");
        let count = v["values"].as_array().unwrap().len();
        let sees_hidden = matches!(name, "operator" | "A");
        assert_eq!(
            count,
            if sees_hidden { 3 } else { 2 },
            "read as {name}: {v}"
        );
        let (_, v) = n
            .get("/api/handles/88.118.8/target?publicOnly=true", w)
            .await;
        assert_eq!(
            v["values"].as_array().unwrap().len(),
            2,
            "publicOnly as {name}"
        );
    }
    // A's view of B's handles is public only.
    n.put("/api/handles/88.118.9/b-item", b, &hidden).await;
    let (_, v) = n.get("/api/handles/88.118.9/b-item", a).await;
    assert_eq!(v["values"].as_array().unwrap().len(), 2);
    // Secrets never show, even to the operator.
    let (_, v) = n.get("/api/handles/0.NA/88.118.8", op).await;
    assert!(!v.to_string().contains("HS_SECKEY"), "{v}");

    // Listing and history: operator and owner only.
    let expect = [ok(200), ok(200), FORBIDDEN, NEED_AUTH];
    for ((name, w), want) in who.iter().zip(expect) {
        let (s, v) = n.get("/api/handles?prefix=88.118.8", *w).await;
        assert_eq!((s, v["responseCode"].as_u64()), want, "list as {name}: {v}");
        let (s, v) = n.get("/api/v1/history/88.118.8/target", *w).await;
        let got = (
            s,
            if s == 200 {
                Some(1)
            } else {
                v["responseCode"].as_u64()
            },
        );
        assert_eq!(got, want, "history as {name}: {v}");
    }
}

async fn matrix_batches(n: &TestNode) {
    let op = Some(&n.operator);
    let a = Some(&n.a);
    let b = Some(&n.b);
    let who: [(&str, Option<&Who>); 4] =
        [("operator", op), ("A", a), ("B", b), ("anonymous", None)];
    // Batches: B cannot write under A's prefix (403, as its first failing item); each item
    // says why.
    let expect = [200u16, 200, 403, 401];
    for ((name, w), want) in who.iter().zip(expect) {
        let handle = format!("88.118.8/batched-{name}");
        let body = json!({"operations": [{"op": "create", "handle": handle, "values": []}]});
        let (s, v) = n.post("/api/v1/identifiers/batch", *w, &body).await;
        assert_eq!(s, want, "batch as {name}: {v}");
        if *name == "B" {
            assert_eq!(v["problems"][0]["responseCode"], 401, "{v}");
        }
    }

    // Prefix handles: operator only.
    let admin = json!([{"index": 100, "type": "HS_ADMIN", "data": {"format": "admin",
        "value": {"handle": "0.NA/88.118.8", "index": 300, "permissions": "111111111111"}}}]);
    for (name, w, want) in [
        ("operator", op, 200),
        ("A", a, 403),
        ("B", b, 403),
        ("anonymous", None, 401),
    ] {
        let (s, _) = n
            .put("/api/handles/0.NA/88.118.8?index=100", w, &admin)
            .await;
        assert_eq!(s, want, "prefix handle write as {name}");
    }
}

async fn matrix_management(n: &TestNode) {
    let value = json!([{"index": 1, "type": "URL", "data": "https://x"}]);
    let op = Some(&n.operator);
    let a = Some(&n.a);
    let b = Some(&n.b);
    // Management: operator onboards and suspends; enterprises see only themselves.
    let new_e = json!({"name": "Pump Co", "prefix": "88.118.20"});
    for (name, w, want) in [
        ("A", a, 403),
        ("B", b, 403),
        ("anonymous", None, 401),
        ("operator", op, 201),
    ] {
        let (s, v) = n.post("/api/v1/enterprises", w, &new_e).await;
        assert_eq!(s, want, "create enterprise as {name}: {v}");
    }
    let (_, all) = n.get("/api/v1/enterprises", op).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (_, mine) = n.get("/api/v1/enterprises", a).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(
        n.get(&format!("/api/v1/enterprises/{}", n.a_id), b).await.0,
        403
    );
    assert_eq!(
        n.get(&format!("/api/v1/enterprises/{}", n.a_id), a).await.0,
        200
    );
    let (_, prefixes) = n.get("/api/v1/prefixes", a).await;
    assert_eq!(prefixes.as_array().unwrap().len(), 1);
    let alloc = json!({"prefix": "88.118.81", "enterpriseId": n.a_id});
    assert_eq!(n.post("/api/v1/prefixes", a, &alloc).await.0, 403);
    assert_eq!(n.post("/api/v1/prefixes", op, &alloc).await.0, 201);
    assert_eq!(n.post("/api/v1/prefixes", op, &alloc).await.0, 409);
    let suspend = format!("/api/v1/enterprises/{}/suspend", n.a_id);
    assert_eq!(n.post(&suspend, a, &json!({})).await.0, 403);
    assert_eq!(n.post(&suspend, op, &json!({})).await.0, 200);
    // A suspended enterprise cannot write, but its identifiers still resolve.
    let (s, v) = n
        .put("/api/handles/88.118.8/after-suspend", a, &value)
        .await;
    assert_eq!((s, v["responseCode"].as_u64()), FORBIDDEN, "{v}");
    assert_eq!(n.get("/api/handles/88.118.8/target", None).await.0, 200);
    let activate = format!("/api/v1/enterprises/{}/activate", n.a_id);
    assert_eq!(n.post(&activate, op, &json!({})).await.0, 200);
    assert_eq!(
        n.put("/api/handles/88.118.81/second", a, &value).await.0,
        201
    );

    // Wrong or unknown credentials fail the same way.
    let wrong = Who {
        identity: n.a.identity.clone(),
        secret: "not-the-secret".into(),
    };
    let (s, v) = n.get("/api/handles/88.118.8/target", Some(&wrong)).await;
    assert_eq!((s, v["responseCode"].as_u64()), (403, Some(403)));
    let unknown = Who {
        identity: "300:0.NA/88.118.55".into(),
        secret: n.a.secret.clone(),
    };
    assert_eq!(
        n.put("/api/handles/88.118.8/x", Some(&unknown), &value)
            .await
            .0,
        403
    );
    // curl -u style (identity not urlencoded) works too.
    let plain = reqwest::Client::new()
        .put(format!("{}/api/handles/88.118.8/curl-style", n.base))
        .basic_auth(&n.a.identity, Some(&n.a.secret))
        .json(&value)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 201);
}

async fn matrix(n: &TestNode) {
    let op = Some(&n.operator);
    let a = Some(&n.a);
    let b = Some(&n.b);
    let who: [(&str, Option<&Who>); 4] =
        [("operator", op), ("A", a), ("B", b), ("anonymous", None)];
    let value = json!([{"index": 1, "type": "URL", "data": "https://x"}]);
    let hidden = json!([
        {"index": 1, "type": "URL", "data": "https://x"},
        {"index": 2, "type": "NOTE", "data": "admins only", "permissions": "1100"}
    ]);

    // Create under A's prefix.
    let expect = [ok(201), ok(201), FORBIDDEN, NEED_AUTH];
    for ((name, w), want) in who.iter().zip(expect) {
        let (s, v) = n
            .put(&format!("/api/handles/88.118.8/by-{name}"), *w, &value)
            .await;
        assert_eq!(
            (s, v["responseCode"].as_u64()),
            want,
            "create as {name}: {v}"
        );
    }
    n.put("/api/handles/88.118.8/target", a, &hidden).await;

    // Modify a value, replace the record, remove a value, delete the handle.
    let writes: [(&str, reqwest::Method, &str, Option<&serde_json::Value>); 4] = [
        (
            "modify",
            reqwest::Method::PUT,
            "/api/handles/88.118.8/target?index=1",
            Some(&value),
        ),
        (
            "replace",
            reqwest::Method::PUT,
            "/api/handles/88.118.8/target",
            Some(&hidden),
        ),
        (
            "remove",
            reqwest::Method::DELETE,
            "/api/handles/88.118.8/target?index=2",
            None,
        ),
        (
            "delete",
            reqwest::Method::DELETE,
            "/api/handles/88.118.8/by-operator",
            None,
        ),
    ];
    for (op_name, method, path, body) in writes {
        for (name, w) in [("B", b), ("anonymous", None)] {
            let mut r = n.req(method.clone(), path, w);
            if let Some(body) = body {
                r = r.json(body);
            }
            let (s, v) = crate::common::send(r).await;
            let want = if w.is_some() { FORBIDDEN } else { NEED_AUTH };
            assert_eq!(
                (s, v["responseCode"].as_u64()),
                want,
                "{op_name} as {name}: {v}"
            );
        }
        for (name, w) in [("operator", op), ("A", a)] {
            let mut r = n.req(method.clone(), path, w);
            if let Some(body) = body {
                r = r.json(body);
            }
            let (s, v) = crate::common::send(r).await;
            assert!(
                s == 200 || (s == 404 && name == "A" && op_name == "delete"),
                "{op_name} as {name}: {s} {v}"
            );
            if op_name == "remove" && name == "operator" {
                // Put the hidden value back for the read checks and A's turn.
                n.put("/api/handles/88.118.8/target", op, &hidden).await;
            }
        }
    }
    n.put("/api/handles/88.118.8/target", a, &hidden).await;

    matrix_reads(n).await;
    matrix_batches(n).await;
    matrix_management(n).await;
}
on_both!(access_control_matrix, matrix);

/// Wrong secrets cost PBKDF2 time: one client gets a bounded number of checks, then 429,
/// while credentials already verified keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_guessing_is_rate_limited_per_client() {
    let n = crate::common::node(crate::common::Backend::Sqlite).await;
    let value = json!([{"index": 1, "type": "URL", "data": "https://x"}]);
    assert_eq!(
        n.put("/api/handles/88.118.8/ok", Some(&n.a), &value)
            .await
            .0,
        201
    );
    // The guesses go out at once: the limiter counts checks as they arrive, and sent one
    // after another (each waiting for a deliberately slow hash) they could arrive slower
    // than the allowance refills on a loaded machine.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..(idnode_registry::VERIFICATION_BURST + 10) {
        let guess = Who {
            identity: n.b.identity.clone(),
            secret: format!("guess-{i}"),
        };
        let req = n.req(
            reqwest::Method::GET,
            "/api/handles/88.118.8/ok",
            Some(&guess),
        );
        guesses.spawn(async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap();
            (s, v)
        });
    }
    let mut statuses = Vec::new();
    for (s, v) in guesses.join_all().await {
        if s == 429 {
            assert_eq!(v["responseCode"], 3, "{v}");
        }
        statuses.push(s);
    }
    assert!(statuses.contains(&403), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // A's credential was verified before: it still works from the same client.
    assert_eq!(
        n.put("/api/handles/88.118.8/ok2", Some(&n.a), &value)
            .await
            .0,
        201
    );
    n.node.stop().await.unwrap();
}
