//! The XML binding of EPCIS 2.0 over HTTP: documents and single events posted as
//! `application/xml` or `text/xml` are captured as their JSON twins are, read back as
//! JSON, refused whole with a problem document when malformed.

use reqwest::Method;
use serde_json::Value;

use crate::common::{TestNode, Who};
use crate::epcis::{answered, encode, without_record_time};

const STANDARD: &str = include_str!("../../crates/idnode-epcis/tests/xml/standard-examples.xml");
const EVERY: &str = include_str!("../../crates/idnode-epcis/tests/xml/every-construct.xml");
const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/idnode-epcis/standard/examples"
);

/// POSTs `body` as `content_type`: the status, the `Location` and the answer.
async fn post(
    n: &TestNode,
    path: &str,
    who: &Who,
    content_type: &str,
    body: &str,
) -> (u16, Option<String>, Value) {
    let resp = n
        .req(Method::POST, path, Some(who))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    assert!(status < 500, "server error {status}: {text}");
    (
        status,
        location,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn count(n: &TestNode) -> usize {
    let (status, doc) = n.get("/epcis/events?perPage=1000", Some(&n.a)).await;
    assert_eq!(status, 200, "{doc}");
    answered(&doc).len()
}

async fn xml_binding(n: &TestNode) {
    // The XML twins of the standard's examples 9.6.1, 9.6.3 and 9.6.4 are stored as the
    // JSON examples' events: read back by the JSON events' hash IDs, field for field.
    let (status, _, job) = post(n, "/epcis/capture", &n.a, "application/xml", STANDARD).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        (job["success"].as_bool(), job["stored"].as_u64()),
        (Some(true), Some(4))
    );
    let mut twins = Vec::new();
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
    ] {
        let bytes = std::fs::read(format!("{EXAMPLES}/{name}")).unwrap();
        twins.extend(idnode_epcis::capture_document(&bytes).unwrap().events);
    }
    for twin in &twins {
        let (status, doc) = n
            .get(&format!("/epcis/events/{}", encode(&twin.hash)), Some(&n.a))
            .await;
        assert_eq!(status, 200, "{}", twin.hash);
        let got: Vec<Value> = answered(&doc).iter().map(without_record_time).collect();
        assert_eq!(got, vec![without_record_time(&twin.body)]);
    }

    // Every construct of the binding, as text/xml: found by the identifiers it names.
    let (status, _, job) = post(n, "/epcis/capture", &n.a, "text/xml; charset=utf-8", EVERY).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["stored"], 5, "{job}");
    let (_, doc) = n
        .get(
            "/epcis/events?MATCH_anyEPC=urn:epc:id:sgtin:6901234.012345.GBX-1",
            Some(&n.a),
        )
        .await;
    let found = answered(&doc);
    assert_eq!(found.len(), 2, "{doc}");
    let commissioning = found.iter().find(|e| e["type"] == "ObjectEvent").unwrap();
    assert_eq!(commissioning["bizStep"], "commissioning");
    assert_eq!(
        commissioning["ilmd"]["acme:inspection"]["acme:by"],
        "QA team"
    );
    assert_eq!(
        commissioning["acme:tag"],
        serde_json::json!(["red", "urgent"])
    );
    assert_eq!(commissioning["acme:note"], "<fragile> handle with care");

    // One event: 201 with its Location, 409 the second time.
    let one = "<ObjectEvent xmlns:acme=\"https://acme.example/\">\
        <eventTime>2026-12-02T08:00:00Z</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>\
        <epcList><epc>urn:epc:id:sgtin:6901234.012345.GBX-9</epc></epcList><action>OBSERVE</action>\
        <bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep><acme:grade>A</acme:grade></ObjectEvent>";
    let (status, location, job) = post(n, "/epcis/events", &n.a, "application/xml", one).await;
    assert_eq!(status, 201, "{job}");
    let (status, doc) = n.get(&location.unwrap(), Some(&n.a)).await;
    assert_eq!(status, 200);
    assert_eq!(answered(&doc)[0]["acme:grade"], "A");
    let (status, _, p) = post(n, "/epcis/events", &n.a, "application/xml", one).await;
    assert_eq!(status, 409, "{p}");

    // Malformed documents are refused whole, naming the fault; nothing is stored.
    let before = count(n).await;
    let broken = EVERY.replace("</TransactionEvent>", "");
    let (status, _, p) = post(n, "/epcis/capture", &n.a, "application/xml", &broken).await;
    assert_eq!(
        (status, p["type"].as_str()),
        (400, Some("epcisException:ValidationException"))
    );
    assert!(
        p["detail"].as_str().unwrap_or_default().contains("not XML"),
        "{p}"
    );
    let dancing = EVERY
        .replace("bizstep:assembling", "bizstep:dancing")
        .replace("2026-11-30", "2026-12-01");
    let (status, _, p) = post(n, "/epcis/capture", &n.a, "application/xml", &dancing).await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(
        p["errors"][0]["pointer"], "/epcisBody/eventList/2/bizStep",
        "{p}"
    );
    let (status, _, _) = post(n, "/epcis/capture", &n.a, "text/plain", STANDARD).await;
    assert_eq!(status, 415);
    assert_eq!(count(n).await, before);
}

crate::on_both!(xml_documents_and_events_are_captured, xml_binding);
