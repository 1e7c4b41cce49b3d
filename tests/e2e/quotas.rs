//! Per-enterprise allowances: identifiers beyond `[quotas] identifiers_per_enterprise` are
//! refused with RC 604 (REST 403, batch and single writes, and the Handle protocol), prefixes
//! beyond `prefixes_per_enterprise` with RC 605; deletes free room; the allowance is the
//! enterprise's whoever writes under its prefixes (the operator too), and the node's own
//! prefix is not limited.

use idnode_handle_proto::{rc, Request};
use serde_json::json;

use crate::common::{node_with, BACKENDS};
use crate::handle::{as_a, publish_key};
use crate::hdl::Tcp;

fn url(v: &str) -> serde_json::Value {
    json!([{"index": 1, "type": "URL", "data": {"format": "string", "value": v}}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_quotas_answer_604_and_605() {
    for backend in BACKENDS {
        let n = node_with(backend, |c| {
            c.quotas.identifiers_per_enterprise = 4;
            c.quotas.prefixes_per_enterprise = 1;
        })
        .await;
        eprintln!("running on {:?}", n.backend);
        let a = Some(&n.a);
        // The admin handle holding A's key is the first of A's four identifiers.
        publish_key(&n).await;
        for h in ["q1", "q2"] {
            let (s, b) = n
                .put(&format!("/api/handles/88.118.8/{h}"), a, &url("https://q"))
                .await;
            assert_eq!(s, 201, "{b}");
        }
        // A batch of two would make five: refused whole, nothing written.
        let batch = json!({"operations": [
            {"op": "create", "handle": "88.118.8/b1", "values": [{"index": 1, "type": "URL", "data": "https://b"}]},
            {"op": "create", "handle": "88.118.8/b2", "values": [{"index": 1, "type": "URL", "data": "https://b"}]},
        ]});
        let (s, b) = n.post("/api/v1/identifiers/batch", a, &batch).await;
        assert_eq!((s, b["responseCode"].as_u64()), (403, Some(604)), "{b}");
        assert_eq!(n.get("/api/handles/88.118.8/b1", None).await.0, 404);

        // The fourth over the Handle protocol fits; the fifth is refused with 604.
        let mut tcp = Tcp::connect(n.node.handle_addr).await;
        let v = idnode_core::HandleValue::text(1, "URL", "https://h");
        let create = |h| Request::Create {
            handle: h,
            values: vec![v.clone()],
        };
        let r = as_a(&mut tcp, &create("88.118.8/h1"), 0).await;
        assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
        let r = as_a(&mut tcp, &create("88.118.8/h2"), 0).await;
        assert_eq!(r.code(), rc::REGISTRATION_LIMIT, "{:?}", r.body());
        let (s, b) = n
            .put("/api/handles/88.118.8/q3", a, &url("https://q"))
            .await;
        assert_eq!((s, b["responseCode"].as_u64()), (403, Some(604)), "{b}");
        // Updating what exists is not registering.
        let (s, _) = n
            .put("/api/handles/88.118.8/q1", a, &url("https://changed"))
            .await;
        assert_eq!(s, 200);
        // A delete frees room.
        assert_eq!(n.delete("/api/handles/88.118.8/q1", a).await.0, 200);
        let r = as_a(&mut tcp, &create("88.118.8/h2"), 0).await;
        assert_eq!(r.code(), rc::SUCCESS, "{:?}", r.body());
        // The allowance is A's whoever writes: the operator may not register a fifth
        // identifier under A's prefix either, but is not limited under the node's own.
        let op = Some(&n.operator);
        let (s, b) = n
            .put("/api/handles/88.118.8/op-1", op, &url("https://op"))
            .await;
        assert_eq!((s, b["responseCode"].as_u64()), (403, Some(604)), "{b}");
        for h in ["op-1", "op-2", "op-3", "op-4", "op-5"] {
            let (s, b) = n
                .put(&format!("/api/handles/88.118/{h}"), op, &url("https://op"))
                .await;
            assert_eq!(s, 201, "{b}");
        }

        // A holds one prefix, the most it may: a second is refused with 605.
        let alloc = json!({"prefix": "88.118.81", "enterpriseId": n.a_id});
        let (s, b) = n.post("/api/v1/prefixes", Some(&n.operator), &alloc).await;
        assert_eq!((s, b["responseCode"].as_u64()), (403, Some(605)), "{b}");
        n.node.stop().await.unwrap();
    }
}
