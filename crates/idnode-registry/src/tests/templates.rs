//! Templates through the registry: who defines them, and every write path refusing values
//! that do not fit, with every violation listed and nothing written.

use idnode_template::{Rule, Template};
use serde_json::json;

use super::*;

fn gearbox(version: &str) -> Template {
    serde_json::from_value(json!({
        "prefix": "88.118.8", "version": version,
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 1,
        "items": [
            {"name": "产品名称", "idType": "productName", "required": true,
             "metadata": {"type": "string", "maxLength": 10}},
            {"name": "批次", "idType": "batchNo", "metadata": {"type": "string", "unique": true}},
            {"name": "上级", "idType": "parent", "metadata": {"type": "reference"}}
        ]
    }))
    .unwrap()
}

/// A second enterprise, Valve Co with prefix 88.118.9.
async fn valve(n: &Node) -> Principal {
    let (_, c) = n
        .reg
        .create_enterprise(&n.op, "Valve Co", "88.118.9", Default::default())
        .await
        .unwrap();
    n.reg.authenticate(&c.identity, &c.secret).await.unwrap()
}

fn tv(version: &str) -> HandleValue {
    HandleValue::text(1001, "TEMPLATE", version)
}

fn item(index: u32, t: &str, v: &str) -> HandleValue {
    HandleValue::text(index, t, v)
}

/// Writes one identifier through `upsert` (the path `idnode import` takes).
async fn put(n: &Node, p: &Principal, handle: &str, values: Vec<HandleValue>) -> UpsertReport {
    n.reg
        .upsert(p, vec![(handle.into(), values)])
        .await
        .unwrap()
}

fn rules(e: &RegistryError) -> Vec<(String, u32, Rule)> {
    let RegistryError::Template(problems) = e else {
        panic!("not a template refusal: {e:?}")
    };
    problems
        .iter()
        .flat_map(|p| {
            p.violations
                .iter()
                .map(|v| (p.handle.clone(), v.index, v.rule))
        })
        .collect()
}

#[tokio::test]
async fn templates_are_defined_by_their_prefix_owner_and_frozen_once_used() {
    let n = node().await;
    let stored = n.reg.create_template(&n.ent, gearbox("1.0")).await.unwrap();
    assert_eq!(stored.items[2].id_index, Some(2002));
    // Another enterprise may not define templates under this prefix.
    let other = valve(&n).await;
    let e = n
        .reg
        .create_template(&other, gearbox("2.0"))
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::Forbidden(_)), "{e:?}");
    let mut bad = gearbox("3.0");
    bad.industry_trade = "999".into();
    let e = n.reg.create_template(&n.ent, bad).await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::InvalidTemplate(p) if p[0].contains("industryTrade")),
        "{e:?}"
    );

    // Unused, it may change; once an identifier uses it, it may not.
    let mut changed = gearbox("1.0");
    changed.description = "v2".into();
    n.reg
        .update_template(&n.ent, changed.clone())
        .await
        .unwrap();
    n.put(
        "88.118.8/G1",
        vec![tv("1.0"), item(2000, "productName", "齿轮箱")],
        PutMode::Replace { overwrite: false },
    )
    .await
    .unwrap();
    let (_, used) = n.reg.template(&n.ent, "88.118.8", "1.0").await.unwrap();
    assert!(used);
    // Another enterprise may not read them either; the operator may.
    let e = n.reg.template(&other, "88.118.8", "1.0").await.unwrap_err();
    assert!(matches!(e, RegistryError::Forbidden(_)), "{e:?}");
    assert!(n.reg.templates(&other, "88.118.8").await.is_err());
    assert_eq!(n.reg.templates(&n.op, "88.118.8").await.unwrap().len(), 1);
    let e = n.reg.update_template(&n.ent, changed).await.unwrap_err();
    assert!(matches!(e, RegistryError::Conflict(_)), "{e:?}");
    assert!(n
        .reg
        .delete_template(&n.ent, "88.118.8", "1.0")
        .await
        .is_err());

    // A new version extends it and keeps its items.
    let mut next = gearbox("1.1");
    next.extends = Some("1.0".into());
    next.items.remove(1);
    let e = n.reg.create_template(&n.ent, next).await.unwrap_err();
    assert!(
        matches!(&e, RegistryError::InvalidTemplate(p) if p.iter().any(|m| m.contains("never removed"))),
        "{e:?}"
    );
    let history = n
        .reg
        .template_history(&n.ent, "88.118.8", None, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["update", "create"]);
    assert_eq!(history[0].actor, "300:0.NA/88.118.8");
}

#[tokio::test]
async fn every_violation_of_every_identifier_is_listed_and_nothing_written() {
    let n = node().await;
    n.reg.create_template(&n.ent, gearbox("1.0")).await.unwrap();
    let row = |h: &str, version: &str, values: &[(u32, &str, &str)]| {
        let mut vals = vec![tv(version)];
        vals.extend(values.iter().map(|(i, t, v)| item(*i, t, v)));
        (format!("88.118.8/{h}"), vals)
    };
    let items = vec![
        // Fits: its parent is created by the same import.
        row(
            "P1",
            "1.0",
            &[(2000, "productName", "父件"), (2001, "batchNo", "B1")],
        ),
        row(
            "C1",
            "1.0",
            &[
                (2000, "productName", "子件"),
                (2002, "parent", "88.118.8/P1"),
            ],
        ),
        // Missing required item, a reference to nothing, a batch number taken above.
        row(
            "C2",
            "1.0",
            &[(2001, "batchNo", "B1"), (2002, "parent", "88.118.8/NONE")],
        ),
        // Too long, and a version that does not exist.
        row(
            "C3",
            "1.0",
            &[(2000, "productName", "一二三四五六七八九十一")],
        ),
        row("C4", "9.9", &[(2000, "productName", "x")]),
    ];
    let e = n.reg.upsert(&n.op, items.clone()).await.unwrap_err();
    assert_eq!(
        rules(&e),
        [
            // Grouped by identifier, in the order of the write.
            ("88.118.8/C2".to_owned(), 2000, Rule::Required),
            ("88.118.8/C2".to_owned(), 2002, Rule::Reference),
            ("88.118.8/C2".to_owned(), 2001, Rule::Unique),
            ("88.118.8/C3".to_owned(), 2000, Rule::MaxLength),
            ("88.118.8/C4".to_owned(), 1001, Rule::Template),
        ]
    );
    assert!(
        e.to_string()
            .contains("88.118.8/C2: index 2000 (productName)"),
        "{e}"
    );
    for h in ["88.118.8/P1", "88.118.8/C1"] {
        let id = Identifier::parse(h).unwrap();
        assert!(
            n.reg
                .resolver()
                .resolve(&id, View::Admin, false)
                .await
                .is_err(),
            "{h} written"
        );
    }
    // The fitting ones go in; then the batch number is held by P1, across writes too.
    n.reg.upsert(&n.ent, items[..2].to_vec()).await.unwrap();
    let node = &n;
    let put = |h: &str, name: &str, overwrite: bool| {
        let (h, values) = row(
            h,
            "1.0",
            &[(2000, "productName", name), (2001, "batchNo", "B1")],
        );
        async move { node.put(&h, values, PutMode::Replace { overwrite }).await }
    };
    let e = put("C5", "x", false).await.unwrap_err();
    assert_eq!(rules(&e), [("88.118.8/C5".to_owned(), 2001, Rule::Unique)]);
    // P1 may keep its own value when it changes, and frees it when deleted.
    put("P1", "父件二", true).await.unwrap();
    n.reg
        .delete_handle(&n.ent, "88.118.8/P1", None)
        .await
        .unwrap();
    put("C5", "x", false).await.unwrap();
    // Identifiers without a template are not checked.
    n.put(
        "88.118.8/FREE",
        vec![item(2000, "anything", "goes")],
        PutMode::Replace { overwrite: false },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn each_item_of_a_lenient_batch_stands_on_its_own() {
    let n = node().await;
    n.reg.create_template(&n.ent, gearbox("1.0")).await.unwrap();
    let data = |name: &str, extra: &[(u32, &str, &str)]| {
        let mut vals = vec![tv("1.0"), item(2000, "productName", name)];
        vals.extend(extra.iter().map(|(i, t, v)| item(*i, t, v)));
        vals
    };
    n.put(
        "88.118.8/OLD",
        data("旧件", &[]),
        PutMode::Replace { overwrite: false },
    )
    .await
    .unwrap();
    let create = |h: &str, vals| (format!("88.118.8/{h}"), Ok(Change::Create(vals)));
    let items = vec![
        create("A", data("甲", &[(2001, "batchNo", "B1")])),
        // Fails its template: too long.
        create("B", data("一二三四五六七八九十一", &[])),
        // Refers to B, which fails: then it fails too.
        create("C", data("丙", &[(2002, "parent", "88.118.8/B")])),
        // Exists already; and A a second time.
        create("OLD", data("旧", &[])),
        create("A", data("甲二", &[])),
        // Not this enterprise's prefix.
        ("88.118.9/X".to_owned(), Ok(Change::Create(data("x", &[])))),
        create("D", data("丁", &[(2002, "parent", "88.118.8/A")])),
    ];
    let failed = n.reg.write_each(&n.ent, items).await.unwrap();
    let got: Vec<(usize, &str, u32)> = failed
        .iter()
        .map(|p| (p.position, p.handle.as_str(), p.code))
        .collect();
    assert_eq!(
        got,
        [
            (1, "88.118.8/B", 202),
            (2, "88.118.8/C", 202),
            (3, "88.118.8/OLD", 101),
            (4, "88.118.8/A", 101),
            (5, "88.118.9/X", 301),
        ],
        "{failed:#?}"
    );
    assert!(failed[0].message.contains("maxLength") || failed[0].message.contains("10"));
    for h in ["88.118.8/A", "88.118.8/D"] {
        n.view(h, View::Admin).await;
    }
    // The SNMS update replaces the template data and keeps the rest (HS_ADMIN).
    let update = vec![(
        "88.118.8/A".to_owned(),
        Ok(Change::ReplaceData(data("甲三", &[]))),
    )];
    assert!(n.reg.write_each(&n.ent, update).await.unwrap().is_empty());
    let a = n.view("88.118.8/A", View::Admin).await;
    let values = a.values();
    let kept: Vec<(u32, &str)> = values
        .iter()
        .map(|v| (v.index, v.type_name.as_str()))
        .collect();
    assert_eq!(
        kept,
        [(100, "HS_ADMIN"), (1001, "TEMPLATE"), (2000, "productName")]
    );
}

#[tokio::test]
async fn a_prefix_may_require_a_template() {
    let n = node().await;
    n.reg.create_template(&n.ent, gearbox("1.0")).await.unwrap();
    let free = |h: &str| (format!("88.118.8/{h}"), vec![url(1, "https://example.com")]);
    n.reg.upsert(&n.ent, vec![free("F1")]).await.unwrap();
    let other = valve(&n).await;
    let e = n
        .reg
        .set_template_required(&other, "88.118.8", true)
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::Forbidden(_)), "{e:?}");
    n.reg
        .set_template_required(&n.ent, "88.118.8", true)
        .await
        .unwrap();
    let e = n.reg.upsert(&n.ent, vec![free("F2")]).await.unwrap_err();
    assert_eq!(
        rules(&e),
        [("88.118.8/F2".to_owned(), 1001, Rule::Template)]
    );
    assert!(e.to_string().contains("requires a template version"), "{e}");
    // With a version it goes in; other prefixes are not concerned.
    let fits = vec![tv("1.0"), item(2000, "productName", "齿轮箱")];
    put(&n, &n.ent, "88.118.8/F3", fits).await;
    put(&n, &other, "88.118.9/F4", vec![url(1, "https://v")]).await;
    n.reg
        .set_template_required(&n.op, "88.118.8", false)
        .await
        .unwrap();
    n.reg.upsert(&n.ent, vec![free("F2")]).await.unwrap();
}

#[tokio::test]
async fn template_use_is_counted_into_the_usage_counters() {
    let n = node().await;
    n.reg.create_template(&n.ent, gearbox("1.0")).await.unwrap();
    n.reg.create_template(&n.ent, gearbox("2.0")).await.unwrap();
    let fits = |version: &str| vec![tv(version), item(2000, "productName", "齿轮箱")];
    let rows: Vec<_> = (0..3)
        .map(|i| (format!("88.118.8/U{i}"), fits("1.0")))
        .collect();
    n.reg.upsert(&n.ent, rows).await.unwrap();
    // One switches to 2.0, one is deleted, one without a template does not count.
    put(&n, &n.ent, "88.118.8/U0", fits("2.0")).await;
    n.reg
        .delete_handle(&n.ent, "88.118.8/U1", None)
        .await
        .unwrap();
    put(&n, &n.ent, "88.118.8/FREE", vec![url(1, "https://x")]).await;
    let counts = n.reg.take_template_use();
    assert!(n.reg.take_template_use().is_empty(), "taken once");
    n.reg
        .record_usage("2026-12-04", &counts, &[])
        .await
        .unwrap();
    let used = n.reg.template_use(&n.ent, "88.118.8").await.unwrap();
    assert_eq!(
        used["1.0"],
        TemplateUse {
            identifiers: 1,
            writes: 3
        }
    );
    assert_eq!(
        used["2.0"],
        TemplateUse {
            identifiers: 1,
            writes: 1
        }
    );
}

#[tokio::test]
async fn enterprises_adopt_node_wide_templates() {
    let n = node().await;
    let mut industry = gearbox("gear-std-1");
    industry.prefix = "88.118".into();
    n.reg.create_template(&n.op, industry).await.unwrap();
    // A client cannot claim an adoption; the node records it.
    let mut faked = gearbox("own");
    faked.adopted = Some("88.118/gear-std-1".into());
    let own = n.reg.create_template(&n.ent, faked).await.unwrap();
    assert_eq!(own.adopted, None);
    let t = n
        .reg
        .adopt_template(&n.ent, "88.118.8", "gear-std-1", "1.0")
        .await
        .unwrap();
    assert_eq!(
        (t.prefix.as_str(), t.version.as_str(), t.adopted.as_deref()),
        ("88.118.8", "1.0", Some("88.118/gear-std-1"))
    );
    assert_eq!(t.items.len(), 3);
    // Identifiers under the enterprise's prefix name the adopted version.
    let fits = vec![tv("1.0"), item(2000, "productName", "齿轮箱")];
    put(&n, &n.ent, "88.118.8/A1", fits).await;
    let e = n
        .reg
        .adopt_template(&n.ent, "88.118.8", "missing", "2.0")
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::NotFound(_)), "{e:?}");
}
