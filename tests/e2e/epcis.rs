//! Traceability over HTTP (`/epcis`): GS1's 47 example documents captured and read back
//! field for field, every answer a valid EPCISQueryDocument; the three-level gearbox traced
//! and recalled; malformed and oversize documents refused whole; enterprise B blind to A's
//! events on every endpoint until A grants them.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::common::{send, TestNode, Who};

const GEARBOX: &str = include_str!("../../crates/idnode-trace/tests/data/gearbox.jsonld");

/// Every example document GS1 publishes with the standard.
fn examples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "jsonld" || x == "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/idnode-epcis/standard/examples");
    walk(&root, &mut out);
    out.sort();
    out
}

impl TestNode {
    /// POSTs raw bytes as JSON-LD.
    pub async fn post_raw(
        &self,
        path: &str,
        who: Option<&Who>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut r = self
            .req(Method::POST, path, who)
            .header("content-type", "application/ld+json")
            .body(body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let h = resp.headers().clone();
        let text = resp.text().await.unwrap();
        assert!(status < 500, "server error {status}: {text}");
        (
            status,
            h,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

/// The events of a query answer, after checking the answer is a valid EPCISQueryDocument.
pub fn answered(doc: &Value) -> Vec<Value> {
    let bytes = serde_json::to_vec(doc).unwrap();
    if let Err(e) = idnode_epcis::capture_document(&bytes) {
        panic!("not a valid EPCISQueryDocument: {e}\n{doc}");
    }
    doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn without_record_time(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("recordTime");
    v
}

pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Each example document is captured; each of its events is read back by its eventID (its
/// hash ID when it has none) with every field as captured.
async fn examples_round_trip(n: &TestNode) {
    let files = examples();
    assert_eq!(files.len(), 47, "GS1's 47 example documents");
    let mut events = 0;
    let mut stored = 0;
    let mut fresh = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let (status, h, job) = n
            .post_raw("/epcis/capture", Some(&n.a), bytes.clone(), &[])
            .await;
        assert_eq!(status, 202, "{}: {job}", f.display());
        assert!(h["location"]
            .to_str()
            .unwrap()
            .starts_with("/epcis/capture/"));
        assert_eq!(job["success"], true, "{}: {job}", f.display());
        let capture = idnode_epcis::capture_document(&bytes).unwrap();
        stored += job["stored"].as_u64().unwrap();
        let duplicates: Vec<u64> = job["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["event"].as_u64())
            .collect();
        for e in &capture.events {
            events += 1;
            // recordTime is the repository's to set: a captured one is replaced.
            let want = without_record_time(&e.body);
            // By its hash ID: a duplicate (the same event under another eventID, as some
            // examples repeat others) is stored once, under the first eventID.
            let path = format!("/epcis/events/{}", encode(&e.hash));
            let (status, doc) = n.get(&path, Some(&n.a)).await;
            assert_eq!(status, 200, "{}: {}", f.display(), e.hash);
            let got = answered(&doc);
            let duplicate = duplicates.contains(&(e.index as u64));
            let ns = idnode_epcis::Namespaces::of_document(&doc);
            let found = got.iter().any(|g| {
                let mut g = g.clone();
                let o = g.as_object_mut().unwrap();
                assert!(
                    o.remove("recordTime").is_some(),
                    "every answer has recordTime"
                );
                if duplicate {
                    // The same event as the standard's hash sees it (another eventID, a
                    // comment, a URN for a Digital Link): stored once, under the first.
                    idnode_epcis::event_hash(&g, &ns) == e.hash
                } else {
                    g == want
                }
            });
            assert!(
                found,
                "{}: {} not returned as captured:\n{}\n{got:?}",
                f.display(),
                e.hash,
                e.body
            );
            if !duplicate {
                if let Some(id) = &e.event_id {
                    let (status, _) = n
                        .get(&format!("/epcis/events/{}", encode(id)), Some(&n.a))
                        .await;
                    assert_eq!(status, 200, "by eventID {id}");
                }
            }
        }
        if !duplicates.is_empty() {
            fresh += 1;
            exactly_as_captured(n, fresh, &bytes, &capture).await;
        }
    }
    assert!(events > 47);
    // All of them through the query interface, page by page, each page a valid document.
    let seen = page_through(n, "/epcis/events?perPage=25").await;
    assert_eq!(
        seen as u64, stored,
        "of {events} events, {stored} are no duplicates"
    );
}

/// Every event `path` answers, following `Link: rel="next"`, each page checked.
async fn page_through(n: &TestNode, path: &str) -> usize {
    let mut path = path.to_owned();
    let mut seen = 0;
    loop {
        let r = n.req(Method::GET, &path, Some(&n.a)).send().await.unwrap();
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let doc: Value = r.json().await.unwrap();
        seen += answered(&doc).len();
        match link {
            Some(l) => {
                path = l
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            }
            None => return seen,
        }
    }
}

/// A document some of whose events A holds already, captured by a new enterprise (whose
/// events are its own): every event comes back with every field, eventID and comments
/// included.
async fn exactly_as_captured(n: &TestNode, k: u32, bytes: &[u8], capture: &idnode_epcis::Capture) {
    let (status, made) = n
        .post(
            "/api/v1/enterprises",
            Some(&n.operator),
            &serde_json::json!({"name": format!("Fresh {k}"), "prefix": format!("88.118.{}", 50 + k)}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let who = Who {
        identity: made["identity"].as_str().unwrap().to_owned(),
        secret: made["secret"].as_str().unwrap().to_owned(),
    };
    let (status, _, job) = n
        .post_raw("/epcis/capture", Some(&who), bytes.to_vec(), &[])
        .await;
    assert_eq!(
        (status, job["success"].as_bool()),
        (202, Some(true)),
        "{job}"
    );
    for e in &capture.events {
        let (_, doc) = n
            .get(&format!("/epcis/events/{}", encode(&e.hash)), Some(&who))
            .await;
        let got = answered(&doc);
        assert!(
            got.iter()
                .any(|g| without_record_time(g) == without_record_time(&e.body)),
            "{} not as captured: {got:?}",
            e.hash
        );
    }
}

crate::on_both!(gs1_examples_are_captured_and_read_back, examples_round_trip);

async fn count(n: &TestNode, path: &str, who: &Who) -> usize {
    let (status, doc) = n.get(path, Some(who)).await;
    assert_eq!(status, 200, "{path}: {doc}");
    answered(&doc).len()
}

/// Malformed and oversize documents are refused whole; nothing of them is stored.
async fn refusals(n: &TestNode) {
    let before = count(n, "/epcis/events?perPage=1000", &n.a).await;
    let bad = GEARBOX.replace("\"bizStep\": \"shipping\"", "\"bizStep\": \"dancing\"");
    let (status, h, p) = n
        .post_raw("/epcis/capture", Some(&n.a), bad.into_bytes(), &[])
        .await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(p["type"], "epcisException:ValidationException");
    let fault = &p["errors"][0];
    assert_eq!(fault["event"], 10);
    assert_eq!(fault["pointer"], "/epcisBody/eventList/10/bizStep");
    let (status, _, p) = n
        .post_raw("/epcis/capture", Some(&n.a), b"{\"type\":".to_vec(), &[])
        .await;
    assert_eq!(
        (status, p["type"].as_str()),
        (400, Some("epcisException:ValidationException"))
    );
    // 12 events over a limit of 11.
    let big = GEARBOX.replace(
        "\"eventList\": [",
        r#""eventList": [{"type": "ObjectEvent", "eventTime": "2026-03-01T00:00:00Z",
           "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "epcList": []},"#,
    );
    let (status, _, p) = n
        .post_raw("/epcis/capture", Some(&n.a), big.into_bytes(), &[])
        .await;
    assert_eq!(
        (status, p["type"].as_str()),
        (413, Some("epcisException:CaptureLimitExceededException"))
    );
    let (status, _, _) = n
        .post_raw("/epcis/capture", None, GEARBOX.into(), &[])
        .await;
    assert_eq!(status, 401);
    assert_eq!(count(n, "/epcis/events?perPage=1000", &n.a).await, before);
    // Under `proceed` the faulty event is set aside and named, the others stored.
    let one_bad = GEARBOX
        .replace("\"bizStep\": \"shipping\"", "\"bizStep\": \"dancing\"")
        .replace("2026-03-02T", "2026-03-03T");
    let (status, _, job) = n
        .post_raw(
            "/epcis/capture",
            Some(&n.a),
            one_bad.into_bytes(),
            &[("GS1-Capture-Error-Behaviour", "proceed")],
        )
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        (
            job["success"].as_bool(),
            job["stored"].as_i64(),
            job["captureErrorBehaviour"].as_str()
        ),
        (Some(false), Some(10), Some("proceed"))
    );
    assert_eq!(job["errors"][0]["event"], 10);
    assert!(
        job["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dancing"),
        "{job}"
    );
    let path = format!("/epcis/capture/{}", job["captureID"].as_str().unwrap());
    let (status, again) = n.get(&path, Some(&n.a)).await;
    assert_eq!((status, &again), (200, &job));
    assert_eq!(
        count(n, "/epcis/events?perPage=1000", &n.a).await,
        before + 10
    );
}

/// The gearbox traced, recalled, and hidden from B until granted.
async fn gearbox(n: &TestNode) {
    refusals(n).await;
    let (status, h, job) = n
        .post_raw("/epcis/capture", Some(&n.a), GEARBOX.into(), &[])
        .await;
    assert_eq!((status, job["stored"].as_i64()), (202, Some(11)), "{job}");
    assert!(h.contains_key("gs1-epcis-capture-limit"));
    let job_path = h["location"].to_str().unwrap().to_owned();
    // Captured again: every event a duplicate, nothing stored twice.
    let (_, _, again) = n
        .post_raw("/epcis/capture", Some(&n.a), GEARBOX.into(), &[])
        .await;
    assert_eq!(
        (
            again["stored"].as_i64(),
            again["duplicates"].as_array().map(Vec::len)
        ),
        (Some(0), Some(11))
    );

    let pallet = encode("urn:epc:id:sscc:4012345.0000000001");
    let (status, g) = n
        .get(&format!("/epcis/trace/{pallet}?direction=back"), Some(&n.a))
        .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["nodes"].as_array().unwrap().len(), 10, "{g}");
    let lot = encode("urn:epc:class:lgtin:4012345.011111.LOTA");
    let (_, r) = n.get(&format!("/epcis/recall/{lot}"), Some(&n.a)).await;
    let gearboxes: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .filter(|id| id.contains("/gbx-"))
        .collect();
    assert_eq!(gearboxes, ["hdl:88.118.8/gbx-2026-000001"]);
    let gbx = encode("hdl:88.118.8/GBX-2026-000001");
    let (_, fwd) = n
        .get(&format!("/epcis/trace/{gbx}?direction=forward"), Some(&n.a))
        .await;
    assert_eq!(fwd["edges"][0]["kind"], "aggregation");
    // Every URI form of gearbox 1 finds the same four events (two days of the same story).
    for form in [
        "hdl:88.118.8/GBX-2026-000001",
        "info:hdl/88.118.8/gbx-2026-000001",
        "https://id.example.cn/88.118.8/GBX-2026-000001",
        "https://hdl.handle.net/88.118.8/GBX-2026-000001",
    ] {
        assert_eq!(
            count(n, &format!("/epcis/epcs/{}/events", encode(form)), &n.a).await,
            4,
            "{form}"
        );
    }
    // The identifier's answer links to them; its lifecycle merges history and events.
    let url = serde_json::json!({"values": [{"index": 1, "type": "URL", "data": "https://gearbox.example/1"}]});
    let (status, _) = n
        .put("/api/handles/88.118.8/GBX-2026-000001", Some(&n.a), &url)
        .await;
    assert_eq!(status, 201);
    let (_, detail) = n
        .get("/api/v1/identifiers/88.118.8/GBX-2026-000001", Some(&n.a))
        .await;
    let events_link = detail["links"]["events"].as_str().unwrap().to_owned();
    assert_eq!(count(n, &events_link, &n.a).await, 4);
    let (status, life) = n
        .get(
            "/api/v1/identifiers/88.118.8/GBX-2026-000001/lifecycle",
            Some(&n.a),
        )
        .await;
    assert_eq!(status, 200, "{life}");
    let kinds: Vec<&str> = life["moments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["event", "event", "event", "event", "registration"],
        "{life}"
    );

    blind_until_granted(n, &job_path, &pallet, &lot).await;
}

/// B sees none of A's events on any endpoint until A grants them.
async fn blind_until_granted(n: &TestNode, job: &str, pallet: &str, lot: &str) {
    let pallet_packing = encode("urn:uuid:6f1e0c4a-0000-4000-8000-000000000010");
    let gbx = encode("hdl:88.118.8/GBX-2026-000001");
    let lists = [
        "/epcis/events".to_owned(),
        format!("/epcis/events/{pallet_packing}"),
        format!("/epcis/epcs/{gbx}/events"),
        "/epcis/bizSteps/packing/events".to_owned(),
        "/epcis/eventTypes/AggregationEvent/events".to_owned(),
    ];
    for path in &lists {
        let (status, doc) = n.get(path, Some(&n.b)).await;
        assert!(
            status == 404 || answered(&doc).is_empty(),
            "{path}: {status} {doc}"
        );
    }
    let (_, points) = n.get("/epcis/readPoints", Some(&n.b)).await;
    assert_eq!(points["member"], Value::Array(vec![]));
    let (status, _) = n.get(job, Some(&n.b)).await;
    assert_eq!(status, 404, "A's capture job");
    // The owner reads with a bearer token as well as with Basic.
    let (_, t) = n
        .post(
            "/identity/token",
            None,
            &serde_json::json!({"username": n.a.identity, "password": n.a.secret}),
        )
        .await;
    let token = t["data"]["token"].as_str().unwrap();
    let r = n
        .client
        .get(format!("{}{job}", n.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = n
        .client
        .get(format!("{}{job}", n.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, g) = n.get(&format!("/epcis/trace/{pallet}"), Some(&n.b)).await;
    assert_eq!(g["nodes"].as_array().unwrap().len(), 1);
    let (_, r) = n.get(&format!("/epcis/recall/{lot}"), Some(&n.b)).await;
    assert_eq!(r["items"], Value::Array(vec![]));
    let (_, life) = n
        .get(
            "/api/v1/identifiers/88.118.8/GBX-2026-000001/lifecycle",
            Some(&n.b),
        )
        .await;
    assert_eq!(life["moments"], Value::Array(vec![]));

    let (status, g) = send(
        n.req(Method::POST, "/epcis/grants", Some(&n.a))
            .json(&serde_json::json!({"grantee": b_id(n).await})),
    )
    .await;
    assert_eq!(status, 201, "{g}");
    for path in &lists {
        assert!(count(n, path, &n.b).await > 0, "{path} after the grant");
    }
    let (_, g) = n.get(&format!("/epcis/trace/{pallet}"), Some(&n.b)).await;
    assert_eq!(g["nodes"].as_array().unwrap().len(), 10);
    let (status, _) = n
        .delete(&format!("/epcis/grants/{}", b_id(n).await), Some(&n.a))
        .await;
    assert_eq!(status, 204);
    assert_eq!(count(n, "/epcis/events", &n.b).await, 0);
}

/// Enterprise B's id, from the operator's list.
async fn b_id(n: &TestNode) -> i64 {
    let (status, list) = n.get("/api/v1/enterprises", Some(&n.operator)).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .or_else(|| list["enterprises"].as_array())
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Valve Co")
        .and_then(|e| e["id"].as_i64())
        .unwrap()
}

crate::on_both!(gearbox_is_traced_recalled_and_private, gearbox, |c| {
    c.epcis.base_urls = vec!["https://id.example.cn/".into()];
    c.epcis.capture_events = 11;
});
