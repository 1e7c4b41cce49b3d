//! Statistics per day and prefix (and per enterprise, the union of its prefixes):
//! registrations, updates, deletions, resolutions by front end and outcome, distinct
//! clients. The store counts registrations in each write's transaction; the node's flush
//! adds the resolutions its resolver tallied ([`Registry::record_usage`]); old days are
//! pruned ([`Registry::prune_stats`]). The reports to the top-level node read the same rows.

use std::collections::{BTreeMap, HashMap};

use idnode_core::hll::Sketch;
use idnode_resolver::PrefixCounts;
use idnode_store::{day_of, now_millis, Op};

use crate::{Principal, Registry, RegistryError, Result};

/// Most days one statistics question may span.
pub const MAX_STATS_DAYS: i64 = 400;

/// The statistics of one day and one prefix (or one enterprise).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsLine {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The prefix (empty in an enterprise's line).
    pub prefix: String,
    /// The enterprise owning the prefix, if any.
    pub enterprise: Option<i64>,
    /// Identifiers created.
    pub created: i64,
    /// Identifiers updated.
    pub updated: i64,
    /// Identifiers deleted.
    pub deleted: i64,
    /// Resolutions by `<front end>.<outcome>`.
    pub resolutions: BTreeMap<String, i64>,
    /// The distinct clients that resolved.
    pub clients: Sketch,
}

impl StatsLine {
    /// All resolutions.
    pub fn resolved(&self) -> i64 {
        self.resolutions.values().sum()
    }

    /// Adds `other`'s numbers (its clients as a union).
    pub fn add(&mut self, other: &Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        for (k, v) in &other.resolutions {
            *self.resolutions.entry(k.clone()).or_default() += v;
        }
        self.clients.merge(&other.clients);
    }
}

/// `YYYY-MM-DD` as days since 1970, when it is a date.
fn days(day: &str) -> Option<i64> {
    let d = time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(i64::from(d.to_julian_day()) - 2_440_588)
}

impl Registry {
    /// Adds `(metric, delta)` to the usage counters of `day` (`YYYY-MM-DD`) and the
    /// resolutions `tally` counted, in one transaction.
    pub async fn record_usage(
        &self,
        day: &str,
        deltas: &[(String, i64)],
        tally: &[PrefixCounts],
    ) -> Result<()> {
        let mut ops: Vec<Op> = deltas
            .iter()
            .map(|(metric, delta)| Op::AddUsage {
                day: day.to_owned(),
                metric: metric.clone(),
                delta: *delta,
            })
            .collect();
        if !tally.is_empty() {
            ops.push(Op::AddStats {
                day: day.to_owned(),
                counts: tally
                    .iter()
                    .flat_map(|t| {
                        t.counts.iter().map(|(m, n)| {
                            (
                                t.prefix.clone(),
                                m.clone(),
                                i64::try_from(*n).unwrap_or(i64::MAX),
                            )
                        })
                    })
                    .collect(),
                clients: tally
                    .iter()
                    .map(|t| (t.prefix.clone(), t.clients.to_bytes()))
                    .collect(),
            });
        }
        self.commit(&crate::onboarding::system("system:usage"), ops)
            .await?;
        Ok(())
    }

    /// Deletes the statistics older than `keep_days` days.
    pub async fn prune_stats(&self, keep_days: u32) -> Result<()> {
        let first = now_millis() - i64::from(keep_days) * 86_400_000;
        let op = Op::PruneStats { day: day_of(first) };
        self.commit(&crate::onboarding::system("system:usage"), vec![op])
            .await?;
        Ok(())
    }

    /// The statistics of the days `from..=to` per day and prefix: the operator's of every
    /// prefix, an enterprise's of its own prefixes only; `prefix` narrows them to one. A
    /// span longer than [`MAX_STATS_DAYS`] keeps its last days; `from` after `to` is empty.
    pub async fn stats(
        &self,
        p: &Principal,
        from: &str,
        to: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<StatsLine>> {
        let (Some(a), Some(b)) = (days(from), days(to)) else {
            return Err(RegistryError::BadRequest(
                "days are written YYYY-MM-DD".into(),
            ));
        };
        if b < a {
            return Ok(Vec::new());
        }
        // A longer span keeps its last MAX_STATS_DAYS days.
        let clamped =
            (b - a >= MAX_STATS_DAYS).then(|| day_of((b - MAX_STATS_DAYS + 1) * 86_400_000));
        let from = clamped.as_deref().unwrap_or(from);
        let owners: HashMap<String, Option<i64>> = self
            .prefixes(p, None)
            .await?
            .into_iter()
            .map(|r| (r.prefix, r.enterprise_id))
            .collect();
        let operator = matches!(p, Principal::Operator { .. });
        let wanted = prefix.map(|x| x.to_ascii_uppercase());
        if let Some(w) = &wanted {
            if !operator && !owners.contains_key(w) {
                return Err(RegistryError::Forbidden(format!("prefix {w} is not yours")));
            }
        }
        let keep = |prefix: &str| {
            wanted.as_deref().is_none_or(|w| w == prefix)
                && (operator || owners.contains_key(prefix))
        };
        let mut lines: BTreeMap<(String, String), StatsLine> = BTreeMap::new();
        let line = |lines: &mut BTreeMap<(String, String), StatsLine>, day: &str, prefix: &str| {
            let key = (day.to_owned(), prefix.to_owned());
            lines.entry(key).or_insert_with(|| StatsLine {
                day: day.to_owned(),
                prefix: prefix.to_owned(),
                enterprise: owners.get(prefix).copied().flatten(),
                ..StatsLine::default()
            });
        };
        for r in self.store.daily_stats(from, to).await? {
            if !keep(&r.prefix) {
                continue;
            }
            line(&mut lines, &r.day, &r.prefix);
            let Some(l) = lines.get_mut(&(r.day, r.prefix)) else {
                continue;
            };
            match r.metric.as_str() {
                "created" => l.created += r.value,
                "updated" => l.updated += r.value,
                "deleted" => l.deleted += r.value,
                m => {
                    if let Some(k) = m.strip_prefix("resolutions.") {
                        *l.resolutions.entry(k.to_owned()).or_default() += r.value;
                    }
                }
            }
        }
        for (day, prefix, registers) in self.store.stats_clients(from, to).await? {
            if !keep(&prefix) {
                continue;
            }
            line(&mut lines, &day, &prefix);
            if let (Some(l), Some(s)) = (
                lines.get_mut(&(day, prefix)),
                Sketch::from_bytes(&registers),
            ) {
                l.clients.merge(&s);
            }
        }
        Ok(lines.into_values().collect())
    }
}

/// `lines` summed per day and enterprise (prefixes of no enterprise are left out).
pub fn by_enterprise(lines: &[StatsLine]) -> Vec<StatsLine> {
    let mut out: BTreeMap<(String, i64), StatsLine> = BTreeMap::new();
    for l in lines {
        let Some(e) = l.enterprise else { continue };
        out.entry((l.day.clone(), e))
            .or_insert_with(|| StatsLine {
                day: l.day.clone(),
                enterprise: Some(e),
                ..StatsLine::default()
            })
            .add(l);
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_from_1970() {
        assert_eq!(days("1970-01-01"), Some(0));
        assert_eq!(
            days("2026-12-05").map(|d| d - days("2026-12-01").unwrap()),
            Some(4)
        );
        assert_eq!(days("2026-13-01"), None);
        assert_eq!(days("yesterday"), None);
    }

    #[test]
    fn enterprise_lines_sum_their_prefixes() {
        let mut a = StatsLine {
            day: "d".into(),
            prefix: "88.1".into(),
            enterprise: Some(1),
            created: 2,
            ..Default::default()
        };
        a.clients.insert(1);
        let mut b = StatsLine {
            prefix: "88.2".into(),
            created: 3,
            ..a.clone()
        };
        b.clients.insert(1);
        b.resolutions.insert("http.ok".into(), 4);
        let node = StatsLine {
            enterprise: None,
            created: 100,
            ..a.clone()
        };
        let e = by_enterprise(&[a, b, node]);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].created, e[0].resolved(), e[0].clients.estimate()),
            (5, 4, 1)
        );
    }
}
