//! Handle.Net REST as a client such as pyhandle drives it.

use serde_json::{json, Value};

use crate::common::TestNode;
use crate::on_both;

fn urls(v: &Value) -> Vec<(u64, String)> {
    v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["index"].as_u64().unwrap(),
                x["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn pyhandle_flow(n: &TestNode) {
    let a = Some(&n.a);
    // Clients first read their own admin handle.
    let (s, v) = n.get("/api/handles/0.NA/88.118.8", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["handle"], "0.NA/88.118.8");

    let h = "/api/handles/88.118.8/pyh-1";
    assert_eq!(n.get(h, None).await.0, 404);
    let record = json!({"values": [
        {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin",
            "value": {"handle": "0.NA/88.118.8", "index": 300, "permissions": "011111110011"}}},
        {"index": 1, "type": "URL", "data": "https://example.com/pyh-1"}
    ]});
    let (s, v) = n.put(&format!("{h}?overwrite=false"), a, &record).await;
    assert_eq!((s, v["responseCode"].as_u64()), (201, Some(1)), "{v}");
    assert_eq!(v["handle"], "88.118.8/pyh-1");
    let (s, v) = n.put(&format!("{h}?overwrite=false"), a, &record).await;
    assert_eq!((s, v["responseCode"].as_u64()), (409, Some(101)));

    // Read after write: every change is visible at once.
    let (s, v) = n.get(h, None).await;
    assert_eq!(s, 200);
    assert_eq!(urls(&v), [(1, "URL".into()), (100, "HS_ADMIN".into())]);
    assert_eq!(
        v["values"][1]["data"]["value"]["permissions"],
        "011111110011"
    );
    assert!(v["values"][0]["timestamp"].as_str().unwrap().ends_with('Z'));

    let email = json!([{"index": 2, "type": "EMAIL", "data": {"format": "string", "value": "qa@example.com"}}]);
    assert_eq!(n.put(&format!("{h}?index=2"), a, &email).await.0, 200);
    let (_, v) = n.get(&format!("{h}?index=2"), None).await;
    assert_eq!(urls(&v), [(2, "EMAIL".into())]);
    let (_, v) = n.get(&format!("{h}?type=URL&type=EMAIL"), None).await;
    assert_eq!(urls(&v).len(), 2);
    let (s, v) = n.get(&format!("{h}?index=77"), None).await;
    assert_eq!((s, v["responseCode"].as_u64()), (200, Some(200)));

    let replace =
        json!({"values": [{"index": 1, "type": "URL", "data": "https://example.com/v2"}]});
    assert_eq!(
        n.put(&format!("{h}?index=1&overwrite=false"), a, &replace)
            .await
            .0,
        409
    );
    assert_eq!(n.put(&format!("{h}?index=1"), a, &replace).await.0, 200);
    let (_, v) = n.get(&format!("{h}?index=1"), None).await;
    assert_eq!(v["values"][0]["data"]["value"], "https://example.com/v2");

    // A handle differing only by case is refused.
    let (s, v) = n.put("/api/handles/88.118.8/PYH-1", a, &record).await;
    assert_eq!((s, v["responseCode"].as_u64()), (409, Some(101)));
    assert!(
        v["message"].as_str().unwrap().contains("only by case"),
        "{v}"
    );

    // The proxy form redirects to the URL.
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/88.118.8/pyh-1", n.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(resp.headers()["location"], "https://example.com/v2");

    let (s, _) = n.delete(&format!("{h}?index=2"), a).await;
    assert_eq!(s, 200);
    let (s, v) = n.delete(&format!("{h}?index=2"), a).await;
    assert_eq!((s, v["responseCode"].as_u64()), (400, Some(200)));
    assert_eq!(n.delete(h, a).await.0, 200);
    assert_eq!(n.get(h, None).await.0, 404);
    assert_eq!(n.delete(h, a).await.0, 404);
}
on_both!(pyhandle_style_create_read_modify_delete, pyhandle_flow);

async fn body_shapes_mint_and_listing(n: &TestNode) {
    let a = Some(&n.a);
    // A bare array and a single value object are accepted as PUT bodies too.
    let arr = json!([{"index": 1, "type": "URL", "data": "https://a"}]);
    assert_eq!(n.put("/api/handles/88.118.8/arr", a, &arr).await.0, 201);
    let one = json!({"index": 1, "type": "URL", "data": "https://b"});
    assert_eq!(n.put("/api/handles/88.118.8/one", a, &one).await.0, 201);
    let (s, v) = n
        .put("/api/handles/88.118.8/lot-?mintNewSuffix=true", a, &arr)
        .await;
    assert_eq!(s, 201);
    let minted = v["handle"].as_str().unwrap().to_owned();
    assert!(
        minted.starts_with("88.118.8/lot-") && minted.len() > 20,
        "{minted}"
    );
    assert_eq!(n.get(&format!("/api/handles/{minted}"), None).await.0, 200);

    // Every data format round-trips.
    let formats = json!({"values": [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://f"}},
        {"index": 2, "type": "BLOB", "data": {"format": "base64", "value": "AP8A"}},
        {"index": 3, "type": "HEXED", "data": {"format": "hex", "value": "00ff00"}},
        {"index": 200, "type": "HS_VLIST", "data": {"format": "vlist", "value": [{"handle": "0.NA/88.118.8", "index": 300}]}},
        {"index": 300, "type": "HS_PUBKEY", "data": {"format": "key", "value": "AAAAB1JTQV9QVUI="}},
        {"index": 400, "type": "HS_SITE", "data": {"format": "site", "value": {"version": 1, "protocolVersion": "2.10", "serialNumber": 1, "primarySite": true, "multiPrimary": false, "attributes": [], "servers": [{"serverId": 1, "address": "127.0.0.1", "publicKey": {"format": "base64", "value": ""}, "interfaces": [{"query": true, "admin": true, "protocol": "TCP", "port": 2641}]}]}}},
        {"index": 5, "type": "NOTE", "data": "hidden", "permissions": "1100", "ttl": 60}
    ]});
    assert_eq!(
        n.put("/api/handles/88.118.8/formats", a, &formats).await.0,
        201
    );
    let (_, v) = n.get("/api/handles/88.118.8/formats", a).await;
    let by_index = |i: u64| {
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["index"] == i)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_index(2)["data"],
        json!({"format": "base64", "value": "AP8A"})
    );
    assert_eq!(
        by_index(3)["data"],
        json!({"format": "base64", "value": "AP8A"})
    );
    assert_eq!(by_index(200)["data"]["format"], "vlist");
    assert_eq!(
        by_index(300)["data"],
        json!({"format": "key", "value": "AAAAB1JTQV9QVUI="})
    );
    assert_eq!(
        by_index(400)["data"]["value"]["servers"][0]["interfaces"][0]["port"],
        2641
    );
    assert_eq!(by_index(5)["permissions"], "1100");
    assert_eq!(by_index(5)["ttl"], 60);

    // Listing pages through a prefix.
    let (s, v) = n.get("/api/handles?prefix=88.118.8&pageSize=0", a).await;
    assert_eq!(s, 200);
    assert_eq!(v["totalCount"], "4");
    assert_eq!(v["handles"].as_array().unwrap().len(), 0);
    let (_, p0) = n
        .get("/api/handles?prefix=88.118.8&page=0&pageSize=3", a)
        .await;
    let (_, p1) = n
        .get("/api/handles?prefix=88.118.8&page=1&pageSize=3", a)
        .await;
    assert_eq!(p0["handles"].as_array().unwrap().len(), 3);
    assert_eq!(p1["handles"].as_array().unwrap().len(), 1);
}
on_both!(
    body_shapes_formats_mint_and_listing,
    body_shapes_mint_and_listing
);
