//! Statistics in the conformance story: registrations counted by each write's own
//! transaction, counters that add up, client sketches merged as unions, old days pruned.

use idnode_core::hll::{client_hash, Sketch};
use idnode_core::{HandleValue, Identifier};

use super::batch;
use crate::{day_of, now_millis, Op, StatRow, Store};

fn sketch(range: std::ops::Range<u32>) -> Vec<u8> {
    let mut s = Sketch::default();
    for i in range {
        s.insert(client_hash(std::net::IpAddr::from(i.to_be_bytes())));
    }
    s.to_bytes()
}

fn row(day: &str, prefix: &str, metric: &str, value: i64) -> StatRow {
    StatRow {
        day: day.into(),
        prefix: prefix.into(),
        metric: metric.into(),
        value,
    }
}

pub(super) async fn run(store: &dyn Store) {
    // A write counts its registrations per prefix in its own transaction.
    let today = day_of(now_millis());
    let h = Identifier::parse("88.300.1/STATS-1").unwrap();
    let values = vec![HandleValue::text(1, "URL", "https://s.example/1")];
    let ops = vec![
        Op::Create {
            handle: h.clone(),
            values: values.clone(),
        },
        Op::Create {
            handle: Identifier::parse("88.300.1/STATS-2").unwrap(),
            values: values.clone(),
        },
    ];
    store.apply(&batch(ops)).await.unwrap();
    let rec = store.get_handle(h.as_str()).await.unwrap().unwrap();
    let ops = vec![Op::Delete {
        handle: h.clone(),
        expected_version: rec.version,
        before: rec.values,
    }];
    store.apply(&batch(ops)).await.unwrap();
    let mine: Vec<StatRow> = store
        .daily_stats(&today, &today)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.prefix == "88.300.1")
        .collect();
    assert_eq!(
        mine,
        [
            row(&today, "88.300.1", "created", 2),
            row(&today, "88.300.1", "deleted", 1)
        ]
    );

    // Counters add up; sketches merge into the union of their clients.
    let add = |day: &str, n, clients: Vec<u8>| Op::AddStats {
        day: day.into(),
        counts: vec![("88.300.2".into(), "resolutions.http.ok".into(), n)],
        clients: vec![("88.300.2".into(), clients)],
    };
    store
        .apply(&batch(vec![add("2026-01-01", 5, sketch(0..600))]))
        .await
        .unwrap();
    store
        .apply(&batch(vec![add("2026-01-01", 7, sketch(300..1_000))]))
        .await
        .unwrap();
    store
        .apply(&batch(vec![add("2026-01-02", 1, sketch(0..10))]))
        .await
        .unwrap();
    let rows = store.daily_stats("2026-01-01", "2026-01-02").await.unwrap();
    assert_eq!(
        rows,
        [
            row("2026-01-01", "88.300.2", "resolutions.http.ok", 12),
            row("2026-01-02", "88.300.2", "resolutions.http.ok", 1)
        ]
    );
    let sketches = store
        .stats_clients("2026-01-01", "2026-01-01")
        .await
        .unwrap();
    assert_eq!(sketches.len(), 1);
    let union = Sketch::from_bytes(&sketches[0].2).unwrap().estimate() as f64;
    assert!((union - 1_000.0).abs() < 70.0, "{union}");
    // A malformed sketch is refused and nothing of its batch is kept.
    let bad = store
        .apply(&batch(vec![add("2026-01-02", 1, vec![1, 2, 3])]))
        .await;
    assert!(bad.is_err());
    assert_eq!(
        store.daily_stats("2026-01-02", "2026-01-02").await.unwrap()[0].value,
        1
    );

    // Pruning drops the days before the one named.
    store
        .apply(&batch(vec![Op::PruneStats {
            day: "2026-01-02".into(),
        }]))
        .await
        .unwrap();
    assert!(store
        .daily_stats("2026-01-01", "2026-01-01")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .stats_clients("2026-01-01", "2026-01-01")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .stats_clients("2026-01-02", "2026-01-02")
            .await
            .unwrap()
            .len(),
        1
    );
}
