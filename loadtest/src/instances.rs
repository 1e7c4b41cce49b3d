//! Cross-instance invalidation: writes at a steady rate through instance A, and for a
//! sample of them the time from A's acknowledgement until instance B answers the new
//! value; beside it, what PostgreSQL alone takes to carry a notification from a committing
//! connection to a listening one at the same rate (the channel idnode's announcements
//! travel on).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::postgres::PgListener;
use sqlx::Connection as _;

/// What one run measures.
pub(crate) struct Run {
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) auth: String,
    pub(crate) prefix: String,
    pub(crate) database: String,
    pub(crate) rate: u64,
    pub(crate) seconds: u64,
    pub(crate) sample: u64,
}

const HANDLES: u64 = 1000;

fn url_of(version: u64) -> String {
    format!("https://v.example/{version}")
}

/// The idnode figure and the PostgreSQL one, printed as `name value` lines.
pub(crate) async fn run(r: Run) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let handle = |i: u64| format!("{}/INV-{:04}", r.prefix, i % HANDLES);
    for i in 0..HANDLES {
        put(&client, &r.a, &r.auth, &handle(i), 0).await?;
        let _ = client
            .get(format!("{}/api/handles/{}", r.b, handle(i)))
            .send()
            .await?;
    }
    let lags = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let writes = (r.rate * r.seconds).max(1);
    let gap = Duration::from_secs_f64(1.0 / r.rate as f64);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut late = 0u64;
    for i in 1..=writes {
        let due = start + gap.mul_f64(i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        } else if due.elapsed() > Duration::from_millis(50) {
            late += 1;
        }
        let (client, a, b, auth, h, lags) = (
            client.clone(),
            r.a.clone(),
            r.b.clone(),
            r.auth.clone(),
            handle(i),
            lags.clone(),
        );
        let sampled = i.is_multiple_of(r.sample);
        tasks.spawn(async move {
            put(&client, &a, &auth, &h, i).await?;
            if sampled {
                let acked = Instant::now();
                let want = url_of(i);
                loop {
                    let body = client
                        .get(format!("{b}/api/handles/{h}"))
                        .send()
                        .await?
                        .text()
                        .await?;
                    if body.contains(&want) {
                        break;
                    }
                    if acked.elapsed() > Duration::from_secs(10) {
                        bail!("B never answered {h} version {i}");
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let us = acked.elapsed().as_micros() as u64;
                lags.lock().expect("lock").record(us.max(1))?;
            }
            anyhow::Ok(())
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = start.elapsed().as_secs_f64();
    let h = lags.lock().expect("lock").clone();
    println!("invalidation_writes_per_s {:.0}", writes as f64 / secs);
    println!("invalidation_writes_late {late}");
    println!("invalidation_samples {}", h.len());
    println!(
        "invalidation_p50_ms {:.2}",
        h.value_at_quantile(0.5) as f64 / 1000.0
    );
    println!(
        "invalidation_p99_ms {:.2}",
        h.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!("invalidation_max_ms {:.2}", h.max() as f64 / 1000.0);
    notify_anchor(&r.database, r.rate, r.seconds, r.sample).await
}

async fn put(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    handle: &str,
    version: u64,
) -> anyhow::Result<()> {
    let body = json!({"values": [{"index": 1, "type": "URL", "data": url_of(version)}]});
    let resp = client
        .put(format!("{base}/api/handles/{handle}"))
        .header("authorization", auth)
        .json(&body)
        .send()
        .await
        .context("PUT")?;
    if !resp.status().is_success() {
        bail!("PUT {handle}: {}", resp.status());
    }
    Ok(())
}

/// PostgreSQL alone: at `rate` transactions a second, each inserting a row and notifying
/// its number, the time from a sampled commit's return to its notification on a listening
/// connection.
async fn notify_anchor(database: &str, rate: u64, seconds: u64, sample: u64) -> anyhow::Result<()> {
    let mut setup = sqlx::PgConnection::connect(database).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS anchor_notify (n BIGINT, at TIMESTAMPTZ DEFAULT now())",
    )
    .execute(&mut setup)
    .await?;
    let committed: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut listener = PgListener::connect(database).await?;
    listener.listen("anchor_notify").await?;
    let heard = committed.clone();
    let writes = (rate * seconds).max(1);
    let samples = writes / sample;
    let hear = tokio::spawn(async move {
        let mut h = Histogram::<u64>::new(3)?;
        while h.len() < samples {
            let n = listener.recv().await?;
            let i: u64 = n.payload().parse()?;
            if !i.is_multiple_of(sample) {
                continue;
            }
            // The commit's return may come after the notification: wait for it.
            let at = loop {
                if let Some(at) = heard.lock().expect("lock").remove(&i) {
                    break at;
                }
                tokio::task::yield_now().await;
            };
            let us = at.elapsed().as_micros() as u64;
            h.record(us.max(1))?;
        }
        anyhow::Ok(h)
    });
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let mut pool = Vec::new();
    for _ in 0..8 {
        pool.push(sqlx::PgConnection::connect(database).await?);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..=writes {
        let due = start + gap.mul_f64(i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let mut conn = match pool.pop() {
            Some(c) => c,
            None => tasks.join_next().await.expect("a task")??,
        };
        let committed = committed.clone();
        tasks.spawn(async move {
            let mut tx = conn.begin().await?;
            sqlx::query("INSERT INTO anchor_notify (n) VALUES ($1)")
                .bind(i as i64)
                .execute(&mut *tx)
                .await?;
            sqlx::query("SELECT pg_notify('anchor_notify', $1)")
                .bind(i.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            if i.is_multiple_of(sample) {
                committed.lock().expect("lock").insert(i, Instant::now());
            }
            anyhow::Ok(conn)
        });
        while let Some(done) = tasks.try_join_next() {
            pool.push(done??);
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let h = tokio::time::timeout(Duration::from_secs(30), hear).await???;
    println!(
        "notify_p50_ms {:.2}",
        h.value_at_quantile(0.5) as f64 / 1000.0
    );
    println!(
        "notify_p99_ms {:.2}",
        h.value_at_quantile(0.99) as f64 / 1000.0
    );
    Ok(())
}
