//! Statistics per day, prefix and enterprise, as `/api/v1/stats` gives them: registrations
//! counted with each write, resolutions over HTTP and DNS by outcome with their distinct
//! clients (two client addresses), an enterprise limited to its own prefixes, CSV.

use std::time::Duration;

use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use crate::common::TestNode;
use crate::dns::{query, udp};
use crate::on_both;

async fn http_get(n: &TestNode, from: &str, path: &str) -> u16 {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
        .get(format!("{}{path}", n.base))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The operator's line of `prefix` today, once the node's flush has stored `want`
/// resolutions of it (the flush runs every second on this node).
async fn line_once_flushed(n: &TestNode, prefix: &str, want: i64) -> Value {
    for _ in 0..100 {
        let (status, lines) = n
            .get(&format!("/api/v1/stats?prefix={prefix}"), Some(&n.operator))
            .await;
        assert_eq!(status, 200, "{lines}");
        if let Some(l) = lines.as_array().unwrap().last() {
            if l["resolutions"].as_i64() == Some(want) {
                return l.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the resolutions of {prefix} were never flushed");
}

async fn statistics(n: &TestNode) {
    let v = |i: u32| json!({"values": [{"index": 1, "type": "URL", "data": format!("https://s.example/{i}")}]});
    for i in 1..=3 {
        assert_eq!(
            n.put(&format!("/api/handles/88.118.8/S-{i}"), Some(&n.a), &v(i))
                .await
                .0,
            201
        );
    }
    assert_eq!(
        n.put("/api/handles/88.118.8/S-1", Some(&n.a), &v(9))
            .await
            .0,
        200
    );
    assert_eq!(
        n.delete("/api/handles/88.118.8/S-3", Some(&n.a)).await.0,
        200
    );
    assert_eq!(
        n.put("/api/handles/88.118.9/V-1", Some(&n.b), &v(4))
            .await
            .0,
        201
    );

    // Resolutions: HTTP from two addresses, one not found, and DNS.
    assert_eq!(
        http_get(n, "127.0.0.1", "/api/handles/88.118.8/S-1").await,
        200
    );
    assert_eq!(
        http_get(n, "127.0.0.2", "/api/handles/88.118.8/S-1").await,
        200
    );
    assert_eq!(
        http_get(n, "127.0.0.2", "/api/handles/88.118.8/S-2").await,
        200
    );
    assert_eq!(
        http_get(n, "127.0.0.1", "/api/handles/88.118.8/NOPE").await,
        404
    );
    let dns = n.node.dns_addr.unwrap();
    udp(dns, &query("S-2.8.118.88.id.test.", RecordType::TXT, None)).await;

    let l = line_once_flushed(n, "88.118.8", 5).await;
    assert_eq!(
        (
            l["created"].as_i64(),
            l["updated"].as_i64(),
            l["deleted"].as_i64()
        ),
        (Some(3), Some(1), Some(1)),
        "{l}"
    );
    assert_eq!(
        l["by_outcome"],
        json!({"http.ok": 3, "http.not_found": 1, "dns.ok": 1}),
        "{l}"
    );
    assert_eq!(l["distinct_clients"], 2, "{l}");
    assert_eq!(l["enterprise"], n.a_id, "{l}");

    // An enterprise sees its own prefixes only.
    let (status, mine) = n.get("/api/v1/stats", Some(&n.b)).await;
    assert_eq!(status, 200);
    let prefixes: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes, ["88.118.9"], "{mine}");
    assert_eq!(
        n.get("/api/v1/stats?prefix=88.118.8", Some(&n.b)).await.0,
        403
    );
    assert_eq!(n.get("/api/v1/stats", None).await.0, 401);

    // Per enterprise and per day; CSV.
    let (_, per) = n
        .get("/api/v1/stats?by=enterprise", Some(&n.operator))
        .await;
    let a = per
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["enterprise"] == n.a_id)
        .unwrap();
    // Its prefix handle 0.NA/88.118.8 (created at onboarding) counts under 0.NA, the node's.
    assert_eq!(a["created"], 3, "{per}");
    let resp = n
        .req(
            reqwest::Method::GET,
            "/api/v1/stats?by=day&format=csv",
            Some(&n.operator),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.unwrap();
    let mut rows = text.lines();
    assert!(rows.next().unwrap().starts_with(
        "day,prefix,enterprise,created,updated,deleted,resolutions,distinct_clients,"
    ));
    assert_eq!(rows.count(), 1, "{text}");
    assert_eq!(
        n.get("/api/v1/stats?by=week", Some(&n.operator)).await.0,
        400
    );
}

on_both!(statistics_per_prefix_enterprise_and_day, statistics, |c| {
    c.reports.stats_flush_secs = 1;
});
