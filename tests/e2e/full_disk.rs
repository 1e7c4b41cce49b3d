//! The disk under the database fills while writes flow (a small tmpfs: the SQLite file, or a
//! PostgreSQL tablespace). No write is acknowledged that was not stored, none refused is
//! stored, refusals say why, readiness drops, and writes resume once space returns, without
//! restarting the node.

use std::time::Duration;

use idnode_store::Store;
use idnode_testkit::{SmallDisk, TablespaceDatabase};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::common::{node_with, Backend, TestNode};

/// Handles whose write was acknowledged, and those whose write was refused.
#[derive(Default)]
struct Writes {
    acked: Vec<String>,
    refused: Vec<String>,
    refusals: usize,
}

fn values(i: usize) -> Value {
    json!([{"index": 1, "type": "URL",
            "data": format!("https://example.com/{i}/{}", "x".repeat(1500))}])
}

impl Writes {
    /// Files the answer to a write of `handles`.
    async fn record(&mut self, resp: Response, handles: Vec<String>) {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        match status {
            200 | 201 => self.acked.extend(handles),
            507 => {
                let msg = body["message"].as_str().unwrap_or_default();
                assert!(msg.contains("storage is full"), "{body}");
                assert!(!msg.contains("disk is full"), "internal text: {body}");
                self.refused.extend(handles);
                self.refusals += 1;
            }
            other => panic!("a write answered {other}: {body}"),
        }
    }
}

/// Rounds of a batch of 100 creates and a single PUT, until `refusals` writes were refused
/// or `rounds` rounds were sent.
async fn write(n: &TestNode, tag: &str, rounds: usize, refusals: usize) -> Writes {
    let mut w = Writes::default();
    for round in 0..rounds {
        let handles: Vec<String> = (0..100)
            .map(|i| format!("88.118.8/{tag}-{round}-{i}"))
            .collect();
        let ops: Vec<Value> = handles
            .iter()
            .enumerate()
            .map(|(i, h)| json!({"op": "create", "handle": h, "values": values(i)}))
            .collect();
        let resp = n
            .req(Method::POST, "/api/v1/identifiers/batch", Some(&n.a))
            .json(&json!({ "operations": ops }))
            .send()
            .await
            .unwrap();
        w.record(resp, handles).await;
        let single = format!("88.118.8/{tag}-{round}-single");
        let resp = n
            .req(Method::PUT, &format!("/api/handles/{single}"), Some(&n.a))
            .json(&json!({ "values": values(0) }))
            .send()
            .await
            .unwrap();
        w.record(resp, vec![single]).await;
        if w.refusals >= refusals {
            break;
        }
    }
    w
}

async fn ready(n: &TestNode) -> (u16, String) {
    readyz(n, "/readyz").await
}

async fn readyz(n: &TestNode, path: &str) -> (u16, String) {
    let r = n.req(Method::GET, path, None).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn stored(store: &dyn Store, handles: &[String]) -> usize {
    store.get_handles(handles).await.unwrap().len()
}

async fn full_disk(backend: Backend) {
    // Room for the empty database (PostgreSQL copies its template into the tablespace).
    let disk = SmallDisk::mount(if backend == Backend::Sqlite { 16 } else { 48 } << 20);
    let pg = (backend == Backend::Postgres).then(|| {
        let location = disk.path().join("tablespace");
        std::fs::create_dir(&location).unwrap();
        TablespaceDatabase::create(&location)
    });
    let url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", disk.path().join("idnode.db").display()),
    };
    let n = node_with(backend, |c| c.database.url = url.clone()).await;
    disk.fill_leaving(3 << 20);

    let before = write(&n, "f", 2_000, 6).await;
    assert!(before.refusals >= 6, "the disk never filled");
    assert!(
        !before.acked.is_empty(),
        "no write fitted before the disk filled"
    );
    let (status, text) = ready(&n).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("storage is full"), "{text}");
    // Reads still work: the node stays in the load balancers' rotation.
    assert_eq!(
        readyz(&n, "/readyz?for=resolution").await,
        (200, "ready\n".into())
    );
    let store = n.node.services.store.clone();
    assert_eq!(stored(&*store, &before.acked).await, before.acked.len());
    assert_eq!(stored(&*store, &before.refused).await, 0);

    disk.free();
    let mut tries = 0;
    while ready(&n).await.0 != 200 {
        tries += 1;
        assert!(tries < 100, "never ready again: {:?}", ready(&n).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = write(&n, "g", 3, 1).await;
    assert!(after.refused.is_empty() && after.acked.len() == 303);
    let after = after.acked;
    n.node.stop().await.unwrap();

    // A fresh connection sees exactly what was acknowledged.
    let reopened = idnode::open_store(&idnode::config::DatabaseConfig::with_url(url))
        .await
        .unwrap();
    assert_eq!(stored(&*reopened, &before.acked).await, before.acked.len());
    assert_eq!(stored(&*reopened, &before.refused).await, 0);
    assert_eq!(stored(&*reopened, &after).await, after.len());
    eprintln!(
        "{backend:?}: {} writes acknowledged and stored, {} refused and absent, {} after recovery",
        before.acked.len(),
        before.refused.len(),
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_disk_loses_no_acknowledged_write() {
    full_disk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_full_tablespace_loses_no_acknowledged_write() {
    full_disk(Backend::Postgres).await;
}
