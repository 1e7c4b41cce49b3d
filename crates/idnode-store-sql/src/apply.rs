//! The single write path: a whole [`Batch`] in one transaction. Runs of creates go to the
//! dialect's bulk insert; every other operation is one statement here.

use std::collections::HashMap;

use idnode_core::json::values_to_json;
use idnode_store::{
    now_millis, Batch, HistoryAction, ItemError, ItemErrorKind, Op, Result, StoreError,
};
use sqlx::Pool;

use crate::sql::Stmt;
use crate::{is_constraint_violation, Conn, Creates, Dialect, HistoryRow, NewHandle};

/// What a batch has found so far: failing items and the history to write.
struct Progress<'a> {
    now: i64,
    errors: Vec<ItemError>,
    history: Vec<HistoryRow<'a>>,
    /// Who writes the batch.
    actor: &'a str,
    /// Folded key → handle of every create so far (a batch may not create one twice).
    seen: HashMap<String, String>,
}

pub(crate) async fn apply<D: Dialect>(
    pool: &Pool<D::DB>,
    batch: &Batch,
    audit: idnode_store::AuditAlgorithm,
    instance: u64,
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(D::error)?;
    let mut p = Progress {
        actor: &batch.actor,
        now: now_millis(),
        errors: Vec::new(),
        history: Vec::new(),
        seen: HashMap::new(),
    };
    let ops = &batch.ops;
    let mut i = 0;
    while i < ops.len() {
        if matches!(ops[i], Op::Create { .. }) {
            let start = i;
            while i < ops.len() && matches!(ops[i], Op::Create { .. }) && i - start < D::CHUNK {
                i += 1;
            }
            creates::<D>(&mut tx, &ops[start..i], start, &mut p).await?;
            continue;
        }
        if crate::templates::is_claim(&ops[i]) {
            let start = i;
            while i < ops.len() && crate::templates::is_claim(&ops[i]) {
                i += 1;
            }
            let rows = crate::templates::claim_rows(&ops[start..i]);
            crate::templates::claims::<D>(&mut tx, &rows).await?;
            continue;
        }
        other::<D>(&mut tx, &ops[i], i, &mut p).await?;
        i += 1;
    }
    if !p.errors.is_empty() {
        p.errors.sort_by_key(|e| e.position);
        tx.rollback().await.map_err(D::error)?;
        return Err(StoreError::Batch(p.errors));
    }
    if !p.history.is_empty() {
        D::insert_history(&mut tx, &batch.actor, p.now, &p.history).await?;
        crate::stats::count_history::<D>(&mut tx, &p.history, p.now).await?;
    }
    if let Some(idem) = &batch.idempotency {
        Stmt::new(
            "INSERT INTO idempotency (actor, key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&idem.actor)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(i64::from(idem.status))
        .bind(&idem.body)
        .bind(p.now)
        .execute::<D::DB>(&mut tx)
        .await
        .map_err(|e| conflict::<D>(e, || "idempotency key already used".into()))?;
    }
    crate::announce::<D>(&mut tx, instance, &idnode_store::Change::of_batch(batch)).await?;
    // Last: the audit chain's lock is held from here to the commit.
    crate::audit::append::<D>(&mut tx, batch, audit, p.now).await?;
    tx.commit().await.map_err(D::error)
}

/// A constraint violation as a conflict named by `what`; any other error as it is.
pub(crate) fn conflict<D: Dialect>(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    if is_constraint_violation(&e) {
        StoreError::Conflict(what())
    } else {
        D::error(e)
    }
}

async fn creates<'a, D: Dialect>(
    conn: &mut Conn<D>,
    ops: &'a [Op],
    offset: usize,
    p: &mut Progress<'a>,
) -> Result<()> {
    let mut positions = Vec::with_capacity(ops.len());
    let mut rows = Vec::with_capacity(ops.len());
    for (k, op) in ops.iter().enumerate() {
        let Op::Create { handle, values } = op else {
            continue;
        };
        let folded = handle.folded();
        if let Some(first) = p.seen.get(&folded) {
            p.errors.push(item(
                offset + k,
                handle.as_str(),
                dup_kind(first, handle.as_str()),
            ));
            continue;
        }
        p.seen.insert(folded.clone(), handle.as_str().to_owned());
        positions.push(offset + k);
        rows.push(NewHandle {
            handle: handle.as_str(),
            folded,
            vals: values_to_json(values),
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    let creates = Creates {
        rows: &rows,
        now: p.now,
        doomed: !p.errors.is_empty(),
    };
    let taken = D::insert_handles(conn, creates).await?;
    let mut refused = vec![false; rows.len()];
    for (k, existing) in taken {
        refused[k] = true;
        let h = rows[k].handle;
        p.errors.push(item(positions[k], h, dup_kind(&existing, h)));
    }
    for (row, refused) in rows.iter().zip(refused) {
        if !refused {
            // A create keeps no copy of its values (see the history table).
            p.history.push(HistoryRow {
                handle: row.handle,
                action: HistoryAction::Create,
                before: None,
                after: None,
            });
        }
    }
    Ok(())
}

fn dup_kind(existing: &str, handle: &str) -> ItemErrorKind {
    if existing == handle {
        ItemErrorKind::Exists
    } else {
        ItemErrorKind::CaseConflict {
            existing: existing.to_owned(),
        }
    }
}

fn item(position: usize, handle: &str, kind: ItemErrorKind) -> ItemError {
    ItemError {
        position,
        handle: handle.to_owned(),
        kind,
    }
}

async fn other<'a, D: Dialect>(
    conn: &mut Conn<D>,
    op: &'a Op,
    pos: usize,
    p: &mut Progress<'a>,
) -> Result<()> {
    match op {
        Op::Update {
            handle,
            expected_version,
            before,
            values,
        } => {
            let vals = values_to_json(values);
            let changed = Stmt::new(
                "UPDATE handles SET vals = $1, version = version + 1, updated_at = $2 \
                 WHERE folded = $3 AND handle = $4 AND version = $5",
            )
            .bind(&vals)
            .bind(p.now)
            .bind(handle.folded())
            .bind(handle.as_str())
            .bind(expected_version);
            let after = Some(vals.clone());
            changed_or_missing::<D>(conn, changed, handle.as_str(), pos, p, |h| HistoryRow {
                handle: h,
                action: HistoryAction::Update,
                before: Some(values_to_json(before)),
                after,
            })
            .await?;
        }
        Op::Delete {
            handle,
            expected_version,
            before,
        } => {
            let deleted =
                Stmt::new("DELETE FROM handles WHERE folded = $1 AND handle = $2 AND version = $3")
                    .bind(handle.folded())
                    .bind(handle.as_str())
                    .bind(expected_version);
            changed_or_missing::<D>(conn, deleted, handle.as_str(), pos, p, |h| HistoryRow {
                handle: h,
                action: HistoryAction::Delete,
                before: Some(values_to_json(before)),
                after: None,
            })
            .await?;
        }
        Op::PutSecret {
            handle,
            index,
            secret,
        } => {
            Stmt::new(
                "INSERT INTO secrets (handle, idx, alg, salt, iterations, hash, sealed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (handle, idx) DO UPDATE SET \
                 alg = excluded.alg, salt = excluded.salt, iterations = excluded.iterations, \
                 hash = excluded.hash, sealed = excluded.sealed",
            )
            .bind(handle)
            .bind(i64::from(*index))
            .bind(&secret.alg)
            .bind(&secret.salt)
            .bind(i64::from(secret.iterations))
            .bind(&secret.hash)
            .bind(&secret.sealed)
            .execute::<D::DB>(conn)
            .await
            .map_err(D::error)?;
        }
        Op::DeleteSecret { handle, index } => {
            Stmt::new(
                "DELETE FROM secrets WHERE handle = $1 AND (CAST($2 AS BIGINT) IS NULL OR idx = $2)",
            )
            .bind(handle)
            .bind(index.map(i64::from))
            .execute::<D::DB>(conn)
            .await
            .map_err(D::error)?;
        }
        Op::Template(t) => crate::templates::apply::<D>(conn, t, p.actor, p.now).await?,
        Op::Token(t) => crate::tokens::apply::<D>(conn, t, p.now).await?,
        Op::AddStats { .. } | Op::PruneStats { .. } => crate::stats::apply::<D>(conn, op).await?,
        directory => crate::ops::apply_op::<D>(conn, directory, p.now).await?,
    }
    Ok(())
}

/// Runs an update or delete guarded by the expected version: a history row when it touched
/// the handle, otherwise an item error saying whether the handle is missing or has moved on.
async fn changed_or_missing<'a, D: Dialect>(
    conn: &mut Conn<D>,
    stmt: Stmt<'_>,
    handle: &'a str,
    pos: usize,
    p: &mut Progress<'a>,
    history: impl FnOnce(&'a str) -> HistoryRow<'a>,
) -> Result<()> {
    if stmt.execute::<D::DB>(conn).await.map_err(D::error)? > 0 {
        p.history.push(history(handle));
        return Ok(());
    }
    let exists = Stmt::new("SELECT 1 AS one FROM handles WHERE folded = $1 AND handle = $2")
        .bind(idnode_store::fold(handle))
        .bind(handle)
        .optional::<D::DB>(conn)
        .await
        .map_err(D::error)?;
    let kind = if exists.is_some() {
        ItemErrorKind::VersionConflict
    } else {
        ItemErrorKind::NotFound
    };
    p.errors.push(item(pos, handle, kind));
    Ok(())
}
