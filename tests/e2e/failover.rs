//! Automatic failover: two idnode instances on a pg_auto_failover formation (primary and
//! synchronous standby) reached through its multi-host URL. The primary's keeper and
//! server are killed (SIGKILL) under a write load: writes resume through the standby,
//! promoted, without restarting idnode; every write acknowledged before or after is in the
//! database; cached answers never stop.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idnode_testkit::Formation;
use serde_json::json;

use crate::common::{self, node_with, Backend, Who};

/// Acknowledged writes (handle, when sent) and refused ones.
#[derive(Default)]
struct Writes {
    acked: Vec<(String, Instant)>,
    failed: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_primary_under_writes_loses_no_acknowledged_write() {
    let formation = Arc::new(tokio::task::spawn_blocking(Formation::start).await.unwrap());
    let url = formation.uri();
    let a = node_with(Backend::Postgres, |c| c.database.url = url.clone()).await;
    let b = common::join(&a, |_| {}).await.expect("a second instance");
    let bases = [a.base.clone(), format!("http://{}", b.http_addr)];
    let client = reqwest::Client::new();
    let hot: Vec<String> = (0..8).map(|i| format!("88.118.8/HOT-{i}")).collect();
    for h in &hot {
        let body = json!({"values": [{"index": 1, "type": "URL", "data": "https://hot.example/"}]});
        assert_eq!(
            a.put(&format!("/api/handles/{h}"), Some(&a.a), &body)
                .await
                .0,
            201
        );
        for base in &bases {
            let r = client
                .get(format!("{base}/api/handles/{h}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(Mutex::new(Writes::default()));
    let read_failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        let (w_stop, w_writes, w_base, who, w_client) = (
            stop.clone(),
            writes.clone(),
            base.clone(),
            a.a.clone(),
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            write_load(i, &w_base, &who, &w_client, &w_stop, &w_writes).await;
        }));
        let (stop, failures, reads, base, hot, client) = (
            stop.clone(),
            read_failures.clone(),
            reads.clone(),
            base.clone(),
            hot.clone(),
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let h = &hot[n % hot.len()];
                n += 1;
                let r = client
                    .get(format!("{base}/api/handles/{h}"))
                    .timeout(Duration::from_secs(1))
                    .send()
                    .await;
                reads.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{h}: {}", r.status())),
                    Err(e) => failures.lock().unwrap().push(format!("{h}: {e}")),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = formation.clone();
    let killed_port = tokio::task::spawn_blocking(move || f.kill_primary())
        .await
        .unwrap();
    let killed = Instant::now();

    // Writes sent after the kill must be acknowledged again (through the promoted
    // standby); then a little more load.
    let f = formation.clone();
    let promoted = tokio::task::spawn_blocking(move || {
        while f.primary().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        killed.elapsed()
    });
    let resumed = loop {
        let first_after = writes
            .lock()
            .unwrap()
            .acked
            .iter()
            .map(|(_, at)| *at)
            .find(|at| *at > killed);
        if first_after.is_some() {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no write acknowledged in 60 s after the primary was killed (formation: {:?})",
            formation.states()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let promoted = promoted.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let writes = std::mem::take(&mut *writes.lock().unwrap());
    let primary = formation.primary().unwrap_or_else(|| {
        panic!(
            "no primary after the kill of {killed_port}, writes resumed after {resumed:?}: {:?}",
            formation.states()
        )
    });
    assert_ne!(primary, killed_port);
    let stored: BTreeSet<String> = formation
        .sql(
            primary,
            "SELECT string_agg(COALESCE(handle, folded), E'\\n') FROM handles \
             WHERE folded LIKE '88.118.8/w-%'",
        )
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let lost: Vec<&String> = writes
        .acked
        .iter()
        .map(|(h, _)| h)
        .filter(|h| !stored.contains(*h))
        .collect();
    let read_failures = std::mem::take(&mut *read_failures.lock().unwrap());
    eprintln!(
        "failover: standby writable {promoted:?} and writes resumed {resumed:?} after the kill; {} writes acknowledged, {} refused \
         meanwhile, {} in the database; {} cached reads, {} failed",
        writes.acked.len(),
        writes.failed,
        stored.len(),
        reads.load(Ordering::Relaxed),
        read_failures.len()
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(
        resumed <= Duration::from_secs(30),
        "writes resumed only after {resumed:?}"
    );
    assert!(
        read_failures.is_empty(),
        "cached reads failed: {read_failures:?}"
    );
    assert!(writes.acked.iter().any(|(_, at)| *at < killed));
    b.stop().await.unwrap();
}

/// PUTs new handles through `base` until `stop`, recording each acknowledged one.
async fn write_load(
    instance: usize,
    base: &str,
    who: &Who,
    client: &reqwest::Client,
    stop: &AtomicBool,
    writes: &Mutex<Writes>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let handle = format!("88.118.8/W-{instance}-{n}");
        n += 1;
        let sent = Instant::now();
        let body = json!({"values": [{"index": 1, "type": "URL", "data": "https://w.example/"}]});
        let r = client
            .put(format!("{base}/api/handles/{handle}"))
            .header("authorization", common::basic(who))
            .timeout(Duration::from_secs(5))
            .json(&body)
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 201 => writes.lock().unwrap().acked.push((handle, sent)),
            _ => {
                writes.lock().unwrap().failed += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
