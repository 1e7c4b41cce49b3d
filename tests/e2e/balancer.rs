//! haproxy, run with `deploy/compose/haproxy.cfg` as shipped (its addresses and connection
//! limit changed), in
//! front of a node on PostgreSQL: while the database is down, haproxy's health checks keep
//! the node in rotation, so its cached answers reach clients through haproxy on HTTP and on
//! the Handle protocol over TCP, and misses get the node's own 503, not haproxy's.
//! (`db_down.rs` checks the node leaves rotation once nothing is left to serve.)

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idnode_handle_proto::{flags, rc, Request};
use reqwest::Method;

use crate::common::TestNode;
use crate::hdl::{message, Tcp};

/// The readiness load balancers route by, as `deploy/` configures it.
pub const ROUTING_READINESS: &str = "/readyz?for=resolution";

/// haproxy's checks of the shipped configuration: every 2 s, down after 3 failures.
const MARKED_DOWN_AFTER: Duration = Duration::from_secs(6);

/// A running haproxy, stopped when dropped.
struct Haproxy {
    child: Child,
    http: SocketAddr,
    handle: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], idnode_testkit::free_port()))
}

/// haproxy with the shipped configuration, both backends' servers pointed at `n`.
fn haproxy(n: &TestNode) -> Haproxy {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/compose/haproxy.cfg");
    let (http, handle) = (free_addr(), free_addr());
    let (node_http, node_handle) = (n.node.http_addr, n.node.handle_addr);
    let mut cfg = std::fs::read_to_string(shipped).unwrap();
    for (from, to) in [
        ("bind :8000", format!("bind {http}")),
        ("bind :2641", format!("bind {handle}")),
        (
            "check port 8000",
            format!("check port {}", node_http.port()),
        ),
        // 20,000 connections need 40,000 descriptors, more than test machines may allow.
        ("maxconn 20000", "maxconn 2000".to_owned()),
    ] {
        assert!(cfg.contains(from), "haproxy.cfg has no {from:?}");
        cfg = cfg.replace(from, &to);
    }
    for name in ["idnode-a", "idnode-b"] {
        cfg = cfg
            .replace(&format!("{name}:8000"), &node_http.to_string())
            .replace(&format!("{name}:2641"), &node_handle.to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haproxy.cfg");
    std::fs::write(&file, cfg).unwrap();
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .expect("haproxy runs (Debian: apt-get install haproxy; .ci/run installs it)");
    Haproxy {
        child,
        http,
        handle,
        _dir: dir,
    }
}

/// A GET through haproxy: status and body.
async fn get(h: &Haproxy, path: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("http://{}{path}", h.http))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A Handle resolution over TCP through haproxy, on a new connection: its response code.
async fn resolve_tcp(h: &Haproxy, handle: &str) -> u32 {
    let msg = message(
        &Request::Resolution {
            handle,
            indexes: vec![],
            types: vec![],
        },
        flags::PO,
        0,
    );
    let mut tcp = Tcp::connect(h.handle).await;
    tokio::time::timeout(Duration::from_secs(2), tcp.call(&msg))
        .await
        .expect("an answer through haproxy")
        .code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_keeps_routing_cached_answers_while_the_database_is_down() {
    let (cluster, n) = crate::db_down::hot_and_cold().await;
    let mut proxy = haproxy(&n);
    // haproxy answers once it listens; the HOT answer is cached on both views' way in.
    let deadline = Instant::now() + Duration::from_secs(20);
    let hot = loop {
        if let Ok(r) = reqwest::get(format!("http://{}/api/handles/88.118.8/HOT", proxy.http)).await
        {
            if r.status() == 200 {
                break r.text().await.unwrap();
            }
        }
        if let Some(status) = proxy.child.try_wait().unwrap() {
            panic!("haproxy exited: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "haproxy never routed to the node"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(resolve_tcp(&proxy, "88.118.8/HOT").await, rc::SUCCESS);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    // Longer than haproxy takes to mark a failing server down: the node stays in rotation.
    let until = Instant::now() + MARKED_DOWN_AFTER + Duration::from_secs(3);
    while Instant::now() < until {
        assert_eq!(
            get(&proxy, "/api/handles/88.118.8/HOT").await,
            (200, hot.clone())
        );
        assert_eq!(resolve_tcp(&proxy, "88.118.8/HOT").await, rc::SUCCESS);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A miss reaches the node and gets its answer, not haproxy's "no server available".
    let (s, body) = get(&proxy, "/api/handles/88.118.8/COLD").await;
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("the database is unavailable"), "{body}");
    let r = n
        .req(Method::GET, ROUTING_READINESS, None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
    n.node.stop().await.unwrap();
}
