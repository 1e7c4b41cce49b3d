use std::sync::Arc;

use idnode_core::{AdminRef, HandleValue, Identifier};
use idnode_resolver::{CacheConfig, Resolver, View};
use idnode_store::{Action, EnterpriseStatus, IdentifierChange, Store};
use idnode_store_sqlite::SqliteStore;
use serde_json::json;

use super::*;

mod templates;
mod tokens;
mod upstream;

struct Node {
    _dir: tempfile::TempDir,
    reg: Registry,
    op: Principal,
    ent: Principal,
    ent_secret: String,
}

/// A registry of node 88.118 on a new SQLite database in `dir`, and its store.
async fn sqlite_registry(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Registry) {
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let resolver = Arc::new(Resolver::new(
        store.clone(),
        vec!["88.118".into()],
        &CacheConfig::default(),
    ));
    (store.clone(), Registry::new(store, resolver, "88.118"))
}

/// Initialises the node of `reg`: its operator.
async fn operator(reg: &Registry) -> Principal {
    let creds = reg.init_node(Some("operator-secret".into())).await.unwrap();
    assert_eq!(creds.identity, "300:0.NA/88.118");
    reg.authenticate(&creds.identity, "operator-secret")
        .await
        .unwrap()
}

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let (_, reg) = sqlite_registry(&dir).await;
    let op = operator(&reg).await;
    assert!(matches!(op, Principal::Operator { .. }));
    let (e, c) = reg
        .create_enterprise(&op, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();
    assert_eq!(c.identity, "300:0.NA/88.118.8");
    let ent = reg.authenticate(&c.identity, &c.secret).await.unwrap();
    assert_eq!(
        ent,
        Principal::Enterprise {
            identity: c.identity.clone(),
            id: e.id
        }
    );
    Node {
        _dir: dir,
        reg,
        op,
        ent,
        ent_secret: c.secret,
    }
}

impl Node {
    /// `handle` as the resolver answers it in `view`.
    async fn view(&self, handle: &str, view: View) -> Arc<idnode_resolver::Entry> {
        let id = Identifier::parse(handle).unwrap();
        self.reg.resolver().resolve(&id, view, false).await.unwrap()
    }

    /// Puts a handle as the enterprise (no minting).
    async fn put(
        &self,
        handle: &str,
        values: Vec<HandleValue>,
        mode: PutMode,
    ) -> Result<PutOutcome> {
        self.reg
            .put_handle(&self.ent, handle, values, mode, false)
            .await
    }
}

fn url(i: u32, u: &str) -> HandleValue {
    HandleValue::text(i, "URL", u)
}

#[tokio::test]
async fn init_twice_and_wrong_secrets_fail() {
    let n = node().await;
    assert!(matches!(
        n.reg.init_node(None).await,
        Err(RegistryError::Conflict(_))
    ));
    for (id, secret) in [
        ("300:0.NA/88.118.8", "wrong"),
        ("300:0.NA/88.118.9", n.ent_secret.as_str()),
        ("301:0.NA/88.118.8", n.ent_secret.as_str()),
        ("nonsense", "x"),
    ] {
        assert!(matches!(
            n.reg.authenticate(id, secret).await,
            Err(RegistryError::AuthenticationFailed)
        ));
    }
    // The prefix handle resolves with its admin values; the secret never shows.
    let e = n.view("0.NA/88.118.8", View::Admin).await;
    let values = e.values();
    let types: Vec<_> = values.iter().map(|v| v.type_name.as_str()).collect();
    assert_eq!(types, ["HS_ADMIN", "HS_ADMIN"]);
    assert_eq!(
        AdminRef::decode(&e.values()[0].data).unwrap().handle,
        "0.NA/88.118.8"
    );
}

#[tokio::test]
async fn put_modes_follow_handle_rest_semantics() {
    let n = node().await;
    let h = "88.118.8/GBX-1";
    let out = n
        .put(
            h,
            vec![url(1, "https://a")],
            PutMode::Replace { overwrite: false },
        )
        .await
        .unwrap();
    assert!(out.created);
    let again = n
        .put(
            h,
            vec![url(1, "https://b")],
            PutMode::Replace { overwrite: false },
        )
        .await;
    assert!(matches!(again, Err(RegistryError::HandleExists(_))));
    let case = n
        .put(
            "88.118.8/gbx-1",
            vec![url(1, "x")],
            PutMode::Replace { overwrite: true },
        )
        .await
        .unwrap_err();
    assert!(case.to_string().contains("differs only by case"), "{case}");

    // A default HS_ADMIN was added for the enterprise identity.
    let id = Identifier::parse(h).unwrap();
    let e = n.view(id.as_str(), View::Public).await;
    assert_eq!(e.values().len(), 2);
    assert_eq!(
        AdminRef::decode(&e.values()[1].data).unwrap().handle,
        "0.NA/88.118.8"
    );

    // Add a value by index; overwrite=false refuses an existing index.
    n.put(
        h,
        vec![HandleValue::text(2, "EMAIL", "x@example.com")],
        PutMode::Values {
            indexes: Some(vec![2]),
            overwrite: true,
        },
    )
    .await
    .unwrap();
    let dup = n
        .put(
            h,
            vec![url(1, "https://c")],
            PutMode::Values {
                indexes: None,
                overwrite: false,
            },
        )
        .await;
    assert!(matches!(dup, Err(RegistryError::ValueExists(1))));
    // The cache saw every write.
    let e = n.view(id.as_str(), View::Public).await;
    assert_eq!(e.values().len(), 3);

    n.reg.delete_handle(&n.ent, h, Some(vec![2])).await.unwrap();
    assert!(matches!(
        n.reg.delete_handle(&n.ent, h, Some(vec![42])).await,
        Err(RegistryError::ValuesNotFound)
    ));
    n.reg.delete_handle(&n.ent, h, None).await.unwrap();
    assert!(n
        .reg
        .resolver()
        .resolve(&id, View::Public, false)
        .await
        .is_err());
    assert!(matches!(
        n.reg.delete_handle(&n.ent, h, None).await,
        Err(RegistryError::HandleNotFound)
    ));
    let minted = n
        .reg
        .put_handle(
            &n.ent,
            "88.118.8/lot-",
            vec![url(1, "m")],
            PutMode::Replace { overwrite: false },
            true,
        )
        .await
        .unwrap();
    assert!(minted.handle.starts_with("88.118.8/lot-") && minted.handle.len() == 13 + 36);
}

#[tokio::test]
async fn secrets_set_through_values_are_hashed_and_usable() {
    let n = node().await;
    n.put(
        "88.118.8/robot",
        vec![HandleValue::text(300, "HS_SECKEY", "robot-secret")],
        PutMode::Replace { overwrite: false },
    )
    .await
    .unwrap();
    let p = n
        .reg
        .authenticate("300:88.118.8/robot", "robot-secret")
        .await
        .unwrap();
    assert!(matches!(p, Principal::Enterprise { .. }));
    let e = n.view("88.118.8/robot", View::Admin).await;
    assert!(e.values().iter().all(|v| v.type_name != "HS_SECKEY"));
}

#[tokio::test]
async fn a_credential_is_checked_once_and_retired_when_its_secret_changes() {
    let n = node().await;
    let put = |secret: &'static str| {
        n.put(
            "88.118.8/pool",
            vec![HandleValue::text(300, "HS_SECKEY", secret)],
            PutMode::Replace { overwrite: true },
        )
    };
    put("first-secret").await.unwrap();
    let before = n
        .reg
        .auth
        .computed
        .load(std::sync::atomic::Ordering::Relaxed);
    // A connection pool's first burst: 64 requests with one credential at once.
    let client = Some("192.0.2.7".parse().unwrap());
    let checks = (0..64).map(|_| {
        n.reg
            .authenticate_from("300:88.118.8/pool", "first-secret", client)
    });
    for r in futures_util::future::join_all(checks).await {
        assert!(matches!(r, Ok(Principal::Enterprise { .. })), "{r:?}");
    }
    let after = n
        .reg
        .auth
        .computed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        after - before,
        1,
        "one PBKDF2 computation for the whole burst"
    );
    // Wrong secrets sent at once share one failing check, too.
    let wrong = (0..8).map(|_| n.reg.authenticate("300:88.118.8/pool", "wrong"));
    for r in futures_util::future::join_all(wrong).await {
        assert!(
            matches!(r, Err(RegistryError::AuthenticationFailed)),
            "{r:?}"
        );
    }
    // A new secret retires the remembered one at once.
    put("second-secret").await.unwrap();
    assert!(matches!(
        n.reg
            .authenticate("300:88.118.8/pool", "first-secret")
            .await,
        Err(RegistryError::AuthenticationFailed)
    ));
    assert!(n
        .reg
        .authenticate("300:88.118.8/pool", "second-secret")
        .await
        .is_ok());
    // Deleting the handle removes the identity.
    n.reg
        .delete_handle(&n.ent, "88.118.8/pool", None)
        .await
        .unwrap();
    assert!(matches!(
        n.reg
            .authenticate("300:88.118.8/pool", "second-secret")
            .await,
        Err(RegistryError::AuthenticationFailed)
    ));
}

#[tokio::test]
async fn batches_are_all_or_nothing_with_every_problem_listed() {
    let n = node().await;
    // A request borrows from its body: the test's bodies live as long as the test.
    let req = |ops: serde_json::Value| -> BatchRequest<'static> {
        BatchRequest::from_slice(ops.to_string().leak().as_bytes()).unwrap()
    };
    let bad = req(json!({"operations": [
        {"op": "create", "handle": "88.118.8/ok-1", "values": [{"index": 1, "type": "URL", "data": "https://1"}]},
        {"op": "create", "handle": "88.118.9/elsewhere", "values": []},
        {"op": "create", "handle": "88.118.8/bad-value", "values": [{"index": 1, "type": "URL", "data": {"format": "hex", "value": "zz"}}]},
        {"op": "frobnicate", "handle": "88.118.8/x"},
        {"op": "delete", "handle": "88.118.8/missing"},
        {"op": "create", "handle": "no slash"}
    ]}));
    let Err(RegistryError::Batch(problems)) = n.reg.batch(&n.ent, bad, None).await else {
        panic!("expected a batch error")
    };
    let positions: Vec<_> = problems.iter().map(|p| (p.position, p.code)).collect();
    assert_eq!(
        positions,
        [(1, 301), (2, 202), (3, 4), (5, 102)],
        "{problems:?}"
    );
    assert!(n
        .reg
        .store
        .get_handle("88.118.8/ok-1")
        .await
        .unwrap()
        .is_none());
    // Values that are not values at all (read item by item once the one-pass read fails):
    // each problem still names its item.
    let malformed = req(json!({"operations": [
        {"op": "create", "handle": "88.118.8/ok-1", "values": [{"index": 1, "type": "URL", "data": "https://1"}]},
        {"op": "create", "handle": "88.118.8/m-1", "values": [{"index": "one", "type": "URL", "data": "x"}]},
        {"op": "create", "handle": "88.118.8/m-2", "values": [{"index": 1, "type": "URL", "data": 5}]}
    ]}));
    let Err(RegistryError::Batch(problems)) = n.reg.batch(&n.ent, malformed, None).await else {
        panic!("expected a batch error")
    };
    let named: Vec<_> = problems
        .iter()
        .map(|p| (p.position, p.handle.as_str()))
        .collect();
    assert_eq!(
        named,
        [(1, "88.118.8/m-1"), (2, "88.118.8/m-2")],
        "{problems:?}"
    );
    assert!(
        problems[0].message.contains("'one' is not an index"),
        "{problems:?}"
    );
    assert!(
        problems[1].message.contains("a string or {format, value}"),
        "{problems:?}"
    );

    let good = json!({"operations": [
        {"op": "create", "handle": "88.118.8/ok-1", "values": [{"index": 1, "type": "URL", "data": "https://1"}]},
        {"op": "create", "handle": "88.118.8/ok-2", "values": []}
    ]});
    let keyed = || {
        n.reg.batch(
            &n.ent,
            req(good.clone()),
            Some(("key-1".into(), "h1".into())),
        )
    };
    let reply = keyed().await.unwrap();
    assert!(!reply.replayed);
    assert_eq!(reply.outcome.created, 2);
    let replay = keyed().await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.outcome, reply.outcome);
    let reused = n
        .reg
        .batch(&n.ent, req(good), Some(("key-1".into(), "other".into())))
        .await;
    assert!(matches!(reused, Err(RegistryError::Conflict(_))));

    let upd = req(json!({"operations": [
        {"op": "update", "handle": "88.118.8/ok-1", "values": [{"index": 1, "type": "URL", "data": "https://new"}]},
        {"op": "delete", "handle": "88.118.8/ok-2"}
    ]}));
    let r = n.reg.batch(&n.ent, upd, None).await.unwrap();
    assert_eq!(
        (r.outcome.updated, r.outcome.deleted),
        (1, 1),
        "{:?}",
        r.outcome
    );
    let e = n.view("88.118.8/ok-1", View::Public).await;
    assert_eq!(e.values()[0].data, b"https://new");
}

#[tokio::test]
async fn suspension_and_ownership_limit_enterprises() {
    let n = node().await;
    let (_, c2) = n
        .reg
        .create_enterprise(&n.op, "Valve Co", "88.118.9", Default::default())
        .await
        .unwrap();
    let other = n.reg.authenticate(&c2.identity, &c2.secret).await.unwrap();
    let w = |p: &Principal, h: &str| {
        let p = p.clone();
        let h = h.to_owned();
        let reg = &n.reg;
        async move {
            reg.put_handle(
                &p,
                &h,
                vec![url(1, "x")],
                PutMode::Replace { overwrite: true },
                false,
            )
            .await
        }
    };
    assert!(w(&n.ent, "88.118.8/mine").await.is_ok());
    assert!(matches!(
        w(&other, "88.118.8/theirs").await,
        Err(RegistryError::Forbidden(_))
    ));
    assert!(matches!(
        w(&Principal::Anonymous, "88.118.8/a").await,
        Err(RegistryError::AuthenticationNeeded)
    ));
    assert!(matches!(
        w(&n.ent, "88.118.77/a").await,
        Err(RegistryError::NotResponsible(_))
    ));
    assert!(matches!(
        w(&n.ent, "0.NA/88.118.8").await,
        Err(RegistryError::Forbidden(_))
    ));
    assert!(w(&n.op, "88.118.8/by-operator").await.is_ok());
    let Principal::Enterprise { id, .. } = n.ent.clone() else {
        unreachable!()
    };
    n.reg
        .set_enterprise_status(&n.op, id, EnterpriseStatus::Suspended)
        .await
        .unwrap();
    assert!(matches!(
        w(&n.ent, "88.118.8/mine").await,
        Err(RegistryError::Forbidden(_))
    ));
    let create = |p: &Principal, name: &'static str, prefix: &'static str| {
        let (p, reg) = (p.clone(), &n.reg);
        async move {
            reg.create_enterprise(&p, name, prefix, Default::default())
                .await
        }
    };
    assert!(matches!(
        create(&n.ent, "X", "88.118.10").await,
        Err(RegistryError::Forbidden(_))
    ));
    assert!(matches!(
        create(&n.op, "Y", "88.119.1").await,
        Err(RegistryError::BadRequest(_))
    ));
    assert!(matches!(
        create(&n.op, "Z", "88.118.9").await,
        Err(RegistryError::Conflict(_))
    ));
    n.reg.allocate_prefix(&n.op, id, "88.118.80").await.unwrap();
    n.reg
        .set_enterprise_status(&n.op, id, EnterpriseStatus::Active)
        .await
        .unwrap();
    assert!(w(&n.ent, "88.118.80/second-prefix").await.is_ok());
}

/// An enterprise whose registration material does not validate is not onboarded.
async fn bad_profile_refused(reg: &Registry, op: &Principal) {
    let profile = idnode_core::EnterpriseProfile {
        credit_code: "bad".into(),
        ..Default::default()
    };
    assert!(matches!(
        reg.create_enterprise(op, "Gearbox Co", "88.118.8", profile)
            .await,
        Err(RegistryError::BadRequest(_))
    ));
}
