//! The audit log: one chained entry per committed batch that changes something, none for
//! bookkeeping or for a batch that fails, no gaps under concurrent writers; the chain of
//! everything the story wrote verifies.

use futures_util::future::join_all;
use idnode_core::HandleValue;

use super::{batch, create, id};
use crate::audit::ChainCheck;
use crate::{AuditEntry, Batch, Op, Store, StoreError};

async fn last(store: &dyn Store) -> AuditEntry {
    let (head, _) = store.audit_head().await.unwrap();
    let mut entries = store.audit_entries(head - 1, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "entry {head} is stored");
    entries.remove(0)
}

pub(super) async fn run(store: &dyn Store) {
    let (before, _) = store.audit_head().await.unwrap();
    assert!(
        before > 10,
        "the story's writes so far are logged: {before}"
    );
    // The story's EPCIS writes (captures, grants, named queries, subscriptions) are logged
    // with who and from where, each in its own transaction.
    let all = store.audit_entries(0, 100_000).await.unwrap();
    for action in [
        "epcis.capture",
        "epcis.grant",
        "epcis.revoke",
        "epcis.query.create",
        "epcis.query.delete",
        "epcis.subscription.create",
        "epcis.subscription.delete",
    ] {
        let e = all
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} is not in the audit log"));
        assert!(
            !e.actor.is_empty() && e.origin == "192.0.2.1" && e.after.len() == 32,
            "{e:?}"
        );
    }

    // A batch from a client: who, from where, what, on what, digests.
    store
        .apply(&Batch {
            actor: "300:0.NA/88.118.8".into(),
            origin: "192.0.2.7".into(),
            ops: vec![
                create("88.118.8/AUD-1", "https://a"),
                create("88.118.8/AUD-2", "https://b"),
            ],
            idempotency: None,
        })
        .await
        .unwrap();
    let e = last(store).await;
    assert_eq!(e.seq, before + 1);
    assert_eq!(
        (e.actor.as_str(), e.origin.as_str()),
        ("300:0.NA/88.118.8", "192.0.2.7")
    );
    assert_eq!(e.action, "identifier.create×2");
    assert_eq!(e.target, "88.118.8/AUD-1 (+1)");
    assert!(e.before.is_empty() && e.after.len() == 32, "{e:?}");

    // An update records what it replaced.
    let rec = store.get_handle("88.118.8/AUD-1").await.unwrap().unwrap();
    store
        .apply(&batch(vec![Op::Update {
            handle: id("88.118.8/AUD-1"),
            expected_version: rec.version,
            before: rec.values.clone(),
            values: vec![HandleValue::text(1, "URL", "https://c")],
        }]))
        .await
        .unwrap();
    let e = last(store).await;
    assert_eq!(
        (e.seq, e.action.as_str()),
        (before + 2, "identifier.update")
    );
    assert_eq!((e.before.len(), e.after.len()), (32, 32));
    assert_eq!(e.origin, "");

    // Bookkeeping is not logged; a batch that fails leaves no entry.
    let usage = Op::AddUsage {
        day: "2026-12-05".into(),
        metric: "audit".into(),
        delta: 1,
    };
    store.apply(&batch(vec![usage])).await.unwrap();
    let dup = store
        .apply(&batch(vec![create("88.118.8/AUD-2", "https://d")]))
        .await;
    assert!(matches!(dup, Err(StoreError::Batch(_))), "{dup:?}");
    assert_eq!(store.audit_head().await.unwrap().0, before + 2);

    // Concurrent writers chain one after another.
    let batches: Vec<Batch> = (0..8)
        .map(|i| batch(vec![create(&format!("88.118.8/AUD-C{i}"), "https://e")]))
        .collect();
    let writes = batches.iter().map(|b| store.apply(b));
    for r in join_all(writes).await {
        r.unwrap();
    }

    // The whole chain, from the first entry, verifies against the head.
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 7).await.unwrap();
        let Some(end) = page.last() else { break };
        after = end.seq;
        for e in &page {
            check.next(e).unwrap();
        }
    }
    let (head, hash) = store.audit_head().await.unwrap();
    assert_eq!(head, before + 10);
    check.finish(head, &hash).unwrap();
}
