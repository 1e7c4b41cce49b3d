//! Directory operations (enterprises, prefixes), the upstream outbox, escrow deposits and
//! usage counters: one statement each, and what its outcome means.

use idnode_store::{profile_to_json, Op, OutboxRow, Result, StoreError};
use sqlx::Pool;

use crate::apply::conflict;
use crate::sql::Stmt;
use crate::{rows, Conn, Dialect};

/// How the outcome of an operation's statement is judged.
enum Check {
    /// It must touch a row; otherwise the thing named is not found.
    OneRow(String),
    /// A constraint violation means the thing named exists already.
    Unique(String),
    /// Any success will do.
    Nothing,
}

/// Applies one directory or upstream operation (handle operations are refused).
pub(crate) async fn apply_op<D: Dialect>(conn: &mut Conn<D>, op: &Op, now: i64) -> Result<()> {
    let (stmt, check) = statement(op, now)?;
    match (stmt.execute::<D::DB>(conn).await, check) {
        (Ok(0), Check::OneRow(what)) => Err(StoreError::NotFound(what)),
        (Ok(_), _) => Ok(()),
        (Err(e), Check::Unique(what)) => Err(conflict::<D>(e, || what)),
        (Err(e), _) => Err(D::error(e)),
    }
}

fn statement(op: &Op, now: i64) -> Result<(Stmt<'_>, Check)> {
    Ok(match op {
        Op::CreatePrefix(p) => (
            Stmt::new(
                "INSERT INTO prefixes (prefix, enterprise_id, status, created_at, review, \
                 review_note, template_required) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&p.prefix)
            .bind(p.enterprise_id)
            .bind(p.status.as_str())
            .bind(p.created_at)
            .bind(p.review.as_str())
            .bind(&p.review_note)
            .bind(i64::from(p.template_required)),
            Check::Unique(format!("prefix {} is already allocated", p.prefix)),
        ),
        Op::RecordNodeKey {
            name,
            fingerprint,
            replace,
        } => (
            Stmt::new(if *replace {
                "INSERT INTO node_keys (name, fingerprint, recorded_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 recorded_at = excluded.recorded_at"
            } else {
                "INSERT INTO node_keys (name, fingerprint, recorded_at) VALUES ($1, $2, $3)"
            })
            .bind(name)
            .bind(fingerprint.as_slice())
            .bind(now),
            Check::Unique(format!("the node's {name} key is recorded already")),
        ),
        Op::SetPrefixPolicy {
            prefix,
            template_required,
        } => (
            Stmt::new("UPDATE prefixes SET template_required = $1 WHERE prefix = $2")
                .bind(i64::from(*template_required))
                .bind(prefix),
            Check::OneRow(format!("prefix {prefix}")),
        ),
        Op::SetPrefixStatus { prefix, status } => (
            Stmt::new("UPDATE prefixes SET status = $1 WHERE prefix = $2")
                .bind(status.as_str())
                .bind(prefix),
            Check::OneRow(format!("prefix {prefix}")),
        ),
        Op::SetPrefixReview {
            prefix,
            review,
            note,
        } => (
            Stmt::new("UPDATE prefixes SET review = $1, review_note = $2 WHERE prefix = $3")
                .bind(review.as_str())
                .bind(note)
                .bind(prefix),
            Check::OneRow(format!("prefix {prefix}")),
        ),
        Op::CreateEnterprise(e) => (
            Stmt::new(
                "INSERT INTO enterprises (id, name, status, created_at, profile) \
                 VALUES ($1, $2, 'active', $3, $4)",
            )
            .bind(e.id)
            .bind(&e.name)
            .bind(now)
            .bind(profile_to_json(&e.profile)),
            Check::Unique(format!("enterprise '{}' or id {} exists", e.name, e.id)),
        ),
        Op::SetEnterpriseStatus { id, status } => (
            Stmt::new("UPDATE enterprises SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id),
            Check::OneRow(format!("enterprise {id}")),
        ),
        Op::SetEnterpriseProfile { id, profile } => (
            Stmt::new("UPDATE enterprises SET profile = $1 WHERE id = $2")
                .bind(profile_to_json(profile))
                .bind(id),
            Check::OneRow(format!("enterprise {id}")),
        ),
        Op::SetEnterpriseUpstream { id, upstream_id } => (
            Stmt::new("UPDATE enterprises SET upstream_id = $1 WHERE id = $2")
                .bind(upstream_id)
                .bind(id),
            Check::OneRow(format!("enterprise {id}")),
        ),
        other => return upstream_statement(other, now),
    })
}

fn upstream_statement(op: &Op, now: i64) -> Result<(Stmt<'_>, Check)> {
    Ok(match op {
        Op::Enqueue(item) => (
            Stmt::new(
                "INSERT INTO outbox (kind, payload, state, next_at, created_at) \
                 VALUES ($1, $2, 'pending', $3, $3)",
            )
            .bind(&item.kind)
            .bind(&item.payload)
            .bind(now),
            Check::Nothing,
        ),
        Op::OutboxDead { item, error } => (
            Stmt::new(
                "INSERT INTO outbox (kind, payload, state, next_at, last_error, created_at, \
                 done_at) VALUES ($1, $2, 'dead', $3, $4, $3, $3)",
            )
            .bind(&item.kind)
            .bind(&item.payload)
            .bind(now)
            .bind(error),
            Check::Nothing,
        ),
        Op::OutboxProgress { id, cursor, done } => (
            Stmt::new(
                "UPDATE outbox SET cursor = $1, state = CASE WHEN $2 THEN 'done' ELSE state END, \
                 done_at = CASE WHEN $2 THEN $3 ELSE done_at END, last_error = NULL, \
                 attempts = 0 WHERE id = $4 AND state = 'pending'",
            )
            .bind(i64::from(*cursor))
            .bind(done)
            .bind(now)
            .bind(id),
            Check::OneRow(format!("pending upstream action {id}")),
        ),
        Op::OutboxRetry {
            id,
            attempts,
            next_at,
            error,
        } => (
            Stmt::new(
                "UPDATE outbox SET attempts = $1, next_at = $2, last_error = $3 \
                 WHERE id = $4 AND state = 'pending'",
            )
            .bind(i64::from(*attempts))
            .bind(next_at)
            .bind(error)
            .bind(id),
            Check::OneRow(format!("pending upstream action {id}")),
        ),
        Op::OutboxRequeue { id } => (
            Stmt::new(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_at = $1, done_at = NULL \
                 WHERE id = $2 AND state = 'dead'",
            )
            .bind(now)
            .bind(id),
            Check::OneRow(format!("dead upstream action {id}")),
        ),
        Op::RecordDeposit(d) => (
            Stmt::new(
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
            .bind(d.created_at),
            Check::Unique(format!("deposit {} exists", d.id)),
        ),
        Op::AddUsage { day, metric, delta } => (
            Stmt::new(
                "INSERT INTO usage (day, metric, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (day, metric) DO UPDATE SET value = usage.value + excluded.value",
            )
            .bind(day.as_str())
            .bind(metric.as_str())
            .bind(*delta),
            Check::Nothing,
        ),
        _ => {
            return Err(StoreError::Corrupt(
                "not a directory or upstream operation".into(),
            ))
        }
    })
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
