//! Directory operations (enterprises, prefixes), the upstream outbox, escrow deposits and
//! usage counters: one statement each.

use idnode_store::{profile_to_json, Op, OutboxRow, Result, StoreError};
use sqlx::Pool;

use crate::apply::{conflict, update_one};
use crate::sql::Stmt;
use crate::{rows, Conn, Dialect};

/// Applies one directory or upstream operation (handle operations are refused).
pub(crate) async fn apply_op<D: Dialect>(conn: &mut Conn<D>, op: &Op, now: i64) -> Result<()> {
    match op {
        Op::CreatePrefix(p) => {
            Stmt::new(
                "INSERT INTO prefixes (prefix, enterprise_id, status, created_at, review, \
                 review_note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&p.prefix)
            .bind(p.enterprise_id)
            .bind(p.status.as_str())
            .bind(p.created_at)
            .bind(p.review.as_str())
            .bind(&p.review_note)
            .execute::<D::DB>(conn)
            .await
            .map_err(|e| {
                conflict::<D>(e, || format!("prefix {} is already allocated", p.prefix))
            })?;
        }
        Op::SetPrefixStatus { prefix, status } => {
            let stmt = Stmt::new("UPDATE prefixes SET status = $1 WHERE prefix = $2")
                .bind(status.as_str())
                .bind(prefix);
            update_one::<D>(conn, stmt, || format!("prefix {prefix}")).await?;
        }
        Op::CreateEnterprise(e) => {
            Stmt::new(
                "INSERT INTO enterprises (id, name, status, created_at, profile) \
                 VALUES ($1, $2, 'active', $3, $4)",
            )
            .bind(e.id)
            .bind(&e.name)
            .bind(now)
            .bind(profile_to_json(&e.profile))
            .execute::<D::DB>(conn)
            .await
            .map_err(|err| {
                conflict::<D>(err, || {
                    format!("enterprise '{}' or id {} exists", e.name, e.id)
                })
            })?;
        }
        Op::SetEnterpriseStatus { id, status } => {
            let stmt = Stmt::new("UPDATE enterprises SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id);
            update_one::<D>(conn, stmt, || format!("enterprise {id}")).await?;
        }
        Op::SetEnterpriseProfile { id, profile } => {
            let stmt = Stmt::new("UPDATE enterprises SET profile = $1 WHERE id = $2")
                .bind(profile_to_json(profile))
                .bind(id);
            update_one::<D>(conn, stmt, || format!("enterprise {id}")).await?;
        }
        Op::SetEnterpriseUpstream { id, upstream_id } => {
            let stmt = Stmt::new("UPDATE enterprises SET upstream_id = $1 WHERE id = $2")
                .bind(upstream_id)
                .bind(id);
            update_one::<D>(conn, stmt, || format!("enterprise {id}")).await?;
        }
        Op::SetPrefixReview {
            prefix,
            review,
            note,
        } => {
            let stmt =
                Stmt::new("UPDATE prefixes SET review = $1, review_note = $2 WHERE prefix = $3")
                    .bind(review.as_str())
                    .bind(note)
                    .bind(prefix);
            update_one::<D>(conn, stmt, || format!("prefix {prefix}")).await?;
        }
        other => outbox_op::<D>(conn, other, now).await?,
    }
    Ok(())
}

async fn outbox_op<D: Dialect>(conn: &mut Conn<D>, op: &Op, now: i64) -> Result<()> {
    let stmt = match op {
        Op::Enqueue(item) => Stmt::new(
            "INSERT INTO outbox (kind, payload, state, next_at, created_at) \
             VALUES ($1, $2, 'pending', $3, $3)",
        )
        .bind(&item.kind)
        .bind(&item.payload)
        .bind(now),
        Op::OutboxDead { item, error } => Stmt::new(
            "INSERT INTO outbox (kind, payload, state, next_at, last_error, created_at, \
             done_at) VALUES ($1, $2, 'dead', $3, $4, $3, $3)",
        )
        .bind(&item.kind)
        .bind(&item.payload)
        .bind(now)
        .bind(error),
        Op::OutboxProgress { id, cursor, done } => {
            let stmt = Stmt::new(
                "UPDATE outbox SET cursor = $1, state = CASE WHEN $2 THEN 'done' ELSE state END, \
                 done_at = CASE WHEN $2 THEN $3 ELSE done_at END, last_error = NULL, \
                 attempts = 0 WHERE id = $4 AND state = 'pending'",
            )
            .bind(i64::from(*cursor))
            .bind(done)
            .bind(now)
            .bind(id);
            return update_one::<D>(conn, stmt, || format!("pending upstream action {id}")).await;
        }
        Op::OutboxRetry {
            id,
            attempts,
            next_at,
            error,
        } => {
            let stmt = Stmt::new(
                "UPDATE outbox SET attempts = $1, next_at = $2, last_error = $3 \
                 WHERE id = $4 AND state = 'pending'",
            )
            .bind(i64::from(*attempts))
            .bind(next_at)
            .bind(error)
            .bind(id);
            return update_one::<D>(conn, stmt, || format!("pending upstream action {id}")).await;
        }
        Op::OutboxRequeue { id } => {
            let stmt = Stmt::new(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_at = $1, done_at = NULL \
                 WHERE id = $2 AND state = 'dead'",
            )
            .bind(now)
            .bind(id);
            return update_one::<D>(conn, stmt, || format!("dead upstream action {id}")).await;
        }
        Op::RecordDeposit(d) => {
            return Stmt::new(
                "INSERT INTO deposits (id, kind, watermark, prev_id, resend, history_cursor, \
                 nodes, handles, files, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            .execute::<D::DB>(conn)
            .await
            .map(|_| ())
            .map_err(|e| conflict::<D>(e, || format!("deposit {} exists", d.id)));
        }
        Op::AddUsage { day, metric, delta } => Stmt::new(
            "INSERT INTO usage (day, metric, value) VALUES ($1, $2, $3) \
             ON CONFLICT (day, metric) DO UPDATE SET value = usage.value + excluded.value",
        )
        .bind(day.as_str())
        .bind(metric.as_str())
        .bind(*delta),
        _ => {
            return Err(StoreError::Corrupt(
                "not a directory or upstream operation".into(),
            ))
        }
    };
    stmt.execute::<D::DB>(conn).await.map_err(D::error)?;
    Ok(())
}

/// The pending action with the lowest id, read on the writer pool so that it sees the
/// latest write.
pub(crate) async fn head<D: Dialect>(pool: &Pool<D::DB>) -> Result<Option<OutboxRow>> {
    let mut conn = pool.acquire().await.map_err(D::error)?;
    let sql = format!(
        "SELECT {} FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1",
        rows::OUTBOX
    );
    let row = Stmt::new(sql)
        .optional::<D::DB>(&mut conn)
        .await
        .map_err(D::error)?;
    row.as_ref().map(rows::outbox::<D::DB>).transpose()
}
