//! Per-enterprise allowances: how many identifiers an enterprise may hold (beyond it, RC 604)
//! and how many prefixes (RC 605). An allowance is the owning enterprise's, whoever writes:
//! identifiers the operator registers (REST, batches, `idnode import`) under an enterprise's
//! prefix count against that enterprise; only the node's own prefixes are not limited.
//!
//! Counting an enterprise's identifiers is a key-range count per prefix, so the count is
//! cached for [`COUNT_TTL`] and adjusted after every write made through this registry.
//! The check and the commit are not one transaction: concurrent writes of one enterprise
//! (on this node, or on another node sharing the PostgreSQL database, whose writes are seen
//! only when the cached count expires) can each pass the check and overshoot the limit by
//! what they write together. The allowance is a policy bound, not an invariant.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idnode_store::{Op, Store};
use moka::future::Cache;

use crate::scope::PrefixCache;
use crate::{RegistryError, Result};

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

/// The handle `op` registers (+1) or deletes (-1), if any.
fn op_count(op: &Op) -> Option<(&idnode_core::Identifier, i64)> {
    match op {
        Op::Create { handle, .. } => Some((handle, 1)),
        Op::Delete { handle, .. } => Some((handle, -1)),
        _ => None,
    }
}

/// What one write adds to one enterprise's identifiers.
#[derive(Debug)]
pub(crate) struct Charge {
    enterprise: i64,
    name: String,
    net: i64,
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

    /// The identifiers `enterprise` holds (counted, then kept up to date for a while).
    pub(crate) async fn held(&self, store: &Arc<dyn Store>, enterprise: i64) -> Result<i64> {
        Ok(self.count(store, enterprise).await?.load(Ordering::Relaxed))
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

    /// What `ops` add to each enterprise owning a prefix they write under (none when
    /// identifiers are unlimited; prefix handles and the node's own prefixes are not charged).
    pub(crate) async fn charges(&self, prefixes: &PrefixCache, ops: &[Op]) -> Result<Vec<Charge>> {
        if self.quotas.identifiers_per_enterprise.is_none() {
            return Ok(Vec::new());
        }
        let mut per_prefix: HashMap<&str, i64> = HashMap::new();
        for (handle, n) in ops.iter().filter_map(op_count) {
            if !handle.is_prefix_handle() {
                *per_prefix.entry(handle.prefix()).or_default() += n;
            }
        }
        let mut per_enterprise: BTreeMap<i64, Charge> = BTreeMap::new();
        for (prefix, net) in per_prefix {
            let Some(info) = prefixes.get(prefix).await? else {
                continue;
            };
            let (Some(id), Some(e)) = (info.record.enterprise_id, info.enterprise.as_ref()) else {
                continue;
            };
            per_enterprise
                .entry(id)
                .or_insert_with(|| Charge {
                    enterprise: id,
                    name: e.name.clone(),
                    net: 0,
                })
                .net += net;
        }
        Ok(per_enterprise.into_values().collect())
    }

    /// Refuses a write whose `charges` would take an enterprise past its identifier allowance.
    pub(crate) async fn check(&self, store: &Arc<dyn Store>, charges: &[Charge]) -> Result<()> {
        let Some(max) = self.quotas.identifiers_per_enterprise else {
            return Ok(());
        };
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        for c in charges.iter().filter(|c| c.net > 0) {
            let held = self
                .count(store, c.enterprise)
                .await?
                .load(Ordering::Relaxed);
            if held.saturating_add(c.net) > max {
                return Err(RegistryError::RegistrationLimit(format!(
                    "enterprise {} holds {held} identifiers of the {max} it may register; \
                     {} more would exceed it",
                    c.name, c.net
                )));
            }
        }
        Ok(())
    }

    /// Adds the `charges` of a committed write to the cached counts.
    pub(crate) async fn record(&self, charges: &[Charge]) {
        for c in charges {
            if let Some(n) = self.counts.get(&c.enterprise).await {
                n.fetch_add(c.net, Ordering::Relaxed);
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
