//! Templates in the conformance story: versions, their history, immutability once used, and
//! unique values, all inside atomic batches.

use idnode_core::{HandleValue, Identifier};

use crate::{Batch, Op, Store, StoreError, TemplateOp};

fn batch(actor: &str, ops: Vec<Op>) -> Batch {
    Batch {
        actor: actor.into(),
        ops,
        idempotency: None,
        origin: String::new(),
    }
}

fn t(op: TemplateOp) -> Op {
    Op::Template(op)
}

fn create(prefix: &str, version: &str, body: &str) -> Op {
    t(TemplateOp::Create {
        prefix: prefix.into(),
        version: version.into(),
        body: body.into(),
    })
}

fn update(version: &str, body: &str) -> Op {
    t(TemplateOp::Update {
        prefix: "88.200.1".into(),
        version: version.into(),
        body: body.into(),
    })
}

fn claim(index: u32, value: &str, handle: &str) -> Op {
    t(TemplateOp::Claim {
        prefix: "88.200.1".into(),
        index,
        value: value.into(),
        handle: handle.into(),
    })
}

/// Versions are created, listed, changed and deleted while unused, with a history row each;
/// a used version refuses change; unique values have one holder.
pub(super) async fn run(store: &dyn Store) {
    versions(store).await;
    unique_values(store).await;
}

async fn versions(store: &dyn Store) {
    store
        .apply(&batch(
            "ent:1",
            vec![
                create("88.200.1", "1.0", "{\"a\":1}"),
                create("88.200.1", "2.0", "{}"),
            ],
        ))
        .await
        .unwrap();
    let dup = store
        .apply(&batch("ent:1", vec![create("88.200.1", "1.0", "{}")]))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let got = store
        .get_template("88.200.1", "1.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.body.as_str(), got.used), ("{\"a\":1}", false));
    assert!(store
        .get_template("88.200.1", "9.9")
        .await
        .unwrap()
        .is_none());
    let listed: Vec<String> = store
        .list_templates(Some("88.200.1"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(listed, ["1.0", "2.0"]);
    assert_eq!(
        store.list_templates(Some("88.200.2")).await.unwrap(),
        vec![]
    );

    store
        .apply(&batch("ent:2", vec![update("1.0", "{\"a\":2}")]))
        .await
        .unwrap();
    let missing = store
        .apply(&batch("ent:2", vec![update("7.0", "{}")]))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    used_versions(store).await;
}

/// A version marked used with an identifier's write, atomically; used, it is frozen.
async fn used_versions(store: &dyn Store) {
    // Marking a version used and writing an identifier are one transaction: a failing
    // identifier leaves the version unused, and a missing version fails the identifier.
    let handle = |h: &str| Op::Create {
        handle: Identifier::parse(h).unwrap(),
        values: vec![HandleValue::text(1001, "TEMPLATE", "1.0")],
    };
    let used = t(TemplateOp::Use {
        prefix: "88.200.1".into(),
        version: "1.0".into(),
    });
    store
        .apply(&batch("ent:1", vec![handle("88.200.1/T1")]))
        .await
        .unwrap();
    let refused = store
        .apply(&batch("ent:1", vec![used.clone(), handle("88.200.1/T1")]))
        .await;
    assert!(refused.is_err());
    assert!(
        !store
            .get_template("88.200.1", "1.0")
            .await
            .unwrap()
            .unwrap()
            .used
    );
    let gone = t(TemplateOp::Use {
        prefix: "88.200.1".into(),
        version: "8.0".into(),
    });
    let refused = store
        .apply(&batch("ent:1", vec![gone, handle("88.200.1/T2")]))
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound(_))),
        "{refused:?}"
    );
    assert!(store.get_handle("88.200.1/T2").await.unwrap().is_none());
    store
        .apply(&batch("ent:1", vec![used, handle("88.200.1/T2")]))
        .await
        .unwrap();
    assert!(
        store
            .get_template("88.200.1", "1.0")
            .await
            .unwrap()
            .unwrap()
            .used
    );

    let frozen = store
        .apply(&batch("ent:2", vec![update("1.0", "{}")]))
        .await;
    assert!(
        matches!(&frozen, Err(StoreError::Conflict(m)) if m.contains("used")),
        "{frozen:?}"
    );
    let delete = |v: &str| {
        t(TemplateOp::Delete {
            prefix: "88.200.1".into(),
            version: v.into(),
        })
    };
    let frozen = store.apply(&batch("ent:2", vec![delete("1.0")])).await;
    assert!(matches!(frozen, Err(StoreError::Conflict(_))), "{frozen:?}");
    store
        .apply(&batch("ent:3", vec![delete("2.0")]))
        .await
        .unwrap();
    assert!(store
        .get_template("88.200.1", "2.0")
        .await
        .unwrap()
        .is_none());

    let history = store.template_history("88.200.1", None, 10).await.unwrap();
    let seen: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|c| (c.version.as_str(), c.action.as_str(), c.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("2.0", "delete", "ent:3"),
            ("1.0", "update", "ent:2"),
            ("2.0", "create", "ent:1"),
            ("1.0", "create", "ent:1")
        ]
    );
    assert_eq!(history[1].body.as_deref(), Some("{\"a\":2}"));
    assert_eq!(history[0].body, None);
    let one = store
        .template_history("88.200.1", Some("1.0"), 1)
        .await
        .unwrap();
    assert_eq!((one.len(), one[0].action.as_str()), (1, "update"));
}

async fn unique_values(store: &dyn Store) {
    store
        .apply(&batch(
            "ent:1",
            vec![
                claim(2005, "B0001", "88.200.1/U1"),
                claim(2005, "B0002", "88.200.1/U2"),
            ],
        ))
        .await
        .unwrap();
    let taken = store
        .apply(&batch("ent:1", vec![claim(2005, "B0001", "88.200.1/U3")]))
        .await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(m)) if m.contains("B0001")),
        "{taken:?}"
    );
    // The same value at another index, or under another prefix, is another value.
    store
        .apply(&batch("ent:1", vec![claim(2006, "B0001", "88.200.1/U3")]))
        .await
        .unwrap();
    let values: Vec<String> = ["B0001", "B0002", "B0003"].map(String::from).to_vec();
    let mut held = store
        .unique_holders("88.200.1", 2005, &values)
        .await
        .unwrap();
    held.sort();
    assert_eq!(
        held,
        [
            ("B0001".to_owned(), "88.200.1/U1".to_owned()),
            ("B0002".to_owned(), "88.200.1/U2".to_owned())
        ]
    );
    // An update releases and claims again in one batch: the value moves to its new holder.
    let release = t(TemplateOp::Release {
        handle: "88.200.1/U1".into(),
    });
    store
        .apply(&batch(
            "ent:1",
            vec![release, claim(2005, "B0001", "88.200.1/U4")],
        ))
        .await
        .unwrap();
    let held = store
        .unique_holders("88.200.1", 2005, &values[..1])
        .await
        .unwrap();
    assert_eq!(held, [("B0001".to_owned(), "88.200.1/U4".to_owned())]);
    assert_eq!(
        store
            .unique_holders("88.200.9", 2005, &values)
            .await
            .unwrap(),
        vec![]
    );
}
