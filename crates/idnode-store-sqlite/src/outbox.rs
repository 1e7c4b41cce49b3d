//! The upstream outbox and the upstream state of enterprises and prefixes.

use idnode_store::{
    now_millis, profile_to_json, Op, OutboxRow, OutboxState, OutboxStats, Result, StoreError,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::db_err;

const COLUMNS: &str =
    "id, kind, payload, cursor, state, attempts, next_at, last_error, created_at, done_at";

fn row(r: &SqliteRow) -> Result<OutboxRow> {
    let state: String = r.get("state");
    Ok(OutboxRow {
        id: r.get("id"),
        kind: r.get("kind"),
        payload: r.get("payload"),
        cursor: r.get::<i64, _>("cursor") as u32,
        state: OutboxState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox state {state}")))?,
        attempts: r.get::<i64, _>("attempts") as u32,
        next_at: r.get("next_at"),
        last_error: r.get("last_error"),
        created_at: r.get("created_at"),
        done_at: r.get("done_at"),
    })
}

/// Runs an update that must touch a row; NotFound (named by `what`) when none matched.
async fn update_one<'q>(
    tx: &mut Transaction<'_, Sqlite>,
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    what: impl FnOnce() -> String,
) -> Result<()> {
    let n = query
        .execute(&mut **tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}

/// Applies one of the upstream operations (any other is refused).
pub(crate) async fn apply_op(tx: &mut Transaction<'_, Sqlite>, op: &Op) -> Result<()> {
    let now = now_millis();
    match op {
        Op::SetEnterpriseProfile { id, profile } => {
            update_one(
                tx,
                sqlx::query("UPDATE enterprises SET profile = ? WHERE id = ?")
                    .bind(profile_to_json(profile))
                    .bind(id),
                || format!("enterprise {id}"),
            )
            .await?;
        }
        Op::SetEnterpriseUpstream { id, upstream_id } => {
            update_one(
                tx,
                sqlx::query("UPDATE enterprises SET upstream_id = ? WHERE id = ?")
                    .bind(upstream_id)
                    .bind(id),
                || format!("enterprise {id}"),
            )
            .await?;
        }
        Op::SetPrefixReview {
            prefix,
            review,
            note,
        } => {
            update_one(
                tx,
                sqlx::query("UPDATE prefixes SET review = ?, review_note = ? WHERE prefix = ?")
                    .bind(review.as_str())
                    .bind(note)
                    .bind(prefix),
                || format!("prefix {prefix}"),
            )
            .await?;
        }
        Op::Enqueue(item) => {
            sqlx::query(
                "INSERT INTO outbox (kind, payload, state, next_at, created_at) \
                 VALUES (?, ?, 'pending', ?, ?)",
            )
            .bind(&item.kind)
            .bind(&item.payload)
            .bind(now)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Op::OutboxDead { item, error } => {
            sqlx::query(
                "INSERT INTO outbox (kind, payload, state, next_at, last_error, created_at, \
                 done_at) VALUES (?, ?, 'dead', ?, ?, ?, ?)",
            )
            .bind(&item.kind)
            .bind(&item.payload)
            .bind(now)
            .bind(error)
            .bind(now)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Op::OutboxProgress { id, cursor, done } => {
            update_one(tx, sqlx::query(
                "UPDATE outbox SET cursor = ?, state = CASE WHEN ? THEN 'done' ELSE state END, \
                 done_at = CASE WHEN ? THEN ? ELSE done_at END, last_error = NULL, attempts = 0 \
                 WHERE id = ? AND state = 'pending'",
            )
            .bind(i64::from(*cursor))
            .bind(done)
            .bind(done)
            .bind(now)
            .bind(id), || format!("pending upstream action {id}")).await?;
        }
        Op::OutboxRetry {
            id,
            attempts,
            next_at,
            error,
        } => {
            update_one(
                tx,
                sqlx::query(
                    "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? \
                 WHERE id = ? AND state = 'pending'",
                )
                .bind(i64::from(*attempts))
                .bind(next_at)
                .bind(error)
                .bind(id),
                || format!("pending upstream action {id}"),
            )
            .await?;
        }
        Op::OutboxRequeue { id } => {
            update_one(tx, sqlx::query(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_at = ?, done_at = NULL \
                 WHERE id = ? AND state = 'dead'",
            )
            .bind(now)
            .bind(id), || format!("dead upstream action {id}")).await?;
        }
        Op::RecordDeposit(d) => crate::escrow::record(tx, d).await?,
        Op::AddUsage { day, metric, delta } => {
            crate::escrow::add_usage(tx, day, metric, *delta).await?;
        }
        _ => return Err(StoreError::Corrupt("not an upstream operation".into())),
    }
    Ok(())
}

pub(crate) async fn head(pool: &SqlitePool) -> Result<Option<OutboxRow>> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    r.as_ref().map(row).transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    state: OutboxState,
    limit: u64,
) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = ? ORDER BY id LIMIT ?"
    ))
    .bind(state.as_str())
    .bind(limit.min(i64::MAX as u64) as i64)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(row).collect()
}

pub(crate) async fn stats(pool: &SqlitePool) -> Result<OutboxStats> {
    let counts = sqlx::query(
        "SELECT count(*) FILTER (WHERE state = 'pending') AS p, \
         count(*) FILTER (WHERE state = 'dead') AS d, \
         count(*) FILTER (WHERE state = 'done') AS k FROM outbox",
    )
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    let head = head(pool).await?;
    Ok(OutboxStats {
        pending: counts.get::<i64, _>("p") as u64,
        dead: counts.get::<i64, _>("d") as u64,
        done: counts.get::<i64, _>("k") as u64,
        oldest_pending_at: head.as_ref().map(|h| h.created_at),
        head_attempts: head.as_ref().map_or(0, |h| h.attempts),
        head_error: head.and_then(|h| h.last_error),
    })
}
