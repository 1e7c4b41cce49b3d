//! The audit log, written inside each write batch's transaction (see migration 0021): one
//! entry per batch that changes anything an operator or enterprise answers for, chained to
//! the one before under the lock of `audit_head`'s single row.

use std::borrow::Cow;
use std::collections::BTreeMap;

use idnode_store::audit::{AuditAlgorithm, AuditEntry, AuditHasher};
use idnode_store::{Attribution, Batch, Op, Result, StoreError, TemplateOp, TokenOp};

use crate::sql::{Cols, Stmt};
use crate::Dialect;

/// What an operation changes, for the log: its kind and its subject. `None` for the
/// node's own bookkeeping (outbox progress and retries, usage counters, queued actions:
/// each of those accompanies or follows a change that is logged).
fn describe(op: &Op) -> Option<(&'static str, Cow<'_, str>)> {
    let (kind, subject): (&str, Cow<'_, str>) = match op {
        Op::Create { handle, .. } => ("identifier.create", handle.as_str().into()),
        Op::Update { handle, .. } => ("identifier.update", handle.as_str().into()),
        Op::Delete { handle, .. } => ("identifier.delete", handle.as_str().into()),
        Op::PutSecret { handle, index, .. } => ("secret.set", format!("{index}:{handle}").into()),
        Op::DeleteSecret { handle, index } => (
            "secret.delete",
            index.map_or_else(|| handle.into(), |i| format!("{i}:{handle}").into()),
        ),
        Op::CreatePrefix(p) => ("prefix.create", p.prefix.as_str().into()),
        Op::SetPrefixPolicy { prefix, .. } => ("prefix.policy", prefix.into()),
        Op::SetPrefixStatus { prefix, .. } => ("prefix.status", prefix.into()),
        Op::SetPrefixReview { prefix, .. } => ("prefix.review", prefix.into()),
        Op::CreateEnterprise(e) => ("enterprise.create", format!("enterprise {}", e.id).into()),
        Op::SetEnterpriseStatus { id, .. } => {
            ("enterprise.status", format!("enterprise {id}").into())
        }
        Op::SetEnterpriseProfile { id, .. } => {
            ("enterprise.profile", format!("enterprise {id}").into())
        }
        Op::SetEnterpriseUpstream { id, .. } => {
            ("enterprise.upstream", format!("enterprise {id}").into())
        }
        Op::OutboxDead { item, .. } => ("outbox.dead", item.kind.as_str().into()),
        Op::OutboxRequeue { id } => ("outbox.requeue", format!("action {id}").into()),
        Op::RecordDeposit(d) => ("escrow.deposit", d.id.as_str().into()),
        Op::RecordNodeKey { name, .. } => ("node.key", name.into()),
        Op::Template(TemplateOp::Create {
            prefix, version, ..
        }) => ("template.create", format!("{prefix}@{version}").into()),
        Op::Template(TemplateOp::Update {
            prefix, version, ..
        }) => ("template.update", format!("{prefix}@{version}").into()),
        Op::Template(TemplateOp::Delete { prefix, version }) => {
            ("template.delete", format!("{prefix}@{version}").into())
        }
        Op::Token(TokenOp::Issue(t)) => ("token.issue", format!("{}:{}", t.index, t.handle).into()),
        Op::Token(TokenOp::Revoke { .. }) => ("token.revoke", Cow::Borrowed("")),
        _ => return None,
    };
    Some((kind, subject))
}

/// A batch's entry, fed op by op as the batch is written (`apply.rs`), so that its digests
/// cover the bytes the store writes. Each logged op adds its subject (length-prefixed) to
/// both digests, then: an identifier's values as stored (`Types::pack`: the record the
/// `handles` row holds, and `history.packed_before` for the values replaced), each
/// length-prefixed, to `before` (update, delete) and `after` (create, update); any other
/// change its parameters (their `Debug` form) to `after`.
pub(crate) struct Digests<'a> {
    alg: AuditAlgorithm,
    kinds: BTreeMap<&'static str, usize>,
    first: Option<Cow<'a, str>>,
    count: usize,
    /// `None` when the batch replaces nothing: then not computed at all (digests were a
    /// third of a bulk create's instructions).
    before: Option<AuditHasher>,
    after: AuditHasher,
    replaced: bool,
    wrote: bool,
}

impl<'a> Digests<'a> {
    /// The digests of `batch`'s entry, nothing fed yet.
    pub(crate) fn new(batch: &Batch, alg: AuditAlgorithm) -> Self {
        let replaces = batch
            .ops
            .iter()
            .any(|op| matches!(op, Op::Update { .. } | Op::Delete { .. }));
        Self {
            alg,
            kinds: BTreeMap::new(),
            first: None,
            count: 0,
            before: replaces.then(|| alg.hasher()),
            after: alg.hasher(),
            replaced: false,
            wrote: false,
        }
    }

    /// Feeds `op`, written with `before` and `after` its values packed as stored (for an
    /// identifier's create, update or delete; `None` otherwise). Ops not logged are skipped.
    pub(crate) fn op(&mut self, op: &'a Op, before: Option<&[u8]>, after: Option<&[u8]>) {
        let Some((kind, subject)) = describe(op) else {
            return;
        };
        *self.kinds.entry(kind).or_default() += 1;
        self.count += 1;
        if let Some(h) = &mut self.before {
            h.field(subject.as_bytes());
            if let Some(b) = before {
                h.field(b);
                self.replaced = true;
            }
        }
        self.after.field(subject.as_bytes());
        self.first.get_or_insert(subject);
        match op {
            Op::Create { .. } | Op::Update { .. } | Op::Delete { .. } => {
                if let Some(a) = after {
                    self.after.field(a);
                    self.wrote = true;
                }
            }
            other => {
                self.after.field(format!("{other:?}").as_bytes());
                self.wrote = true;
            }
        }
    }

    /// The entry, before its number and chain: `None` when nothing logged was fed.
    fn entry(self, batch: &Batch, at: i64) -> Option<AuditEntry> {
        let first = self.first?;
        let action = self
            .kinds
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
        let target = if self.count > 1 {
            format!("{first} (+{})", self.count - 1)
        } else {
            first.into_owned()
        };
        Some(AuditEntry {
            seq: 0,
            at,
            actor: batch.actor.clone(),
            origin: batch.origin.clone(),
            action,
            target,
            before: match self.before {
                Some(h) if self.replaced => h.finish(),
                _ => Vec::new(),
            },
            after: if self.wrote {
                self.after.finish()
            } else {
                Vec::new()
            },
            alg: self.alg,
            prev: Vec::new(),
            hash: Vec::new(),
        })
    }
}

/// Appends the batch's entry, if it has one, in the batch's transaction (`conn`), as late
/// as possible: the head's row lock is held until the transaction ends.
pub(crate) async fn append<D: Dialect>(
    conn: &mut <D::DB as sqlx::Database>::Connection,
    batch: &Batch,
    digests: Digests<'_>,
    at: i64,
) -> Result<()> {
    match digests.entry(batch, at) {
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

#[cfg(test)]
mod tests {
    use idnode_core::{HandleValue, Identifier};
    use idnode_store::audit::AuditAlgorithm;
    use idnode_store::{Batch, Op};

    use super::Digests;
    use crate::types::Types;

    fn batch(ops: Vec<Op>) -> Batch {
        Batch {
            actor: "cli".into(),
            origin: String::new(),
            ops,
            idempotency: None,
        }
    }

    /// `field` of each part, hashed: what the digests are documented to cover.
    fn expected(parts: &[&[u8]]) -> Vec<u8> {
        let mut h = AuditAlgorithm::Sm3.hasher();
        for p in parts {
            h.field(p);
        }
        h.finish()
    }

    #[test]
    fn digests_cover_each_subject_and_the_values_as_stored() {
        let types = Types::default();
        let id = |h: &str| Identifier::parse(h).unwrap();
        let (v1, v2) = (
            vec![HandleValue::text(1, "URL", "https://a")],
            vec![HandleValue::text(1, "URL", "https://b")],
        );
        let (p1, p2) = (types.pack(&v1), types.pack(&v2));
        let creates = batch(vec![
            Op::Create {
                handle: id("88.118.8/A"),
                values: v1.clone(),
            },
            Op::Create {
                handle: id("88.118.8/B"),
                values: v2.clone(),
            },
        ]);
        let mut d = Digests::new(&creates, AuditAlgorithm::Sm3);
        for (op, p) in creates.ops.iter().zip([&p1, &p2]) {
            d.op(op, None, Some(p));
        }
        let e = d.entry(&creates, 7).unwrap();
        assert_eq!(e.after, expected(&[b"88.118.8/A", &p1, b"88.118.8/B", &p2]));
        assert!(e.before.is_empty(), "nothing replaced");
        assert_eq!(
            (e.action.as_str(), e.target.as_str()),
            ("identifier.create×2", "88.118.8/A (+1)")
        );

        let update = batch(vec![Op::Update {
            handle: id("88.118.8/A"),
            expected_version: 1,
            before: v1,
            values: v2,
        }]);
        let mut d = Digests::new(&update, AuditAlgorithm::Sm3);
        d.op(&update.ops[0], Some(&p1), Some(&p2));
        let e = d.entry(&update, 8).unwrap();
        assert_eq!(e.before, expected(&[b"88.118.8/A", &p1]));
        assert_eq!(e.after, expected(&[b"88.118.8/A", &p2]));

        // Bookkeeping alone makes no entry.
        let usage = batch(vec![Op::AddUsage {
            day: "2026-12-06".into(),
            metric: "m".into(),
            delta: 1,
        }]);
        let mut d = Digests::new(&usage, AuditAlgorithm::Sm3);
        d.op(&usage.ops[0], None, None);
        assert!(d.entry(&usage, 9).is_none());
    }
}
