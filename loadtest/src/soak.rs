//! A long run at a steady rate: anonymous REST resolutions of random identifiers among
//! those registered, and every WRITE_EVERY-th request a PUT of one of a thousand
//! identifiers of its own (created first), so that the cache keeps changing. Prints a line
//! per minute (requests, errors, latency) and a total; any error fails the run at its end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use hdrhistogram::Histogram;
use serde_json::json;

/// What one run does.
pub(crate) struct Soak {
    pub(crate) url: String,
    pub(crate) auth: String,
    pub(crate) prefix: String,
    /// Identifiers registered as `scale` names them (`p000000000`…).
    pub(crate) count: u64,
    pub(crate) rate: u64,
    pub(crate) seconds: u64,
    pub(crate) write_every: u64,
}

const WRITTEN: u64 = 1000;
/// Most requests in flight (the node's per-client connection limit is 256).
const IN_FLIGHT: usize = 128;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
}

/// Runs the load; fails if any request failed.
pub(crate) async fn run(s: Soak) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(10))
        .build()?;
    let s = Arc::new(s);
    for i in 0..WRITTEN {
        let resp = put(&client, &s, i, 0).await?;
        if !resp.status().is_success() {
            bail!("creating the written identifiers: {}", resp.status());
        }
    }
    let tally = Arc::new(Tally::default());
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let gap = Duration::from_secs_f64(1.0 / s.rate as f64);
    let start = Instant::now();
    let mut minute = 1;
    let mut tasks = tokio::task::JoinSet::new();
    let mut reported = (0, 0);
    println!("minute requests/s errors p50_ms p99_ms");
    for q in 0..s.rate * s.seconds {
        let due = start + gap.mul_f64(q as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        if start.elapsed() >= Duration::from_secs(60 * minute) {
            reported = report(minute, &tally, &latency, reported);
            minute += 1;
        }
        while tasks.try_join_next().is_some() {}
        // Behind schedule (the node or this generator saturated): wait for a request in
        // flight rather than pile up tasks; the rate reached is reported.
        while tasks.len() >= IN_FLIGHT {
            tasks.join_next().await;
        }
        let (client, s, tally, latency) =
            (client.clone(), s.clone(), tally.clone(), latency.clone());
        tasks.spawn(async move {
            let sent = Instant::now();
            let ok = match request(&client, &s, q).await {
                Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            if ok {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                let us = sent.elapsed().as_micros() as u64;
                let _ = latency
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(us.max(1));
            } else {
                tally.errors.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    report(minute, &tally, &latency, reported);
    let (ok, errors) = (
        tally.ok.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed),
    );
    let secs = start.elapsed().as_secs_f64();
    println!("soak_requests {}", ok + errors);
    println!("soak_requests_per_s {:.0}", (ok + errors) as f64 / secs);
    println!("soak_errors {errors}");
    if errors > 0 {
        bail!("{errors} of {} requests failed", ok + errors);
    }
    Ok(())
}

/// Request `q`: a write every `write_every`-th, else a resolution.
async fn request(client: &reqwest::Client, s: &Soak, q: u64) -> reqwest::Result<reqwest::Response> {
    if s.write_every > 0 && q.is_multiple_of(s.write_every) {
        return put(client, s, q / s.write_every % WRITTEN, q).await;
    }
    // A multiplicative hash spreads the identifiers asked over the whole range.
    let i = q.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (s.count + WRITTEN);
    let path = if i < s.count {
        format!("{}/api/handles/{}/p{i:09}", s.url, s.prefix)
    } else {
        format!("{}/api/handles/{}/SOAK-{}", s.url, s.prefix, i - s.count)
    };
    client.get(path).send().await
}

async fn put(
    client: &reqwest::Client,
    s: &Soak,
    i: u64,
    version: u64,
) -> reqwest::Result<reqwest::Response> {
    let body = json!({"values": [
        {"index": 1, "type": "URL", "data": format!("https://soak.example/{i}/{version}")},
        {"index": 2, "type": "EMAIL", "data": "ops@soak.example"},
    ]});
    client
        .put(format!("{}/api/handles/{}/SOAK-{i}", s.url, s.prefix))
        .header("authorization", &s.auth)
        .json(&body)
        .send()
        .await
}

/// Prints the minute's line; returns the counts so far.
fn report(
    minute: u64,
    tally: &Tally,
    latency: &Mutex<Histogram<u64>>,
    before: (u64, u64),
) -> (u64, u64) {
    let now = (
        tally.ok.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed),
    );
    let mut h = latency.lock().unwrap_or_else(|p| p.into_inner());
    println!(
        "{minute} {:.0} {} {:.2} {:.2}",
        (now.0 + now.1 - before.0 - before.1) as f64 / 60.0,
        now.1 - before.1,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
    );
    h.reset();
    now
}
