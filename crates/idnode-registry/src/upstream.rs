//! What the registry asks of the top-level node: the upstream actions it queues in the
//! transaction of the local change that causes them (delivered by `idnode-upstream`).

use idnode_core::HandleValue;
use idnode_store::{Action, DepositRecord, IdentifierChange, Op, Review};

use crate::{Principal, Registry, RegistryError, Result};

/// What the node reports of its identifiers upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamPolicy {
    /// Provision identifiers (`identifier:create/update/delete`), not only prefixes.
    pub sync_identifiers: bool,
}

fn public_urls(values: &[HandleValue]) -> Vec<String> {
    values
        .iter()
        .filter(|v| v.type_matches("URL") && v.permissions.public_read())
        .filter_map(|v| String::from_utf8(v.data.clone()).ok())
        .collect()
}

/// The identifier changes a batch makes (prefix handles are reported as sites instead).
pub(crate) fn identifier_changes(ops: &[Op]) -> Vec<IdentifierChange> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Create { handle, values } if !handle.is_prefix_handle() => {
                Some(IdentifierChange::Create {
                    name: handle.as_str().to_owned(),
                    urls: public_urls(values),
                })
            }
            Op::Update {
                handle,
                before,
                values,
                ..
            } if !handle.is_prefix_handle() => {
                let (old, new) = (public_urls(before), public_urls(values));
                let added: Vec<String> = new.iter().filter(|u| !old.contains(u)).cloned().collect();
                let removed: Vec<String> =
                    old.iter().filter(|u| !new.contains(u)).cloned().collect();
                (!added.is_empty() || !removed.is_empty()).then(|| IdentifierChange::Update {
                    name: handle.as_str().to_owned(),
                    added,
                    removed,
                })
            }
            Op::Delete { handle, .. } if !handle.is_prefix_handle() => {
                Some(IdentifierChange::Delete {
                    name: handle.as_str().to_owned(),
                })
            }
            _ => None,
        })
        .collect()
}

impl Registry {
    /// Connects the registry to a top-level node: new prefixes await its review, and changes
    /// queue upstream actions.
    pub fn with_upstream(mut self, policy: UpstreamPolicy) -> Self {
        self.upstream = Some(policy);
        self
    }

    /// Whether the registry queues upstream actions.
    pub fn upstream(&self) -> Option<UpstreamPolicy> {
        self.upstream
    }

    /// The review a new prefix starts with.
    pub(crate) fn initial_review(&self) -> Review {
        if self.upstream.is_some() {
            Review::Pending
        } else {
            Review::None
        }
    }

    /// Appends the upstream actions `ops` cause (when connected upstream).
    pub(crate) fn queue_upstream(&self, ops: &mut Vec<Op>, actions: &[Action]) {
        if self.upstream.is_some() {
            ops.extend(actions.iter().map(|a| Op::Enqueue(a.item())));
        }
    }

    /// Appends the identifier sync action for the identifier changes in `ops`.
    pub(crate) fn queue_identifier_sync(&self, ops: &mut Vec<Op>) {
        if self.upstream.is_some_and(|u| u.sync_identifiers) {
            let changes = identifier_changes(ops);
            if !changes.is_empty() {
                ops.push(Op::Enqueue(Action::Identifiers { changes }.item()));
            }
        }
    }

    /// Records the top-level node's review of `prefix` (from a poll message): writes under
    /// it open when approved, and the node's site is then registered for it. Recording the
    /// same result twice changes nothing.
    pub async fn record_review(&self, prefix: &str, approved: bool, note: &str) -> Result<()> {
        let review = if approved {
            Review::Approved
        } else {
            Review::Rejected
        };
        let current = self
            .store
            .get_prefix(prefix)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("prefix {prefix}")))?;
        if current.review == review {
            return Ok(()); // A redelivered poll message.
        }
        let mut ops = vec![Op::SetPrefixReview {
            prefix: prefix.to_owned(),
            review,
            note: note.to_owned(),
        }];
        if approved {
            self.queue_upstream(
                &mut ops,
                &[Action::SiteRegister {
                    prefix: prefix.to_owned(),
                }],
            );
        }
        self.commit(&crate::onboarding::system("system:upstream"), ops)
            .await?;
        self.prefixes.clear();
        Ok(())
    }

    /// Queues `actions` on their own (they follow no local change), as the node itself;
    /// nothing happens when the registry is not connected upstream.
    pub async fn queue_actions(&self, actions: &[Action]) -> Result<()> {
        let mut ops = Vec::new();
        self.queue_upstream(&mut ops, actions);
        if !ops.is_empty() {
            self.commit(&crate::onboarding::system("system:upstream"), ops)
                .await?;
        }
        Ok(())
    }

    /// Queues the registration of this node's site for its own prefix (`idnode init` does it;
    /// `idnode upstream register-site` again after the node's address changed or when the
    /// connection was enabled after `init`).
    pub async fn queue_node_site(&self) -> Result<()> {
        self.queue_actions(&[Action::SiteRegister {
            prefix: self.node_prefix.clone(),
        }])
        .await
    }

    /// Records an escrow deposit made of the node's data and, when connected upstream,
    /// queues `deliver` (its upload, its report) in the same transaction.
    pub async fn record_deposit(&self, record: DepositRecord, deliver: &[Action]) -> Result<()> {
        let mut ops = vec![Op::RecordDeposit(record)];
        self.queue_upstream(&mut ops, deliver);
        self.commit(&crate::onboarding::system("system:escrow"), ops)
            .await?;
        Ok(())
    }

    /// Puts a dead (refused) upstream action back in the queue (operator).
    pub async fn requeue_upstream(&self, p: &Principal, id: i64) -> Result<()> {
        Self::require_operator(p)?;
        self.commit(p, vec![Op::OutboxRequeue { id }]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_url_changes_are_reported() {
        let id = idnode_core::Identifier::parse("88.118.8/A").unwrap();
        let mut private = HandleValue::text(2, "URL", "https://private");
        private.permissions = idnode_core::Permissions::from_bits(0xC);
        let before = vec![HandleValue::text(1, "URL", "https://old"), private.clone()];
        let after = vec![HandleValue::text(1, "URL", "https://new"), private];
        let ops = vec![
            Op::Update {
                handle: id.clone(),
                expected_version: 1,
                before: before.clone(),
                values: after,
            },
            Op::Update {
                handle: id.clone(),
                expected_version: 2,
                before: before.clone(),
                values: before,
            },
        ];
        assert_eq!(
            identifier_changes(&ops),
            vec![IdentifierChange::Update {
                name: "88.118.8/A".into(),
                added: vec!["https://new".into()],
                removed: vec!["https://old".into()],
            }]
        );
    }
}
