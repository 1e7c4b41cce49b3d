//! The upstream outbox (queued, leased, delivered once, retried) and escrow deposits.

use idnode_core::EnterpriseProfile;

use super::{batch, create};
use crate::{
    DepositRecord, HistoryAction, Op, OutboxItem, OutboxRow, OutboxState, Review, Store, StoreError,
};

fn item(kind: &str, payload: &str) -> OutboxItem {
    OutboxItem {
        kind: kind.into(),
        payload: payload.into(),
    }
}

pub(super) async fn upstream(store: &dyn Store) {
    enterprise_material(store).await;
    let head = outbox_queueing(store).await;
    outbox_delivery(store, head).await;
}

/// Registration material, the upstream id and the review are kept.
async fn enterprise_material(store: &dyn Store) {
    let profile = EnterpriseProfile {
        credit_code: "91500000MA5U0000X1".into(),
        name_cn: "齿轮箱公司".into(),
        ..Default::default()
    };
    store
        .apply(&batch(vec![
            Op::SetEnterpriseProfile {
                id: 1,
                profile: Box::new(profile.clone()),
            },
            Op::SetEnterpriseUpstream {
                id: 1,
                upstream_id: "E-1001".into(),
            },
            Op::SetPrefixReview {
                prefix: "88.118.8".into(),
                review: Review::Rejected,
                note: "材料不全".into(),
            },
        ]))
        .await
        .unwrap();
    let e = store.get_enterprise(1).await.unwrap().unwrap();
    assert_eq!(e.profile, profile);
    assert_eq!(e.upstream_id.as_deref(), Some("E-1001"));
    let p = store.get_prefix("88.118.8").await.unwrap().unwrap();
    assert_eq!(
        (p.review, p.review_note.as_str()),
        (Review::Rejected, "材料不全")
    );
    let missing = store
        .apply(&batch(vec![Op::SetPrefixReview {
            prefix: "88.999".into(),
            review: Review::Approved,
            note: String::new(),
        }]))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

/// Actions are queued with the change that causes them, or not at all; the head of the queue.
async fn outbox_queueing(store: &dyn Store) -> OutboxRow {
    assert_eq!(store.outbox_head().await.unwrap(), None);
    store
        .apply(&batch(vec![create("88.118.8/OUTBOX-0", "https://o/0")]))
        .await
        .unwrap();
    let failed = store
        .apply(&batch(vec![
            Op::Enqueue(item("identifier.sync", "{}")),
            create("88.118.8/OUTBOX-0", "https://dup"),
        ]))
        .await;
    assert!(matches!(failed, Err(StoreError::Batch(_))), "{failed:?}");
    assert_eq!(store.outbox_stats().await.unwrap().pending, 0);
    store
        .apply(&batch(vec![
            create("88.118.8/OUTBOX-1", "https://o/1"),
            Op::Enqueue(item("a", "1")),
            Op::Enqueue(item("b", "2")),
            Op::Enqueue(item("c", "3")),
        ]))
        .await
        .unwrap();
    let head = store.outbox_head().await.unwrap().unwrap();
    assert_eq!((head.kind.as_str(), head.payload.as_str()), ("a", "1"));
    assert_eq!(
        (head.cursor, head.attempts, head.state),
        (0, 0, OutboxState::Pending)
    );
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead, stats.done), (3, 0, 0));
    assert_eq!(stats.oldest_pending_at, Some(head.created_at));

    head
}

/// A failed attempt is recorded; progress clears the error; done moves the head on; a
/// refused step becomes a dead row an operator can put back in the queue.
async fn outbox_delivery(store: &dyn Store, head: OutboxRow) {
    store
        .apply(&batch(vec![Op::OutboxRetry {
            id: head.id,
            attempts: 2,
            next_at: 99,
            error: "connection refused".into(),
        }]))
        .await
        .unwrap();
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!(stats.head_attempts, 2);
    assert_eq!(stats.head_error.as_deref(), Some("connection refused"));
    assert_eq!(store.outbox_head().await.unwrap().unwrap().next_at, 99);
    store
        .apply(&batch(vec![Op::OutboxProgress {
            id: head.id,
            cursor: 1,
            done: false,
        }]))
        .await
        .unwrap();
    let again = store.outbox_head().await.unwrap().unwrap();
    assert_eq!(
        (again.id, again.cursor, again.last_error),
        (head.id, 1, None)
    );
    store
        .apply(&batch(vec![Op::OutboxProgress {
            id: head.id,
            cursor: 2,
            done: true,
        }]))
        .await
        .unwrap();
    let next = store.outbox_head().await.unwrap().unwrap();
    assert!(next.id > head.id);
    assert_eq!(next.kind, "b");
    let late = store
        .apply(&batch(vec![Op::OutboxProgress {
            id: head.id,
            cursor: 3,
            done: true,
        }]))
        .await;
    assert!(matches!(late, Err(StoreError::NotFound(_))), "{late:?}");
    let done = store.outbox_list(OutboxState::Done, 10).await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].done_at.is_some());

    // A refused step becomes a dead row an operator can put back in the queue.
    store
        .apply(&batch(vec![Op::OutboxDead {
            item: item("b", "2-step-0"),
            error: "2302 Object exists".into(),
        }]))
        .await
        .unwrap();
    let dead = store.outbox_list(OutboxState::Dead, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("2302 Object exists"));
    assert_eq!(store.outbox_head().await.unwrap().unwrap().kind, "b");
    store
        .apply(&batch(vec![Op::OutboxRequeue { id: dead[0].id }]))
        .await
        .unwrap();
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead, stats.done), (3, 0, 1));
    let requeue_pending = store
        .apply(&batch(vec![Op::OutboxRequeue { id: next.id }]))
        .await;
    assert!(matches!(requeue_pending, Err(StoreError::NotFound(_))));
    let pending = store.outbox_list(OutboxState::Pending, 10).await.unwrap();
    let kinds: Vec<&str> = pending.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["b", "c", "b"]);
}

pub(super) async fn escrow(store: &dyn Store) {
    // History by id ranges, and the cursor of a moment.
    let all = store.history_range(0, None, 1_000_000).await.unwrap();
    assert!(all.len() >= 50);
    // By id; the records of one run of creates share its id.
    assert!(all.windows(2).all(|w| w[0].id <= w[1].id));
    let last = all.last().unwrap();
    assert_eq!(store.history_cursor(last.at).await.unwrap(), last.id);
    assert_eq!(store.history_cursor(0).await.unwrap(), 0);
    let mid = all[10].id;
    let window = store.history_range(mid, Some(mid + 5), 100).await.unwrap();
    assert!(window.iter().all(|r| r.id > mid && r.id <= mid + 5));
    let mut ids: Vec<i64> = store
        .history_range(mid, None, 3)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let deleted = all
        .iter()
        .find(|r| r.action == HistoryAction::Delete)
        .unwrap();
    assert!(deleted.before.is_some());

    // Deposits: recorded once each, newest first.
    let dep = |id: &str, watermark: i64, resend: u16| DepositRecord {
        id: id.into(),
        kind: if resend == 0 { "FULL" } else { "DIFF" }.into(),
        watermark,
        prev_id: None,
        resend,
        history_cursor: 7,
        nodes: 3,
        handles: 10_000,
        files: vec!["a.inde".into(), "a.sig".into(), "a.rep".into()],
        created_at: 1,
    };
    for d in [
        dep("20261125F0", 100, 0),
        dep("20261126F0", 200, 0),
        dep("20261126F1", 200, 1),
    ] {
        store
            .apply(&batch(vec![Op::RecordDeposit(d)]))
            .await
            .unwrap();
    }
    let again = store
        .apply(&batch(vec![Op::RecordDeposit(dep("20261126F0", 200, 0))]))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let list = store.deposits(10).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["20261126F1", "20261126F0", "20261125F0"]);
    assert_eq!(list[1], dep("20261126F0", 200, 0));

    // Usage counters add up per day and metric.
    let add = |day: &str, metric: &str, delta| Op::AddUsage {
        day: day.into(),
        metric: metric.into(),
        delta,
    };
    store
        .apply(&batch(vec![
            add("2026-11-25", "resolutions.http", 5),
            add("2026-11-25", "resolutions.http", 7),
            add("2026-11-26", "uptime_seconds", 60),
        ]))
        .await
        .unwrap();
    let u = store.usage("2026-11-25", "2026-11-26").await.unwrap();
    assert_eq!(
        u,
        [
            ("2026-11-25".into(), "resolutions.http".into(), 12),
            ("2026-11-26".into(), "uptime_seconds".into(), 60)
        ]
    );
    assert!(store
        .usage("2026-11-27", "2026-12-31")
        .await
        .unwrap()
        .is_empty());
}
