//! The audit log, written inside each write batch's transaction (see migration 0021): one
//! entry per batch that changes anything an operator or enterprise answers for, chained to
//! the one before under the lock of `audit_head`'s single row.

use std::collections::BTreeMap;

use idnode_core::{HandleValue, Ttl};
use idnode_store::audit::{AuditAlgorithm, AuditEntry, AuditHasher};
use idnode_store::{Attribution, Batch, Op, Result, StoreError, TemplateOp, TokenOp};

use crate::sql::{Cols, Stmt};
use crate::Dialect;

/// What an operation changes, for the log: its kind and its subject. `None` for the
/// node's own bookkeeping (outbox progress and retries, usage counters, queued actions:
/// each of those accompanies or follows a change that is logged).
fn describe(op: &Op) -> Option<(&'static str, String)> {
    Some(match op {
        Op::Create { handle, .. } => ("identifier.create", handle.as_str().to_owned()),
        Op::Update { handle, .. } => ("identifier.update", handle.as_str().to_owned()),
        Op::Delete { handle, .. } => ("identifier.delete", handle.as_str().to_owned()),
        Op::PutSecret { handle, index, .. } => ("secret.set", format!("{index}:{handle}")),
        Op::DeleteSecret { handle, index } => (
            "secret.delete",
            index.map_or_else(|| handle.clone(), |i| format!("{i}:{handle}")),
        ),
        Op::CreatePrefix(p) => ("prefix.create", p.prefix.clone()),
        Op::SetPrefixPolicy { prefix, .. } => ("prefix.policy", prefix.clone()),
        Op::SetPrefixStatus { prefix, .. } => ("prefix.status", prefix.clone()),
        Op::SetPrefixReview { prefix, .. } => ("prefix.review", prefix.clone()),
        Op::CreateEnterprise(e) => ("enterprise.create", format!("enterprise {}", e.id)),
        Op::SetEnterpriseStatus { id, .. } => ("enterprise.status", format!("enterprise {id}")),
        Op::SetEnterpriseProfile { id, .. } => ("enterprise.profile", format!("enterprise {id}")),
        Op::SetEnterpriseUpstream { id, .. } => ("enterprise.upstream", format!("enterprise {id}")),
        Op::OutboxDead { item, .. } => ("outbox.dead", item.kind.clone()),
        Op::OutboxRequeue { id } => ("outbox.requeue", format!("action {id}")),
        Op::RecordDeposit(d) => ("escrow.deposit", d.id.clone()),
        Op::RecordNodeKey { name, .. } => ("node.key", name.clone()),
        Op::Template(TemplateOp::Create {
            prefix, version, ..
        }) => ("template.create", format!("{prefix}@{version}")),
        Op::Template(TemplateOp::Update {
            prefix, version, ..
        }) => ("template.update", format!("{prefix}@{version}")),
        Op::Template(TemplateOp::Delete { prefix, version }) => {
            ("template.delete", format!("{prefix}@{version}"))
        }
        Op::Token(TokenOp::Issue(t)) => ("token.issue", format!("{}:{}", t.index, t.handle)),
        Op::Token(TokenOp::Revoke { .. }) => ("token.revoke", String::new()),
        _ => return None,
    })
}

/// Feeds `values` to `h` in a canonical binary form: their number, then per value its
/// index, type, data, time to live and permissions, texts and data length-prefixed (no
/// JSON, nothing buffered).
fn feed_values(h: &mut AuditHasher, values: &[HandleValue]) {
    h.update(
        &u32::try_from(values.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for v in values {
        h.update(&v.index.to_be_bytes());
        h.field(v.type_name.as_bytes());
        h.field(&v.data);
        let (kind, ttl) = match v.ttl {
            Ttl::Relative(t) => (0u8, t),
            Ttl::Absolute(t) => (1u8, t),
        };
        h.update(&[kind, v.permissions.bits()]);
        h.update(&ttl.to_be_bytes());
    }
}

/// The entry a batch appends, before its number and chain: `None` when it changes nothing
/// the log records. The digests cover, op by op, the values replaced (`before`) and those
/// written (`after`; for other changes, their parameters); empty when there were none.
fn entry_of(batch: &Batch, alg: AuditAlgorithm, at: i64) -> Option<AuditEntry> {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut first, mut count) = (None, 0usize);
    let (mut before, mut after) = (alg.hasher(), alg.hasher());
    let (mut replaced, mut wrote) = (false, false);
    // Without an update or a delete the `before` digest is left empty: not computed at all
    // (hashing is a fifth of a bulk create's time).
    let replaces = batch
        .ops
        .iter()
        .any(|op| matches!(op, Op::Update { .. } | Op::Delete { .. }));
    for op in &batch.ops {
        let Some((kind, target)) = describe(op) else {
            continue;
        };
        *kinds.entry(kind).or_default() += 1;
        if replaces {
            before.field(target.as_bytes());
        }
        after.field(target.as_bytes());
        first.get_or_insert(target);
        count += 1;
        match op {
            Op::Create { values, .. } => {
                feed_values(&mut after, values);
                wrote = true;
            }
            Op::Update {
                before: b, values, ..
            } => {
                feed_values(&mut before, b);
                feed_values(&mut after, values);
                (replaced, wrote) = (true, true);
            }
            Op::Delete { before: b, .. } => {
                feed_values(&mut before, b);
                replaced = true;
            }
            other => {
                after.field(format!("{other:?}").as_bytes());
                wrote = true;
            }
        }
    }
    let first = first?;
    let action = kinds
        .iter()
        .map(|(k, n)| {
            if *n == 1 {
                (*k).to_owned()
            } else {
                format!("{k}×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let target = if count > 1 {
        format!("{first} (+{})", count - 1)
    } else {
        first
    };
    Some(AuditEntry {
        seq: 0,
        at,
        actor: batch.actor.clone(),
        origin: batch.origin.clone(),
        action,
        target,
        before: if replaced {
            before.finish()
        } else {
            Vec::new()
        },
        after: if wrote { after.finish() } else { Vec::new() },
        alg,
        prev: Vec::new(),
        hash: Vec::new(),
    })
}

/// Appends the batch's entry, if it has one, in the batch's transaction (`conn`), as late
/// as possible: the head's row lock is held until the transaction ends.
pub(crate) async fn append<D: Dialect>(
    conn: &mut <D::DB as sqlx::Database>::Connection,
    batch: &Batch,
    alg: AuditAlgorithm,
    at: i64,
) -> Result<()> {
    match entry_of(batch, alg, at) {
        Some(e) => chain::<D>(conn, e).await,
        None => Ok(()),
    }
}

/// The entry of a write outside batches (EPCIS captures, read grants, named queries,
/// subscriptions): `action` on `target` by `by`, its `after` digest over `fields` (each
/// length-prefixed).
pub(crate) fn entry(
    by: &Attribution,
    action: &str,
    target: String,
    fields: &[&[u8]],
    alg: AuditAlgorithm,
) -> AuditEntry {
    let mut h = alg.hasher();
    for f in fields {
        h.field(f);
    }
    AuditEntry {
        seq: 0,
        at: idnode_store::now_millis(),
        actor: by.actor.clone(),
        origin: by.origin.clone(),
        action: action.to_owned(),
        target,
        before: Vec::new(),
        after: h.finish(),
        alg,
        prev: Vec::new(),
        hash: Vec::new(),
    }
}

/// Chains `e` after the head and stores it, in the writing transaction (`conn`), which
/// holds the head's row lock until it ends.
pub(crate) async fn chain<D: Dialect>(
    conn: &mut <D::DB as sqlx::Database>::Connection,
    mut e: AuditEntry,
) -> Result<()> {
    let head = Stmt::new(format!(
        "SELECT seq, hash FROM audit_head WHERE id = 1{}",
        D::FOR_UPDATE
    ))
    .optional::<D::DB>(&mut *conn)
    .await
    .map_err(D::error)?
    .ok_or_else(|| StoreError::Corrupt("audit_head has no row".into()))?;
    let c = Cols::<D::DB>(&head);
    e.seq = c.int("seq")? + 1;
    e.prev = c.bytes("hash")?;
    e.hash = e.chain_hash();
    Stmt::new(
        "INSERT INTO audit_log (seq, at, actor, origin, action, target, before, after, alg, \
         prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(e.seq)
    .bind(e.at)
    .bind(e.actor.as_str())
    .bind(e.origin.as_str())
    .bind(e.action.as_str())
    .bind(e.target.as_str())
    .bind(e.before.clone())
    .bind(e.after.clone())
    .bind(e.alg.as_str())
    .bind(e.prev.clone())
    .bind(e.hash.clone())
    .execute::<D::DB>(&mut *conn)
    .await
    .map_err(D::error)?;
    Stmt::new("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(e.seq)
        .bind(e.hash)
        .execute::<D::DB>(&mut *conn)
        .await
        .map_err(D::error)?;
    Ok(())
}

/// One stored entry.
pub(crate) fn entry_row<D: Dialect>(row: &<D::DB as sqlx::Database>::Row) -> Result<AuditEntry> {
    let c = Cols::<D::DB>(row);
    Ok(AuditEntry {
        seq: c.int("seq")?,
        at: c.int("at")?,
        actor: c.string("actor")?,
        origin: c.string("origin")?,
        action: c.string("action")?,
        target: c.string("target")?,
        before: c.bytes("before")?,
        after: c.bytes("after")?,
        alg: c.parsed("alg", AuditAlgorithm::parse)?,
        prev: c.bytes("prev")?,
        hash: c.bytes("hash")?,
    })
}
