//! Read replicas (`[database] replicas`): resolution misses read the streaming standby of a
//! pg_auto_failover formation while its measured lag is small; a writer reads its own
//! writes at once; with the standby's replay paused, a handle another instance changed is
//! never answered from the standby's old copy.

use std::sync::Arc;
use std::time::Duration;

use idnode_testkit::Formation;
use serde_json::json;

use crate::common::{self, node_with, Backend, TestNode};

fn record(v: &str) -> serde_json::Value {
    json!({"values": [{"index": 1, "type": "URL", "data": format!("https://r.example/{v}")}]})
}

async fn url_of(n: &TestNode, base: &str, h: &str) -> String {
    let (s, body) = common::send(n.client.get(format!("{base}/api/handles/{h}"))).await;
    assert_eq!(s, 200, "{h}: {body}");
    body["values"][0]["data"]["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn replica_reads(n: &TestNode) -> f64 {
    n.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("idnode_replica_reads_total "))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misses_read_the_replica_within_its_lag_and_writes_are_read_at_once() {
    let f = Arc::new(tokio::task::spawn_blocking(Formation::start).await.unwrap());
    let primary = f.primary().expect("a primary");
    let standby = [f.uri()]
        .iter()
        .flat_map(|u| {
            u.split("127.0.0.1:")
                .filter_map(|p| p.split([',', '/']).next()?.parse::<u16>().ok())
                .collect::<Vec<_>>()
        })
        .find(|p| *p != primary)
        .expect("a standby");
    let uri = f.uri();
    let n = node_with(Backend::Postgres, |c| {
        c.database.url = uri.clone();
        c.database.replicas = vec![format!("postgres://postgres@127.0.0.1:{standby}/postgres")];
        c.database.replica_max_lag_ms = 500;
    })
    .await;
    let base = n.base.clone();

    // A write, then a read at once on the same node: the new value.
    for i in 0..10 {
        let h = format!("/api/handles/88.118.8/R-{i}");
        assert_eq!(n.put(&h, Some(&n.a), &record("1")).await.0, 201);
        assert!(url_of(&n, &base, &format!("88.118.8/R-{i}"))
            .await
            .ends_with("/1"));
    }
    // Handles not written lately are read from the replica once it has caught up.
    for i in 0..10 {
        let h = format!("/api/handles/88.118.8/K-{i}");
        assert_eq!(n.put(&h, Some(&n.a), &record("1")).await.0, 201);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = replica_reads(&n).await;
    for i in 0..5 {
        assert!(url_of(&n, &base, &format!("88.118.8/K-{i}"))
            .await
            .ends_with("/1"));
    }
    let after = replica_reads(&n).await;
    assert!(after >= before + 5.0, "replica reads {before} -> {after}");

    // The standby stops replaying; another instance changes K-5. This one hears of it and
    // must not answer from the standby's old copy, now or after the handle's recent window.
    f.sql(standby, "SELECT pg_wal_replay_pause()")
        .expect("paused");
    let b = common::join(&n, |_| {}).await.expect("a second instance");
    let b_base = format!("http://{}", b.http_addr);
    let r = n
        .client
        .put(format!("{b_base}/api/handles/88.118.8/K-5"))
        .header("authorization", common::basic(&n.a))
        .json(&record("2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(url_of(&n, &base, "88.118.8/K-5").await.ends_with("/2"));
    b.stop().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // K-6 was never read here: a miss, which must not go to the lagging standby either
    // (the change to K-5 moved the primary on).
    let before = replica_reads(&n).await;
    assert!(url_of(&n, &base, "88.118.8/K-6").await.ends_with("/1"));
    assert_eq!(replica_reads(&n).await, before, "read a lagging replica");

    // Replay resumes: the replica is read again.
    f.sql(standby, "SELECT pg_wal_replay_resume()")
        .expect("resumed");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = replica_reads(&n).await;
    assert!(url_of(&n, &base, "88.118.8/K-7").await.ends_with("/1"));
    assert!(replica_reads(&n).await > before);
    n.node.stop().await.unwrap();
}
