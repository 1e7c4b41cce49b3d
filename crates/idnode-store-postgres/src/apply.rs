//! The single write path: a whole [`Batch`] in one transaction, bulk parts as `UNNEST`.

use std::collections::{HashMap, HashSet};

use idnode_core::json::values_to_json;
use idnode_store::{
    now_millis, Batch, HistoryAction, ItemError, ItemErrorKind, Op, Result, StoreError,
};
use sqlx::{PgPool, Postgres, Transaction};

use crate::{copy, db_err, is_unique_violation};

/// Creates per `UNNEST` statement.
const CHUNK: usize = 10_000;

#[derive(Default)]
struct Hist {
    handles: Vec<String>,
    actions: Vec<&'static str>,
    before: Vec<Option<String>>,
    after: Vec<Option<String>>,
}

impl Hist {
    fn push(&mut self, h: &str, a: HistoryAction, before: Option<String>, after: Option<String>) {
        self.handles.push(h.to_owned());
        self.actions.push(a.as_str());
        self.before.push(before);
        self.after.push(after);
    }
}

pub(crate) async fn apply(pool: &PgPool, batch: &Batch) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let now = now_millis();
    let mut errors = Vec::new();
    let mut history = Hist::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    let ops = &batch.ops;
    let mut i = 0;
    while i < ops.len() {
        if matches!(ops[i], Op::Create { .. }) {
            let start = i;
            while i < ops.len() && matches!(ops[i], Op::Create { .. }) && i - start < CHUNK {
                i += 1;
            }
            let chunk = Chunk {
                ops: &ops[start..i],
                offset: start,
            };
            creates(&mut tx, chunk, now, &mut seen, &mut errors, &mut history).await?;
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
    if !history.handles.is_empty() {
        let mut rows = String::with_capacity(history.handles.len() * 64);
        let at = now.to_string();
        for i in 0..history.handles.len() {
            copy::field(&mut rows, &history.handles[i]);
            rows.push('\t');
            rows.push_str(history.actions[i]);
            rows.push('\t');
            copy::field(&mut rows, &batch.actor);
            rows.push('\t');
            rows.push_str(&at);
            rows.push('\t');
            copy::opt_field(&mut rows, history.before[i].as_deref());
            rows.push('\t');
            copy::opt_field(&mut rows, history.after[i].as_deref());
            rows.push('\n');
        }
        copy::copy_in(
            &mut tx,
            "COPY history (handle, action, actor, at, vals_before, vals_after) FROM STDIN",
            &rows,
        )
        .await
        .map_err(db_err)?;
    }
    if let Some(idem) = &batch.idempotency {
        sqlx::query(
            "INSERT INTO idempotency (actor, key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&idem.actor)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(i32::from(idem.status))
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

struct Chunk<'a> {
    ops: &'a [Op],
    offset: usize,
}

async fn creates(
    tx: &mut Transaction<'_, Postgres>,
    chunk: Chunk<'_>,
    now: i64,
    seen: &mut HashMap<String, String>,
    errors: &mut Vec<ItemError>,
    history: &mut Hist,
) -> Result<()> {
    let n = chunk.ops.len();
    let (mut pos, mut handles, mut folded, mut vals) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (k, op) in chunk.ops.iter().enumerate() {
        let Op::Create { handle, values } = op else {
            continue;
        };
        let f = handle.folded();
        if let Some(first) = seen.get(&f) {
            errors.push(item(
                chunk.offset + k,
                handle.as_str(),
                dup_kind(first, handle.as_str()),
            ));
            continue;
        }
        seen.insert(f.clone(), handle.as_str().to_owned());
        pos.push(chunk.offset + k);
        handles.push(handle.as_str());
        folded.push(f);
        vals.push(values_to_json(values));
    }
    if handles.is_empty() {
        return Ok(());
    }
    // Fast path: one COPY. Only if it meets an existing handle does the chunk go through
    // INSERT … ON CONFLICT DO NOTHING, which names every conflicting item.
    let mut rows = String::with_capacity(handles.len() * 160);
    let tail = format!("\t1\t{now}\t{now}\n");
    for ((h, f), v) in handles.iter().zip(&folded).zip(&vals) {
        copy::field(&mut rows, f);
        rows.push('\t');
        copy::field(&mut rows, h);
        rows.push('\t');
        copy::field(&mut rows, v);
        rows.push_str(&tail);
    }
    // With errors already found the batch fails anyway: skip the COPY, name the conflicts.
    let copied = errors.is_empty()
        && copy::try_copy(
            tx,
            "COPY handles (folded, handle, vals, version, created_at, updated_at) FROM STDIN",
            &rows,
        )
        .await?;
    if copied {
        for h in handles {
            // A create keeps no copy of its values (see the history table).
            history.push(h, HistoryAction::Create, None, None);
        }
        return Ok(());
    }
    let inserted: HashSet<String> = sqlx::query_scalar(
        "INSERT INTO handles (folded, handle, vals, version, created_at, updated_at) \
         SELECT f, h, v, 1, $4, $4 \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(f, h, v) \
         ON CONFLICT DO NOTHING RETURNING handle",
    )
    .bind(&folded)
    .bind(&handles)
    .bind(&vals)
    .bind(now)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?
    .into_iter()
    .collect();
    for ((p, h), f) in pos.into_iter().zip(handles).zip(folded) {
        if inserted.contains(h) {
            // A create keeps no copy of its values (see the history table).
            history.push(h, HistoryAction::Create, None, None);
            continue;
        }
        let existing: Option<String> =
            sqlx::query_scalar("SELECT handle FROM handles WHERE folded = $1")
                .bind(&f)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
        let kind = existing.map_or(ItemErrorKind::Exists, |e| dup_kind(&e, h));
        errors.push(item(p, h, kind));
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

async fn other(
    tx: &mut Transaction<'_, Postgres>,
    op: &Op,
    pos: usize,
    now: i64,
    errors: &mut Vec<ItemError>,
    history: &mut Hist,
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
                "UPDATE handles SET vals = $1, version = version + 1, updated_at = $2 \
                 WHERE folded = $3 AND handle = $4 AND version = $5",
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
                history.push(
                    handle.as_str(),
                    HistoryAction::Update,
                    Some(values_to_json(before)),
                    Some(vals),
                );
            }
        }
        Op::Delete {
            handle,
            expected_version,
            before,
        } => {
            let n = sqlx::query(
                "DELETE FROM handles WHERE folded = $1 AND handle = $2 AND version = $3",
            )
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
                history.push(
                    handle.as_str(),
                    HistoryAction::Delete,
                    Some(values_to_json(before)),
                    None,
                );
            }
        }
        Op::PutSecret {
            handle,
            index,
            secret,
        } => {
            sqlx::query(
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
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Op::DeleteSecret { handle, index } => {
            sqlx::query(
                "DELETE FROM secrets WHERE handle = $1 AND ($2::bigint IS NULL OR idx = $2)",
            )
            .bind(handle)
            .bind(index.map(i64::from))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Op::CreatePrefix(p) => {
            sqlx::query(
                "INSERT INTO prefixes (prefix, enterprise_id, status, created_at, review, \
                 review_note) VALUES ($1, $2, $3, $4, $5, $6)",
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
            let n = sqlx::query("UPDATE prefixes SET status = $1 WHERE prefix = $2")
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
                 VALUES ($1, $2, 'active', $3, $4)",
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
            let n = sqlx::query("UPDATE enterprises SET status = $1 WHERE id = $2")
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

async fn missing_kind(tx: &mut Transaction<'_, Postgres>, handle: &str) -> Result<ItemErrorKind> {
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM handles WHERE folded = $1 AND handle = $2")
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
