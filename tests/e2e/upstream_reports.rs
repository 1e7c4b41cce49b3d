//! What the two nodes of `upstream.rs` report to the top-level node: escrow deposits, daily
//! statistics, and IIIDAP look-ups with the bootstrap registry.

use std::time::Duration;

use serde_json::{json, Value};

use crate::upstream::{until, Node, World};

/// Escrow deposits are made, uploaded, verified and reported.
pub(crate) async fn escrow(w: &World) {
    let World {
        a, b, gear, state, ..
    } = w;
    // Escrow: a FULL deposit of each node, then a DIFF of node 88.118 after more changes;
    // each is uploaded, verified by the stand-in (signature, counts, chain) and reported.
    // (Watermarks are whole seconds: wait for the second of the last change to pass.)
    let now = || idnode_store::now_millis() / 1000;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for n in [a, b] {
        let d = idnode::escrow::run(&n.config, &n.node.services, now(), false, false)
            .await
            .unwrap();
        assert_eq!(d.kind, "FULL");
        assert!(d.handles >= 5, "{d:?}");
    }
    assert_eq!(a.register(gear, "88.118.5/GBX-4").await.0, 201);
    let (status, _) = a
        .call(
            reqwest::Method::DELETE,
            "/api/handles/88.118.5/GBX-1",
            gear,
            None,
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let diff = idnode::escrow::run(&a.config, &a.node.services, now(), false, false)
        .await
        .unwrap();
    let sunday = idnode_escrow::is_sunday(now());
    if sunday {
        // Sunday's deposit is FULL: the second of the date is its next revision.
        assert_eq!((diff.kind.as_str(), diff.resend), ("FULL", 1), "{diff:?}");
        assert!(diff.id.ends_with("F1"), "{diff:?}");
    } else {
        assert_eq!((diff.kind.as_str(), diff.handles), ("DIFF", 1), "{diff:?}");
    }
    until("the deposits to verify at the stand-in", || {
        let state = state.clone();
        async move {
            let da = state.deposits("snms-88.118").await.unwrap();
            let db = state.deposits("snms-88.119").await.unwrap();
            da.len() == 2 && db.len() == 1
        }
    })
    .await;
    for client in ["snms-88.118", "snms-88.119"] {
        for d in state.deposits(client).await.unwrap() {
            assert_eq!(d.status, "DVPN", "{client}: {d:?}");
        }
    }
    let da = state.deposits("snms-88.118").await.unwrap();
    if !sunday {
        assert_eq!(da[1].prev_id.as_deref(), Some(da[0].id.as_str()));
    }
    // 0.NA/88.118, 0.NA/88.118.5, 0.NA/88.118.6 and GBX-1..3; the DIFF holds GBX-4 and lists
    // GBX-1 deleted.
    assert_eq!(da[0].counts[idnode_escrow::HANDLE_NS], 6, "{da:?}");
    until("the deposit reports to arrive", || {
        let state = state.clone();
        async move {
            state.reports("88.118").await.unwrap().len() == 2
                && state.reports("88.119").await.unwrap().len() == 1
        }
    })
    .await;
}

/// The daily statistics report reaches the report interface.
pub(crate) async fn statistics(w: &World) {
    let World { a, state, .. } = w;
    // The daily statistics report reaches the report interface.
    let today = idnode::reports::Period::day(idnode::escrow::today());
    idnode::reports::run(&a.config, &a.node.services, &today)
        .await
        .unwrap();
    until("the statistics report to arrive", || {
        let state = state.clone();
        let period = today.path();
        async move {
            state
                .statistics("88.118")
                .await
                .unwrap()
                .iter()
                .any(|(p, _)| *p == period)
        }
    })
    .await;
    let (_, body) = state.statistics("88.118").await.unwrap().pop().unwrap();
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["registrations"]["created"], 4 + 3, "{report}");
    assert_eq!(report["registrations"]["deleted"], 1, "{report}");
}

/// IIIDAP look-ups at each node, and the bootstrap registry.
pub(crate) async fn iiidap(w: &World) {
    let World { a, b, state, .. } = w;
    // IIIDAP: each node answers for itself and its enterprises, and is in the bootstrap
    // registry with its enterprise prefixes.
    let iiidap = |n: &Node, path: &str| {
        let url = format!("{}/iiidap/{path}", n.base);
        let c = n.client.clone();
        async move {
            let r = c.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            let cors = r.headers()["access-control-allow-origin"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(
                (ct.as_str(), cors.as_str()),
                (idnode_http::IIIDAP_MEDIA_TYPE, "*")
            );
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = iiidap(a, "identifier/88.118.5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["node"]["name"], "Gearbox Co");
    assert_eq!(body["node"]["idNumber"], "91500000MA5U0000X1");
    assert_eq!(body["iiidapConformance"][0], "iiidap_level_0");
    assert_eq!(
        iiidap(a, "identifier/88.118").await.1["node"]["type"],
        "secondary node"
    );
    let (status, body) = iiidap(b, "identifier/88.119.6").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("hold")),
        "{body}"
    );
    let (status, body) = iiidap(a, "identifier/88.118.77").await;
    assert_eq!(
        (status, body["errorCode"].as_i64()),
        (404, Some(404)),
        "{body}"
    );
    assert_eq!(iiidap(a, "identifier/88.118.5%2FX").await.0, 400);
    assert_eq!(
        iiidap(b, "name/pump%20co").await.1["identifier"],
        "88.119.6"
    );
    let (_, found) = iiidap(b, "names?name=P*").await;
    assert_eq!(
        found["NodeSearchResults"].as_array().unwrap().len(),
        1,
        "{found}"
    );
    assert_eq!(iiidap(b, "names?name=*ump").await.0, 422);
    assert_eq!(iiidap(b, "help").await.0, 200);
    // Beyond 20 a second (bursts of 60) a client gets 429.
    let mut refused = 0;
    for _ in 0..150 {
        if iiidap(b, "help").await.0 == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "no 429 in 150 rapid queries");
    until("the bootstrap registry to list both nodes", || {
        let state = state.clone();
        async move {
            let reg = state.bootstrap().await.unwrap();
            reg["services"].as_array().is_some_and(|s| s.len() == 2)
        }
    })
    .await;
    let reg = state.bootstrap().await.unwrap();
    assert_eq!(
        reg["services"][0],
        json!([["88.118", "88.118.5"], ["https://88.118.node.test/iiidap/"]])
    );
}
