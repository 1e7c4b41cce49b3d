//! The single write path: a whole [`Batch`] in one transaction. Runs of creates go to the
//! dialect's bulk insert; every other operation is one statement here.

use std::collections::HashMap;

use idnode_core::HandleValue;
use idnode_store::{
    now_millis, Batch, HistoryAction, ItemError, ItemErrorKind, Op, Result, StoreError,
};

use crate::audit::Digests;
use crate::dialect::WriteConn;
use crate::sql::{Cols, Stmt};
use crate::types::Types;
use crate::{is_constraint_violation, Conn, Creates, Dialect, HistoryRow, NewHandle, SqlStore};

/// What a batch has found so far: failing items and the history to write.
struct Progress<'a> {
    now: i64,
    errors: Vec<ItemError>,
    /// Rows not written yet (written before a run of creates, and at the end).
    history: Vec<HistoryRow<'a>>,
    /// Every change, for the statistics.
    changes: Vec<(&'a str, HistoryAction)>,
    /// Who writes the batch.
    actor: &'a str,
    /// Packs values.
    types: &'a Types,
    /// Folded key → handle of every create so far (a batch may not create one twice).
    seen: HashMap<String, String>,
    /// The batch's audit entry, fed op by op with what is written.
    audit: Digests<'a>,
}

pub(crate) async fn apply<D: Dialect>(store: &SqlStore<D>, batch: &Batch) -> Result<()> {
    let mut conn = store.writer().await?;
    let out = transaction(store, batch, &mut conn).await;
    conn.settle();
    out
}

/// The batch's transaction on `conn`.
async fn transaction<D: Dialect>(
    store: &SqlStore<D>,
    batch: &Batch,
    conn: &mut WriteConn<D>,
) -> Result<()> {
    let mut tx = conn.begin().await?;
    let mut p = Progress {
        types: &store.types,
        actor: &batch.actor,
        now: now_millis(),
        errors: Vec::new(),
        history: Vec::new(),
        changes: Vec::new(),
        seen: HashMap::with_capacity(batch.ops.len()),
        audit: Digests::new(batch, store.audit),
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
            for op in &ops[start..i] {
                p.audit.op(op, None, None);
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
    p.flush::<D>(&mut tx).await?;
    if !p.changes.is_empty() {
        crate::stats::count_history::<D>(&mut tx, &p.changes, p.now).await?;
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
    let change = idnode_store::Change::of_batch(batch);
    crate::announce::<D>(&mut tx, store.instance, &change).await?;
    // Last: the audit chain's lock is held from here to the commit.
    crate::audit::append::<D>(&mut tx, batch, p.audit, p.now).await?;
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
        let packed = p.types.pack(values);
        p.audit.op(op, None, Some(&packed));
        rows.push(NewHandle {
            handle: handle.as_str(),
            folded,
            packed,
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    let doomed = !p.errors.is_empty();
    let created_in = if doomed {
        0
    } else {
        // The rows before this run go first, so that one handle's changes keep their order.
        p.flush::<D>(conn).await?;
        crate::history::insert_run::<D>(conn, p.actor, p.now, &rows).await?
    };
    let creates = Creates {
        rows: &rows,
        now: p.now,
        created_in,
        doomed,
    };
    let taken = D::insert_handles(conn, creates).await?;
    for (k, existing) in &taken {
        let h = rows[*k].handle;
        p.errors.push(item(positions[*k], h, dup_kind(existing, h)));
    }
    if taken.is_empty() {
        p.changes
            .extend(rows.iter().map(|r| (r.handle, HistoryAction::Create)));
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
            let after = p.types.pack(values);
            let changed = Stmt::new(
                "UPDATE handles SET packed = $1, vals = NULL, version = version + 1, \
                 updated_at = $2 WHERE folded = $3 AND COALESCE(handle, folded) = $4 \
                 AND version = $5",
            )
            .bind(after.clone())
            .bind(p.now)
            .bind(handle.folded())
            .bind(handle.as_str())
            .bind(expected_version);
            if changed.execute::<D::DB>(conn).await.map_err(D::error)? > 0 {
                p.changed(
                    op,
                    handle.as_str(),
                    HistoryAction::Update,
                    before,
                    Some(&after),
                );
            } else {
                missing::<D>(conn, handle.as_str(), pos, p).await?;
            }
        }
        Op::Delete {
            handle,
            expected_version,
            before,
        } => {
            let deleted = Stmt::new(
                "DELETE FROM handles WHERE folded = $1 AND COALESCE(handle, folded) = $2 \
                 AND version = $3 RETURNING created_in",
            )
            .bind(handle.folded())
            .bind(handle.as_str())
            .bind(expected_version)
            .all::<D::DB>(conn)
            .await
            .map_err(D::error)?;
            let Some(row) = deleted.first() else {
                return missing::<D>(conn, handle.as_str(), pos, p).await;
            };
            if let Some(run) = Cols::<D::DB>(row).opt_int("created_in")? {
                crate::history::keep_create::<D>(conn, handle.as_str(), run).await?;
            }
            p.changed(op, handle.as_str(), HistoryAction::Delete, before, None);
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
    if !matches!(op, Op::Update { .. } | Op::Delete { .. }) {
        p.audit.op(op, None, None);
    }
    Ok(())
}

impl<'a> Progress<'a> {
    /// Writes the history rows noted so far.
    async fn flush<D: Dialect>(&mut self, conn: &mut Conn<D>) -> Result<()> {
        if !self.history.is_empty() {
            D::insert_history(conn, self.actor, self.now, &self.history).await?;
            self.history.clear();
        }
        Ok(())
    }

    /// Notes an update or delete of `handle` (`op`), which held `before` and now holds
    /// `after` (packed; `None` when deleted).
    fn changed(
        &mut self,
        op: &'a Op,
        handle: &'a str,
        action: HistoryAction,
        before: &[HandleValue],
        after: Option<&[u8]>,
    ) {
        let before = self.types.pack(before);
        self.audit.op(op, Some(&before), after);
        self.history.push(HistoryRow {
            handle,
            action,
            before: Some(before),
        });
        self.changes.push((handle, action));
    }
}

/// An update or delete guarded by the expected version touched nothing: an item error
/// saying whether the handle is missing or has moved on.
async fn missing<D: Dialect>(
    conn: &mut Conn<D>,
    handle: &str,
    pos: usize,
    p: &mut Progress<'_>,
) -> Result<()> {
    let exists = Stmt::new(
        "SELECT 1 AS one FROM handles WHERE folded = $1 AND COALESCE(handle, folded) = $2",
    )
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
