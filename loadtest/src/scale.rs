//! Scale: identifiers of five short values registered through `POST
//! /api/v1/identifiers/batch`, each batch written while the ones before it are in flight, so
//! that memory stays flat at any count.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The identifiers `from..from + count` under a prefix, in batches.
pub(crate) struct Load {
    /// Base URL of the node.
    pub(crate) url: String,
    /// `Authorization` header value.
    pub(crate) auth: String,
    /// Enterprise prefix.
    pub(crate) prefix: String,
    /// First identifier number.
    pub(crate) from: u64,
    /// How many.
    pub(crate) count: u64,
    /// Identifiers per batch.
    pub(crate) batch: u64,
    /// Batches in flight.
    pub(crate) concurrency: usize,
}

/// The five values of identifier `i`.
fn values(i: u64) -> [(u32, &'static str, String); 5] {
    [
        (1, "URL", format!("https://trace.example.com/p/{i}")),
        (2, "productName", "gearbox housing".into()),
        (3, "batchNo", format!("L{:06}", i / 1000)),
        (4, "productionDate", "2026-12-05".into()),
        (5, "manufacturer", "Chongqing Gearworks Co.".into()),
    ]
}

fn handle(prefix: &str, i: u64) -> String {
    format!("{prefix}/p{i:09}")
}

/// A batch body (the values hold no character JSON would escape).
fn body(prefix: &str, from: u64, to: u64) -> String {
    let mut s = String::with_capacity(((to - from) * 400) as usize + 32);
    s.push_str(r#"{"operations":["#);
    for i in from..to {
        if i > from {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"op":"create","handle":"{}","values":["#,
            handle(prefix, i)
        );
        for (k, (index, t, data)) in values(i).iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            let _ = write!(s, r#"{{"index":{index},"type":"{t}","data":"{data}"}}"#);
        }
        s.push_str("]}");
    }
    s.push_str("]}");
    s
}

/// Registers the identifiers; prints the rate, and progress every million on stderr.
pub(crate) async fn load(l: Load) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let t = Instant::now();
    let mut writing = Duration::ZERO;
    let mut running = tokio::task::JoinSet::new();
    let end = l.from + l.count;
    let mut next_report = l.from + 1_000_000;
    let mut start = l.from;
    while start < end {
        let stop = (start + l.batch).min(end);
        let w = Instant::now();
        let body = body(&l.prefix, start, stop);
        writing += w.elapsed();
        if running.len() >= l.concurrency.max(1) {
            running.join_next().await.expect("a task runs")??;
        }
        running.spawn(crate::post_batch(&client, &l.url, &l.auth, body));
        start = stop;
        if start >= next_report {
            eprintln!(
                "scale: {start} registered, {:.0} ids/s so far",
                (start - l.from) as f64 / t.elapsed().as_secs_f64()
            );
            next_report += 1_000_000;
        }
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("scale_registered {}", l.count);
    println!("scale_seconds {secs:.3}");
    println!("scale_ids_per_s {:.0}", l.count as f64 / secs);
    println!("scale_body_writing_seconds {:.3}", writing.as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_the_node_reads() {
        let b: serde_json::Value = serde_json::from_str(&body("88.118.8", 7, 9)).unwrap();
        let ops = b["operations"].as_array().unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1]["handle"], "88.118.8/p000000008");
        assert_eq!(ops[1]["values"][4]["data"], "Chongqing Gearworks Co.");
    }
}
