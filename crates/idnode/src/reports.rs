//! `[reports]`: the schedule of the statistics reports (and the usage counters behind them)
//! inside `serve`, and `idnode report`. The reports are made by `idnode_upstream`; the
//! document is versioned JSON, described in `docs/reports.md`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
pub use idnode_upstream::Period;
use idnode_upstream::Usage;
use serde::{Deserialize, Serialize};

use crate::{Config, Services};

const DAY: i64 = 86_400;

/// `[reports]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsSection {
    /// Send the daily and monthly reports from `serve`.
    pub enabled: bool,
    /// UTC time of the daily run, `HH:MM`.
    pub run_at: String,
    /// Where reports are written (default: `reports/` beside the escrow directory).
    pub dir: Option<PathBuf>,
    /// Seconds between two flushes of the counters (statistics, usage) to the store.
    pub stats_flush_secs: u64,
    /// Days of statistics kept (per day, prefix and metric).
    pub stats_keep_days: u32,
}

impl Default for ReportsSection {
    fn default() -> Self {
        Self {
            enabled: false,
            run_at: "00:20".into(),
            dir: None,
            stats_flush_secs: 60,
            stats_keep_days: 400,
        }
    }
}

/// The reports directory.
pub fn dir(config: &Config) -> PathBuf {
    config.reports.dir.clone().unwrap_or_else(|| {
        config
            .escrow
            .dir(config)
            .parent()
            .map_or_else(
                || PathBuf::from("idnode-data"),
                std::path::Path::to_path_buf,
            )
            .join("reports")
    })
}

/// What `idnode report run` does: writes the report of `period` and (with [upstream]
/// enabled and a report_url) queues its delivery.
pub async fn run(config: &Config, services: &Services, period: &Period) -> anyhow::Result<PathBuf> {
    Ok(idnode_upstream::write_report(
        &services.registry,
        services.store.as_ref(),
        &dir(config),
        period,
        config.upstream.report_url.is_some(),
    )
    .await?)
}

/// Inside `serve`: flushes the counters every `stats_flush_secs`, prunes statistics older
/// than `stats_keep_days` once a day, and sends the daily report after `run_at` (the
/// monthly one too on the first of the month).
pub(crate) fn spawn(
    config: Config,
    services: Arc<Services>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let at = crate::escrow::EscrowSection {
        run_at: config.reports.run_at.clone(),
        ..Default::default()
    }
    .run_at_secs()?;
    Ok(tokio::spawn(async move {
        let mut usage = Usage::new();
        let mut reported = crate::escrow::today();
        let mut pruned = 0;
        let every = std::time::Duration::from_secs(config.reports.stats_flush_secs.max(1));
        let lease = crate::instance::lease(&services, "reports", crate::instance::TERM);
        loop {
            tokio::time::sleep(every).await;
            // Every instance adds its own counts; one prunes and reports.
            if let Err(e) = usage.flush(&services.registry).await {
                tracing::warn!(error = %e, "cannot record usage counters");
            }
            // `None`: another instance holds the lease and does it.
            let _ = crate::instance::while_held(&lease, async {
                let today = crate::escrow::today();
                if today > pruned {
                    match services
                        .registry
                        .prune_stats(config.reports.stats_keep_days)
                        .await
                    {
                        Ok(()) => pruned = today,
                        Err(e) => tracing::warn!(error = %e, "cannot prune old statistics"),
                    }
                }
                let secs = idnode_store::now_millis() / 1000;
                if config.reports.enabled && today > reported && secs >= today + at {
                    let yesterday = Period::day(today - DAY);
                    let mut periods = vec![yesterday];
                    if idnode_escrow::date_of(today).ends_with("-01") {
                        if let Ok(m) = Period::month_of(today - DAY) {
                            periods.push(m);
                        }
                    }
                    for p in periods {
                        match run(&config, &services, &p).await {
                            Ok(path) => {
                                tracing::info!(report = %path.display(), "statistics report")
                            }
                            Err(e) => tracing::error!(error = %e, "statistics report failed"),
                        }
                    }
                    reported = today;
                }
            })
            .await;
        }
    }))
}

/// `idnode report …`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Makes (and, connected upstream, sends) a statistics report now.
    Run {
        /// The daily report of this day, YYYY-MM-DD (default: yesterday).
        #[arg(long, conflicts_with = "month")]
        day: Option<String>,
        /// The monthly operations report of this month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
    },
}

/// Runs an `idnode report` command.
pub async fn command(config: &Config, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Run { day, month } = command;
    let period = match (day, month) {
        (_, Some(m)) => {
            let t = idnode_escrow::parse_rfc3339(&format!("{m}-01T00:00:00Z"))
                .context("--month is YYYY-MM")?;
            Period::month_of(t)?
        }
        (Some(d), None) => Period::day(
            idnode_escrow::parse_rfc3339(&format!("{d}T00:00:00Z"))
                .context("--day is YYYY-MM-DD")?,
        ),
        (None, None) => Period::day(crate::escrow::today() - DAY),
    };
    let services = Services::open(config).await?;
    let path = run(config, &services, &period).await?;
    println!(
        "{} report {} written to {}",
        period.kind,
        period.label,
        path.display()
    );
    Ok(())
}
