//! Writes under the top-level node's review, the actions they queue, and imports held to
//! the same quotas as every other write path.

use super::*;

#[tokio::test]
async fn upstream_review_gates_writes_and_changes_queue_actions() {
    let dir = tempfile::tempdir().unwrap();
    let (store, reg) = sqlite_registry(&dir).await;
    let reg = reg.with_upstream(UpstreamPolicy {
        sync_identifiers: true,
    });
    let op = operator(&reg).await;
    bad_profile_refused(&reg, &op).await;
    let (e, c) = reg
        .create_enterprise(&op, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();
    assert_eq!(e.profile.name_cn, "Gearbox Co");
    let ent = reg.authenticate(&c.identity, &c.secret).await.unwrap();
    // The pending upstream actions, in order.
    let pending = || async {
        let rows = store
            .outbox_list(idnode_store::OutboxState::Pending, 10)
            .await
            .unwrap();
        rows.iter()
            .map(|r| Action::from_row(r).unwrap())
            .collect::<Vec<_>>()
    };
    let queued = pending().await;
    assert_eq!(
        queued,
        [
            Action::SiteRegister {
                prefix: "88.118".into()
            },
            Action::EnterpriseCreate { enterprise: e.id },
            Action::PrefixApply {
                prefix: "88.118.8".into()
            }
        ]
    );

    // Pending review: nobody writes under the prefix, not even the operator.
    let put = |p: &Principal, h: &'static str, u: &'static str| {
        let p = p.clone();
        let reg = &reg;
        async move {
            reg.put_handle(
                &p,
                h,
                vec![url(1, u)],
                PutMode::Replace { overwrite: false },
                false,
            )
            .await
        }
    };
    for p in [&ent, &op] {
        let r = put(p, "88.118.8/A", "https://a").await;
        assert!(
            matches!(&r, Err(RegistryError::Forbidden(m)) if m.contains("awaits approval")),
            "{r:?}"
        );
    }
    reg.record_review("88.118.8", true, "").await.unwrap();
    put(&ent, "88.118.8/A", "https://a").await.unwrap();
    reg.delete_handle(&ent, "88.118.8/A", None).await.unwrap();
    let queued = pending().await;
    assert_eq!(
        &queued[3..],
        [
            Action::SiteRegister {
                prefix: "88.118.8".into()
            },
            Action::Identifiers {
                changes: vec![IdentifierChange::Create {
                    name: "88.118.8/A".into(),
                    urls: vec!["https://a".into()]
                }]
            },
            Action::Identifiers {
                changes: vec![IdentifierChange::Delete {
                    name: "88.118.8/A".into()
                }]
            },
        ]
    );

    // A rejection closes the prefix with the reviewer's note.
    reg.record_review("88.118.8", false, "证照过期")
        .await
        .unwrap();
    let r = put(&ent, "88.118.8/B", "https://b").await;
    assert!(
        matches!(&r, Err(RegistryError::Forbidden(m)) if m.contains("证照过期")),
        "{r:?}"
    );
}

/// `idnode import` writes through `upsert` as the operator: over an enterprise's quota it is
/// refused like every other write path, and nothing of the refused batch is written.
#[tokio::test]
async fn imports_are_refused_over_quota() {
    let dir = tempfile::tempdir().unwrap();
    let (_, reg) = sqlite_registry(&dir).await;
    let reg = reg.with_quotas(Quotas {
        identifiers_per_enterprise: Some(3),
        prefixes_per_enterprise: None,
    });
    let op = operator(&reg).await;
    let (_, c) = reg
        .create_enterprise(&op, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();
    let ent = reg.authenticate(&c.identity, &c.secret).await.unwrap();
    let items = |names: &[&str]| -> Vec<(String, Vec<HandleValue>)> {
        names
            .iter()
            .map(|n| (format!("88.118.8/{n}"), vec![url(1, "https://q.example")]))
            .collect()
    };
    let r = reg.upsert(&ent, items(&["A", "B"])).await.unwrap();
    assert_eq!(r.created, 2);
    // Two more would make four of the three allowed: refused, neither written.
    let e = reg.upsert(&ent, items(&["C", "D"])).await.unwrap_err();
    assert!(matches!(e, RegistryError::RegistrationLimit(_)), "{e:?}");
    for h in ["88.118.8/C", "88.118.8/D"] {
        let id = Identifier::parse(h).unwrap();
        assert!(reg
            .resolver()
            .resolve(&id, View::Admin, false)
            .await
            .is_err());
    }
    // Re-importing what exists creates nothing and passes; one more fits.
    assert_eq!(
        reg.upsert(&ent, items(&["A", "B"]))
            .await
            .unwrap()
            .unchanged,
        2
    );
    assert_eq!(reg.upsert(&ent, items(&["C"])).await.unwrap().created, 1);
    // The allowance is the enterprise's whoever writes: the operator (as `idnode import`)
    // may not register a fourth identifier under its prefix either.
    let e = reg.upsert(&op, items(&["D"])).await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::RegistrationLimit(m) if m.contains("Gearbox Co")),
        "{e:?}"
    );
    // A delete frees room for it; the node's own prefix is not limited.
    reg.delete_handle(&op, "88.118.8/A", None).await.unwrap();
    assert_eq!(reg.upsert(&op, items(&["D"])).await.unwrap().created, 1);
    let own: Vec<_> = (0..4)
        .map(|i| (format!("88.118/op-{i}"), vec![url(1, "https://op.example")]))
        .collect();
    assert_eq!(reg.upsert(&op, own).await.unwrap().created, 4);
}
