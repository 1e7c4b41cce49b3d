//! The story every backend must pass, run by each backend's tests against a real database.
//! Panics (assertions) on the first deviation.

mod audit;
mod events;
mod history;
mod stats;
mod subscriptions;
mod templates;
mod tokens;
mod upgrade;
mod upstream;

use idnode_core::{HandleValue, Identifier};

pub use upgrade::{shared_types, upgrade};

use crate::{
    Batch, EnterpriseStatus, HandleRecord, HistoryAction, Idempotency, ItemErrorKind,
    NewEnterprise, Op, PrefixRecord, PrefixStatus, Review, SecretHash, Store, StoreError,
};

fn id(s: &str) -> Identifier {
    Identifier::parse(s).unwrap()
}

fn batch(ops: Vec<Op>) -> Batch {
    Batch {
        actor: "conformance".into(),
        ops,
        idempotency: None,
        origin: String::new(),
    }
}

fn ent(id: i64, name: &str) -> NewEnterprise {
    NewEnterprise {
        id,
        name: name.into(),
        profile: Box::default(),
    }
}

fn prefix(p: &str, enterprise_id: Option<i64>, created_at: i64) -> PrefixRecord {
    PrefixRecord {
        prefix: p.into(),
        enterprise_id,
        status: PrefixStatus::Active,
        created_at,
        review: Review::None,
        review_note: String::new(),
        template_required: false,
    }
}

fn create(h: &str, url: &str) -> Op {
    Op::Create {
        handle: id(h),
        values: vec![HandleValue::text(1, "URL", url)],
    }
}

/// Runs the whole story against an empty store.
pub async fn run(store: &dyn Store) {
    store.ready().await.unwrap();
    enterprises_and_prefixes(store).await;
    handles_and_history(store).await;
    batches_are_atomic(store).await;
    listing(store).await;
    secrets(store).await;
    idempotency(store).await;
    upstream::upstream(store).await;
    upstream::escrow(store).await;
    history::run(store).await;
    templates::run(store).await;
    tokens::run(store).await;
    events::run(store).await;
    subscriptions::run(store).await;
    audit::run(store).await;
    stats::run(store).await;
    leases(store).await;
    cancelled_writes(store).await;
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.enterprises, 2);
    assert_eq!(stats.prefixes, 3);
    assert!(stats.handles >= 50);
}

/// A write dropped part-way (its client went away) leaves every connection writable: a
/// create is polled 1, 2, … times, yielding to the runtime between polls so that its
/// statements progress, then dropped; writes after it must all succeed. (sqlx 0.8 left a
/// PostgreSQL connection dropped during `BEGIN` inside a transaction for good.)
async fn cancelled_writes(store: &dyn Store) {
    use std::future::Future as _;
    use std::task::{Context, Poll, Waker};
    let yield_now = || {
        let mut yielded = false;
        std::future::poll_fn(move |cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    };
    for polls in 1..=300 {
        let dropped = batch(vec![create(
            &format!("88.118.8/CUT-{polls}"),
            "https://cut.example",
        )]);
        {
            let mut write = std::pin::pin!(store.apply(&dropped));
            for _ in 0..polls {
                let mut cx = Context::from_waker(Waker::noop());
                if write.as_mut().poll(&mut cx).is_ready() {
                    break;
                }
                yield_now().await;
            }
        }
        for k in 0..3 {
            let h = format!("88.118.8/AFTER-CUT-{polls}-{k}");
            let after = store
                .apply(&batch(vec![create(&h, "https://after.example")]))
                .await;
            assert!(
                after.is_ok(),
                "a write after one dropped at poll {polls}: {after:?}"
            );
        }
    }
}

/// One holder at a time: renewed by its holder, taken by another once run out or given up.
async fn leases(store: &dyn Store) {
    assert!(store.lease("outbox", "a", 1_000, 2_000).await.unwrap());
    assert!(!store.lease("outbox", "b", 1_500, 2_500).await.unwrap());
    assert!(store.lease("reports", "b", 1_500, 2_500).await.unwrap());
    assert!(store.lease("outbox", "a", 1_900, 3_000).await.unwrap());
    assert!(!store.lease("outbox", "b", 2_999, 4_000).await.unwrap());
    assert!(store.lease("outbox", "b", 3_000, 4_000).await.unwrap());
    assert!(!store.lease("outbox", "a", 3_100, 4_100).await.unwrap());
    store.release_lease("outbox", "a").await.unwrap();
    assert!(!store.lease("outbox", "a", 3_200, 4_200).await.unwrap());
    store.release_lease("outbox", "b").await.unwrap();
    assert!(store.lease("outbox", "a", 3_300, 4_300).await.unwrap());

    // A key's fingerprint is recorded once; only a replacement changes it.
    let record = |fp: &[u8], replace: bool| {
        batch(vec![Op::RecordNodeKey {
            name: "seal".into(),
            fingerprint: fp.to_vec(),
            replace,
        }])
    };
    assert_eq!(store.node_key("seal").await.unwrap(), None);
    store.apply(&record(b"one", false)).await.unwrap();
    let again = store.apply(&record(b"two", false)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.node_key("seal").await.unwrap(), Some(b"one".to_vec()));
    store.apply(&record(b"two", true)).await.unwrap();
    assert_eq!(store.node_key("seal").await.unwrap(), Some(b"two".to_vec()));
}

async fn enterprises_and_prefixes(store: &dyn Store) {
    let node = prefix("88.118", None, 1);
    store
        .apply(&batch(vec![
            Op::CreatePrefix(node.clone()),
            Op::CreateEnterprise(ent(1, "Gearbox Co")),
            Op::CreatePrefix(prefix("88.118.8", Some(1), 2)),
        ]))
        .await
        .unwrap();
    assert_eq!(store.get_prefix("88.118").await.unwrap(), Some(node));
    assert!(store.get_prefix("88.119").await.unwrap().is_none());

    // A duplicate prefix or enterprise name is a conflict, and the batch leaves nothing behind.
    let dup = store
        .apply(&batch(vec![
            Op::CreateEnterprise(ent(2, "Valve Co")),
            Op::CreatePrefix(prefix("88.118.8", Some(2), 3)),
        ]))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert!(store.get_enterprise(2).await.unwrap().is_none());
    let dup_name = store
        .apply(&batch(vec![Op::CreateEnterprise(ent(2, "Gearbox Co"))]))
        .await;
    assert!(
        matches!(dup_name, Err(StoreError::Conflict(_))),
        "{dup_name:?}"
    );

    store
        .apply(&batch(vec![
            Op::CreateEnterprise(ent(2, "Valve Co")),
            Op::CreatePrefix(prefix("88.118.9", Some(2), 3)),
            Op::SetEnterpriseStatus {
                id: 2,
                status: EnterpriseStatus::Suspended,
            },
            Op::SetPrefixStatus {
                prefix: "88.118.9".into(),
                status: PrefixStatus::Suspended,
            },
            Op::SetPrefixPolicy {
                prefix: "88.118.9".into(),
                template_required: true,
            },
        ]))
        .await
        .unwrap();
    let e = store.get_enterprise(2).await.unwrap().unwrap();
    assert_eq!(e.name, "Valve Co");
    assert_eq!(e.status, EnterpriseStatus::Suspended);
    assert_eq!(store.list_enterprises().await.unwrap().len(), 2);
    let mine = store.list_prefixes(Some(2)).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, PrefixStatus::Suspended);
    assert!(mine[0].template_required);
    let other = store.get_prefix("88.118.8").await.unwrap().unwrap();
    assert!(!other.template_required);
    assert_eq!(store.list_prefixes(None).await.unwrap().len(), 3);
    let missing = store
        .apply(&batch(vec![Op::SetEnterpriseStatus {
            id: 99,
            status: EnterpriseStatus::Active,
        }]))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn handles_and_history(store: &dyn Store) {
    let rec = create_and_refuse_duplicates(store).await;
    let (rec2, new_values) = versioned_updates(store, &rec).await;
    deletes_and_history(store, &rec, &rec2, &new_values).await;
}

/// A created handle, then its exact duplicate and its case variant refused, naming it.
async fn create_and_refuse_duplicates(store: &dyn Store) -> HandleRecord {
    store
        .apply(&batch(vec![create("88.118.8/Abc", "https://a")]))
        .await
        .unwrap();
    let rec = store.get_handle("88.118.8/Abc").await.unwrap().unwrap();
    assert_eq!(rec.values, vec![HandleValue::text(1, "URL", "https://a")]);

    // Exact duplicate and case variant are refused, naming the existing handle.
    let err = store
        .apply(&batch(vec![create("88.118.8/Abc", "x")]))
        .await
        .unwrap_err();
    let StoreError::Batch(items) = err else {
        panic!("expected batch error, got {err:?}")
    };
    assert_eq!(items[0].kind, ItemErrorKind::Exists);
    let err = store
        .apply(&batch(vec![create("88.118.8/aBC", "x")]))
        .await
        .unwrap_err();
    let StoreError::Batch(items) = err else {
        panic!("expected batch error, got {err:?}")
    };
    assert_eq!(
        items[0].kind,
        ItemErrorKind::CaseConflict {
            existing: "88.118.8/Abc".into()
        }
    );
    assert_eq!(
        store.find_folded("88.118.8/abc").await.unwrap().as_deref(),
        Some("88.118.8/Abc")
    );
    assert!(store.get_handle("88.118.8/abc").await.unwrap().is_none());

    rec
}

/// Update with the right version succeeds, with a stale one fails: the record after, and
/// its values.
async fn versioned_updates(
    store: &dyn Store,
    rec: &HandleRecord,
) -> (HandleRecord, Vec<HandleValue>) {
    let v1 = rec.version;
    let new_values = vec![
        HandleValue::text(1, "URL", "https://b"),
        HandleValue::text(2, "EMAIL", "ops@example.com"),
    ];
    store
        .apply(&batch(vec![Op::Update {
            handle: id("88.118.8/Abc"),
            expected_version: v1,
            before: rec.values.clone(),
            values: new_values.clone(),
        }]))
        .await
        .unwrap();
    let rec2 = store.get_handle("88.118.8/Abc").await.unwrap().unwrap();
    assert_eq!(rec2.values, new_values);
    assert!(rec2.version > v1);
    let stale = store
        .apply(&batch(vec![Op::Update {
            handle: id("88.118.8/Abc"),
            expected_version: v1,
            before: rec.values.clone(),
            values: vec![],
        }]))
        .await
        .unwrap_err();
    let StoreError::Batch(items) = stale else {
        panic!("expected batch error")
    };
    assert_eq!(items[0].kind, ItemErrorKind::VersionConflict);
    let gone = store
        .apply(&batch(vec![Op::Update {
            handle: id("88.118.8/nope"),
            expected_version: 1,
            before: vec![],
            values: vec![],
        }]))
        .await
        .unwrap_err();
    let StoreError::Batch(items) = gone else {
        panic!("expected batch error")
    };
    assert_eq!(items[0].kind, ItemErrorKind::NotFound);

    (rec2, new_values)
}

/// Unicode suffixes; a delete; history newest first with before and after.
async fn deletes_and_history(
    store: &dyn Store,
    rec: &HandleRecord,
    rec2: &HandleRecord,
    new_values: &[HandleValue],
) {
    // Unicode suffixes keep their bytes.
    store
        .apply(&batch(vec![create("88.118.8/齿轮-Ä", "https://u")]))
        .await
        .unwrap();
    assert!(store.get_handle("88.118.8/齿轮-Ä").await.unwrap().is_some());

    // Delete, then history shows create, update, delete newest first with before/after.
    store
        .apply(&batch(vec![Op::Delete {
            handle: id("88.118.8/Abc"),
            expected_version: rec2.version,
            before: rec2.values.clone(),
        }]))
        .await
        .unwrap();
    assert!(store.get_handle("88.118.8/Abc").await.unwrap().is_none());
    let h = store.history("88.118.8/Abc", 10).await.unwrap();
    let actions: Vec<_> = h.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            HistoryAction::Delete,
            HistoryAction::Update,
            HistoryAction::Create
        ]
    );
    assert_eq!(h[0].before.as_deref(), Some(new_values));
    assert_eq!(h[0].after, None);
    assert_eq!(h[1].after.as_deref(), Some(new_values));
    assert_eq!(h[2].before, None);
    assert_eq!(
        h[2].after.as_ref(),
        Some(&rec.values),
        "a create's values are reconstructed"
    );
    assert_eq!(h[2].actor, "conformance");
    assert!(h[0].id > h[1].id);
    // The name is free again once deleted.
    store
        .apply(&batch(vec![create("88.118.8/abc", "https://c")]))
        .await
        .unwrap();
}

async fn batches_are_atomic(store: &dyn Store) {
    let mut ops: Vec<Op> = (0..40)
        .map(|i| create(&format!("88.118.8/batch-{i:03}"), "https://b"))
        .collect();
    ops.push(create("88.118.8/ABC", "clashes with 88.118.8/abc"));
    ops.push(create("88.118.8/batch-007", "duplicate inside the batch"));
    let err = store.apply(&batch(ops)).await.unwrap_err();
    let StoreError::Batch(items) = err else {
        panic!("expected batch error, got {err:?}")
    };
    let positions: Vec<_> = items.iter().map(|i| i.position).collect();
    assert_eq!(positions, [40, 41], "{items:?}");
    assert!(store
        .get_handle("88.118.8/batch-000")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .history("88.118.8/batch-000", 10)
        .await
        .unwrap()
        .is_empty());

    // A large batch lands whole (crosses the backends' statement chunking).
    let ops: Vec<Op> = (0..12_000)
        .map(|i| create(&format!("88.118.9/bulk-{i:06}"), "https://bulk"))
        .collect();
    store.apply(&batch(ops)).await.unwrap();
    let (total, _) = store.list_handles("88.118.9", 0, 0).await.unwrap();
    assert_eq!(total, 12_000);
    let ops: Vec<Op> = (0..40)
        .map(|i| create(&format!("88.118.8/batch-{i:03}"), "https://b"))
        .collect();
    store.apply(&batch(ops)).await.unwrap();
}

async fn listing(store: &dyn Store) {
    let (total, page) = store.list_handles("88.118.8", 0, 5).await.unwrap();
    assert_eq!(total, 42);
    assert_eq!(page.len(), 5);
    let mut sorted = page.clone();
    sorted.sort_by_key(|h| h.to_lowercase());
    assert_eq!(page, sorted);
    let (_, next) = store.list_handles("88.118.8", 5, 5).await.unwrap();
    assert!(next[0].to_lowercase() > page[4].to_lowercase());
    let (_, tail) = store.list_handles("88.118.8", 40, 5).await.unwrap();
    assert_eq!(tail.len(), 2);
    let (none, empty) = store.list_handles("88.118.77", 0, 5).await.unwrap();
    assert_eq!((none, empty.len()), (0, 0));
    // Keyset scan visits every handle of the prefix once, in order.
    let mut after = String::new();
    let mut seen = Vec::new();
    loop {
        let page = store
            .scan_handles(Some("88.118.8"), &after, 7)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.handle.clone();
        seen.extend(page.into_iter().map(|r| r.handle));
    }
    assert_eq!(seen.len(), 42);
    assert!(seen
        .windows(2)
        .all(|w| w[0].to_lowercase() < w[1].to_lowercase()));
    // A neighbouring prefix that extends this one is not part of its range.
    store
        .apply(&batch(vec![create("88.118.80/x", "https://n")]))
        .await
        .unwrap();
    assert_eq!(store.list_handles("88.118.8", 0, 0).await.unwrap().0, 42);
    assert_eq!(store.list_handles("88.118.80", 0, 0).await.unwrap().0, 1);
    let everything = store.scan_handles(None, "", 100_000).await.unwrap();
    assert_eq!(everything.len(), 42 + 12_000 + 1);
    let got = store
        .get_handles(&[
            "88.118.8/batch-001".into(),
            "88.118.8/missing".into(),
            "88.118.8/batch-002".into(),
        ])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
}

async fn secrets(store: &dyn Store) {
    let s = SecretHash {
        alg: "PBKDF2-HMAC-SHA256".into(),
        salt: vec![1, 2, 3],
        iterations: 1000,
        hash: vec![9; 32],
        sealed: None,
    };
    store
        .apply(&batch(vec![Op::PutSecret {
            handle: "0.NA/88.118.8".into(),
            index: 300,
            secret: s.clone(),
        }]))
        .await
        .unwrap();
    assert_eq!(
        store.get_secret("0.NA/88.118.8", 300).await.unwrap(),
        Some(s.clone())
    );
    // Replacing a secret replaces its sealed copy too.
    let s2 = SecretHash {
        hash: vec![7; 32],
        sealed: Some(vec![5; 60]),
        ..s
    };
    store
        .apply(&batch(vec![Op::PutSecret {
            handle: "0.NA/88.118.8".into(),
            index: 300,
            secret: s2.clone(),
        }]))
        .await
        .unwrap();
    assert_eq!(
        store.get_secret("0.NA/88.118.8", 300).await.unwrap(),
        Some(s2)
    );
    store
        .apply(&batch(vec![Op::DeleteSecret {
            handle: "0.NA/88.118.8".into(),
            index: None,
        }]))
        .await
        .unwrap();
    assert!(store
        .get_secret("0.NA/88.118.8", 300)
        .await
        .unwrap()
        .is_none());
}

async fn idempotency(store: &dyn Store) {
    let rec = Idempotency {
        actor: "300:0.NA/88.118.8".into(),
        key: "k-1".into(),
        request_hash: "abc".into(),
        status: 200,
        body: "{\"ok\":true}".into(),
    };
    let mut b = batch(vec![create("88.118.8/idem-1", "https://i")]);
    b.idempotency = Some(rec.clone());
    store.apply(&b).await.unwrap();
    assert_eq!(
        store.get_idempotency(&rec.actor, "k-1").await.unwrap(),
        Some(rec.clone())
    );
    assert!(store
        .get_idempotency("someone else", "k-1")
        .await
        .unwrap()
        .is_none());
    // Reusing the key fails the whole batch.
    let mut again = batch(vec![create("88.118.8/idem-2", "https://i")]);
    again.idempotency = Some(rec);
    assert!(matches!(
        store.apply(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.get_handle("88.118.8/idem-2").await.unwrap().is_none());
}
