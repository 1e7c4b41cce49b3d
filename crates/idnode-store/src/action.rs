//! The contract of the upstream outbox: what the node owes the top-level node. The registry
//! queues actions in the transaction of the local change that causes them; `idnode-upstream`
//! delivers them. Each is stored as an outbox row of its kind and JSON payload.

use serde::{Deserialize, Serialize};

use crate::{OutboxItem, OutboxRow, StoreError};

/// A change of one identifier, as reported upstream (public URL values only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum IdentifierChange {
    /// Registered.
    Create {
        /// The identifier.
        name: String,
        /// Its public URLs.
        urls: Vec<String>,
    },
    /// Changed.
    Update {
        /// The identifier.
        name: String,
        /// URLs added.
        added: Vec<String>,
        /// URLs removed.
        removed: Vec<String>,
    },
    /// Deleted.
    Delete {
        /// The identifier.
        name: String,
    },
}

/// An upstream action. Each has one or more steps (EPP commands); the outbox cursor counts
/// the steps acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Action {
    /// `ent:create` of an enterprise; its `entId` is recorded.
    #[serde(rename = "enterprise.create")]
    EnterpriseCreate {
        /// Local enterprise id.
        enterprise: i64,
    },
    /// `ent:update` (full) of an enterprise's material.
    #[serde(rename = "enterprise.update")]
    EnterpriseUpdate {
        /// Local enterprise id.
        enterprise: i64,
    },
    /// `prefix:create`: the application for an enterprise prefix (reviewed upstream).
    #[serde(rename = "prefix.apply")]
    PrefixApply {
        /// The prefix.
        prefix: String,
    },
    /// `identifier:create` (or update, when it exists) of a prefix with this node's HS_SITE
    /// and the prefix's administrators: where resolution of the prefix is referred.
    #[serde(rename = "site.register")]
    SiteRegister {
        /// The prefix.
        prefix: String,
    },
    /// Identifier changes, one step each.
    #[serde(rename = "identifier.sync")]
    Identifiers {
        /// The changes, in commit order.
        changes: Vec<IdentifierChange>,
    },
    /// Uploads an escrow deposit's files (data, signature, report) to the escrow agent, one
    /// step each.
    #[serde(rename = "escrow.deposit")]
    EscrowDeposit {
        /// Deposit id.
        id: String,
        /// File names in the escrow directory.
        files: Vec<String>,
    },
    /// Sends a deposit's report to the top-level node's report interface.
    #[serde(rename = "escrow.report")]
    EscrowReport {
        /// Deposit id.
        id: String,
        /// The report file in the escrow directory.
        file: String,
    },
    /// Publishes the node's IIIDAP base URLs in the top-level node's bootstrap registry.
    #[serde(rename = "iiidap.bootstrap")]
    Bootstrap {
        /// Base URLs, each ending in `/`.
        urls: Vec<String>,
    },
    /// Sends a statistics report (JSON) to the top-level node.
    #[serde(rename = "report.statistics")]
    Statistics {
        /// Report period, e.g. `daily/2026-11-25` or `monthly/2026-10`.
        period: String,
        /// The report file in the reports directory.
        file: String,
    },
}

impl Action {
    /// The outbox `kind` of the action.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EnterpriseCreate { .. } => "enterprise.create",
            Self::EnterpriseUpdate { .. } => "enterprise.update",
            Self::PrefixApply { .. } => "prefix.apply",
            Self::SiteRegister { .. } => "site.register",
            Self::Identifiers { .. } => "identifier.sync",
            Self::EscrowDeposit { .. } => "escrow.deposit",
            Self::EscrowReport { .. } => "escrow.report",
            Self::Statistics { .. } => "report.statistics",
            Self::Bootstrap { .. } => "iiidap.bootstrap",
        }
    }

    /// Number of steps (EPP commands) the action takes.
    pub fn steps(&self) -> u32 {
        match self {
            Self::Identifiers { changes } => changes.len() as u32,
            Self::EscrowDeposit { files, .. } => files.len() as u32,
            _ => 1,
        }
    }

    /// The outbox item queuing this action.
    pub fn item(&self) -> OutboxItem {
        OutboxItem {
            kind: self.kind().to_owned(),
            payload: serde_json::to_string(self).expect("plain data serialises"),
        }
    }

    /// The action of an outbox row.
    pub fn from_row(row: &OutboxRow) -> Result<Self, StoreError> {
        let action: Self = serde_json::from_str(&row.payload)
            .map_err(|e| StoreError::Corrupt(format!("upstream action {}: {e}", row.id)))?;
        if action.kind() != row.kind {
            return Err(StoreError::Corrupt(format!(
                "upstream action {} is a {} but holds a {}",
                row.id,
                row.kind,
                action.kind()
            )));
        }
        Ok(action)
    }

    /// Whether the action speaks EPP (the others are HTTPS uploads).
    pub fn uses_epp(&self) -> bool {
        !matches!(
            self,
            Self::EscrowDeposit { .. }
                | Self::EscrowReport { .. }
                | Self::Statistics { .. }
                | Self::Bootstrap { .. }
        )
    }

    /// The same action reduced to step `k` (for recording a refused step as dead).
    pub fn step(&self, k: u32) -> Self {
        match self {
            Self::Identifiers { changes } => Self::Identifiers {
                changes: changes.get(k as usize).cloned().into_iter().collect(),
            },
            Self::EscrowDeposit { id, files } => Self::EscrowDeposit {
                id: id.clone(),
                files: files.get(k as usize).cloned().into_iter().collect(),
            },
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_rows() {
        let actions = [
            Action::EnterpriseCreate { enterprise: 3 },
            Action::EnterpriseUpdate { enterprise: 3 },
            Action::PrefixApply {
                prefix: "88.118.8".into(),
            },
            Action::SiteRegister {
                prefix: "88.118".into(),
            },
            Action::Identifiers {
                changes: vec![
                    IdentifierChange::Create {
                        name: "88.118.8/A".into(),
                        urls: vec!["https://a".into()],
                    },
                    IdentifierChange::Delete {
                        name: "88.118.8/B".into(),
                    },
                ],
            },
        ];
        for a in actions {
            let item = a.item();
            let row = OutboxRow {
                id: 1,
                kind: item.kind,
                payload: item.payload,
                cursor: 0,
                state: crate::OutboxState::Pending,
                attempts: 0,
                next_at: 0,
                last_error: None,
                created_at: 0,
                done_at: None,
            };
            assert_eq!(Action::from_row(&row).unwrap(), a);
        }
    }
}
