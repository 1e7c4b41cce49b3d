//! Named EPCIS queries (`/epcis/queries`): created once per enterprise and name, run page by
//! page as valid EPCISQueryDocuments that select what the definition says, invisible to
//! other enterprises, deleted; faulty definitions refused with a problem document. And the
//! `GS1-EPC-Format` header on query answers.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{send, TestNode};
use crate::epcis::answered;

const GEARBOX: &str = include_str!("../../crates/idnode-trace/tests/data/gearbox.jsonld");

async fn named_queries(n: &TestNode) {
    let (status, _, job) = n
        .post_raw("/epcis/capture", Some(&n.a), GEARBOX.into(), &[])
        .await;
    assert_eq!(status, 202, "{job}");
    let definition = json!({"eventType": ["TransformationEvent"], "EQ_bizStep": ["commissioning", "assembling"]});
    let direct = {
        let (_, doc) = n
            .get(
                "/epcis/events?eventType=TransformationEvent&EQ_bizStep=commissioning|assembling",
                Some(&n.a),
            )
            .await;
        answered(&doc)
    };
    assert!(!direct.is_empty());

    let body = json!({"name": "made", "query": definition});
    let r = n
        .req(Method::POST, "/epcis/queries", Some(&n.a))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/epcis/queries/made");
    let (status, p) = n.post("/epcis/queries", Some(&n.a), &body).await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["type"], "epcisException:ResourceAlreadyExistsException");
    let (status, got) = n.get("/epcis/queries/made", Some(&n.a)).await;
    assert_eq!((status, &got), (200, &body));
    let (_, list) = n.get("/epcis/queries", Some(&n.a)).await;
    assert_eq!(list, json!([body]));

    // Its events: what the same parameters select directly, page by page.
    let mut path = "/epcis/queries/made/events?perPage=2".to_owned();
    let mut seen = Vec::new();
    loop {
        let r = n.req(Method::GET, &path, Some(&n.a)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let next = r.headers().get("link").map(|l| {
            l.to_str()
                .unwrap()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        });
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["epcisBody"]["queryResults"]["queryName"], "made");
        let page = answered(&doc);
        assert!(page.len() <= 2);
        seen.extend(page);
        match next {
            Some(p) => path = p,
            None => break,
        }
    }
    assert_eq!(seen, direct);
    let (status, p) = n
        .get("/epcis/queries/made/events?EQ_action=ADD", Some(&n.a))
        .await;
    assert_eq!(
        (status, p["type"].as_str()),
        (400, Some("epcisException:QueryParameterException"))
    );

    // B neither sees nor runs A's query; its own of the same name sees none of A's events.
    assert_eq!(n.get("/epcis/queries/made", Some(&n.b)).await.0, 404);
    assert_eq!(n.get("/epcis/queries/made/events", Some(&n.b)).await.0, 404);
    assert_eq!(n.get("/epcis/queries", Some(&n.b)).await.1, json!([]));
    assert_eq!(n.post("/epcis/queries", Some(&n.b), &body).await.0, 201);
    let (_, doc) = n.get("/epcis/queries/made/events", Some(&n.b)).await;
    assert!(answered(&doc).is_empty());
    assert_eq!(n.get("/epcis/queries", None).await.0, 401);

    faulty_definitions(n).await;

    // Deleted: gone for A, B's untouched.
    let r = send(n.req(Method::DELETE, "/epcis/queries/made", Some(&n.a))).await;
    assert_eq!(r.0, 204);
    assert_eq!(n.get("/epcis/queries/made/events", Some(&n.a)).await.0, 404);
    assert_eq!(
        send(n.req(Method::DELETE, "/epcis/queries/made", Some(&n.a)))
            .await
            .0,
        404
    );
    assert_eq!(n.get("/epcis/queries/made", Some(&n.b)).await.0, 200);
}

/// Faulty definitions and names are refused, nothing saved.
async fn faulty_definitions(n: &TestNode) {
    for bad in [
        json!({"name": "x", "query": {"GE_eventTime": "yesterday"}}),
        json!({"name": "x", "query": {"NOT_a_parameter": "1"}}),
        json!({"name": "x", "query": {"perPage": 5}}),
        json!({"name": "x", "query": ["EQ_bizStep"]}),
        json!({"name": "a/b", "query": {}}),
        json!({"query": {}}),
    ] {
        let (status, p) = n.post("/epcis/queries", Some(&n.a), &bad).await;
        assert_eq!(status, 400, "{bad}: {p}");
        assert_eq!(p["type"], "epcisException:QueryParameterException", "{bad}");
    }
    assert_eq!(n.get("/epcis/queries/x", Some(&n.a)).await.0, 404);
}

crate::on_both!(named_queries_run_page_by_page_per_enterprise, named_queries);

/// `GS1-EPC-Format`: events as captured by default; `Always_GS1_Digital_Link` writes each
/// EPC URN as its Digital Link (still a valid document); `Always_EPC_URN` is refused (406).
async fn epc_formats(n: &TestNode) {
    let (status, _, _) = n
        .post_raw("/epcis/capture", Some(&n.a), GEARBOX.into(), &[])
        .await;
    assert_eq!(status, 202);
    let path = "/epcis/events?eventType=AggregationEvent";
    let get = |format: Option<&'static str>| {
        let mut r = n.req(Method::GET, path, Some(&n.a));
        if let Some(f) = format {
            r = r.header("gs1-epc-format", f);
        }
        send(r)
    };
    let (_, captured) = get(None).await;
    let captured = answered(&captured);
    assert!(captured.iter().any(|e| e["parentID"]
        .as_str()
        .is_some_and(|p| p.starts_with("urn:epc:id:sscc:"))));
    assert_eq!(answered(&get(Some("Never_Translates")).await.1), captured);
    let (status, links) = get(Some("Always_GS1_Digital_Link")).await;
    assert_eq!(status, 200);
    let links = answered(&links);
    assert_eq!(links.len(), captured.len());
    for (l, c) in links.iter().zip(&captured) {
        assert!(!l.to_string().contains("urn:epc:"), "{l}");
        // Only the identifiers changed.
        assert_eq!(l["eventID"], c["eventID"]);
        assert_eq!(l["bizStep"], c["bizStep"]);
        for field in ["parentID", "childEPCs"] {
            assert_eq!(l[field].is_null(), c[field].is_null());
        }
    }
    assert!(links
        .iter()
        .any(|e| e["parentID"] == "https://id.gs1.org/00/040123450000000016"));
    let (status, p) = get(Some("Always_EPC_URN")).await;
    assert_eq!(
        (status, p["type"].as_str()),
        (406, Some("epcisException:NotAcceptableException"))
    );
    assert_eq!(get(Some("Sometimes")).await.0, 400);
}

crate::on_both!(epc_format_header_is_honoured, epc_formats);
