//! `[escrow]`: the signing key, the daily schedule and `idnode escrow`. The deposit itself
//! (FULL on Sundays, on the first run and with `full_every_day`; DIFF otherwise) is made by
//! `idnode_upstream::make_deposit`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use idnode_escrow::SigningKey;
use idnode_store::DepositRecord;
pub use idnode_upstream::today;
use idnode_upstream::{DepositRequest, DepositSettings};
use serde::{Deserialize, Serialize};

use crate::{Config, Services};

const DAY: i64 = 86_400;

/// `[escrow]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EscrowSection {
    /// Make a deposit every day inside `serve`.
    pub enabled: bool,
    /// Where deposits are written (default: `escrow/` beside the SQLite database, else
    /// `./idnode-data/escrow`).
    pub dir: Option<PathBuf>,
    /// The OpenPGP signing key (ASCII-armored secret key), created when missing (default:
    /// `escrow.key` in `dir`).
    pub key_file: Option<PathBuf>,
    /// The escrow agent's upload base URL (HTTPS; files are PUT below it).
    pub url: Option<String>,
    /// UTC time of the daily run, `HH:MM`.
    pub run_at: String,
    /// A full deposit every day (otherwise full on Sundays, differential on other days).
    pub full_every_day: bool,
}

impl Default for EscrowSection {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: None,
            key_file: None,
            url: None,
            run_at: "00:10".into(),
            full_every_day: false,
        }
    }
}

impl EscrowSection {
    /// The deposit directory.
    pub fn dir(&self, config: &Config) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            config
                .seal_key_path()
                .parent()
                .map_or_else(|| PathBuf::from("idnode-data"), Path::to_path_buf)
                .join("escrow")
        })
    }

    /// The signing key file.
    pub fn key_file(&self, config: &Config) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.dir(config).join("escrow.key"))
    }

    /// Seconds after midnight UTC of the daily run.
    pub fn run_at_secs(&self) -> anyhow::Result<i64> {
        let (h, m) = self
            .run_at
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
            .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m))
            .context("[escrow] run_at is HH:MM (UTC)")?;
        Ok(h * 3600 + m * 60)
    }
}

/// Loads the OpenPGP signing key (ASCII-armored) from `path`, creating it (mode 0600) for
/// node `prefix` when missing.
pub fn signing_key(path: &Path, prefix: &str) -> anyhow::Result<SigningKey> {
    if !path.exists() {
        let armored = SigningKey::generate(&format!("idnode {prefix} <escrow@{prefix}>"))?;
        crate::files::create_private(path)
            .and_then(|mut f| f.write_all(armored.as_bytes()))
            .with_context(|| format!("creating {}", path.display()))?;
    }
    let text = String::from_utf8(crate::files::read_key_file(path)?)
        .with_context(|| format!("{} is not an armored key", path.display()))?;
    Ok(SigningKey::from_armored(&text)?)
}

/// The deposit settings of `config`.
fn settings(config: &Config) -> DepositSettings {
    DepositSettings {
        dir: config.escrow.dir(config),
        full_every_day: config.escrow.full_every_day,
        upload: config.escrow.url.is_some(),
        report: config.upstream.report_url.is_some(),
    }
}

/// What `idnode escrow run` does: the deposit of the state at `watermark` (unix seconds;
/// the CLI and the schedule pass a midnight UTC, as the drafts require), unless one exists
/// for that watermark (`resend` makes another revision).
pub async fn run(
    config: &Config,
    services: &Services,
    watermark: i64,
    full: bool,
    resend: bool,
) -> anyhow::Result<DepositRecord> {
    let key = signing_key(
        &config.escrow.key_file(config),
        services.registry.node_prefix(),
    )?;
    let request = DepositRequest {
        watermark,
        full,
        resend,
    };
    Ok(idnode_upstream::make_deposit(
        &services.registry,
        services.store.as_ref(),
        &key,
        &settings(config),
        request,
    )
    .await?)
}

/// The daily schedule inside `serve`: after `run_at` each day, the deposit of that day
/// (retried every 10 minutes when it fails).
pub(crate) fn spawn_schedule(
    config: Config,
    services: std::sync::Arc<Services>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let at = config.escrow.run_at_secs()?;
    let lease = crate::instance::lease(&services, "escrow", crate::instance::TERM);
    Ok(tokio::spawn(async move {
        loop {
            let now = idnode_store::now_millis() / 1000;
            let day = today();
            let due = day + at;
            let next = if now < due {
                due
            } else {
                // A deposit made already (by another instance) is returned, not made again.
                let made =
                    crate::instance::while_held(&lease, run(&config, &services, day, false, false));
                match made.await {
                    // Another instance holds the lease: it deposits.
                    None => now + 60,
                    Some(Ok(d)) => {
                        tracing::info!(id = %d.id, kind = %d.kind, handles = d.handles, "escrow deposit");
                        day + DAY + at
                    }
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "escrow deposit failed; retrying in 10 minutes");
                        now + 600
                    }
                }
            };
            tokio::time::sleep(std::time::Duration::from_secs((next - now).max(1) as u64)).await;
        }
    }))
}

/// `idnode escrow …`.
#[derive(Debug, clap::Subcommand)]
pub enum EscrowCommand {
    /// Makes the deposit of a day now (default: today, watermark 00:00:00 UTC).
    Run {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// A full deposit even on a weekday.
        #[arg(long)]
        full: bool,
        /// Another revision when the day's deposit exists (after a failed verification).
        #[arg(long)]
        resend: bool,
    },
    /// Lists the deposits made.
    List,
    /// Prints the OpenPGP public key (ASCII-armored) of the signing key, for the escrow
    /// agent.
    PublicKey,
}

/// Runs an `idnode escrow` command.
pub async fn command(config: &Config, command: EscrowCommand) -> anyhow::Result<()> {
    match command {
        EscrowCommand::Run { date, full, resend } => {
            let watermark = match date {
                None => today(),
                Some(d) => idnode_escrow::parse_rfc3339(&format!("{d}T00:00:00Z"))
                    .context("--date is YYYY-MM-DD")?,
            };
            let services = Services::open(config).await?;
            let d = run(config, &services, watermark, full, resend).await?;
            println!(
                "deposit {} ({}) watermark {}: {} nodes, {} handles; files in {}: {}",
                d.id,
                d.kind,
                idnode_escrow::rfc3339(d.watermark / 1000),
                d.nodes,
                d.handles,
                config.escrow.dir(config).display(),
                d.files.join(" ")
            );
        }
        EscrowCommand::List => {
            let store = crate::open_store(&config.database).await?;
            for d in store.deposits(1_000).await? {
                println!(
                    "{}\t{}\t{}\tprev {}\t{} nodes\t{} handles",
                    d.id,
                    d.kind,
                    idnode_escrow::rfc3339(d.watermark / 1000),
                    d.prev_id.unwrap_or_else(|| "-".into()),
                    d.nodes,
                    d.handles
                );
            }
        }
        EscrowCommand::PublicKey => {
            let services = Services::open(config).await?;
            let key = signing_key(
                &config.escrow.key_file(config),
                services.registry.node_prefix(),
            )?;
            print!("{}", key.public_key()?);
        }
    }
    Ok(())
}
