//! The statistics reports sent to the top-level node, and the usage counters behind them.
//! The document is versioned JSON, described in `docs/reports.md`.

use std::path::{Path, PathBuf};

use idnode_registry::Registry;
use idnode_resolver::FRONTENDS;
use idnode_store::{Action, Store};
use serde_json::json;

use crate::deposit::{at, DAY};
use crate::UpstreamError;

/// The report format version.
const VERSION: &str = "1.0";

type Result<T> = std::result::Result<T, UpstreamError>;

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
    pub fn month_of(t: i64) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| UpstreamError::Invalid(format!("month of {t}: {e}"));
        let d = time::OffsetDateTime::from_unix_timestamp(t)
            .map_err(|e| bad(&e))?
            .date();
        let first = d.replace_day(1).map_err(|e| bad(&e))?;
        let next = if first.month() == time::Month::December {
            time::Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
        } else {
            first.replace_month(first.month().next())
        }
        .map_err(|e| bad(&e))?;
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

/// The report of `period` on node `node`, as JSON.
async fn build(store: &dyn Store, node: &str, period: &Period) -> Result<serde_json::Value> {
    let day = idnode_escrow::date_of;
    let (first, last) = (day(period.start), day(period.end - 1));
    // The statistics per day and prefix the console and /api/v1/stats show.
    let stats = store.daily_stats(&first, &last).await?;
    let sum = |metric: &dyn Fn(&str) -> bool| -> i64 {
        stats
            .iter()
            .filter(|r| metric(&r.metric))
            .map(|r| r.value)
            .sum()
    };
    let (created, updated, deleted) = (
        sum(&|m| m == "created"),
        sum(&|m| m == "updated"),
        sum(&|m| m == "deleted"),
    );
    let by_frontend = |f: &str| {
        let start = format!("resolutions.{f}.");
        sum(&|m| m.starts_with(&start))
    };
    let resolutions: serde_json::Map<String, serde_json::Value> = FRONTENDS
        .iter()
        .map(|f| ((*f).to_owned(), json!(by_frontend(f))))
        .collect();
    let total: i64 = FRONTENDS.iter().map(|f| by_frontend(f)).sum();
    let usage = store.usage(&first, &last).await?;
    let uptime: i64 = usage
        .iter()
        .filter(|(_, m, _)| m == "uptime_seconds")
        .map(|(_, _, v)| v)
        .sum();
    let enterprises = store.list_enterprises().await?;
    let in_period = |ms: i64| ms >= period.start * 1000 && ms < period.end * 1000;
    let prefixes = store.list_prefixes(None).await?;
    let counts = store.stats().await?;
    let uptime = uptime.min(period.end - period.start);
    Ok(json!({
        "version": VERSION,
        "kind": period.kind,
        "node": node,
        "period": {
            "label": period.label,
            "start": idnode_escrow::rfc3339(period.start),
            "end": idnode_escrow::rfc3339(period.end),
        },
        "generated": idnode_escrow::rfc3339(idnode_store::now_millis() / 1000),
        "registrations": {"created": created, "updated": updated, "deleted": deleted},
        "resolutions": {"total": total, "by_frontend": resolutions},
        "identifiers": {"total": counts.handles},
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

/// Writes the report of `period` into `dir` and, with `send` (a report URL is configured),
/// queues its delivery to the top-level node; returns the file written.
pub async fn write_report(
    registry: &Registry,
    store: &dyn Store,
    dir: &Path,
    period: &Period,
    send: bool,
) -> Result<PathBuf> {
    let report = build(store, registry.node_prefix(), period).await?;
    std::fs::create_dir_all(dir).map_err(at(dir))?;
    let file = format!("{}-{}.json", period.kind, period.label);
    let path = dir.join(&file);
    let text = serde_json::to_vec_pretty(&report).map_err(|e| std::io::Error::other(e.to_string()));
    text.and_then(|t| std::fs::write(&path, t))
        .map_err(at(&path))?;
    if send {
        registry
            .queue_actions(&[Action::Statistics {
                period: period.path(),
                file,
            }])
            .await?;
    }
    Ok(path)
}

/// The usage counters of a serving node: seconds served and template use
/// (`Registry::take_template_use`), added to the day's totals in the store at each
/// [`Usage::flush`], with the resolutions per prefix its resolver tallied.
#[derive(Debug)]
pub struct Usage {
    last_at: std::time::Instant,
    /// Tallies taken but not yet stored (the store failed): added at the next flush.
    unsaved: Vec<idnode_resolver::PrefixCounts>,
}

impl Default for Usage {
    fn default() -> Self {
        Self::new()
    }
}

impl Usage {
    /// Counting from now.
    pub fn new() -> Self {
        Self {
            last_at: std::time::Instant::now(),
            unsaved: Vec::new(),
        }
    }

    /// Records what was counted since the last successful flush (served seconds at most
    /// 120 per flush: a node stopped in between did not serve); kept for the next flush
    /// when the store fails.
    pub async fn flush(&mut self, registry: &Registry) -> Result<()> {
        let day = idnode_escrow::date_of(idnode_store::now_millis() / 1000);
        let mut deltas: Vec<(String, i64)> = vec![(
            "uptime_seconds".into(),
            self.last_at.elapsed().as_secs().min(120) as i64,
        )];
        let templates = registry.take_template_use();
        deltas.extend(templates.iter().cloned());
        idnode_resolver::merge_counts(&mut self.unsaved, registry.resolver().tally().take());
        if let Err(e) = registry.record_usage(&day, &deltas, &self.unsaved).await {
            registry.restore_template_use(templates);
            return Err(e.into());
        }
        self.unsaved.clear();
        self.last_at = std::time::Instant::now();
        Ok(())
    }
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
