//! Statistics per day and prefix: registrations counted inside each write's transaction
//! from its history rows, resolution counters and distinct-client sketches added by the
//! node's flush ([`Op::AddStats`]), old days pruned ([`Op::PruneStats`]); and their reads.

use std::collections::BTreeMap;

use idnode_core::hll::Sketch;
use idnode_store::{day_of, HistoryAction, Op, Result, StatRow, StoreError};

use crate::sql::{Cols, Stmt};
use crate::{Conn, Dialect, SqlStore};

async fn add<D: Dialect>(
    conn: &mut Conn<D>,
    day: &str,
    prefix: &str,
    metric: &str,
    n: i64,
) -> Result<()> {
    Stmt::new(
        "INSERT INTO stats (day, prefix, metric, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (day, prefix, metric) DO UPDATE SET value = stats.value + excluded.value",
    )
    .bind(day)
    .bind(prefix)
    .bind(metric)
    .bind(n)
    .execute::<D::DB>(conn)
    .await
    .map_err(D::error)?;
    Ok(())
}

/// Counts the creates, updates and deletes of a batch per prefix, in its
/// transaction (the day of `now`).
pub(crate) async fn count_history<D: Dialect>(
    conn: &mut Conn<D>,
    changes: &[(&str, HistoryAction)],
    now: i64,
) -> Result<()> {
    let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (handle, action) in changes {
        let prefix = handle.split_once('/').map_or("", |(p, _)| p);
        let metric = match action {
            HistoryAction::Create => "created",
            HistoryAction::Update => "updated",
            HistoryAction::Delete => "deleted",
        };
        *counts.entry((prefix, metric)).or_default() += 1;
    }
    let day = day_of(now);
    for ((prefix, metric), n) in counts {
        add::<D>(conn, &day, prefix, metric, n).await?;
    }
    Ok(())
}

/// Applies [`Op::AddStats`] or [`Op::PruneStats`].
pub(crate) async fn apply<D: Dialect>(conn: &mut Conn<D>, op: &Op) -> Result<()> {
    match op {
        Op::AddStats {
            day,
            counts,
            clients,
        } => {
            for (prefix, metric, n) in counts {
                add::<D>(conn, day, prefix, metric, *n).await?;
            }
            for (prefix, registers) in clients {
                merge_sketch::<D>(conn, day, prefix, registers).await?;
            }
        }
        Op::PruneStats { day } => {
            for table in ["stats", "stats_clients"] {
                Stmt::new(match table {
                    "stats" => "DELETE FROM stats WHERE day < $1",
                    _ => "DELETE FROM stats_clients WHERE day < $1",
                })
                .bind(day.as_str())
                .execute::<D::DB>(conn)
                .await
                .map_err(D::error)?;
            }
        }
        _ => return Err(StoreError::Corrupt("not a statistics operation".into())),
    }
    Ok(())
}

/// Merges `registers` into the stored sketch of (`day`, `prefix`): the row is made first,
/// then locked, so concurrent flushes from several instances lose nothing.
async fn merge_sketch<D: Dialect>(
    conn: &mut Conn<D>,
    day: &str,
    prefix: &str,
    registers: &[u8],
) -> Result<()> {
    let mut merged = Sketch::from_bytes(registers)
        .ok_or_else(|| StoreError::Corrupt(format!("a client sketch of {prefix} is malformed")))?;
    Stmt::new(
        "INSERT INTO stats_clients (day, prefix, sketch) VALUES ($1, $2, $3) \
         ON CONFLICT (day, prefix) DO NOTHING",
    )
    .bind(day)
    .bind(prefix)
    .bind(Sketch::default().to_bytes())
    .execute::<D::DB>(&mut *conn)
    .await
    .map_err(D::error)?;
    let row = Stmt::new(format!(
        "SELECT sketch FROM stats_clients WHERE day = $1 AND prefix = $2{}",
        D::FOR_UPDATE
    ))
    .bind(day)
    .bind(prefix)
    .optional::<D::DB>(&mut *conn)
    .await
    .map_err(D::error)?;
    if let Some(row) = row {
        let stored: Vec<u8> = Cols::<D::DB>(&row).bytes("sketch")?;
        if let Some(s) = Sketch::from_bytes(&stored) {
            merged.merge(&s);
        }
    }
    Stmt::new("UPDATE stats_clients SET sketch = $1 WHERE day = $2 AND prefix = $3")
        .bind(merged.to_bytes())
        .bind(day)
        .bind(prefix)
        .execute::<D::DB>(conn)
        .await
        .map_err(D::error)?;
    Ok(())
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn stat_rows(&self, from: &str, to: &str) -> Result<Vec<StatRow>> {
        let stmt = Stmt::new(
            "SELECT day, prefix, metric, value FROM stats WHERE day >= $1 AND day <= $2 \
             ORDER BY day, prefix, metric",
        )
        .bind(from)
        .bind(to);
        self.all(stmt)
            .await?
            .iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok(StatRow {
                    day: c.string("day")?,
                    prefix: c.string("prefix")?,
                    metric: c.string("metric")?,
                    value: c.int("value")?,
                })
            })
            .collect()
    }

    pub(crate) async fn client_sketches(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String, Vec<u8>)>> {
        let stmt = Stmt::new(
            "SELECT day, prefix, sketch FROM stats_clients WHERE day >= $1 AND day <= $2 \
             ORDER BY day, prefix",
        )
        .bind(from)
        .bind(to);
        self.all(stmt)
            .await?
            .iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok((c.string("day")?, c.string("prefix")?, c.bytes("sketch")?))
            })
            .collect()
    }
}
