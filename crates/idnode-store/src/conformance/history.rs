//! History kept small (one row per run of creates): every handle's history and the change
//! feed read as if each change had its own row, through deletes and re-creates.

use idnode_core::HandleValue;

use super::{batch, create, id};
use crate::{HistoryAction, Op, Store};

pub(super) async fn run(store: &dyn Store) {
    let cursor = store.history_range(0, None, 1_000_000).await.unwrap();
    let start = cursor.last().map_or(0, |r| r.id);
    // One run creates a lower-case and a mixed-case handle; both read back as written.
    store
        .apply(&batch(vec![
            create("88.118.7/hist-a", "https://a1"),
            create("88.118.7/Hist-B", "https://b1"),
        ]))
        .await
        .unwrap();
    let a1 = store.get_handle("88.118.7/hist-a").await.unwrap().unwrap();
    let b = store.get_handle("88.118.7/Hist-B").await.unwrap().unwrap();
    assert_eq!(
        (a1.handle.as_str(), b.handle.as_str()),
        ("88.118.7/hist-a", "88.118.7/Hist-B")
    );
    assert_eq!(
        store
            .find_folded("88.118.7/hist-b")
            .await
            .unwrap()
            .as_deref(),
        Some("88.118.7/Hist-B")
    );
    assert!(store.get_handle("88.118.7/hist-b").await.unwrap().is_none());

    // Update, then delete and create again in one batch.
    let a2 = vec![HandleValue::text(1, "URL", "https://a2")];
    store
        .apply(&batch(vec![Op::Update {
            handle: id("88.118.7/hist-a"),
            expected_version: a1.version,
            before: a1.values.clone(),
            values: a2.clone(),
        }]))
        .await
        .unwrap();
    store
        .apply(&batch(vec![
            Op::Delete {
                handle: id("88.118.7/hist-a"),
                expected_version: a1.version + 1,
                before: a2.clone(),
            },
            create("88.118.7/hist-a", "https://a3"),
        ]))
        .await
        .unwrap();
    let a3 = store.get_handle("88.118.7/hist-a").await.unwrap().unwrap();

    let h = store.history("88.118.7/hist-a", 10).await.unwrap();
    let actions: Vec<_> = h.iter().map(|r| r.action).collect();
    use HistoryAction::{Create, Delete, Update};
    assert_eq!(actions, [Create, Delete, Update, Create], "{h:?}");
    assert!(h.windows(2).all(|w| w[0].id > w[1].id), "{h:?}");
    assert_eq!(h[0].after.as_deref(), Some(a3.values.as_slice()));
    assert_eq!(h[1].before.as_deref(), Some(a2.as_slice()));
    assert_eq!(h[2].before.as_deref(), Some(a1.values.as_slice()));
    assert_eq!(
        h[2].after.as_deref(),
        Some(a2.as_slice()),
        "an update's values after"
    );
    assert_eq!(
        h[3].after.as_deref(),
        Some(a1.values.as_slice()),
        "the first life's create"
    );
    assert!(h
        .iter()
        .all(|r| r.actor == "conformance" && r.handle == "88.118.7/hist-a"));
    // A limit keeps the newest.
    let newest = store.history("88.118.7/hist-a", 2).await.unwrap();
    assert_eq!(newest, h[..2]);
    let hb = store.history("88.118.7/Hist-B", 10).await.unwrap();
    assert_eq!(hb.len(), 1);
    assert_eq!(
        (hb[0].action, hb[0].after.as_deref()),
        (Create, Some(b.values.as_slice()))
    );

    // The change feed: both creates of the run (one id), the update, the delete, the new
    // create; the kept copy of the first create is not a change.
    let feed = store.history_range(start, None, 1_000).await.unwrap();
    let seen: Vec<(&str, HistoryAction)> =
        feed.iter().map(|r| (r.handle.as_str(), r.action)).collect();
    assert_eq!(
        seen,
        [
            ("88.118.7/hist-a", Create),
            ("88.118.7/Hist-B", Create),
            ("88.118.7/hist-a", Update),
            ("88.118.7/hist-a", Delete),
            ("88.118.7/hist-a", Create),
        ]
    );
    assert_eq!(feed[0].id, feed[1].id);
    assert!(feed[1..].windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(feed[3].before.as_deref(), Some(a2.as_slice()));
    // A run counts as one row of the limit, and is never split.
    assert_eq!(store.history_range(start, None, 1).await.unwrap().len(), 2);
    let last = feed.last().unwrap();
    assert_eq!(store.history_cursor(last.at).await.unwrap(), last.id);
}
