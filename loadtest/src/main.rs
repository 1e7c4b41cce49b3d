//! idnode load generators. `bulk` registers identifiers through `POST
//! /api/v1/identifiers/batch` and prints the rate; `paths` writes a wrk script that requests
//! random registered identifiers; `handle` loads the binary Handle protocol (UDP or TCP);
//! `floor` is the least a Handle UDP server can do, the harness's own ceiling; `epcis-*`
//! generate, capture and trace a genealogy, beside one recursive SQL query per trace.

mod epcis;
mod handle;
mod instances;
mod paths;
mod scale;
mod soak;
mod template;

use std::time::Instant;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
#[command(about = "idnode load generators")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Register COUNT identifiers PREFIX/p000000000… in batches; prints identifiers/s.
    Bulk {
        /// Base URL of the node.
        #[arg(long, default_value = "http://127.0.0.1:18000")]
        url: String,
        /// Identity, e.g. 300:0.NA/88.118.8.
        #[arg(long)]
        identity: String,
        /// Its secret.
        #[arg(long, env = "IDNODE_LOADTEST_SECRET")]
        secret: String,
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// How many identifiers.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Identifiers per batch.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Batches in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Register against this template version (`template` prints its definition): each
        /// identifier names it at index 1001 and carries its ten item values. Without it the
        /// same ten values are registered with no template.
        #[arg(long)]
        template: Option<String>,
        /// Carry the ten item values (with or without a template).
        #[arg(long)]
        items: bool,
    },
    /// Register identifiers FROM..FROM+COUNT of five short values each, writing each batch
    /// while earlier ones are in flight (flat memory at any count); prints identifiers/s.
    Scale {
        #[command(flatten)]
        node: Node,
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// First identifier number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many identifiers.
        #[arg(long)]
        count: u64,
        /// Identifiers per batch.
        #[arg(long, default_value_t = 10_000)]
        batch: u64,
        /// Batches in flight at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
    },
    /// Write the soak's wrk Lua script: resolutions of random ones of COUNT identifiers
    /// registered by `scale` and of SOAK-0…999, every WRITE_EVERY-th request a PUT of one
    /// of those, DELAY_MS between each connection's requests.
    Soak {
        /// Identity of the PUTs.
        #[arg(long)]
        identity: String,
        /// Its secret.
        #[arg(long, env = "IDNODE_LOADTEST_SECRET")]
        secret: String,
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// How many identifiers `scale` registered.
        #[arg(long)]
        count: u64,
        /// Every how many requests one is a write (0: none).
        #[arg(long, default_value_t = 20)]
        write_every: u64,
        /// Pause of each connection between requests (ms).
        #[arg(long, default_value_t = 1)]
        delay_ms: u64,
    },
    /// Print the 10-item template of `bulk --template VERSION` for PREFIX as JSON.
    Template {
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// Version name.
        #[arg(long)]
        version: String,
        /// Declare the serial number unique within the prefix.
        #[arg(long)]
        unique: bool,
    },
    /// Answer every Handle request on UDP ADDR with an empty success, looking nothing up:
    /// what `handle` measures against it is the floor of the machine, kernel and generator.
    Floor {
        /// UDP address to answer on.
        #[arg(long)]
        addr: std::net::SocketAddr,
    },
    /// Resolve random ones of COUNT registered identifiers over the Handle protocol.
    Handle {
        /// Handle protocol address of the node.
        #[arg(long, default_value = "127.0.0.1:2641")]
        addr: std::net::SocketAddr,
        /// Transport.
        #[arg(long, value_enum, default_value = "udp")]
        transport: handle::Transport,
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// How many identifiers were registered.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Clients, each with one request in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Length of the run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Write TREES generated genealogies (11,110 events each) as EPCIS capture documents and
    /// as CSV rows into DIR.
    EpcisGenerate {
        /// Output directory.
        #[arg(long)]
        dir: std::path::PathBuf,
        /// Trees.
        #[arg(long, default_value_t = 90)]
        trees: usize,
    },
    /// Capture every document of DIR through /epcis/capture; prints events/s.
    EpcisCapture {
        #[command(flatten)]
        node: Node,
        /// Directory of documents.
        #[arg(long)]
        dir: std::path::PathBuf,
        /// Documents in flight at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
    },
    /// Trace back from random tree roots through /epcis/trace; prints latency percentiles.
    EpcisTrace {
        #[command(flatten)]
        node: Node,
        /// Trees generated.
        #[arg(long, default_value_t = 90)]
        trees: usize,
        /// Traces.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Where traces start.
        #[arg(long, value_enum, default_value = "root")]
        from: epcis::Start,
    },
    /// The same traces as one hand-written recursive SQL query each, on the database.
    EpcisSql {
        /// postgres:// URL of the node's database.
        #[arg(long)]
        database: String,
        /// Trees generated.
        #[arg(long, default_value_t = 90)]
        trees: usize,
        /// Traces.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Where traces start.
        #[arg(long, value_enum, default_value = "root")]
        from: epcis::Start,
    },
    /// Cross-instance invalidation: writes at RATE/s through A, the time until B answers
    /// every SAMPLE-th of them; beside PostgreSQL's own NOTIFY at the same rate.
    Invalidation {
        /// Base URL of instance A (written to).
        #[arg(long)]
        a: String,
        /// Base URL of instance B (read from).
        #[arg(long)]
        b: String,
        /// Identity writing.
        #[arg(long)]
        identity: String,
        /// Its secret.
        #[arg(long, env = "IDNODE_LOADTEST_SECRET")]
        secret: String,
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// postgres:// URL of the database (for the NOTIFY anchor).
        #[arg(long)]
        database: String,
        /// Writes a second.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Length of each run.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Every how many write requests one is followed on B.
        #[arg(long, default_value_t = 10)]
        sample: u64,
        /// Identifiers written per request (1: PUT; more: a batch of updates).
        #[arg(long, default_value_t = 1)]
        batch: u64,
    },
    /// Write a wrk Lua script requesting identifiers drawn uniformly from COUNT registered.
    Paths {
        /// Enterprise prefix.
        #[arg(long)]
        prefix: String,
        /// How many identifiers were registered.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// Draw 100,000 identifiers once and cycle through them, as the nginx anchor's
        /// script does (`shared/bench/http_nginx.sh`): less work for wrk per request, and
        /// the same load shape as that anchor's.
        #[arg(long)]
        cycle: bool,
    },
}

/// `Authorization: Basic` for an identity (urlencoded, as Handle.Net clients send it).
fn basic(identity: &str, secret: &str) -> String {
    let user = identity.replace(':', "%3A").replace('/', "%2F");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

/// A node and the identity the EPCIS load acts as.
#[derive(clap::Args)]
struct Node {
    /// Base URL of the node.
    #[arg(long)]
    url: String,
    /// Identity.
    #[arg(long)]
    identity: String,
    /// Its secret.
    #[arg(long, env = "IDNODE_LOADTEST_SECRET")]
    secret: String,
}

fn handle(prefix: &str, i: usize) -> String {
    format!("{prefix}/p{i:09}")
}

struct Bulk {
    url: String,
    identity: String,
    secret: String,
    prefix: String,
    count: usize,
    batch: usize,
    concurrency: usize,
    template: Option<String>,
    items: bool,
}

async fn bulk(b: Bulk) -> anyhow::Result<()> {
    let Bulk {
        url,
        identity,
        secret,
        prefix,
        count,
        batch,
        concurrency,
        template,
        items,
    } = b;
    let client = reqwest::Client::new();
    let auth = basic(&identity, &secret);
    // Bodies are built before the clock starts: the figure is the node's, not ours.
    let bodies: Vec<String> = (0..count)
        .step_by(batch)
        .map(|start| {
            let ops: Vec<_> = (start..(start + batch).min(count))
                .map(|i| {
                    let mut values = vec![
                        json!({"index": 1, "type": "URL", "data": format!("https://trace.example.com/p/{i}")}),
                        json!({"index": 2, "type": "productName", "data": "gearbox housing"}),
                    ];
                    if let Some(v) = &template {
                        values.push(json!({"index": 1001, "type": "TEMPLATE", "data": v}));
                    }
                    if items || template.is_some() {
                        values.extend(template::values(i));
                    }
                    json!({"op": "create", "handle": handle(&prefix, i), "values": values})
                })
                .collect();
            json!({"operations": ops}).to_string()
        })
        .collect();
    let t = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for body in bodies {
        if running.len() >= concurrency.max(1) {
            running.join_next().await.expect("a task runs")??;
        }
        running.spawn(post_batch(&client, &url, &auth, body));
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("bulk_registered {count}");
    println!("bulk_seconds {secs:.3}");
    println!("bulk_ids_per_s {:.0}", count as f64 / secs);
    Ok(())
}

/// Posts one body to `/api/v1/identifiers/batch`; a refusal is an error naming the status.
fn post_batch(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    body: String,
) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
    let req = client
        .post(format!("{url}/api/v1/identifiers/batch"))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(body);
    async move {
        let r = req.send().await.context("posting a batch")?;
        if !r.status().is_success() {
            bail!(
                "batch failed: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Bulk {
            url,
            identity,
            secret,
            prefix,
            count,
            batch,
            concurrency,
            template,
            items,
        } => {
            bulk(Bulk {
                url,
                identity,
                secret,
                prefix,
                count,
                batch,
                concurrency,
                template,
                items,
            })
            .await
        }
        Cmd::Paths {
            prefix,
            count,
            cycle,
        } => paths::write(&prefix, count, cycle),
        Cmd::Scale {
            node,
            prefix,
            from,
            count,
            batch,
            concurrency,
        } => {
            scale::load(scale::Load {
                auth: basic(&node.identity, &node.secret),
                url: node.url,
                prefix,
                from,
                count,
                batch,
                concurrency,
            })
            .await
        }
        Cmd::Soak {
            identity,
            secret,
            prefix,
            count,
            write_every,
            delay_ms,
        } => soak::write(&soak::Script {
            auth: basic(&identity, &secret),
            prefix,
            count,
            write_every,
            delay_ms,
        }),
        Cmd::Invalidation {
            a,
            b,
            identity,
            secret,
            prefix,
            database,
            rate,
            seconds,
            sample,
            batch,
        } => {
            instances::run(instances::Run {
                batch,
                a,
                b,
                auth: basic(&identity, &secret),
                prefix,
                database,
                rate,
                seconds,
                sample,
            })
            .await
        }
        Cmd::EpcisGenerate { dir, trees } => epcis::generate(&dir, trees),
        Cmd::EpcisCapture {
            node,
            dir,
            concurrency,
        } => {
            epcis::capture(
                &node.url,
                &basic(&node.identity, &node.secret),
                &dir,
                concurrency,
            )
            .await
        }
        Cmd::EpcisTrace {
            node,
            trees,
            requests,
            from,
        } => {
            epcis::trace(
                &node.url,
                &basic(&node.identity, &node.secret),
                trees,
                requests,
                from,
            )
            .await
        }
        Cmd::EpcisSql {
            database,
            trees,
            requests,
            from,
        } => epcis::recursive_sql(&database, trees, requests, from).await,
        Cmd::Template {
            prefix,
            version,
            unique,
        } => {
            println!("{}", template::definition(&prefix, &version, unique));
            Ok(())
        }
        Cmd::Floor { addr } => handle::floor(addr),
        Cmd::Handle {
            addr,
            transport,
            prefix,
            count,
            concurrency,
            seconds,
        } => {
            handle::run(handle::Run {
                addr,
                transport,
                prefix,
                count,
                concurrency,
                seconds,
            })
            .await
        }
    }
}
