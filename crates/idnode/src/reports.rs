//! `[reports]`: the statistics reports sent to the top-level node, and the usage counters
//! behind them. The document is versioned JSON, described in `docs/reports.md`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use idnode_store::Action;
use idnode_store::{Batch, HistoryAction, Op};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Config, Services};

/// The report format version.
pub const VERSION: &str = "1.0";
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
}

impl Default for ReportsSection {
    fn default() -> Self {
        Self {
            enabled: false,
            run_at: "00:20".into(),
            dir: None,
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

/// A daily or monthly period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `daily` or `monthly`.
    pub kind: &'static str,
    /// `2026-11-25` or `2026-10`.
    pub label: String,
    /// Start, unix seconds (inclusive).
    pub start: i64,
    /// End, unix seconds (exclusive).
    pub end: i64,
}

impl Period {
    /// The day starting at `midnight` (unix seconds).
    pub fn day(midnight: i64) -> Self {
        Self {
            kind: "daily",
            label: idnode_escrow::date_of(midnight),
            start: midnight,
            end: midnight + DAY,
        }
    }

    /// The month containing unix second `t`.
    pub fn month_of(t: i64) -> anyhow::Result<Self> {
        let d = time::OffsetDateTime::from_unix_timestamp(t)?.date();
        let first = d.replace_day(1)?;
        let next = if first.month() == time::Month::December {
            time::Date::from_calendar_date(first.year() + 1, time::Month::January, 1)?
        } else {
            first.replace_month(first.month().next())?
        };
        let secs = |d: time::Date| d.midnight().assume_utc().unix_timestamp();
        Ok(Self {
            kind: "monthly",
            label: format!("{:04}-{:02}", first.year(), u8::from(first.month())),
            start: secs(first),
            end: secs(next),
        })
    }

    /// `daily/2026-11-25`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.kind, self.label)
    }
}

/// The report of `period` as JSON.
pub async fn build(services: &Services, period: &Period) -> anyhow::Result<serde_json::Value> {
    let store = services.store.as_ref();
    // Registrations: the history rows of the period.
    let (mut created, mut updated, mut deleted) = (0u64, 0u64, 0u64);
    let first = store.history_cursor(period.start * 1000 - 1).await?;
    let last = store.history_cursor(period.end * 1000 - 1).await?;
    let mut from = first;
    loop {
        let rows = store.history_range(from, Some(last), 10_000).await?;
        let Some(l) = rows.last() else { break };
        from = l.id;
        for r in rows {
            match r.action {
                HistoryAction::Create => created += 1,
                HistoryAction::Update => updated += 1,
                HistoryAction::Delete => deleted += 1,
            }
        }
    }
    let day = idnode_escrow::date_of;
    let usage = store
        .usage(&day(period.start), &day(period.end - 1))
        .await?;
    let sum = |metric: &str| -> i64 {
        usage
            .iter()
            .filter(|(_, m, _)| m == metric)
            .map(|(_, _, v)| v)
            .sum()
    };
    let resolutions: serde_json::Map<String, serde_json::Value> = idnode_resolver::FRONTENDS
        .iter()
        .map(|f| ((*f).to_owned(), json!(sum(&format!("resolutions.{f}")))))
        .collect();
    let total: i64 = idnode_resolver::FRONTENDS
        .iter()
        .map(|f| sum(&format!("resolutions.{f}")))
        .sum();
    let enterprises = store.list_enterprises().await?;
    let in_period = |ms: i64| ms >= period.start * 1000 && ms < period.end * 1000;
    let prefixes = store.list_prefixes(None).await?;
    let stats = store.stats().await?;
    let uptime = sum("uptime_seconds").min(period.end - period.start);
    Ok(json!({
        "version": VERSION,
        "kind": period.kind,
        "node": services.registry.node_prefix(),
        "period": {
            "label": period.label,
            "start": idnode_escrow::rfc3339(period.start),
            "end": idnode_escrow::rfc3339(period.end),
        },
        "generated": idnode_escrow::rfc3339(idnode_store::now_millis() / 1000),
        "registrations": {"created": created, "updated": updated, "deleted": deleted},
        "resolutions": {"total": total, "by_frontend": resolutions},
        "identifiers": {"total": stats.handles},
        "enterprises": {
            "total": enterprises.len(),
            "new": enterprises.iter().filter(|e| in_period(e.created_at)).count(),
            "active": enterprises.iter().filter(|e| e.status == idnode_store::Status::Active).count(),
        },
        "prefixes": {
            "total": prefixes.len(),
            "pending_review": prefixes.iter().filter(|p| p.review == idnode_store::Review::Pending).count(),
        },
        "availability": {
            "served_seconds": uptime,
            "period_seconds": period.end - period.start,
            "ratio": uptime as f64 / (period.end - period.start) as f64,
        },
    }))
}

/// What `idnode report run` does: writes the report of `period` and (with [upstream]
/// enabled and a report_url) queues its delivery.
pub async fn run(config: &Config, services: &Services, period: &Period) -> anyhow::Result<PathBuf> {
    let report = build(services, period).await?;
    let dir = dir(config);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = format!("{}-{}.json", period.kind, period.label);
    let path = dir.join(&file);
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    if config.upstream.enabled && config.upstream.report_url.is_some() {
        services
            .registry
            .queue_actions(&[Action::Statistics {
                period: period.path(),
                file,
            }])
            .await?;
    }
    Ok(path)
}

/// Inside `serve`: flushes the usage counters every minute, and sends the daily report
/// after `run_at` (the monthly one too on the first of the month).
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
        let mut last = idnode_resolver::resolution_totals();
        let mut last_at = std::time::Instant::now();
        let mut reported = crate::escrow::today();
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let now = idnode_resolver::resolution_totals();
            let day = idnode_escrow::date_of(idnode_store::now_millis() / 1000);
            let mut ops: Vec<Op> = idnode_resolver::FRONTENDS
                .iter()
                .zip(now.iter().zip(last.iter()))
                .filter(|(_, (n, l))| n > l)
                .map(|(f, (n, l))| Op::AddUsage {
                    day: day.clone(),
                    metric: format!("resolutions.{f}"),
                    delta: (n - l) as i64,
                })
                .collect();
            ops.push(Op::AddUsage {
                day,
                metric: "uptime_seconds".into(),
                delta: last_at.elapsed().as_secs().min(120) as i64,
            });
            match services
                .store
                .apply(&Batch {
                    actor: "system:usage".into(),
                    ops,
                    idempotency: None,
                })
                .await
            {
                Ok(()) => {
                    last = now;
                    last_at = std::time::Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "cannot record usage counters"),
            }
            let today = crate::escrow::today();
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
                        Ok(path) => tracing::info!(report = %path.display(), "statistics report"),
                        Err(e) => tracing::error!(error = %e, "statistics report failed"),
                    }
                }
                reported = today;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        // 2026-11-26 00:00:00 UTC.
        let d = Period::day(1_795_651_200);
        assert_eq!((d.label.as_str(), d.end - d.start), ("2026-11-26", DAY));
        let m = Period::month_of(1_795_651_200 + 5).unwrap();
        assert_eq!(m.label, "2026-11");
        assert_eq!(m.end - m.start, 30 * DAY);
        let dec = Period::month_of(1_795_651_200 + 10 * DAY).unwrap();
        assert_eq!(
            (dec.label.as_str(), dec.end - dec.start),
            ("2026-12", 31 * DAY)
        );
        assert_eq!(dec.path(), "monthly/2026-12");
    }
}
