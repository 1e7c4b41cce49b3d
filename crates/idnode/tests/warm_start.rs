//! A node restarted while its PostgreSQL is down answers its hot set from the cache
//! snapshot it wrote when it stopped (`[cache] snapshot_file`), fails the rest fast, and
//! takes its database up by itself when it returns. The `idnode` binary, a real cluster.
#![allow(missing_docs)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use idnode_testkit::Cluster;
use serde_json::json;

use support::{ok, Node};

fn write_config(dir: &Path, db: &str) -> std::path::PathBuf {
    let path = dir.join("idnode.toml");
    let text = format!(
        r#"[database]
url = "{db}"
[http]
listen = "127.0.0.1:0"
[handle]
listen = "127.0.0.1:0"
[secrets]
seal_key_file = "{dir}/seal.key"
server_key_file = "{dir}/server.key"
[cache]
snapshot_file = "{dir}/cache.snapshot"
"#,
        dir = dir.display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn serve(config: &Path) -> Node {
    let mut c = support::idnode(Some(config));
    c.arg("serve");
    support::serve(c)
}

/// Stops the node as an operator does (SIGTERM) and waits for it.
fn terminate(mut node: Node) {
    let pid = node.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = node.child.wait().unwrap();
    assert!(status.success(), "the node exited with {status}");
}

struct Client {
    http: reqwest::Client,
    base: String,
    secret: String,
}

impl Client {
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn put(&self, handle: &str) -> u16 {
        let values =
            json!([{"index": 1, "type": "URL", "data": format!("https://x.example/{handle}")}]);
        self.http
            .put(format!("{}/api/handles/{handle}", self.base))
            .basic_auth("300:0.NA/88.118.8", Some(&self.secret))
            .json(&values)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn stale_answers(&self) -> f64 {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix("idnode_cache_stale_answers_total "))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_without_its_database_answers_from_its_snapshot() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let db = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db);
    let snapshot = dir.path().join("cache.snapshot");
    let run = |args: &[&str]| ok(&support::idnode(Some(&config)).args(args).output().unwrap());
    run(&["init", "--node-prefix", "88.118"]);
    let created = run(&support::CREATE_GEARBOX);
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_owned();

    // HOT is resolved (cached), COLD only registered.
    let node = serve(&config);
    let mut c = Client {
        http: reqwest::Client::new(),
        base: node.base.clone(),
        secret,
    };
    for h in ["88.118.8/HOT", "88.118.8/COLD"] {
        assert_eq!(c.put(h).await, 201);
    }
    let (s, hot) = c.get("/api/handles/88.118.8/HOT").await;
    assert_eq!(s, 200);
    terminate(node);
    assert!(
        snapshot.exists(),
        "no snapshot written when the node stopped"
    );

    // Restarted while PostgreSQL is down: it starts, and answers HOT from the snapshot.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    let node = serve(&config);
    c.base = node.base.clone();
    assert_eq!(c.get("/api/handles/88.118.8/HOT").await, (200, hot.clone()));
    assert!(
        c.stale_answers().await >= 1.0,
        "the answer was not counted stale"
    );
    let (s, body) = c.get("/api/handles/88.118.8/COLD").await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(c.put("88.118.8/NEW").await, 503);
    assert_eq!(c.get("/readyz").await.0, 503);
    let (s, body) = c.get("/readyz?for=resolution").await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("cached answers are served"), "{body}");

    // The database returns: the node takes it up without a restart.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.resume();
        cluster
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.get("/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.put("88.118.8/NEW").await, 201);
    assert_eq!(c.get("/api/handles/88.118.8/COLD").await.0, 200);
    assert_eq!(c.get("/api/handles/88.118.8/HOT").await, (200, hot.clone()));
    terminate(node);

    // A damaged snapshot is refused whole: the node starts cold, on its database.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&snapshot, bytes).unwrap();
    let node = serve(&config);
    c.base = node.base.clone();
    assert_eq!(c.get("/api/handles/88.118.8/HOT").await, (200, hot));
    assert_eq!(c.stale_answers().await, 0.0);
    drop(node);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}
