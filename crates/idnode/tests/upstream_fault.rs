//! Nothing is lost or applied twice when the top-level node is down and the node is killed
//! mid-delivery: the `idnode` binary against the in-process stand-in.
#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const IDENTIFIERS: usize = 10_000;
const PER_BATCH: usize = 1_000;

mod support;

use support::Node;

/// The node's configuration. Its HTTP port is fixed (a free one now), so that the node
/// restarted after being killed is the same instance, which takes its own upstream lease
/// back at once (as a node restarted in production does).
fn write_config(dir: &Path, epp_port: u16, cert: &Path) -> std::path::PathBuf {
    let path = dir.join("idnode.toml");
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let text = format!(
        r#"[database]
url = "sqlite://{db}"
[http]
listen = "{http}"
[handle]
listen = "127.0.0.1:0"
[upstream]
enabled = true
host = "127.0.0.1"
port = {epp_port}
ca_file = "{cert}"
client_id = "snms-88.118"
password = "pw-88.118"
poll_interval_secs = 1
backoff_initial_ms = 100
backoff_max_secs = 1
"#,
        db = dir.join("node.db").display(),
        cert = cert.display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn idnode(config: &Path) -> Command {
    support::idnode(Some(config))
}

fn serve(config: &Path) -> Node {
    let mut c = idnode(config);
    c.arg("serve");
    support::serve(c)
}

async fn post(c: &reqwest::Client, node: &Node, auth: &str, path: &str, body: &Value) -> Value {
    let r = c
        .post(format!("{}{path}", node.base))
        .header("authorization", auth)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status} {body}");
    body
}

async fn outbox(c: &reqwest::Client, node: &Node) -> (f64, f64) {
    let text = c
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(-1.0)
    };
    (
        value("idnode_upstream_outbox_pending"),
        value("idnode_upstream_outbox_dead"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_delivery_the_node_delivers_everything_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let tl_dir = dir.path().join("toplevel");
    let tl_config = |epp| idnode_toplevel::Config {
        data: tl_dir.clone(),
        epp,
        handle: "127.0.0.1:0".parse().unwrap(),
        https: "127.0.0.1:0".parse().unwrap(),
        auto_approve: true,
        namespaces: Default::default(),
    };
    let tl = idnode_toplevel::start(&tl_config("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    tl.state
        .add_client("snms-88.118", "88.118", "pw-88.118")
        .await
        .unwrap();
    let epp = tl.epp_addr;
    let config = write_config(dir.path(), epp.port(), &tl.cert);
    let secret_file = dir.path().join("operator.secret");
    let out = idnode(&config)
        .args(["init", "--node-prefix", "88.118", "--secret-file"])
        .arg(&secret_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("300%3A0.NA%2F88.118:{}", secret.trim()))
    );

    // The top-level node goes away; the node keeps working and queues.
    tl.stop().await;
    let node = serve(&config);
    let c = reqwest::Client::new();
    queue_while_down(&c, &node, &auth).await;

    // The top-level node returns (same state, same port); mid-delivery the node is killed.
    let tl = idnode_toplevel::start(&tl_config(epp)).await.unwrap();
    let at_kill = kill_mid_delivery(&tl, node).await;

    // Restarted, the node delivers the rest; redelivered steps are answered from the record.
    // An approval polled after the queue drained queues one more action (the prefix's site),
    // so the queue must be found empty by the gauge and by `idnode upstream status` alike.
    let node = serve(&config);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut text = String::new();
    loop {
        if outbox(&c, &node).await == (0.0, 0.0) {
            let status = idnode(&config)
                .args(["upstream", "status"])
                .output()
                .unwrap();
            assert!(status.status.success());
            text = String::from_utf8_lossy(&status.stdout).into_owned();
            if text.contains("queue: 0 pending, 0 dead") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let replays = delivered_exactly_once(&tl).await;
    eprintln!("killed at {at_kill} identifiers delivered; {replays} redeliveries answered from the record");
    drop(node);
    tl.stop().await;
}

/// With the top-level node away, the node keeps working and queues: three enterprises and
/// their prefixes, and the identifiers in batches.
async fn queue_while_down(c: &reqwest::Client, node: &Node, auth: &str) {
    for k in 1..=3 {
        post(
            c,
            node,
            auth,
            "/api/v1/enterprises",
            &json!({"name": format!("Enterprise {k}"), "prefix": format!("88.118.{k}"),
                "profile": {"credit_code": format!("91500000MA5U000{k:02}X")}}),
        )
        .await;
    }
    for b in 0..IDENTIFIERS / PER_BATCH {
        let ops: Vec<Value> = (0..PER_BATCH)
            .map(|i| {
                let h = format!("88.118/NODE-{:06}", b * PER_BATCH + i);
                json!({"op": "create", "handle": h, "values": [{"index": 1, "type": "URL",
                    "data": {"format": "string", "value": format!("https://n.example/{h}")}}]})
            })
            .collect();
        post(
            c,
            node,
            auth,
            "/api/v1/identifiers/batch",
            &json!({"operations": ops}),
        )
        .await;
    }
    // Queued while down: the site registration, 3 × (ent:create, prefix:create), the batches
    // (the gauge is refreshed every second).
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox(c, node).await.0 < 17.0 {
        assert!(
            Instant::now() < deadline,
            "not queued: {:?}",
            outbox(c, node).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the top-level node has applied 1,500 identifier creations, then kills the
/// node (SIGKILL): the number applied then.
async fn kill_mid_delivery(tl: &idnode_toplevel::Running, mut node: Node) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let applied = tl.state.applied().await.unwrap();
        let creates = applied
            .iter()
            .filter(|a| a.command == "identifier:create" && a.object.starts_with("88.118/"))
            .count();
        if creates >= 1_500 {
            node.child.kill().unwrap(); // SIGKILL
            node.child.wait().unwrap();
            break creates;
        }
        assert!(
            node.child.try_wait().unwrap().is_none(),
            "the node exited by itself"
        );
        assert!(Instant::now() < deadline, "delivery did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        at_kill < IDENTIFIERS,
        "the kill came after delivery ended ({at_kill}): nothing was tested"
    );
    at_kill
}

/// Everything was applied upstream exactly once, without errors; the redeliveries answered
/// from the record.
async fn delivered_exactly_once(tl: &idnode_toplevel::Running) -> u32 {
    let applied = tl.state.applied().await.unwrap();
    let mut objects: Vec<(&str, &str)> = applied
        .iter()
        .map(|a| (a.command.as_str(), a.object.as_str()))
        .collect();
    objects.sort_unstable();
    let twice: Vec<_> = objects
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    assert!(twice.is_empty(), "applied twice: {twice:?}");
    let count = |cmd: &str, pred: &dyn Fn(&str) -> bool| {
        applied
            .iter()
            .filter(|a| a.command == cmd && pred(&a.object))
            .count()
    };
    assert_eq!(
        count("identifier:create", &|o| o.starts_with("88.118/NODE-")),
        IDENTIFIERS
    );
    assert_eq!(count("ent:create", &|_| true), 3);
    assert_eq!(count("prefix:create", &|_| true), 3);
    assert!(
        applied.iter().all(|a| a.code == 1000 || a.code == 1001),
        "{:?}",
        applied.iter().find(|a| a.code >= 2000)
    );
    let replays: u32 = applied.iter().map(|a| a.replays).sum();
    assert!(
        replays >= 1,
        "the restart redelivered nothing: the kill missed the window"
    );
    for k in [0, 4_321, IDENTIFIERS - 1] {
        let name = format!("88.118/NODE-{k:06}");
        let obj = tl.state.identifier(&name).await.unwrap().unwrap();
        assert_eq!(obj.urls, [format!("https://n.example/{name}")]);
    }
    replays
}
