//! PostgreSQL stops under a serving node: requests that need the database fail fast with
//! their protocol's error (REST 503 with Retry-After, Handle RC 2, DNS SERVFAIL) before a
//! client's one-second deadline, cached answers keep flowing, anonymous callers never see
//! the database's own error text, and everything recovers when the database returns.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use idnode_handle_proto::{flags, rc, Request};
use idnode_testkit::Cluster;
use reqwest::Method;
use serde_json::json;

use crate::balancer::ROUTING_READINESS;
use crate::common::{node_with, Backend, TestNode};
use crate::hdl::{message, udp, Tcp};

/// The deadline a client gives the node.
const CLIENT_DEADLINE: Duration = Duration::from_secs(1);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CLIENT_DEADLINE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {CLIENT_DEADLINE:?}"))
}

/// An anonymous GET: status, Retry-After, body.
async fn get(n: &TestNode, path: &str) -> (u16, Option<String>, String) {
    let r = within(path, n.req(Method::GET, path, None).send())
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), retry, r.text().await.unwrap())
}

fn value(url: &str) -> serde_json::Value {
    json!([{"index": 1, "type": "URL", "data": {"format": "string", "value": url}}])
}

/// A throwaway cluster and a node on it holding `88.118.8/HOT` and `88.118.8/COLD`.
pub(crate) async fn hot_and_cold() -> (Cluster, TestNode) {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let url = cluster.database();
    let n = node_with(Backend::Postgres, |c| c.database.url = url.clone()).await;
    for h in ["88.118.8/HOT", "88.118.8/COLD"] {
        let (s, _) = n
            .put(
                &format!("/api/handles/{h}"),
                Some(&n.a),
                &value("https://x.example/"),
            )
            .await;
        assert_eq!(s, 201);
    }
    (cluster, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_fails_fast_and_recovers() {
    let (cluster, n) = hot_and_cold().await;
    let (s, _, hot) = get(&n, "/api/handles/88.118.8/HOT").await;
    assert_eq!(s, 200);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();

    cached_answers_flow(&n, &hot).await;
    misses_and_writes_fail_fast(&n).await;

    // The database returns: so do readiness and writes, without a restart.
    tokio::task::spawn_blocking(move || {
        cluster.resume();
        // Keep the cluster until the test ends.
        std::mem::forget(cluster);
    })
    .await
    .unwrap();
    let mut tries = 0;
    while get(&n, "/readyz").await.0 != 200 {
        tries += 1;
        assert!(tries < 100, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, _) = n
        .put(
            "/api/handles/88.118.8/NEW",
            Some(&n.a),
            &value("https://x.example/new"),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _, _) = get(&n, "/api/handles/88.118.8/COLD").await;
    assert_eq!(s, 200);
    n.node.stop().await.unwrap();
}

/// Cached answers keep flowing, on every front end.
async fn cached_answers_flow(n: &TestNode, hot: &str) {
    let (s, _, body) = get(n, "/api/handles/88.118.8/HOT").await;
    assert_eq!((s, body.as_str()), (200, hot));
    let r = within(
        "udp hit",
        udp(
            n.node.handle_addr,
            &message(
                &Request::Resolution {
                    handle: "88.118.8/HOT",
                    indexes: vec![],
                    types: vec![],
                },
                flags::PO,
                0,
            ),
        ),
    )
    .await;
    assert_eq!(r.code(), rc::SUCCESS);
}

/// Misses, writes and readiness fail fast, without the database's own words.
async fn misses_and_writes_fail_fast(n: &TestNode) {
    let (s, retry, body) = get(n, "/api/handles/88.118.8/COLD").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(body.contains("the database is unavailable"), "{body}");
    for leak in ["pool", "sqlx", "postgres", "connection", "timed out"] {
        assert!(
            !body.to_lowercase().contains(leak),
            "internal text in {body}"
        );
    }
    let r = within(
        "PUT",
        n.req(Method::PUT, "/api/handles/88.118.8/NEW", Some(&n.a))
            .json(&value("https://x.example/new"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let (s, _, body) = get(n, "/readyz").await;
    assert_eq!(s, 503, "{body}");
    // Still ready for resolution traffic (what load balancers route by): it has answers.
    let (s, _, body) = get(n, ROUTING_READINESS).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("cached answers are served"), "{body}");
    let cold = message(
        &Request::Resolution {
            handle: "88.118.8/COLD",
            indexes: vec![],
            types: vec![],
        },
        flags::PO,
        0,
    );
    let r = within("udp miss", udp(n.node.handle_addr, &cold)).await;
    assert_eq!(r.code(), rc::ERROR);
    let mut tcp = Tcp::connect(n.node.handle_addr).await;
    let r = within("tcp miss", tcp.call(&cold)).await;
    assert_eq!(r.code(), rc::ERROR);
    let dns = n.node.dns_addr.unwrap();
    let q = crate::dns::query("COLD.8.118.88.id.test.", RecordType::TXT, None);
    let m = within("dns miss", crate::dns::udp(dns, &q)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

/// Answers past their `max_age` keep flowing while the database is down (counted), on
/// REST, the Handle protocol and DNS; once it is back, answers are fresh again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_answers_flow_while_postgres_is_down() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let url = cluster.database();
    let n = node_with(Backend::Postgres, |c| {
        c.database.url = url.clone();
        c.cache.max_age_secs = 1;
        c.cache.stale_if_down_secs = 15;
    })
    .await;
    let hot_path = "/api/handles/88.118.8/HOT";
    assert_eq!(
        n.put(hot_path, Some(&n.a), &value("https://x.example/1"))
            .await
            .0,
        201
    );
    let (_, _, hot) = get(&n, hot_path).await;
    let dns = n.node.dns_addr.unwrap();
    let q = crate::dns::query("HOT.8.118.88.id.test.", RecordType::TXT, None);
    let m = within("dns hit", crate::dns::udp(dns, &q)).await;
    assert!(!m.answers.is_empty());
    let stale_before = stale_count(&n).await;

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    // Past max_age: the answers are stale now, and still given, on every front end.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for _ in 0..3 {
        cached_answers_flow(&n, &hot).await;
        let mut tcp = Tcp::connect(n.node.handle_addr).await;
        let hot_msg = message(
            &Request::Resolution {
                handle: "88.118.8/HOT",
                indexes: vec![],
                types: vec![],
            },
            flags::PO,
            0,
        );
        assert_eq!(
            within("tcp stale", tcp.call(&hot_msg)).await.code(),
            rc::SUCCESS
        );
        let m = within("dns stale", crate::dns::udp(dns, &q)).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(!m.answers.is_empty());
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(stale_count(&n).await >= stale_before + 9.0);
    let (s, _, _) = get(&n, "/api/handles/88.118.8/COLD").await;
    assert_eq!(s, 503);
    nothing_left_to_serve(&n, hot_path).await;

    tokio::task::spawn_blocking(move || {
        cluster.resume();
        std::mem::forget(cluster);
    })
    .await
    .unwrap();
    let mut tries = 0;
    while n
        .put(hot_path, Some(&n.a), &value("https://x.example/2"))
        .await
        .0
        != 200
    {
        tries += 1;
        assert!(tries < 100, "writes never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, _, body) = get(&n, hot_path).await;
    assert_eq!(s, 200);
    assert!(body.contains("https://x.example/2"), "{body}");
    n.node.stop().await.unwrap();
}

/// Past `max_age` + `stale_if_down` the answer is gone too, and the node leaves the load
/// balancers' rotation (`/readyz?for=resolution` 503).
async fn nothing_left_to_serve(n: &TestNode, hot_path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut ready = (200, None, String::new());
    while get(n, hot_path).await.0 == 200 || ready.0 == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "still serving past the stale window: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        ready = get(n, ROUTING_READINESS).await;
    }
    assert!(ready.2.starts_with("not ready: "), "{ready:?}");
    let (s, _, _) = get(n, hot_path).await;
    assert_eq!(s, 503);
}

async fn stale_count(n: &TestNode) -> f64 {
    n.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("idnode_cache_stale_answers_total "))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}
