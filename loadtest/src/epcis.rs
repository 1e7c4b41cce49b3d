//! EPCIS load: a generated genealogy (TREES trees of 11,111 nodes: a gearbox made of 10
//! subassemblies (transformations), each packing 10 gears (aggregations), each machined
//! from a blank (transformation), each blank cast from 10 lots (class-level
//! transformations); one event per edge, 11,110 per tree), written as capture documents
//! and as CSV rows of the same events; captured through `/epcis/capture`; traced back from
//! random roots through `/epcis/trace`; and the anchor, one hand-written recursive SQL query
//! per trace over the same tables.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Events per capture document.
const PER_DOCUMENT: usize = 10_000;
/// Children per node.
const FAN: usize = 10;

/// The root of tree `t`.
pub(crate) fn root(t: usize) -> String {
    format!("hdl:88.118.8/GBX-{t:05}")
}

/// Where traces start: the gearbox (the whole tree, 11,111 nodes) or one of its gears
/// (10 blanks and 100 lots: 111 nodes).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Start {
    /// Tree roots.
    Root,
    /// Gears.
    Gear,
}

impl Start {
    /// The identifier trace `n` starts at (as sent) and the key the node indexes it under,
    /// and the nodes its answer holds.
    fn start(self, trees: usize, n: usize) -> (String, String, usize) {
        let t = (n * 7919) % trees;
        match self {
            Self::Root => (root(t), root(t).to_lowercase(), 11_111),
            Self::Gear => {
                let (i, j) = ((n / 7) % FAN, (n / 3) % FAN);
                (
                    format!("urn:epc:id:sgtin:4012345.022222.{t}x{i}x{j}"),
                    format!("https://id.gs1.org/01/04012345222227/21/{t}x{i}x{j}"),
                    111,
                )
            }
        }
    }
}

fn event(kind: &str, ms: i64, body: Value) -> Value {
    let mut e = json!({
        "type": kind,
        "eventTime": time(ms),
        "eventTimeZoneOffset": "+00:00",
    });
    if let (Some(o), Value::Object(b)) = (e.as_object_mut(), body) {
        o.extend(b);
    }
    e
}

fn time(ms: i64) -> String {
    let secs = ms / 1000;
    let (d, s) = (secs / 86_400, secs % 86_400);
    // Days from 2026-01-01 (within one year of it: the generator's trees fit).
    format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + d / 28,
        1 + d % 28,
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// The 11,110 events of tree `t`: lots into blanks, blanks into gears, gears into
/// subassemblies, subassemblies into the gearbox, in that time order.
fn tree(t: usize) -> Vec<Value> {
    let base = i64::try_from(t).unwrap() * 4 * 3_600_000;
    let hour = 3_600_000;
    let mut out = Vec::with_capacity(11_110);
    let gbx = root(t);
    for i in 0..FAN {
        let sub = format!("hdl:88.118.8/SUB-{t:05}-{i}");
        out.push(event(
            "TransformationEvent",
            base + 3 * hour,
            json!({"bizStep": "assembling", "inputEPCList": [sub], "outputEPCList": [gbx]}),
        ));
        for j in 0..FAN {
            let gear = format!("urn:epc:id:sgtin:4012345.022222.{t}x{i}x{j}");
            out.push(event(
                "AggregationEvent",
                base + 2 * hour,
                json!({"action": "ADD", "bizStep": "packing", "parentID": sub, "childEPCs": [gear]}),
            ));
            for k in 0..FAN {
                let blank = format!("urn:epc:id:sgtin:4012345.033333.{t}x{i}x{j}x{k}");
                out.push(event(
                    "TransformationEvent",
                    base + hour,
                    json!({"bizStep": "commissioning", "inputEPCList": [blank], "outputEPCList": [gear]}),
                ));
                for m in 0..FAN {
                    let lot = format!("urn:epc:class:lgtin:4012345.044444.L{t}x{i}x{j}x{k}x{m}");
                    out.push(event(
                        "TransformationEvent",
                        base,
                        json!({"bizStep": "commissioning",
                               "inputQuantityList": [{"epcClass": lot, "quantity": 1, "uom": "KGM"}],
                               "outputEPCList": [blank]}),
                    ));
                }
            }
        }
    }
    out
}

/// Writes `trees` trees as capture documents `dir/doc-NNNN.json` and the same events as CSV
/// rows `dir/rows.csv` (event type, event time, action, bizStep, the event as JSON).
pub(crate) fn generate(dir: &Path, trees: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("rows.csv"))?);
    let mut pending: Vec<Value> = Vec::new();
    let mut docs = 0;
    let flush = |events: &mut Vec<Value>, docs: &mut usize| -> anyhow::Result<()> {
        let doc = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-06-01T00:00:00Z",
            "epcisBody": {"eventList": events}
        });
        std::fs::write(
            dir.join(format!("doc-{:04}.json", *docs)),
            serde_json::to_vec(&doc)?,
        )?;
        *docs += 1;
        events.clear();
        Ok(())
    };
    for t in 0..trees {
        for e in tree(t) {
            let body = serde_json::to_string(&e)?;
            writeln!(
                csv,
                "{},{},{},{},\"{}\"",
                e["type"].as_str().unwrap_or_default(),
                e["eventTime"].as_str().unwrap_or_default(),
                e["action"].as_str().unwrap_or_default(),
                e["bizStep"].as_str().unwrap_or_default(),
                body.replace('"', "\"\"")
            )?;
            pending.push(e);
            if pending.len() == PER_DOCUMENT {
                flush(&mut pending, &mut docs)?;
            }
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut docs)?;
    }
    csv.flush()?;
    println!("documents {docs} events {}", trees * 11_110);
    Ok(())
}

/// Captures every document in `dir` (`concurrency` at a time); prints events/s.
pub(crate) async fn capture(
    url: &str,
    auth: &str,
    dir: &Path,
    concurrency: usize,
) -> anyhow::Result<()> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("doc-"))
        })
        .collect();
    docs.sort();
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut stored = 0i64;
    // A sliding window: the next document goes as soon as one is answered, so the node's
    // parsing of one overlaps the database's writing of another.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut docs = docs.into_iter();
    loop {
        while in_flight.len() < concurrency.max(1) {
            let Some(p) = docs.next() else { break };
            let body = std::fs::read(&p)?;
            let req = client
                .post(format!("{url}/epcis/capture"))
                .header("authorization", auth)
                .header("content-type", "application/ld+json")
                .body(body);
            in_flight.spawn(async move {
                let resp = req.send().await?;
                let status = resp.status();
                let job: Value = resp.json().await.context("capture answer")?;
                anyhow::Ok((status, job))
            });
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        let (status, job) = done??;
        if status.as_u16() != 202 || job["success"] != true {
            bail!("capture refused: {status} {job}");
        }
        stored += job["stored"].as_i64().unwrap_or_default();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("captured_events {stored}");
    println!("capture_events_per_s {:.0}", stored as f64 / secs);
    Ok(())
}

/// Traces back from `requests` random roots of `trees` trees, one request at a time;
/// checks every answer holds the whole tree; prints latency percentiles in ms (until the
/// whole answer has arrived).
pub(crate) async fn trace(
    url: &str,
    auth: &str,
    trees: usize,
    requests: usize,
    from: Start,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for n in 0..requests {
        let (uri, _, size) = from.start(trees, n);
        let start = Instant::now();
        let resp = client
            .get(format!(
                "{url}/epcis/trace/{}?direction=back",
                uri.replace('/', "%2F")
            ))
            .header("authorization", auth)
            .send()
            .await?;
        let body = resp.bytes().await?;
        // The latency is until the whole answer has arrived; building the client's JSON
        // tree of it (to check it) is not counted.
        hist.record(start.elapsed().as_micros() as u64)?;
        let g: Value = serde_json::from_slice(&body)?;
        let nodes = g["nodes"].as_array().map_or(0, Vec::len);
        if nodes != size || g["truncated"] != false {
            bail!("{uri}: {nodes} nodes, truncated {}", g["truncated"]);
        }
    }
    report("trace", &hist);
    Ok(())
}

fn report(what: &str, hist: &Histogram<u64>) {
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{what}_ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} n {}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        hist.max() as f64 / 1000.0,
        hist.len()
    );
}

/// The anchor: one recursive SQL query per trace over the same tables (the reachable keys
/// and, for each edge, both keys and the eventID), `requests` of them in the same order.
pub(crate) async fn recursive_sql(
    database: &str,
    trees: usize,
    requests: usize,
    from: Start,
) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(database).await?;
    // A step's other keys are in its event's row (`keys`, migration 0018); an event without
    // an eventID of its own is named by its hash ID (migration 0019). The generated
    // genealogy has no transformationIDs, so the anchor does not look for the other events
    // of one (the node's query does).
    let sql = "WITH RECURSIVE t(key) AS ( \
          SELECT $1::text COLLATE \"C\" \
          UNION \
          SELECT (k.v->>1) COLLATE \"C\" FROM t \
          JOIN epcis_keys a ON a.key = t.key AND a.role IN (2, 5, 9) \
          JOIN epcis_events e ON e.id = a.event \
          CROSS JOIN LATERAL json_array_elements(CAST(e.keys AS json)) AS k(v) \
          WHERE CAST(k.v->>0 AS INTEGER) IN (3, 4, 7, 8)) \
        SELECT a.key AS parent, k.v->>1 AS child, CASE WHEN e.event_id = '' THEN \
          'ni:///sha-256;' || encode(e.hash, 'hex') || '?ver=CBV2.0' ELSE e.event_id END FROM t \
        JOIN epcis_keys a ON a.key = t.key AND a.role IN (2, 5, 9) \
        JOIN epcis_events e ON e.id = a.event \
        CROSS JOIN LATERAL json_array_elements(CAST(e.keys AS json)) AS k(v) \
        WHERE CAST(k.v->>0 AS INTEGER) IN (3, 4, 7, 8)";
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for n in 0..requests {
        let (uri, key, size) = from.start(trees, n);
        let start = Instant::now();
        let rows: Vec<(String, String, String)> =
            sqlx::query_as(sql).bind(key).fetch_all(&mut conn).await?;
        hist.record(start.elapsed().as_micros() as u64)?;
        if rows.len() != size - 1 {
            bail!("{uri}: {} edges", rows.len());
        }
    }
    report("recursive_sql", &hist);
    Ok(())
}
