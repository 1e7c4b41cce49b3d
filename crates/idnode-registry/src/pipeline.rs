//! The one write step every registry operation ends in (REST PUT/DELETE, batches, `idnode
//! import`, Handle protocol writes, onboarding, upstream bookkeeping): the template check of
//! every identifier naming a template version (`conform.rs`), the identifier quota of each
//! enterprise whose prefixes it writes under, the upstream action queued with the change, the atomic apply, then the
//! usage count, the invalidation of every touched handle (resolver cache and remembered
//! credentials) and the registrations counter. Callers plan their operations and retry on a
//! version conflict; a rule added here holds on every path.

use idnode_store::{Batch, Idempotency, ItemErrorKind, Op, StoreError};

use crate::{Principal, Registry, RegistryError};

/// Why a write did not happen.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// Refused before anything was written (values that do not fit their template, over
    /// quota, or what those checks read could not be read).
    Refused(RegistryError),
    /// The store refused or failed; nothing was written.
    Store(StoreError),
}

impl WriteFailure {
    /// Whether every problem is a concurrent change (re-plan and retry).
    pub(crate) fn is_version_conflict(&self) -> bool {
        matches!(self, Self::Store(StoreError::Batch(items))
            if items.iter().all(|i| i.kind == ItemErrorKind::VersionConflict))
    }
}

impl From<WriteFailure> for RegistryError {
    fn from(f: WriteFailure) -> Self {
        match f {
            WriteFailure::Refused(e) => e,
            WriteFailure::Store(e) => e.into(),
        }
    }
}

/// The handles whose records or secrets `ops` change, each once.
fn touched(ops: &[Op]) -> Vec<String> {
    let mut handles: Vec<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Create { handle, .. } | Op::Update { handle, .. } | Op::Delete { handle, .. } => {
                Some(handle.as_str().to_owned())
            }
            Op::PutSecret { handle, .. } | Op::DeleteSecret { handle, .. } => Some(handle.clone()),
            _ => None,
        })
        .collect();
    handles.sort_unstable();
    handles.dedup();
    handles
}

impl Registry {
    /// Applies `ops` as `p` in one transaction, through the write step (module docs).
    pub(crate) async fn commit(&self, p: &Principal, ops: Vec<Op>) -> Result<(), WriteFailure> {
        self.commit_with(p, ops, None).await
    }

    /// [`Registry::commit`], recording the answer under an idempotency key in the same
    /// transaction.
    pub(crate) async fn commit_with(
        &self,
        p: &Principal,
        mut ops: Vec<Op>,
        idempotency: Option<Idempotency>,
    ) -> Result<(), WriteFailure> {
        let conformed = self.conform(&ops).await.map_err(WriteFailure::Refused)?;
        ops.extend(conformed.extra);
        let charges = self
            .usage
            .charges(&self.prefixes, &ops)
            .await
            .map_err(WriteFailure::Refused)?;
        self.usage
            .check(&self.store, &charges)
            .await
            .map_err(WriteFailure::Refused)?;
        let created = ops
            .iter()
            .filter(|op| matches!(op, Op::Create { .. }))
            .count();
        let handles = touched(&ops);
        let template_use = self
            .template_use_of(&ops)
            .await
            .map_err(WriteFailure::Refused)?;
        self.queue_identifier_sync(&mut ops);
        self.store
            .apply(&Batch {
                actor: p.actor().to_owned(),
                ops,
                idempotency,
                origin: crate::origin::current(),
            })
            .await
            .map_err(WriteFailure::Store)?;
        self.usage.record(&charges).await;
        self.count_template_use(template_use);
        for (prefix, version) in &conformed.used {
            self.templates.forget(prefix, version);
        }
        self.invalidate(handles.iter().map(String::as_str));
        self.registrations.increment(created as u64);
        Ok(())
    }
}
