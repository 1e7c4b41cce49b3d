//! Escrow: deposits made, and history read by id ranges.

use idnode_store::{DepositRecord, HistoryRecord, Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::db_err;

fn deposit(r: &PgRow) -> Result<DepositRecord> {
    Ok(DepositRecord {
        id: r.get("id"),
        kind: r.get("kind"),
        watermark: r.get("watermark"),
        prev_id: r.get("prev_id"),
        resend: r.get::<i64, _>("resend") as u16,
        history_cursor: r.get("history_cursor"),
        nodes: r.get::<i64, _>("nodes") as u64,
        handles: r.get::<i64, _>("handles") as u64,
        files: serde_json::from_str(r.get("files"))
            .map_err(|e| StoreError::Corrupt(format!("deposit files: {e}")))?,
        created_at: r.get("created_at"),
    })
}

pub(crate) async fn record(tx: &mut Transaction<'_, Postgres>, d: &DepositRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO deposits (id, kind, watermark, prev_id, resend, history_cursor, nodes, \
         handles, files, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&d.id)
    .bind(&d.kind)
    .bind(d.watermark)
    .bind(&d.prev_id)
    .bind(i64::from(d.resend))
    .bind(d.history_cursor)
    .bind(d.nodes as i64)
    .bind(d.handles as i64)
    .bind(serde_json::to_string(&d.files).expect("strings serialise"))
    .bind(d.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if crate::is_unique_violation(&e) {
            StoreError::Conflict(format!("deposit {} exists", d.id))
        } else {
            db_err(e)
        }
    })?;
    Ok(())
}

pub(crate) async fn deposits(pool: &PgPool, limit: u64) -> Result<Vec<DepositRecord>> {
    let rows = sqlx::query(
        "SELECT id, kind, watermark, prev_id, resend, history_cursor, nodes, handles, files, \
         created_at FROM deposits ORDER BY watermark DESC, resend DESC LIMIT $1",
    )
    .bind(limit.min(i64::MAX as u64) as i64)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(deposit).collect()
}

pub(crate) async fn cursor(pool: &PgPool, at: i64) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM history WHERE at <= $1")
        .bind(at)
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    Ok(id.unwrap_or(0))
}

pub(crate) async fn range(
    pool: &PgPool,
    after: i64,
    until: Option<i64>,
    limit: u64,
) -> Result<Vec<HistoryRecord>> {
    let rows = sqlx::query(
        "SELECT id, handle, action, actor, at, vals_before, vals_after FROM history \
         WHERE id > $1 AND ($2::bigint IS NULL OR id <= $3) ORDER BY id LIMIT $4",
    )
    .bind(after)
    .bind(until)
    .bind(until)
    .bind(limit.min(i64::MAX as u64) as i64)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(crate::history_row).collect()
}

pub(crate) async fn add_usage(
    tx: &mut Transaction<'_, Postgres>,
    day: &str,
    metric: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO usage (day, metric, value) VALUES ($1, $2, $3) \
         ON CONFLICT (day, metric) DO UPDATE SET value = usage.value + excluded.value",
    )
    .bind(day)
    .bind(metric)
    .bind(delta)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn usage(
    pool: &PgPool,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT day, metric, value FROM usage WHERE day >= $1 AND day <= $2 \
         ORDER BY day, metric",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| (r.get("day"), r.get("metric"), r.get("value")))
        .collect())
}
