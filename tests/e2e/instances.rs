//! Several instances of one node on one PostgreSQL database: a write made through one is
//! read through the other once the change is announced, and no stale answer follows; an
//! instance without the node's keys refuses to start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, Backend};

/// One read through instance B: when it was sent and answered, and what it saw.
#[derive(Clone, Debug)]
struct Read {
    sent: Instant,
    answered: Instant,
    handle: usize,
    /// The version in the URL (`https://v.example/<n>`); `None`: not found.
    version: Option<u64>,
}

fn record(version: u64) -> Value {
    json!({"values": [{"index": 1, "type": "URL", "data": format!("https://v.example/{version}")}]})
}

fn version_of(v: &Value) -> Option<u64> {
    v["values"].as_array()?.iter().find_map(|x| {
        x["data"]["value"]
            .as_str()?
            .strip_prefix("https://v.example/")?
            .parse()
            .ok()
    })
}

async fn read(client: &reqwest::Client, base: &str, handle: &str) -> Option<u64> {
    let (status, body) = common::send(client.get(format!("{base}/api/handles/{handle}"))).await;
    assert!(matches!(status, 200 | 404), "{status} {body}");
    version_of(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_instance_is_read_on_the_other_and_nothing_stale_follows() {
    let a = common::node(Backend::Postgres).await;
    let b = common::join(&a, |_| {})
        .await
        .expect("a second instance starts");
    let b_base = format!("http://{}", b.http_addr);
    let handles: Vec<String> = (0..16).map(|i| format!("88.118.8/MULTI-{i}")).collect();
    for h in &handles {
        assert_eq!(
            a.put(&format!("/api/handles/{h}"), Some(&a.a), &record(0))
                .await
                .0,
            201
        );
    }
    let client = reqwest::Client::new();
    // B caches every answer (and a "not found" for one handle not created yet).
    for h in &handles {
        assert_eq!(read(&client, &b_base, h).await, Some(0));
    }
    let late = "88.118.8/MULTI-LATE";
    assert_eq!(read(&client, &b_base, late).await, None);

    // Readers keep B busy with the same handles while A writes.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(Mutex::new(Vec::<Read>::new()));
    let mut readers = Vec::new();
    for r in 0..4 {
        let (stop, reads, client, base, handles) = (
            stop.clone(),
            reads.clone(),
            client.clone(),
            b_base.clone(),
            handles.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(Ordering::Relaxed) {
                let handle = i % handles.len();
                let sent = Instant::now();
                let version = read(&client, &base, &handles[handle]).await;
                let answered = Instant::now();
                reads.lock().unwrap().push(Read {
                    sent,
                    answered,
                    handle,
                    version,
                });
                i += 7;
            }
        }));
    }

    // A writes; each new version is waited for on B (the announcement takes a moment).
    let mut waits = Vec::new();
    for round in 1..=60u64 {
        let handle = (round as usize * 5) % handles.len();
        let path = format!("/api/handles/{}", handles[handle]);
        assert_eq!(a.put(&path, Some(&a.a), &record(round)).await.0, 200);
        let acked = Instant::now();
        loop {
            if read(&client, &b_base, &handles[handle]).await == Some(round) {
                break;
            }
            assert!(
                acked.elapsed() < Duration::from_secs(10),
                "B never saw round {round}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        waits.push(acked.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }

    // No read sent after B had answered with a version shows an older one.
    let reads = reads.lock().unwrap().clone();
    assert!(
        reads.len() > 200,
        "the readers made only {} reads",
        reads.len()
    );
    let mut stale = Vec::new();
    for r in &reads {
        let newer_seen = reads
            .iter()
            .any(|e| e.handle == r.handle && e.answered < r.sent && e.version > r.version);
        if newer_seen {
            stale.push(r.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale answers after a newer one: {stale:?}"
    );
    waits.sort();
    eprintln!(
        "{} reads on B during 60 writes on A; a write seen on B after (median, max) {:?}, {:?}",
        reads.len(),
        waits[waits.len() / 2],
        waits[waits.len() - 1]
    );

    // A "not found" B cached ends with the creation; a deletion on A ends B's answer.
    assert_eq!(
        a.put(&format!("/api/handles/{late}"), Some(&a.a), &record(7))
            .await
            .0,
        201
    );
    let until = Instant::now() + Duration::from_secs(10);
    while read(&client, &b_base, late).await != Some(7) {
        assert!(Instant::now() < until, "B keeps its 'not found'");
    }
    assert_eq!(
        a.delete(&format!("/api/handles/{late}"), Some(&a.a))
            .await
            .0,
        200
    );
    while read(&client, &b_base, late).await.is_some() {
        assert!(Instant::now() < until, "B keeps the deleted handle");
    }
    b.stop().await.unwrap();
}

#[tokio::test]
async fn an_instance_without_the_nodes_keys_refuses_to_start() {
    let a = common::node(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("seal.key");
    let err = common::join(&a, |c| c.secrets.seal_key_file = Some(missing.clone()))
        .await
        .err()
        .expect("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("secret sealing key") && text.contains("missing"),
        "{text}"
    );
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(!missing.exists(), "no key of its own was made");

    // Another key file is refused too, the sealing key and the server key alike.
    std::fs::write(&missing, [7u8; 32]).unwrap();
    std::fs::set_permissions(
        &missing,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let err = common::join(&a, |c| c.secrets.seal_key_file = Some(missing.clone()))
        .await
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("is not the secret sealing key"),
        "{err:#}"
    );
    let other_server = dir.path().join("server.key");
    idnode::load_server_key(&other_server).unwrap();
    let err = common::join(&a, |c| {
        c.secrets.server_key_file = Some(other_server.clone())
    })
    .await
    .err()
    .expect("refused");
    assert!(
        format!("{err:#}").contains("is not the Handle server key"),
        "{err:#}"
    );

    // With the node's key files it starts and answers.
    let b = common::join(&a, |_| {})
        .await
        .expect("starts with the node's keys");
    let (status, _) =
        common::send(reqwest::Client::new().get(format!("http://{}/readyz", b.http_addr))).await;
    assert_eq!(status, 200);
}

/// Two instances with the upstream connection on: one delivers at a time, every action
/// arrives once, and when the delivering instance stops the other takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_the_outbox_and_deliver_each_action_once() {
    use crate::upstream::{node, until, Toplevel};
    let tl = Toplevel::start(true).await;
    let a = node(Backend::Postgres, "88.121", &tl).await;
    let b = common::instance(&a.config, "88.121")
        .await
        .expect("a second instance");
    let b_base = format!("http://{}", b.http_addr);
    let gear = a
        .onboard("Gearbox Co", "88.121.5", "91500000MA5U0000X1")
        .await;
    let valve = a
        .onboard("Valve Co", "88.121.6", "91500000MA5U0000Y2")
        .await;
    for p in ["88.121.5", "88.121.6"] {
        until("the prefix approved", || async {
            a.review_of(p).await == "approved"
        })
        .await;
    }
    let put = |base: String, who: common::Who, handle: String| async move {
        let body = json!({"values": [{"index": 1, "type": "URL", "data": format!("https://t.example/{handle}")}]});
        let r = reqwest::Client::new()
            .put(format!("{base}/api/handles/{handle}"))
            .header("authorization", common::basic(&who))
            .json(&body);
        common::send(r).await.0
    };
    for i in 0..10 {
        let (base, who, h) = if i % 2 == 0 {
            (a.base.clone(), gear.clone(), format!("88.121.5/G-{i}"))
        } else {
            (b_base.clone(), valve.clone(), format!("88.121.6/V-{i}"))
        };
        assert_eq!(put(base, who, h).await, 201);
    }
    let state = tl.state().clone();
    until("every identifier upstream", || {
        let state = state.clone();
        async move {
            state.identifier("88.121.5/G-8").await.unwrap().is_some()
                && state.identifier("88.121.6/V-9").await.unwrap().is_some()
        }
    })
    .await;

    // The instance holding the lease stops (giving it up); the other delivers what follows.
    a.node.stop().await.unwrap();
    assert_eq!(
        put(b_base.clone(), valve.clone(), "88.121.6/AFTER".into()).await,
        201
    );
    until("the identifier registered after the stop", || {
        let state = state.clone();
        async move { state.identifier("88.121.6/AFTER").await.unwrap().is_some() }
    })
    .await;
    let applied = state.applied().await.unwrap();
    assert!(
        applied.iter().all(|t| t.code == 1000 || t.code == 1001),
        "{applied:?}"
    );
    assert!(
        applied.iter().all(|t| t.replays == 0),
        "delivered twice: {applied:?}"
    );
    let mut objects: Vec<_> = applied.iter().map(|t| (&t.command, &t.object)).collect();
    objects.sort();
    let all = objects.len();
    objects.dedup();
    assert_eq!(objects.len(), all, "an action applied twice: {applied:?}");
    for h in ["88.121.5/G-0", "88.121.6/V-1", "88.121.6/AFTER"] {
        assert!(state.identifier(h).await.unwrap().is_some(), "{h}");
    }
    // The queue drains (an approval polled late queues one more action: its site).
    let store = b.services.store.clone();
    until("the outbox to drain", || {
        let store = store.clone();
        async move {
            let o = store.outbox_stats().await.unwrap();
            (o.pending, o.dead) == (0, 0)
        }
    })
    .await;
    b.stop().await.unwrap();
}
