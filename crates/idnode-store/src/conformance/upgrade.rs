//! An upgrade: the rows a release before migration 0025 wrote (`idnode_store_sql::legacy`)
//! read, change and leave history as rows written since do.

use idnode_core::HandleValue;

use super::{batch, create, id};
use crate::{HistoryAction, Op, Store};

fn url(u: &str) -> Vec<HandleValue> {
    vec![HandleValue::text(1, "URL", u)]
}

/// Checks the seeded rows after the migration, then changes them.
pub async fn upgrade(store: &dyn Store) {
    use HistoryAction::{Create, Delete, Update};
    let a = store.get_handle("88.118.8/Old-A").await.unwrap().unwrap();
    assert_eq!((a.values.clone(), a.version), (url("https://old-a"), 1));
    let b = store.get_handle("88.118.8/old-b").await.unwrap().unwrap();
    assert_eq!((b.values.clone(), b.version), (url("https://old-b2"), 2));
    let hb = store.history("88.118.8/old-b", 10).await.unwrap();
    let actions: Vec<_> = hb.iter().map(|r| r.action).collect();
    assert_eq!(actions, [Update, Create]);
    assert_eq!(hb[1].after, Some(url("https://old-b1")));
    assert_eq!(hb[0].after, Some(url("https://old-b2")));

    // Change both: the update writes the new form, the delete keeps the old history.
    store
        .apply(&batch(vec![
            Op::Update {
                handle: id("88.118.8/Old-A"),
                expected_version: 1,
                before: a.values.clone(),
                values: url("https://new-a"),
            },
            Op::Delete {
                handle: id("88.118.8/old-b"),
                expected_version: 2,
                before: b.values.clone(),
            },
            create("88.118.8/new-c", "https://new-c"),
        ]))
        .await
        .unwrap();
    let a2 = store.get_handle("88.118.8/Old-A").await.unwrap().unwrap();
    assert_eq!((a2.values, a2.version), (url("https://new-a"), 2));
    let ha = store.history("88.118.8/Old-A", 10).await.unwrap();
    let seen: Vec<_> = ha.iter().map(|r| (r.action, r.actor.as_str())).collect();
    assert_eq!(seen, [(Update, "conformance"), (Create, "old")]);
    assert_eq!(ha[1].after, Some(url("https://old-a")));
    assert_eq!(ha[0].after, Some(url("https://new-a")));
    let hb = store.history("88.118.8/old-b", 10).await.unwrap();
    let actions: Vec<_> = hb.iter().map(|r| r.action).collect();
    assert_eq!(actions, [Delete, Update, Create]);
    assert_eq!(hb[0].before, Some(url("https://old-b2")));
    let feed = store.history_range(0, None, 100).await.unwrap();
    let seen: Vec<_> = feed.iter().map(|r| (r.handle.as_str(), r.action)).collect();
    assert_eq!(
        seen,
        [
            ("88.118.8/Old-A", Create),
            ("88.118.8/old-b", Create),
            ("88.118.8/old-b", Update),
            ("88.118.8/Old-A", Update),
            ("88.118.8/old-b", Delete),
            ("88.118.8/new-c", Create),
        ]
    );
}

/// Two stores on one database: a type name one of them numbers first is read by the other
/// (whose cached dictionary lacks it), both ways.
pub async fn shared_types(a: &dyn Store, b: &dyn Store) {
    let record = |h: &str, t: &str| Op::Create {
        handle: id(h),
        values: vec![
            HandleValue::text(1, t, "x"),
            HandleValue::text(2, "URL", "https://x"),
        ],
    };
    // Both read something first, so that both hold a dictionary already.
    assert!(a.get_handle("88.118.6/none").await.unwrap().is_none());
    assert!(b.get_handle("88.118.6/none").await.unwrap().is_none());
    a.apply(&batch(vec![record("88.118.6/from-a", "typeOfA")]))
        .await
        .unwrap();
    let got = b.get_handle("88.118.6/from-a").await.unwrap().unwrap();
    assert_eq!(got.values[0].type_name, "typeOfA");
    b.apply(&batch(vec![record("88.118.6/from-b", "typeOfB")]))
        .await
        .unwrap();
    let got = a.get_handle("88.118.6/from-b").await.unwrap().unwrap();
    assert_eq!(got.values[0].type_name, "typeOfB");
    let h = a.history("88.118.6/from-b", 5).await.unwrap();
    assert_eq!(h[0].after.as_ref().unwrap()[0].type_name, "typeOfB");
}
