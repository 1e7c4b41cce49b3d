//! Webhook subscriptions to named queries: a capture reaches a subscriber's webhook as an
//! EPCISQueryDocument holding what its query selects and the subscriber may read, signed
//! with HMAC-SHA256 under the signatureToken, again after the webhook failed once; faulty
//! subscriptions are refused; another enterprise sees none of them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{send, TestNode};
use crate::epcis::answered;

const GEARBOX: &str = include_str!("../../crates/idnode-trace/tests/data/gearbox.jsonld");

/// What the webhook received: each POST's `GS1-Signature` and body. It answers 503 to the
/// first POST when asked to.
type Received = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

async fn webhook(fail_first: bool) -> (String, Received) {
    let got: Received = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                let sig = h
                    .get("gs1-signature")
                    .map(|v| v.to_str().unwrap().to_owned());
                let mut all = kept.lock().unwrap();
                all.push((sig, body.to_vec()));
                if fail_first && all.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

/// B captures the gearbox (none of A's business), then A does.
async fn b_then_a_capture(n: &TestNode) {
    for who in [&n.b, &n.a] {
        let (status, _, job) = n
            .post_raw("/epcis/capture", Some(who), GEARBOX.into(), &[])
            .await;
        assert_eq!(status, 202, "{job}");
    }
}

/// Waits (up to a minute) until the webhook has received `n` POSTs.
async fn received(got: &Received, n: usize) -> Vec<(Option<String>, Vec<u8>)> {
    for _ in 0..600 {
        if got.lock().unwrap().len() >= n {
            return got.lock().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the webhook received {:?} POSTs, not {n}",
        got.lock().unwrap().len()
    );
}

async fn subscriptions(n: &TestNode) {
    let (dest, got) = webhook(true).await;
    let query = json!({"name": "packs", "query": {"eventType": ["AggregationEvent"]}});
    assert_eq!(n.post("/epcis/queries", Some(&n.a), &query).await.0, 201);

    refusals(n, &dest).await;
    let sub = json!({"dest": dest, "signatureToken": "s3cret", "stream": true});
    assert_eq!(
        n.post("/epcis/queries/nope/subscriptions", Some(&n.a), &sub)
            .await
            .0,
        404
    );
    let r = n
        .req(
            Method::POST,
            "/epcis/queries/packs/subscriptions",
            Some(&n.a),
        )
        .json(&sub)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let made: Value = r.json().await.unwrap();
    let id = made["subscriptionID"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/epcis/queries/packs/subscriptions/{id}"));
    assert!(made.get("signatureToken").is_none(), "{made}");
    let (_, list) = n
        .get("/epcis/queries/packs/subscriptions", Some(&n.a))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("s3cret"));
    // B sees nothing of A's query or its subscriptions.
    assert_eq!(
        n.get("/epcis/queries/packs/subscriptions", Some(&n.b))
            .await
            .0,
        404
    );
    assert_eq!(n.get(&location, Some(&n.b)).await.0, 404);

    // B's capture is none of A's business; A's own reaches the webhook, after one failure.
    b_then_a_capture(n).await;
    let posts = received(&got, 2).await;
    let (_, direct) = n
        .get("/epcis/events?eventType=AggregationEvent", Some(&n.a))
        .await;
    let direct = answered(&direct);
    assert!(!direct.is_empty());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
    for (sig, body) in &posts {
        let expected = format!(
            "sha256={}",
            hex::encode(ring::hmac::sign(&key, body).as_ref())
        );
        assert_eq!(sig.as_deref(), Some(expected.as_str()));
        let doc: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(doc["epcisBody"]["queryResults"]["queryName"], "packs");
        assert_eq!(
            doc["epcisBody"]["queryResults"]["subscriptionID"],
            id.as_str()
        );
        assert_eq!(answered(&doc), direct, "exactly A's aggregation events");
    }
    // The first POST failed (503) and the same events came again in the second.
    assert_eq!(posts.len(), 2);
    let (_, now) = n.get(&location, Some(&n.a)).await;
    assert!(now["lastNotifiedAt"].is_string(), "{now}");

    // Unsubscribed; deleting the query ends the rest.
    assert_eq!(
        send(n.req(Method::DELETE, &location, Some(&n.a))).await.0,
        204
    );
    assert_eq!(
        send(n.req(Method::DELETE, &location, Some(&n.a))).await.0,
        404
    );
    assert_eq!(
        n.post("/epcis/queries/packs/subscriptions", Some(&n.a), &sub)
            .await
            .0,
        201
    );
    assert_eq!(
        send(n.req(Method::DELETE, "/epcis/queries/packs", Some(&n.a)))
            .await
            .0,
        204
    );
    assert_eq!(n.post("/epcis/queries", Some(&n.a), &query).await.0, 201);
    let (_, list) = n
        .get("/epcis/queries/packs/subscriptions", Some(&n.a))
        .await;
    assert_eq!(list, json!([]));
}

/// Faulty subscriptions are refused, each with the standard's problem type.
async fn refusals(n: &TestNode, dest: &str) {
    for bad in [
        json!({"stream": true}),
        json!({"dest": "ftp://example.com/x", "stream": true}),
        json!({"dest": dest, "stream": true, "schedule": {"hour": "1"}}),
        json!({"dest": dest, "schedule": {"hour": "25"}}),
        json!({"dest": dest, "schedule": {"month": "2", "dayOfMonth": "30"}}),
        json!({"dest": dest}),
        json!({"dest": dest, "stream": true, "signatureToken": 5}),
        json!({"dest": dest, "stream": true, "initialRecordTime": "yesterday"}),
    ] {
        let (status, p) = n
            .post("/epcis/queries/packs/subscriptions", Some(&n.a), &bad)
            .await;
        assert_eq!(status, 400, "{bad}: {p}");
        assert_eq!(p["type"], "epcisException:SubscriptionControlsException");
    }
}

crate::on_both!(
    subscriptions_reach_webhooks_signed_and_retried,
    subscriptions,
    |c| c.epcis.webhook_private = true
);

/// A scheduled subscription (every second, reportIfEmpty) reports an empty document before
/// anything is captured, then what is captured since, once: each run takes the record times
/// after the last.
async fn scheduled(n: &TestNode) {
    let (dest, got) = webhook(false).await;
    let query = json!({"name": "all", "query": {}});
    assert_eq!(n.post("/epcis/queries", Some(&n.a), &query).await.0, 201);
    let sub = json!({"dest": dest, "schedule": {"second": "[0-59]"}, "reportIfEmpty": true});
    let (status, made) = n
        .post("/epcis/queries/all/subscriptions", Some(&n.a), &sub)
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["schedule"], json!({"second": "[0-59]"}));
    let first = received(&got, 1).await;
    let doc: Value = serde_json::from_slice(&first[0].1).unwrap();
    assert!(answered(&doc).is_empty(), "nothing captured yet: {doc}");
    assert_eq!(first[0].0, None, "no signatureToken, no signature");

    let (status, _, _) = n
        .post_raw("/epcis/capture", Some(&n.a), GEARBOX.into(), &[])
        .await;
    assert_eq!(status, 202);
    // Wait for the run holding the 11 events, then two more runs: all empty again.
    let mut seen = 0;
    let mut after = 0;
    let mut at = 1;
    while after < 2 {
        let posts = received(&got, at + 1).await;
        let doc: Value = serde_json::from_slice(&posts[at].1).unwrap();
        let events = answered(&doc).len();
        if seen > 0 {
            assert_eq!(events, 0, "delivered once only");
            after += 1;
        }
        seen += events;
        at += 1;
    }
    assert_eq!(seen, 11);
}

crate::on_both!(scheduled_subscriptions_run_on_time, scheduled, |c| {
    c.epcis.webhook_private = true;
    c.epcis.schedule_settle_ms = 0;
});

/// A WebSocket subscription: each capture's events the query selects and the subscriber
/// may read arrive as they are stored; a handshake without `stream=true`, or for another
/// enterprise's query, is refused.
async fn websocket(n: &TestNode) {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::Message;

    let query = json!({"name": "packs", "query": {"eventType": ["AggregationEvent"]}});
    assert_eq!(n.post("/epcis/queries", Some(&n.a), &query).await.0, 201);
    let connect = |path: &str, who: &crate::common::Who| {
        let url = format!("{}{path}", n.base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", crate::common::basic(who).parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    let refused = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
        Ok(_) => 101,
    };
    assert_eq!(
        refused(
            connect("/epcis/queries/packs/events", &n.a)
                .await
                .map(|_| ())
        ),
        400
    );
    assert_eq!(
        refused(
            connect("/epcis/queries/packs/events?stream=true", &n.b)
                .await
                .map(|_| ())
        ),
        404
    );
    let (mut ws, _) = connect("/epcis/queries/packs/events?stream=true", &n.a)
        .await
        .unwrap();

    b_then_a_capture(n).await;
    let msg = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => return t,
                _ => continue,
            }
        }
    })
    .await
    .expect("a document within a minute");
    let doc: Value = serde_json::from_str(msg.as_str()).unwrap();
    assert_eq!(doc["epcisBody"]["queryResults"]["queryName"], "packs");
    let (_, direct) = n
        .get("/epcis/events?eventType=AggregationEvent", Some(&n.a))
        .await;
    assert_eq!(
        answered(&doc),
        answered(&direct),
        "exactly A's aggregation events"
    );
    ws.close(None).await.unwrap();
}

crate::on_both!(websocket_subscriptions_stream_captures, websocket);
