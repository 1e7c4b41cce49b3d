use std::sync::Arc;

use idnode_core::{HandleValue, Identifier, Permissions};
use idnode_store::{Batch, Op, Store};
use idnode_store_sqlite::SqliteStore;

use super::*;

async fn setup() -> (tempfile::TempDir, Arc<dyn Store>, Resolver) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let mut hidden = HandleValue::text(2, "SECRET_NOTE", "admins only");
    hidden.permissions = Permissions::from_rest("1100").unwrap();
    let mut key = HandleValue::text(300, "HS_SECKEY", "");
    key.permissions = Permissions::SECRET;
    store
        .apply(&Batch {
            actor: "test".into(),
            ops: vec![Op::Create {
                handle: Identifier::parse("88.118.8/a").unwrap(),
                values: vec![HandleValue::text(1, "URL", "https://a"), hidden, key],
            }],
            idempotency: None,
            origin: String::new(),
        })
        .await
        .unwrap();
    let r = Resolver::new(
        store.clone(),
        vec!["88.118".into()],
        &CacheConfig::default(),
    );
    (dir, store, r)
}

fn id(s: &str) -> Identifier {
    Identifier::parse(s).unwrap()
}

/// Replaces 88.118.8/a's values with one URL, behind the resolver's back.
async fn set_url(store: &Arc<dyn Store>, url: &str) {
    let rec = store.get_handle("88.118.8/a").await.unwrap().unwrap();
    store
        .apply(&Batch {
            actor: "test".into(),
            ops: vec![Op::Update {
                handle: id("88.118.8/a"),
                expected_version: rec.version,
                before: rec.values.clone(),
                values: vec![HandleValue::text(1, "URL", url)],
            }],
            idempotency: None,
            origin: String::new(),
        })
        .await
        .unwrap();
}

fn indexes(e: &Entry) -> Vec<u32> {
    e.values().iter().map(|v| v.index).collect()
}

/// 88.118.8/a in `view`.
async fn a(r: &Resolver, view: View, fresh: bool) -> Arc<Entry> {
    r.resolve(&id("88.118.8/a"), view, fresh).await.unwrap()
}

#[tokio::test]
async fn views_filter_values_and_secrets_never_show() {
    let (_d, _s, r) = setup().await;
    let public = a(&r, View::Public, false).await;
    assert_eq!(indexes(&public), [1]);
    let admin = a(&r, View::Admin, false).await;
    assert_eq!(indexes(&admin), [1, 2]);
    let body = String::from_utf8(admin.body()).unwrap();
    assert!(body.starts_with(r#"{"responseCode":1,"handle":"88.118.8/a","values":["#));
    assert!(!body.contains("HS_SECKEY"));
}

#[tokio::test]
async fn hits_come_from_cache_until_invalidated() {
    let (_d, store, r) = setup().await;
    let first = a(&r, View::Public, false).await;
    let again = a(&r, View::Public, false).await;
    assert!(
        Arc::ptr_eq(&first, &again),
        "second read must be the cached entry"
    );

    set_url(&store, "https://b").await;
    // Without invalidation the stale entry is still served ...
    let stale = a(&r, View::Public, false).await;
    assert_eq!(stale.values()[0].data, b"https://a");
    // ... and `fresh` bypasses it.
    let fresh = a(&r, View::Public, true).await;
    assert_eq!(fresh.values()[0].data, b"https://b");
    r.invalidate("88.118.8/a");
    let after = a(&r, View::Public, false).await;
    assert_eq!(after.values()[0].data, b"https://b");
}

#[tokio::test]
async fn unknown_handles_are_negatively_cached_until_created() {
    let (_d, store, r) = setup().await;
    let missing = id("88.118.8/new");
    assert!(matches!(
        r.resolve(&missing, View::Public, false).await,
        Err(ResolveError::NotFound)
    ));
    store
        .apply(&Batch {
            actor: "test".into(),
            ops: vec![Op::Create {
                handle: missing.clone(),
                values: vec![HandleValue::text(1, "URL", "https://n")],
            }],
            idempotency: None,
            origin: String::new(),
        })
        .await
        .unwrap();
    // The negative entry hides the new handle until the write path invalidates it.
    assert!(r.resolve(&missing, View::Public, false).await.is_err());
    r.invalidate(missing.as_str());
    assert!(r.resolve(&missing, View::Public, false).await.is_ok());
}

#[tokio::test]
async fn foreign_prefixes_are_not_ours() {
    let (_d, _s, r) = setup().await;
    let err = r
        .resolve(&id("88.200.1/x"), View::Public, false)
        .await
        .unwrap_err();
    assert_eq!(err.response_code(), ResponseCode::ServerNotResponsible);
    assert!(r.serves(&id("0.NA/88.118.8")));
    assert!(!r.serves(&id("0.NA/88.1")));
}

#[tokio::test]
async fn a_fill_racing_a_write_is_discarded() {
    let (_d, _s, r) = setup().await;
    let key = "88.118.8/a";
    let epoch = r.caches.epoch(key);
    let entry = Arc::new(Entry::read(
        key.into(),
        &[HandleValue::text(1, "URL", "old")],
        View::Public,
        epoch,
    ));
    r.invalidate(key); // a write committed while the miss was reading
    r.caches.insert(entry);
    assert!(r.caches.get(key, View::Public).is_none());
}

#[tokio::test]
async fn select_filters_by_index_and_type() {
    let (_d, _s, r) = setup().await;
    let e = a(&r, View::Admin, false).await;
    let idx = |vs: Vec<HandleValue>| vs.iter().map(|v| v.index).collect::<Vec<_>>();
    assert_eq!(idx(e.select(&[], &[])), [1, 2]);
    assert_eq!(idx(e.select(&[2], &[])), [2]);
    assert_eq!(idx(e.select(&[], &["URL".into()])), [1]);
    assert_eq!(idx(e.select(&[2], &["URL".into()])), Vec::<u32>::new());
    assert_eq!(
        idx(e.select(&[], &["SECRET_NOTE".into(), "URL".into()])),
        [1, 2]
    );
}

#[tokio::test]
async fn forgetting_not_found_and_clearing_reach_every_cache() {
    let (_d, store, r) = setup().await;
    let create = |h: &str| Batch {
        actor: "test".into(),
        ops: vec![Op::Create {
            handle: id(h),
            values: vec![HandleValue::text(1, "URL", "https://n")],
        }],
        idempotency: None,
        origin: String::new(),
    };
    // Not found, in its exact case and in another (the case-insensitive look-up).
    let (n1, n2) = (id("88.118.8/N1"), id("88.118.8/n2"));
    assert!(r.resolve(&n1, View::Public, false).await.is_err());
    assert!(r
        .resolve_any_case(&id("88.118.8/N2"), View::Public)
        .await
        .is_err());
    store.apply(&create("88.118.8/N1")).await.unwrap();
    store.apply(&create("88.118.8/n2")).await.unwrap();
    assert!(r.resolve(&n1, View::Public, false).await.is_err());
    assert!(r
        .resolve_any_case(&id("88.118.8/N2"), View::Public)
        .await
        .is_err());
    r.forget_not_found();
    assert!(r.resolve(&n1, View::Public, false).await.is_ok());
    let found = r.resolve_any_case(&id("88.118.8/N2"), View::Public).await;
    let body = found.unwrap().body();
    assert!(std::str::from_utf8(&body).unwrap().contains(n2.as_str()));

    // A cached answer stays until cleared.
    let before = a(&r, View::Public, false).await;
    set_url(&store, "https://changed").await;
    assert!(Arc::ptr_eq(&before, &a(&r, View::Public, false).await));
    r.clear();
    let after = a(&r, View::Public, false).await;
    assert!(std::str::from_utf8(&after.body())
        .unwrap()
        .contains("https://changed"));
}
