//! Per-enterprise allowances: how many identifiers an enterprise may hold (beyond it, RC 604)
//! and how many prefixes (RC 605). The operator's own writes are not limited.
//!
//! Counting an enterprise's identifiers is a key-range count per prefix, so the count is
//! cached for [`COUNT_TTL`] and adjusted after every write made through this registry.
//! The check and the commit are not one transaction: concurrent writes of one enterprise
//! (on this node, or on another node sharing the PostgreSQL database, whose writes are seen
//! only when the cached count expires) can each pass the check and overshoot the limit by
//! what they write together. The allowance is a policy bound, not an invariant.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idnode_store::{Op, Store};
use moka::future::Cache;

use crate::{Principal, RegistryError, Result};

/// How long a counted usage is trusted.
const COUNT_TTL: Duration = Duration::from_secs(30);

/// The node's allowances (None: unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quotas {
    /// Identifiers one enterprise may hold.
    pub identifiers_per_enterprise: Option<u64>,
    /// Prefixes one enterprise may hold.
    pub prefixes_per_enterprise: Option<u64>,
}

/// Allowances and the cached identifier counts they are checked against.
pub(crate) struct Usage {
    pub(crate) quotas: Quotas,
    counts: Cache<i64, Arc<AtomicI64>>,
}

/// Creates minus deletes of handles in `ops`.
pub(crate) fn net_creates(ops: &[Op]) -> i64 {
    ops.iter()
        .map(|op| match op {
            Op::Create { .. } => 1,
            Op::Delete { .. } => -1,
            _ => 0,
        })
        .sum()
}

impl Usage {
    pub(crate) fn new(quotas: Quotas) -> Self {
        Self {
            quotas,
            counts: Cache::builder()
                .time_to_live(COUNT_TTL)
                .max_capacity(100_000)
                .build(),
        }
    }

    async fn count(&self, store: &Arc<dyn Store>, enterprise: i64) -> Result<Arc<AtomicI64>> {
        if let Some(n) = self.counts.get(&enterprise).await {
            return Ok(n);
        }
        let mut n = 0u64;
        for p in store.list_prefixes(Some(enterprise)).await? {
            n += store.list_handles(&p.prefix, 0, 0).await?.0;
        }
        let n = Arc::new(AtomicI64::new(i64::try_from(n).unwrap_or(i64::MAX)));
        self.counts.insert(enterprise, n.clone()).await;
        Ok(n)
    }

    /// Refuses `ops` when they would take enterprise `p` past its identifier allowance.
    pub(crate) async fn check(
        &self,
        store: &Arc<dyn Store>,
        p: &Principal,
        ops: &[Op],
    ) -> Result<()> {
        let (Some(max), Principal::Enterprise { id, .. }) =
            (self.quotas.identifiers_per_enterprise, p)
        else {
            return Ok(());
        };
        let added = net_creates(ops);
        if added <= 0 {
            return Ok(());
        }
        let held = self.count(store, *id).await?.load(Ordering::Relaxed);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        if held.saturating_add(added) > max {
            return Err(RegistryError::RegistrationLimit(format!(
                "the enterprise holds {held} identifiers of the {max} it may register; \
                 {added} more would exceed it"
            )));
        }
        Ok(())
    }

    /// Records `net` handles created (negative: deleted) by `p` in the cached count.
    pub(crate) async fn record(&self, p: &Principal, net: i64) {
        if let Principal::Enterprise { id, .. } = p {
            if let Some(n) = self.counts.get(id).await {
                n.fetch_add(net, Ordering::Relaxed);
            }
        }
    }

    /// Refuses another prefix for an enterprise holding `held` of them.
    pub(crate) fn check_prefixes(&self, held: usize) -> Result<()> {
        match self.quotas.prefixes_per_enterprise {
            Some(max) if held as u64 >= max => Err(RegistryError::PrefixLimit(format!(
                "the enterprise holds {held} prefixes, the most it may"
            ))),
            _ => Ok(()),
        }
    }
}
