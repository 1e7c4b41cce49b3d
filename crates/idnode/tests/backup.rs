//! `idnode backup` of a SQLite node while it takes writes, and the copy restored as a
//! node's database (docs/deployment.md, "Backup and restore"): it is the owner's only, its
//! audit chain verifies, and a node serving it answers every identifier acknowledged before
//! the backup began.
#![allow(missing_docs)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use support::ok;

#[test]
fn a_backup_taken_under_writes_restores() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let db = format!("sqlite://{}", live.join("idnode.db").display());
    let idnode = |db: &str, args: &[&str]| {
        let mut c = support::idnode(None);
        c.env("IDNODE_DATABASE_URL", db).args(args);
        c.output().expect("idnode runs")
    };
    ok(&idnode(&db, &["init", "--node-prefix", "88.118"]));
    // Initialising again with --if-needed is a no-op (an init container's second start).
    let again = ok(&idnode(
        &db,
        &["init", "--node-prefix", "88.118", "--if-needed"],
    ));
    assert!(again.contains("initialised already"), "{again}");
    let created = ok(&idnode(&db, &support::CREATE_GEARBOX));
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_owned();
    let node = support::serve_database(&db);

    // Writes go on while the backup is taken.
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, base, secret) = (acked.clone(), stop.clone(), node.base.clone(), secret);
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let c = reqwest::Client::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = c
                        .put(format!("{base}/api/handles/88.118.8/B-{i}"))
                        .basic_auth("300:0.NA/88.118.8", Some(&secret))
                        .json(&json!({"values": [{"index": 1, "type": "URL", "data": format!("https://b/{i}")}]}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    i += 1;
                    acked.store(i, Ordering::Release);
                }
            });
        })
    };
    while acked.load(Ordering::Acquire) < 50 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = acked.load(Ordering::Acquire);
    let copy = dir.path().join("backup.db");
    let out = ok(&idnode(&db, &["backup", "--to", copy.to_str().unwrap()]));
    assert!(out.contains("seal.key"), "names the keys to keep: {out}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let after = acked.load(Ordering::Acquire);
    assert!(after > before, "writes went on during the backup");
    drop(node);
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second backup onto the first is refused and leaves it whole.
    let size = std::fs::metadata(&copy).unwrap().len();
    assert!(!idnode(&db, &["backup", "--to", copy.to_str().unwrap()])
        .status
        .success());
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);

    // Restore: the copy and the key files in a new directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&copy, restored.join("idnode.db")).unwrap();
    for key in ["seal.key", "server.key"] {
        std::fs::copy(live.join(key), restored.join(key)).unwrap();
    }
    let rdb = format!("sqlite://{}", restored.join("idnode.db").display());
    let verified = ok(&idnode(&rdb, &["audit", "verify"]));
    assert!(verified.starts_with("audit log intact: "), "{verified}");
    let node = support::serve_database(&rdb);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = reqwest::Client::new();
        let status = |i: usize| {
            let r = c
                .get(format!("{}/api/handles/88.118.8/B-{i}", node.base))
                .send();
            async move { r.await.unwrap().status().as_u16() }
        };
        for i in 0..before {
            assert_eq!(
                status(i).await,
                200,
                "B-{i}, acknowledged before the backup, is missing"
            );
        }
        // Nothing after the last acknowledged write (one in flight at most).
        assert_eq!(status(after + 1).await, 404);
    });

    // PostgreSQL is backed up with its own tools.
    let pg = idnode("postgres://127.0.0.1:1/x", &["backup", "--to", "/tmp/x.db"]);
    assert!(String::from_utf8_lossy(&pg.stderr).contains("pg_dump"));
}
