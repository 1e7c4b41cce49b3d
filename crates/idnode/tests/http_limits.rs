//! The HTTP port under clients that hold connections without using them, and under large
//! anonymous bodies: the `idnode` binary (so its memory is its own), driven over raw sockets.
//! Attackers connect from 127.0.0.2, ordinary clients from 127.0.0.1.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

mod support;

struct Node {
    node: support::Node,
    addr: SocketAddr,
}

/// An initialised node serving with `http` appended to its `[http]` section.
fn start(dir: &Path, http: &str) -> Node {
    let config = dir.join("idnode.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n{http}\n\
             [handle]\nlisten = \"127.0.0.1:0\"\n",
            dir.join("node.db").display()
        ),
    )
    .unwrap();
    let out = support::idnode(Some(&config))
        .args(["init", "--node-prefix", "88.118"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut serve = support::idnode(Some(&config));
    serve.arg("serve");
    let node = support::serve(serve);
    let addr = node.base.trim_start_matches("http://").parse().unwrap();
    Node { node, addr }
}

/// Resident memory of the node, KiB.
fn rss_kib(node: &Node) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.node.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((source, 0))).unwrap();
    sock.connect(to).await.unwrap()
}

const ATTACKER: [u8; 4] = [127, 0, 0, 2];

/// Reads until the server closes the connection; what it sent.
async fn until_closed(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => panic!(
                "still open after {within:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0) | Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One ordinary request on a fresh connection; the status line.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = connect_from([127, 0, 0, 1], addr).await;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let got = until_closed(&mut s, Duration::from_secs(10)).await;
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics(addr: SocketAddr) -> String {
    let mut s = connect_from([127, 0, 0, 1], addr).await;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8(until_closed(&mut s, Duration::from_secs(10)).await).unwrap()
}

/// Forty connections from one client that hold the server up: slow headers, idle, kept
/// alive then idle, slow bodies (ten each).
async fn attackers(addr: SocketAddr) -> Vec<(&'static str, TcpStream)> {
    let mut held = Vec::new();
    // Slow headers: a head trickled a byte at a time, never finished.
    for _ in 0..10 {
        let mut s = connect_from(ATTACKER, addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: n\r\n")
            .await
            .unwrap();
        held.push(("slow header", s));
    }
    // Idle: connected, nothing sent.
    for _ in 0..10 {
        held.push(("idle", connect_from(ATTACKER, addr).await));
    }
    // Kept alive after one request, then idle.
    for _ in 0..10 {
        let mut s = connect_from(ATTACKER, addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(("kept alive", s));
    }
    // Slow bodies: a Handle message over HTTP (anonymous, as resolvers send it) whose body
    // never completes.
    for _ in 0..10 {
        let mut s = connect_from(ATTACKER, addr).await;
        s.write_all(
            b"POST / HTTP/1.1\r\nHost: n\r\nContent-Type: application/x-hdl-message\r\n\
              Content-Length: 1000\r\n\r\n0123456789",
        )
        .await
        .unwrap();
        held.push(("slow body", s));
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        dir.path(),
        "max_connections = 200\nmax_connections_per_client = 40\nheader_timeout_secs = 1\n\
         idle_timeout_secs = 2\nbody_timeout_secs = 2\n",
    );
    let addr = node.addr;
    let mut held = attackers(addr).await;
    // The per-client cap (40) is reached: a 41st connection is closed unanswered.
    let mut extra = connect_from(ATTACKER, addr).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n")
        .await;
    let answer = until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));

    // Ordinary clients are served meanwhile.
    let trickle = tokio::spawn(async move {
        for (what, s) in &mut held {
            if *what == "slow header" {
                let _ = s.write_all(b"X").await;
            }
            if *what == "slow body" {
                let _ = s.write_all(b"0").await;
            }
        }
        held
    });
    for _ in 0..20 {
        assert_eq!(get(addr, "/healthz").await, "HTTP/1.1 200 OK");
        assert_eq!(
            get(addr, "/api/handles/88.118/none").await,
            "HTTP/1.1 404 Not Found"
        );
    }
    let mut held = trickle.await.unwrap();

    // Every attacker is cut off.
    for (what, s) in &mut held {
        eprintln!("waiting for the {what} connection to be cut");
        let got = until_closed(s, Duration::from_secs(15)).await;
        let text = String::from_utf8_lossy(&got);
        match *what {
            "slow body" => assert!(
                text.is_empty() || text.starts_with("HTTP/1.1 408"),
                "{text}"
            ),
            _ => assert!(text.is_empty(), "{what}: {text}"),
        }
    }
    let m = metrics(addr).await;
    let cut = |reason: &str| {
        metric(
            &m,
            &format!("idnode_http_connections_cut_total{{reason=\"{reason}\"}}"),
        )
    };
    assert!(cut("header_timeout") >= 20.0, "{m}");
    assert_eq!(cut("idle_timeout"), 10.0, "{m}");
    assert_eq!(cut("body_timeout"), 10.0, "{m}");
    assert!(
        metric(
            &m,
            "idnode_http_connections_refused_total{reason=\"client_limit\"}"
        ) >= 1.0,
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_large_bodies_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "");
    let addr = node.addr;
    for _ in 0..20 {
        assert_eq!(get(addr, "/healthz").await, "HTTP/1.1 200 OK");
    }
    let baseline = rss_kib(&node);
    let mut peak = baseline;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(tokio::spawn(async move {
            let s = connect_from([127, 0, 0, 1], addr).await;
            let (mut rd, mut wr) = s.into_split();
            wr.write_all(
                b"POST /api/v1/identifiers/batch HTTP/1.1\r\nHost: n\r\n\
                  Content-Type: application/json\r\nContent-Length: 31457280\r\n\r\n",
            )
            .await
            .unwrap();
            let writer = tokio::spawn(async move {
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0usize;
                while sent < 30 << 20 {
                    if wr.write_all(&chunk).await.is_err() {
                        break;
                    }
                    sent += chunk.len();
                }
                sent
            });
            let mut got = Vec::new();
            let _ = rd.read_to_end(&mut got).await;
            (
                String::from_utf8_lossy(&got).into_owned(),
                writer.await.unwrap(),
            )
        }));
    }
    let started = Instant::now();
    while clients.iter().any(|c| !c.is_finished()) && started.elapsed() < Duration::from_secs(30) {
        peak = peak.max(rss_kib(&node));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for c in clients {
        let (answer, sent) = c.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(sent < 30 << 20, "the whole body was taken: {sent} bytes");
    }
    let after = rss_kib(&node);
    eprintln!("RSS: baseline {baseline} KiB, peak {peak} KiB, after {after} KiB");
    // 20 × 30 MiB were offered; none of it was buffered.
    assert!(
        peak < baseline + 16 * 1024,
        "peak {peak} KiB over {baseline} KiB"
    );
    assert!(
        after < baseline + 16 * 1024,
        "after {after} KiB over {baseline} KiB"
    );
}
