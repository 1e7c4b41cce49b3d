//! What the operator's console reads of the whole node: counts, the upstream outbox, the
//! audit log. Operator only.

use idnode_store::{AuditEntry, OutboxStats, StoreStats};

use crate::{Principal, Registry, Result};

/// Counts of the node's data and of its outbox to the top-level node.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Identifiers, enterprises, prefixes.
    pub stats: StoreStats,
    /// Actions waiting for, refused by, delivered to the top-level node.
    pub outbox: OutboxStats,
}

impl Registry {
    /// The node's counts (operator only).
    pub async fn overview(&self, p: &Principal) -> Result<Overview> {
        Self::require_operator(p)?;
        Ok(Overview {
            stats: self.store.stats().await?,
            outbox: self.store.outbox_stats().await?,
        })
    }

    /// The node's allowances, and the identifiers enterprise `id` holds (operator, or the
    /// enterprise itself).
    pub async fn quota_use(&self, p: &Principal, id: i64) -> Result<(crate::Quotas, i64)> {
        self.enterprise(p, id).await?;
        let held = self.usage.held(&self.store, id).await?;
        Ok((self.usage.quotas, held))
    }

    /// Up to `limit` audit log entries before entry `before` (the newest when `None`),
    /// newest first (operator only).
    pub async fn audit_page(
        &self,
        p: &Principal,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>> {
        Self::require_operator(p)?;
        let (head, _) = self.store.audit_head().await?;
        let before = before.unwrap_or(head + 1).clamp(1, head + 1);
        let after = (before - 1 - limit as i64).max(0);
        let mut entries = self.store.audit_entries(after, limit).await?;
        entries.retain(|e| e.seq < before);
        entries.reverse();
        Ok(entries)
    }
}
