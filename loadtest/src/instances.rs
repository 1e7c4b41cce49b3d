//! Cross-instance invalidation: writes at a steady rate through instance A, and for a
//! sample of them the time from A's acknowledgement until instance B answers the new
//! value; beside it, the same measurement on PostgreSQL alone (a committed row read by
//! another connection), the floor of "written here, read there".

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use serde_json::json;

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
    /// Identifiers written per request: 1, a PUT each; more, one batch of updates.
    pub(crate) batch: u64,
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
    let batch = r.batch.max(1);
    let requests = (r.rate * r.seconds / batch).max(1);
    let writes = requests * batch;
    let gap = Duration::from_secs_f64(batch as f64 / r.rate as f64);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for q in 1..=requests {
        let due = start + gap.mul_f64(q as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        // Versions (q-1)*batch+1 ..= q*batch, each written to its own identifier.
        let versions: Vec<u64> = ((q - 1) * batch + 1..=q * batch).collect();
        let items: Vec<(String, u64)> = versions.iter().map(|v| (handle(*v), *v)).collect();
        let (client, a, b, auth, lags) = (
            client.clone(),
            r.a.clone(),
            r.b.clone(),
            r.auth.clone(),
            lags.clone(),
        );
        let sampled = q.is_multiple_of(r.sample);
        tasks.spawn(async move {
            write(&client, &a, &auth, &items).await?;
            if sampled {
                let acked = Instant::now();
                let (h, v) = items.last().expect("a write");
                let want = url_of(*v);
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
                        bail!("B never answered {h} version {v}");
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let us = acked.elapsed().as_micros() as u64;
                lags.lock().expect("lock").record(us.max(1))?;
            }
            anyhow::Ok(())
        });
        throttle(&mut tasks).await?;
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = start.elapsed().as_secs_f64();
    let h = lags.lock().expect("lock").clone();
    println!("invalidation_writes_per_s {:.0}", writes as f64 / secs);
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
    anchor(&r.database, &r).await
}

async fn put(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    handle: &str,
    version: u64,
) -> anyhow::Result<()> {
    write(client, base, auth, &[(handle.to_owned(), version)]).await
}

/// Writes each (identifier, version): one PUT, or one batch of updates.
async fn write(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    items: &[(String, u64)],
) -> anyhow::Result<()> {
    let resp = if let [(handle, version)] = items {
        let body = json!({"values": [{"index": 1, "type": "URL", "data": url_of(*version)}]});
        client
            .put(format!("{base}/api/handles/{handle}"))
            .header("authorization", auth)
            .json(&body)
            .send()
            .await
            .context("PUT")?
    } else {
        let ops: Vec<_> = items
            .iter()
            .map(|(h, v)| {
                json!({"op": "update", "handle": h,
                       "values": [{"index": 1, "type": "URL", "data": url_of(*v)}]})
            })
            .collect();
        client
            .post(format!("{base}/api/v1/identifiers/batch"))
            .header("authorization", auth)
            .json(&json!({"operations": ops}))
            .send()
            .await
            .context("POST batch")?
    };
    if !resp.status().is_success() {
        bail!("write: {}", resp.status());
    }
    Ok(())
}

/// PostgreSQL alone, the same measurement without idnode: at the same rate, transactions
/// inserting `batch` rows each; for every `sample`-th, the time from its commit's return
/// until another connection, polling every 0.2 ms, reads its last row.
async fn anchor(database: &str, r: &Run) -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect(database)
        .await?;
    sqlx::query("CREATE TABLE anchor_rows (n BIGINT PRIMARY KEY, url TEXT)")
        .execute(&pool)
        .await?;
    let batch = r.batch.max(1);
    let requests = (r.rate * r.seconds / batch).max(1);
    let gap = Duration::from_secs_f64(batch as f64 / r.rate as f64);
    let lags = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for q in 1..=requests {
        let due = start + gap.mul_f64(q as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let ns: Vec<i64> = ((q - 1) * batch + 1..=q * batch)
            .map(|n| n as i64)
            .collect();
        let (pool, lags) = (pool.clone(), lags.clone());
        let sampled = q.is_multiple_of(r.sample);
        tasks.spawn(async move {
            let urls: Vec<String> = ns.iter().map(|n| url_of(*n as u64)).collect();
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO anchor_rows SELECT * FROM UNNEST($1::bigint[], $2::text[])")
                .bind(&ns)
                .bind(&urls)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            if sampled {
                let acked = Instant::now();
                let last = *ns.last().expect("a row");
                loop {
                    let (found,): (i64,) =
                        sqlx::query_as("SELECT count(*) FROM anchor_rows WHERE n = $1")
                            .bind(last)
                            .fetch_one(&pool)
                            .await?;
                    if found == 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let us = acked.elapsed().as_micros() as u64;
                lags.lock().expect("lock").record(us.max(1))?;
            }
            anyhow::Ok(())
        });
        throttle(&mut tasks).await?;
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let h = lags.lock().expect("lock").clone();
    println!(
        "anchor_p50_ms {:.2}",
        h.value_at_quantile(0.5) as f64 / 1000.0
    );
    println!(
        "anchor_p99_ms {:.2}",
        h.value_at_quantile(0.99) as f64 / 1000.0
    );
    Ok(())
}

/// Reaps finished tasks (failing on the first error) and waits while 128 are in flight (the
/// node's per-client connection limit is 256).
async fn throttle(tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    while let Some(done) = tasks.try_join_next() {
        done??;
    }
    while tasks.len() >= 128 {
        tasks.join_next().await.expect("a task")??;
    }
    Ok(())
}
