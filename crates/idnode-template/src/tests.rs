use idnode_core::HandleValue;
use serde_json::json;

use crate::*;

/// A gearbox template: one item of each interesting kind.
fn gearbox() -> serde_json::Value {
    json!({
        "prefix": "88.118.8", "version": "1.0.0",
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 1, "description": "齿轮箱",
        "items": [
            {"name": "产品名称", "idType": "productName", "required": true,
             "metadata": {"type": "string", "minLength": 1, "maxLength": 10}},
            {"name": "批次", "idType": "batchNo", "idIndex": 2005,
             "metadata": {"type": "string", "pattern": "^B[0-9]{4}$", "unique": true}},
            {"name": "重量", "idType": "weightKg", "metadata": {"type": "number", "minimum": 0, "maximum": 500}},
            {"name": "等级", "idType": "grade", "metadata": {"type": "enum", "values": ["A", "B"]}},
            {"name": "上级", "idType": "parent", "metadata": {"type": "reference", "prefixes": ["88.118"]}},
            {"name": "商品条码", "idType": "gtin", "metadata": {"type": "gs1"}},
            {"name": "旧字段", "idType": "legacy", "state": "disabled", "metadata": {"type": "string"}}
        ]
    })
}

fn compiled() -> Compiled {
    Compiled::new(serde_json::from_value(gearbox()).unwrap()).unwrap()
}

fn text(index: u32, t: &str, v: &str) -> HandleValue {
    HandleValue::text(index, t, v)
}

#[test]
fn indexes_are_assigned_in_order_around_given_ones() {
    let c = compiled();
    let got: Vec<(String, u32)> = c
        .template()
        .items
        .iter()
        .map(|i| (i.id_type.clone(), i.id_index.unwrap()))
        .collect();
    assert_eq!(got[0], ("productName".into(), 2000));
    assert_eq!(got[1], ("batchNo".into(), 2005));
    assert_eq!(got[2], ("weightKg".into(), 2001));
    assert_eq!(
        got[6],
        ("legacy".into(), 2005 + 1),
        "2002-2004 then 2006: {got:?}"
    );
}

#[test]
fn good_values_pass_and_leave_lookups() {
    let c = compiled();
    let values = [
        text(1, "URL", "https://x.example"),
        text(TEMPLATE_INDEX, TEMPLATE_TYPE, "1.0.0"),
        text(2000, "productName", "齿轮箱A"),
        text(2005, "batchNo", "B0042"),
        text(2001, "weightKg", "12.5"),
        text(2002, "grade", "A"),
        text(2003, "parent", "88.118.8/GBX-1"),
        text(2004, "gtin", "4006381333931"),
    ];
    let checked = c.check(&values);
    assert_eq!(checked.violations, vec![]);
    let lookups: Vec<(LookupKind, u32)> =
        checked.lookups.iter().map(|l| (l.kind, l.index)).collect();
    assert_eq!(
        lookups,
        vec![(LookupKind::Unique, 2005), (LookupKind::Exists, 2003)]
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let c = compiled();
    let values = [
        // productName (required) missing
        text(2005, "batchNo", "X1"),            // pattern
        text(2001, "weightKg", "heavy"),        // kind
        text(2002, "grade", "C"),               // enum
        text(2003, "parent", "86.1/elsewhere"), // prefix
        text(2004, "gtin", "4006381333932"),    // kind (check digit)
        text(2006, "legacy", "x"),              // disabled
        text(2010, "extra", "x"),               // unknown index
    ];
    let rules: Vec<(u32, Rule)> = c
        .check(&values)
        .violations
        .iter()
        .map(|v| (v.index, v.rule))
        .collect();
    assert_eq!(
        rules,
        vec![
            (2005, Rule::Pattern),
            (2001, Rule::Kind),
            (2002, Rule::Enum),
            (2003, Rule::Prefix),
            (2004, Rule::Kind),
            (2006, Rule::Disabled),
            (2010, Rule::UnknownIndex),
            (2000, Rule::Required),
        ]
    );
    let long = [
        text(2000, "productName", "一二三四五六七八九十一"),
        text(2001, "weightKg", "501"),
    ];
    let v = c.check(&long).violations;
    assert_eq!(
        (v[0].rule, v[1].rule),
        (Rule::MaxLength, Rule::Maximum),
        "{v:?}"
    );
    assert_eq!(v[0].message, "expected at most 10 characters");
    let wrong_type = [text(2000, "name", "x")];
    assert_eq!(c.check(&wrong_type).violations[0].rule, Rule::Type);
    let binary = [HandleValue::bytes(2000, "productName", vec![0xff, 0xfe])];
    assert_eq!(c.check(&binary).violations[0].rule, Rule::Kind);
}

#[test]
fn bad_definitions_list_every_problem() {
    let mut t: Template = serde_json::from_value(json!({
        "prefix": "88.118.8", "version": "",
        "industryCategory": "Z", "industrySpecific": "3", "industryTrade": "123",
        "industrySubclass": "3453", "type": 3,
        "items": [
            {"name": "", "idType": "HS_ADMIN", "idIndex": 1500, "metadata": {"type": "string", "minLength": 5, "maxLength": 2}},
            {"name": "a", "idType": "a", "idIndex": 2000, "metadata": {"type": "string", "pattern": "(", "minimum": 1}},
            {"name": "b", "idType": "a", "idIndex": 2000, "metadata": {"type": "enum"}},
            {"name": "c", "idType": "c", "metadata": {"type": "string", "values": ["x"], "prefixes": ["88"]}}
        ]
    }))
    .unwrap();
    let Err(TemplateError::Invalid(problems)) = t.validate() else {
        panic!("accepted")
    };
    for needle in [
        "version",
        "industryCategory",
        "industrySpecific",
        "industryTrade",
        "industrySubclass",
        "type must be",
        "below 2000",
        "name must",
        "reserved",
        "minLength 5",
        "does not compile",
        "minimum/maximum apply",
        "used twice",
        "lists its values",
        "values apply",
        "prefixes apply",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle}: {problems:#?}"
        );
    }
    assert!(Template::from_json(br#"{"prefix": "88.1", "unknown": 1}"#).is_err());
}

#[test]
fn a_new_version_keeps_the_items_it_extends() {
    let base = compiled().template().clone();
    let mut next = base.clone();
    next.version = "1.1.0".into();
    next.extends = Some("1.0.0".into());
    next.items[3].state = ItemState::Disabled;
    next.items.push(
        serde_json::from_value(json!({"name": "新", "idType": "color", "metadata": {}})).unwrap(),
    );
    next.validate().unwrap();
    assert_eq!(next.items.last().unwrap().id_index, Some(2007));
    next.check_extends(&base).unwrap();

    let mut dropped = next.clone();
    dropped.items.remove(0);
    let Err(TemplateError::Invalid(p)) = dropped.check_extends(&base) else {
        panic!("accepted")
    };
    assert!(p[0].contains("never removed"), "{p:?}");
    let mut retyped = next;
    retyped.items[2].metadata.kind = Kind::Integer;
    assert!(retyped.check_extends(&base).is_err());
}

#[test]
fn the_snms_example_parses_and_round_trips() {
    // The shape of the SNMS v3 template document: no idIndex, string items.
    let body = br#"{"prefix":"88.101.5","version":"1.0.0","industryCategory":"A","industrySpecific":"01",
        "industryTrade":"011","industrySubclass":"0111","type":1,"description":"t",
        "items":[{"name":"e1","idType":"ip","metadata":{"type":"string","minLength":1,"maxLength":10},"required":false}]}"#;
    let c = Compiled::new(Template::from_json(body).unwrap()).unwrap();
    let back = serde_json::to_value(c.template()).unwrap();
    assert_eq!(back["items"][0]["idIndex"], 2000);
    assert_eq!(
        back["items"][0]["metadata"],
        json!({"type": "string", "minLength": 1, "maxLength": 10})
    );
    assert_eq!(back["items"][0]["state"], "enabled");
}

#[test]
fn an_snms_update_changes_matching_items_adds_the_rest_and_keeps_those_left_out() {
    let current = compiled().template().clone();
    let update: Template = serde_json::from_value(json!({
        "prefix": "88.118.8", "version": "1.0.0",
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 2, "description": "新描述",
        "items": [
            // Same index and type: replaced (now disabled).
            {"name": "批次号", "idType": "batchNo", "idIndex": 2005, "state": "disabled",
             "metadata": {"type": "string"}},
            // Same index, another type: a new item (its index then clashes).
            {"name": "颜色", "idType": "colour", "idIndex": 2000, "metadata": {"type": "string"}},
            // No index: a new item.
            {"name": "产地", "idType": "origin", "metadata": {"type": "string"}}
        ]
    }))
    .unwrap();
    let mut amended = current.amended(update);
    assert_eq!(
        (amended.object_type, amended.description.as_str()),
        (2, "新描述")
    );
    let items: Vec<(&str, Option<u32>, ItemState)> = amended
        .items
        .iter()
        .map(|i| (i.id_type.as_str(), i.id_index, i.state))
        .collect();
    assert_eq!(items.len(), current.items.len() + 2);
    assert_eq!(items[1], ("batchNo", Some(2005), ItemState::Disabled));
    assert_eq!(items[0], ("productName", Some(2000), ItemState::Enabled));
    assert_eq!(
        &items[7..],
        [
            ("colour", Some(2000), ItemState::Enabled),
            ("origin", None, ItemState::Enabled)
        ]
    );
    let e = amended.validate().unwrap_err();
    assert!(e.to_string().contains("2000"), "{e}");
}
