//! The single write path: a whole [`Batch`] in one transaction.

use std::collections::HashMap;

use idnode_core::json::values_to_json;
use idnode_store::{
    now_millis, Batch, HistoryAction, ItemError, ItemErrorKind, Op, Result, StoreError,
};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{db_err, is_unique_violation};

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters per statement).
const CHUNK: usize = 4_000;

struct Hist<'a> {
    handle: &'a str,
    action: HistoryAction,
    before: Option<String>,
    after: Option<String>,
}

pub(crate) async fn apply(pool: &SqlitePool, batch: &Batch) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let now = now_millis();
    let mut errors = Vec::new();
    let mut history = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let ops = &batch.ops;
    let mut i = 0;
    while i < ops.len() {
        if matches!(ops[i], Op::Create { .. }) {
            let start = i;
            while i < ops.len() && matches!(ops[i], Op::Create { .. }) && i - start < CHUNK {
                i += 1;
            }
            creates(
                &mut tx,
                &ops[start..i],
                start,
                now,
                &mut seen,
                &mut errors,
                &mut history,
            )
            .await?;
            continue;
        }
        other(&mut tx, &ops[i], i, now, &mut errors, &mut history).await?;
        i += 1;
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.position);
        tx.rollback().await.map_err(db_err)?;
        return Err(StoreError::Batch(errors));
    }
    insert_history(&mut tx, &batch.actor, now, &history).await?;
    if let Some(idem) = &batch.idempotency {
        sqlx::query(
            "INSERT INTO idempotency (actor, key, request_hash, status, body, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&idem.actor)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(i64::from(idem.status))
        .bind(&idem.body)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "idempotency key already used"))?;
    }
    tx.commit().await.map_err(db_err)
}

fn conflict(e: sqlx::Error, what: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(what.to_owned())
    } else {
        db_err(e)
    }
}

#[allow(clippy::too_many_arguments)]
async fn creates<'a>(
    tx: &mut Transaction<'_, Sqlite>,
    ops: &'a [Op],
    offset: usize,
    now: i64,
    seen: &mut HashMap<String, String>,
    errors: &mut Vec<ItemError>,
    history: &mut Vec<Hist<'a>>,
) -> Result<()> {
    // Rows to insert: (position, handle, folded, vals).
    let mut rows = Vec::with_capacity(ops.len());
    for (k, op) in ops.iter().enumerate() {
        let Op::Create { handle, values } = op else {
            continue;
        };
        let folded = handle.folded();
        if let Some(first) = seen.get(&folded) {
            errors.push(item(
                offset + k,
                handle.as_str(),
                dup_kind(first, handle.as_str()),
            ));
            continue;
        }
        seen.insert(folded.clone(), handle.as_str().to_owned());
        rows.push((offset + k, handle, folded, values_to_json(values)));
    }
    if rows.is_empty() {
        return Ok(());
    }
    // Existing rows first: this transaction runs on the only writer connection, so nothing
    // can appear between this check and the insert. (A RETURNING clause would stream every
    // inserted row back through the SQLite worker thread.)
    let mut check =
        sqlx::QueryBuilder::<Sqlite>::new("SELECT folded, handle FROM handles WHERE folded IN (");
    let mut sep = check.separated(", ");
    for (_, _, folded, _) in &rows {
        sep.push_bind(folded.as_str());
    }
    check.push(")");
    let existing: HashMap<String, String> = check
        .build_query_as::<(String, String)>()
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
    let mut fresh = Vec::with_capacity(rows.len());
    for row in rows {
        match existing.get(&row.2) {
            Some(e) => errors.push(item(row.0, row.1.as_str(), dup_kind(e, row.1.as_str()))),
            None => fresh.push(row),
        }
    }
    if fresh.is_empty() || !errors.is_empty() {
        return Ok(());
    }
    let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
        "INSERT INTO handles (folded, handle, vals, version, created_at, updated_at) ",
    );
    qb.push_values(&fresh, |mut b, (_, h, folded, vals)| {
        b.push_bind(folded.as_str())
            .push_bind(h.as_str())
            .push_bind(vals.as_str())
            .push("1")
            .push_bind(now)
            .push_bind(now);
    });
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    // A create keeps no copy of its values (see the history table).
    history.extend(fresh.into_iter().map(|(_, h, _, _)| Hist {
        handle: h.as_str(),
        action: HistoryAction::Create,
        before: None,
        after: None,
    }));
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

async fn other<'a>(
    tx: &mut Transaction<'_, Sqlite>,
    op: &'a Op,
    pos: usize,
    now: i64,
    errors: &mut Vec<ItemError>,
    history: &mut Vec<Hist<'a>>,
) -> Result<()> {
    match op {
        Op::Create { .. } => unreachable!("creates are handled in chunks"),
        Op::Update {
            handle,
            expected_version,
            before,
            values,
        } => {
            let vals = values_to_json(values);
            let n = sqlx::query(
                "UPDATE handles SET vals = ?, version = version + 1, updated_at = ? \
                 WHERE folded = ? AND handle = ? AND version = ?",
            )
            .bind(&vals)
            .bind(now)
            .bind(handle.folded())
            .bind(handle.as_str())
            .bind(expected_version)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n == 0 {
                errors.push(item(
                    pos,
                    handle.as_str(),
                    missing_kind(tx, handle.as_str()).await?,
                ));
            } else {
                history.push(Hist {
                    handle: handle.as_str(),
                    action: HistoryAction::Update,
                    before: Some(values_to_json(before)),
                    after: Some(vals),
                });
            }
        }
        Op::Delete {
            handle,
            expected_version,
            before,
        } => {
            let n =
                sqlx::query("DELETE FROM handles WHERE folded = ? AND handle = ? AND version = ?")
                    .bind(handle.folded())
                    .bind(handle.as_str())
                    .bind(expected_version)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
            if n == 0 {
                errors.push(item(
                    pos,
                    handle.as_str(),
                    missing_kind(tx, handle.as_str()).await?,
                ));
            } else {
                history.push(Hist {
                    handle: handle.as_str(),
                    action: HistoryAction::Delete,
                    before: Some(values_to_json(before)),
                    after: None,
                });
            }
        }
        Op::PutSecret {
            handle,
            index,
            secret,
        } => {
            sqlx::query(
                "INSERT INTO secrets (handle, idx, alg, salt, iterations, hash, sealed) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handle, idx) DO UPDATE SET \
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
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Op::DeleteSecret { handle, index } => {
            sqlx::query("DELETE FROM secrets WHERE handle = ? AND (? IS NULL OR idx = ?)")
                .bind(handle)
                .bind(index.map(i64::from))
                .bind(index.map(i64::from))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        Op::CreatePrefix(p) => {
            sqlx::query(
                "INSERT INTO prefixes (prefix, enterprise_id, status, created_at, review, \
                 review_note) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&p.prefix)
            .bind(p.enterprise_id)
            .bind(p.status.as_str())
            .bind(p.created_at)
            .bind(p.review.as_str())
            .bind(&p.review_note)
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict(e, &format!("prefix {} is already allocated", p.prefix)))?;
        }
        Op::SetPrefixStatus { prefix, status } => {
            let n = sqlx::query("UPDATE prefixes SET status = ? WHERE prefix = ?")
                .bind(status.as_str())
                .bind(prefix)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("prefix {prefix}")));
            }
        }
        Op::CreateEnterprise(e) => {
            sqlx::query(
                "INSERT INTO enterprises (id, name, status, created_at, profile) \
                 VALUES (?, ?, 'active', ?, ?)",
            )
            .bind(e.id)
            .bind(&e.name)
            .bind(now)
            .bind(idnode_store::profile_to_json(&e.profile))
            .execute(&mut **tx)
            .await
            .map_err(|err| {
                conflict(
                    err,
                    &format!("enterprise '{}' or id {} exists", e.name, e.id),
                )
            })?;
        }
        Op::SetEnterpriseStatus { id, status } => {
            let n = sqlx::query("UPDATE enterprises SET status = ? WHERE id = ?")
                .bind(status.as_str())
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("enterprise {id}")));
            }
        }
        upstream => {
            crate::outbox::apply_op(tx, upstream).await?;
        }
    }
    Ok(())
}

async fn missing_kind(tx: &mut Transaction<'_, Sqlite>, handle: &str) -> Result<ItemErrorKind> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM handles WHERE folded = ? AND handle = ?")
            .bind(idnode_store::fold(handle))
            .bind(handle)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    Ok(if exists.is_some() {
        ItemErrorKind::VersionConflict
    } else {
        ItemErrorKind::NotFound
    })
}

async fn insert_history(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &str,
    now: i64,
    rows: &[Hist<'_>],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO history (handle, action, actor, at, vals_before, vals_after) ",
        );
        qb.push_values(chunk, |mut b, h| {
            b.push_bind(h.handle)
                .push_bind(h.action.as_str())
                .push_bind(actor)
                .push_bind(now)
                .push_bind(h.before.as_deref())
                .push_bind(h.after.as_deref());
        });
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}
