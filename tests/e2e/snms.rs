//! An enterprise system written for an SNMS node, from SNMS's documents only
//! (`teleinfo-dev/id-guide`, `docs/dev-tools/snms/`): a token (the daily-hash form), a
//! template, one identifier and a batch of 2,000, the detail, updates, a batch delete; and
//! the refusals, each listing every violation; another enterprise's token, a revoked one and
//! an expired one. Every answer is HTTP 200 with SNMS's `{message, status, data}`.

use reqwest::Method;
use ring::digest::{digest, SHA256};
use serde_json::{json, Value};

use crate::common::{node_with, TestNode, Who, BACKENDS};

/// `sha256(sha256(secret) + yyyy-MM-dd)` (identity-auth.md, 密文传输), China's date.
fn daily(secret: &str) -> String {
    let d = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date();
    let date = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let inner = hex::encode(digest(&SHA256, secret.as_bytes()));
    hex::encode(digest(&SHA256, format!("{inner}{date}").as_bytes()))
}

/// Sends an SNMS request: HTTP 200 and the envelope, always.
async fn call(n: &TestNode, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let mut r = n
        .client
        .request(method, format!("{}{path}", n.base))
        .header("content-type", "application/json");
    if !token.is_empty() {
        r = r.header("authorization", format!("Bearer {token}"));
    }
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["status"].is_i64() && v["message"].is_string(), "{text}");
    v
}

async fn token(n: &TestNode, who: &Who, hashed: bool) -> String {
    let (path, password) = if hashed {
        ("/identity/token/v1", daily(&who.secret))
    } else {
        ("/identity/token", who.secret.clone())
    };
    let body = json!({"username": who.identity, "password": password});
    let v = call(n, Method::POST, path, "", Some(body)).await;
    assert_eq!(v["status"], 1, "{v}");
    v["data"]["token"].as_str().unwrap().to_owned()
}

/// The template, as v5/template.md writes it (`idIndex` as text, `state` 0/1), with
/// idnode's typed items.
fn template() -> Value {
    let item = |name: &str, id_type: &str, index: &str, required: bool, state: u8, meta: Value| {
        json!({"name": name, "idType": id_type, "idIndex": index, "required": required,
               "state": state, "metadata": meta})
    };
    json!({
        "prefix": "88.118.8", "version": "gear-1",
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 1, "description": "齿轮箱",
        "items": [
            item("产品名称", "productName", "2000", true, 1, json!({"type": "string", "minLength": 1, "maxLength": 10})),
            item("等级", "grade", "2001", false, 1, json!({"type": "enum", "values": ["A", "B"]})),
            item("重量", "weightKg", "2002", false, 1, json!({"type": "number"})),
            item("上级", "parent", "2003", false, 1, json!({"type": "reference"})),
            item("商品条码", "gtin", "2004", false, 1, json!({"type": "gs1"})),
            item("序列号", "serial", "2005", false, 1, json!({"type": "string", "unique": true})),
            item("旧字段", "legacy", "2006", false, 0, json!({"type": "string"}))
        ]
    })
}

fn value(index: u32, t: &str, v: &str) -> Value {
    json!({"data": {"format": "string", "value": v}, "auth": "", "index": index, "type": t})
}

fn data(handle: &str, version: &str, values: &[Value]) -> Value {
    json!({"handle": handle, "templateVersion": version, "value": values})
}

/// A fitting identifier with serial `serial`.
fn good(handle: &str, serial: &str) -> Value {
    data(
        handle,
        "gear-1",
        &[
            value(2000, "productName", "齿轮箱"),
            value(2001, "grade", "A"),
            value(2002, "weightKg", "12.5"),
            value(2004, "gtin", "4006381333931"),
            value(2005, "serial", serial),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_snms_client_works_unchanged() {
    for backend in BACKENDS {
        let n = node_with(backend, |_| {}).await;
        eprintln!("running on {:?}", n.backend);
        session(&n).await;
        refusals(&n).await;
        n.node.stop().await.unwrap();
        expiry(backend).await;
    }
}

async fn session(n: &TestNode) {
    let t = token(n, &n.a, true).await;
    let v = call(
        n,
        Method::POST,
        "/snms/api/v5/template",
        &t,
        Some(template()),
    )
    .await;
    assert_eq!((&v["status"], &v["data"]), (&json!(1), &json!(true)), "{v}");
    let v = call(
        n,
        Method::GET,
        "/snms/api/v3/template?prefix=88.118.8&version=gear-1",
        &t,
        None,
    )
    .await;
    assert_eq!(v["status"], 1, "{v}");
    assert_eq!(v["data"]["items"][5]["idIndex"], 2005, "{v}");
    assert_eq!(v["data"]["items"][6]["state"], 0, "{v}");
    register(n, &t).await;
    detail_and_update(n, &t).await;
    delete(n, &t).await;
}

/// One identifier, then a batch of 2,000.
async fn register(n: &TestNode, t: &str) {
    // One identifier, then 2,000 referring to it.
    let one = good("88.118.8/SN-0", "S-0");
    let v = call(n, Method::POST, "/identityv2/data", t, Some(one.clone())).await;
    assert_eq!((&v["status"], &v["data"]), (&json!(1), &json!(true)), "{v}");
    // Registering again after a timeout: SNMS's documents say "标识已存在" means it is there.
    let v = call(n, Method::POST, "/identityv2/data", t, Some(one)).await;
    assert_eq!(
        (&v["status"], &v["message"]),
        (&json!(-2), &json!("标识已存在")),
        "{v}"
    );
    let batch: Vec<Value> = (1..=2000)
        .map(|i| {
            let mut d = good(&format!("88.118.8/SN-{i}"), &format!("S-{i}"));
            d["value"]
                .as_array_mut()
                .unwrap()
                .push(value(2003, "parent", "88.118.8/SN-0"));
            d
        })
        .collect();
    let v = call(
        n,
        Method::POST,
        "/identityv2/data/batchCreate",
        t,
        Some(json!(batch)),
    )
    .await;
    assert_eq!(v["status"], 1, "{}", v["message"]);
    let items = v["data"].as_array().unwrap();
    assert_eq!(items.len(), 2000);
    assert!(
        items.iter().all(|i| i["msg"] == "success"),
        "{:?}",
        &items[..3]
    );
    assert_eq!(items[1999]["handle"], "88.118.8/SN-2000");
}

async fn detail_and_update(n: &TestNode, t: &str) {
    // The detail: SNMS's fields, and the template item's name.
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/SN-7",
        t,
        None,
    )
    .await;
    assert_eq!(v["status"], 1, "{v}");
    let d = &v["data"];
    assert_eq!(
        (&d["prefix"], &d["handle"], &d["templateVersion"]),
        (
            &json!("88.118.8"),
            &json!("88.118.8/SN-7"),
            &json!("gear-1")
        )
    );
    let of = |d: &Value, index: u64| {
        d["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["index"] == index)
            .cloned()
            .unwrap()
    };
    assert_eq!(of(d, 1001)["type"], "TEMPLATE");
    let name = of(d, 2000);
    assert_eq!(
        (
            &name["name"],
            &name["data"]["value"],
            &name["data"]["format"]
        ),
        (&json!("产品名称"), &json!("齿轮箱"), &json!("string"))
    );

    // Updates: one, then a batch; the detail shows them.
    let mut changed = good("88.118.8/SN-7", "S-7");
    changed["value"][0] = value(2000, "productName", "减速机");
    let v = call(n, Method::PUT, "/identityv2/data", t, Some(changed)).await;
    assert_eq!(v["status"], 1, "{v}");
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/SN-7",
        t,
        None,
    )
    .await;
    assert_eq!(of(&v["data"], 2000)["data"]["value"], "减速机");
    let updates: Vec<Value> = (8..=9)
        .map(|i| good(&format!("88.118.8/SN-{i}"), &format!("S-{i}x")))
        .collect();
    let v = call(
        n,
        Method::PUT,
        "/identityv2/data/batchUpdate",
        t,
        Some(json!(updates)),
    )
    .await;
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["msg"] == "success"),
        "{v}"
    );
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/SN-9",
        t,
        None,
    )
    .await;
    assert_eq!(of(&v["data"], 2005)["data"]["value"], "S-9x");
}

async fn delete(n: &TestNode, t: &str) {
    // Batch delete: each item reported; one that does not exist fails on its own.
    let mut handles: Vec<Value> = (1..=1999)
        .map(|i| json!(format!("88.118.8/SN-{i}")))
        .collect();
    handles.push(json!("88.118.8/NEVER"));
    let v = call(
        n,
        Method::DELETE,
        "/identityv2/data/batchDelete",
        t,
        Some(json!(handles)),
    )
    .await;
    let items = v["data"].as_array().unwrap();
    assert!(
        items[..1999].iter().all(|i| i["code"] == 1),
        "{:?}",
        &items[..2]
    );
    assert_eq!(
        (&items[1999]["code"], &items[1999]["msg"]),
        (&json!(-2), &json!("标识不存在"))
    );
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/SN-5",
        t,
        None,
    )
    .await;
    assert_eq!(v["status"], -2, "{v}");
    let v = call(
        n,
        Method::DELETE,
        "/identityv2/data",
        t,
        Some(json!({"handle": "88.118.8/SN-2000"})),
    )
    .await;
    assert_eq!(v["status"], 1, "{v}");
    let v = call(
        n,
        Method::DELETE,
        "/identityv2/data",
        t,
        Some(json!({"handle": "88.118.8/SN-2000"})),
    )
    .await;
    assert_eq!(
        (&v["status"], &v["message"]),
        (&json!(-2), &json!("没有找到标识"))
    );
    // Over 2,000 items is refused whole.
    let v = call(
        n,
        Method::DELETE,
        "/identityv2/data/batchDelete",
        t,
        Some(json!(vec!["88.118.8/X"; 2001])),
    )
    .await;
    assert_eq!(v["status"], -2, "{v}");
}

/// Every violation the message must list: (index, item).
const BAD: [&str; 8] = [
    "index 2000 (productName)", // too long
    "index 2001 (grade)",       // not in the enum
    "index 2002 (weightKg)",    // not a number
    "index 2003 (parent)",      // no such handle
    "index 2004 (gtin)",        // bad check digit
    "index 2005 (serial)",      // held by 88.118.8/SN-0
    "index 2006 (legacy)",      // disabled
    "index 2007",               // no such item
];

async fn refusals(n: &TestNode) {
    let t = token(n, &n.a, false).await;
    let bad = data(
        "88.118.8/BAD-1",
        "gear-1",
        &[
            value(2000, "productName", "一二三四五六七八九十一"),
            value(2001, "grade", "C"),
            value(2002, "weightKg", "heavy"),
            value(2003, "parent", "88.118.8/NOBODY"),
            value(2004, "gtin", "4006381333932"),
            value(2005, "serial", "S-0"),
            value(2006, "legacy", "x"),
            value(2007, "extra", "x"),
        ],
    );
    let v = call(n, Method::POST, "/identityv2/data", &t, Some(bad)).await;
    assert_eq!(v["status"], -2, "{v}");
    let m = v["message"].as_str().unwrap();
    for needle in BAD {
        assert!(m.contains(needle), "{needle} missing from: {m}");
    }
    // A missing required item, and an unknown template version; in a batch beside a good
    // item, which goes in.
    let missing = data("88.118.8/BAD-2", "gear-1", &[value(2001, "grade", "A")]);
    let unknown = data(
        "88.118.8/BAD-3",
        "gear-9",
        &[value(2000, "productName", "x")],
    );
    // A value whose type is not its item's idType.
    let mistyped = data(
        "88.118.8/BAD-5",
        "gear-1",
        &[value(2000, "productName", "x"), value(2001, "colour", "A")],
    );
    let batch = json!([missing, good("88.118.8/OK-1", "S-ok"), unknown, mistyped]);
    let v = call(
        n,
        Method::POST,
        "/identityv2/data/batchCreate",
        &t,
        Some(batch),
    )
    .await;
    let items = v["data"].as_array().unwrap();
    assert_eq!(items[1]["msg"], "success", "{v}");
    for (k, needle) in [
        (0, "index 2000 (productName)"),
        (2, "index 1001 (TEMPLATE)"),
        (3, "index 2001 (grade): expected value type grade"),
    ] {
        assert!(items[k]["msg"].as_str().unwrap().contains(needle), "{v}");
    }
    // Index 1001 is the template version's, set by templateVersion only.
    let v = call(
        n,
        Method::POST,
        "/identityv2/data",
        &t,
        Some(data(
            "88.118.8/BAD-4",
            "gear-1",
            &[value(1001, "TEMPLATE", "gear-1")],
        )),
    )
    .await;
    assert_eq!(v["status"], -2, "{v}");
    for h in [
        "88.118.8/BAD-1",
        "88.118.8/BAD-2",
        "88.118.8/BAD-3",
        "88.118.8/BAD-4",
        "88.118.8/BAD-5",
    ] {
        let v = call(
            n,
            Method::GET,
            &format!("/identityv2/data/detail?handle={h}"),
            &t,
            None,
        )
        .await;
        assert_eq!(v["status"], -2, "{h} was written: {v}");
    }
    strangers(n, &t).await;
}

/// Another enterprise's token, no token, a wrong password, a revoked token.
async fn strangers(n: &TestNode, t: &str) {
    // Another enterprise's token writes nothing here: no permission.
    let other = token(n, &n.b, false).await;
    let v = call(
        n,
        Method::POST,
        "/identityv2/data",
        &other,
        Some(good("88.118.8/B-1", "S-b")),
    )
    .await;
    assert_eq!(v["status"], -3, "{v}");
    let v = call(
        n,
        Method::DELETE,
        "/identityv2/data",
        &other,
        Some(json!({"handle": "88.118.8/OK-1"})),
    )
    .await;
    assert_eq!(v["status"], -3, "{v}");
    let v = call(
        n,
        Method::GET,
        "/snms/api/v5/template?prefix=88.118.8&version=gear-1",
        &other,
        None,
    )
    .await;
    assert_eq!(v["status"], -3, "{v}");

    // No token, a wrong password, a revoked token: not signed in.
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/OK-1",
        "",
        None,
    )
    .await;
    assert_eq!(v["status"], -1, "{v}");
    let wrong = json!({"username": n.a.identity, "password": "wrong"});
    let v = call(n, Method::POST, "/identity/token", "", Some(wrong)).await;
    assert_eq!(v["status"], -2, "{v}");
    let v = call(n, Method::DELETE, "/identity/token", t, None).await;
    assert_eq!(v["status"], 1, "{v}");
    let v = call(
        n,
        Method::GET,
        "/identityv2/data/detail?handle=88.118.8/OK-1",
        t,
        None,
    )
    .await;
    assert_eq!(v["status"], -1, "{v}");
}

/// A token past its lifetime (one second here) is refused.
async fn expiry(backend: crate::common::Backend) {
    let n = node_with(backend, |c| c.snms.token_lifetime_secs = 1).await;
    let t = token(&n, &n.a, false).await;
    let path = "/snms/api/v5/template?prefix=88.118.8&version=none";
    let v = call(&n, Method::GET, path, &t, None).await;
    assert_eq!(v["status"], -2, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let v = call(&n, Method::GET, path, &t, None).await;
    assert_eq!(v["status"], -1, "{v}");
    assert!(v["message"].as_str().unwrap().contains("过期"), "{v}");
    n.node.stop().await.unwrap();
}
