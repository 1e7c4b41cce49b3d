//! The public directory of the node and its enterprises (what IIIDAP publishes): look-up by
//! prefix, by name, and name search.

use idnode_core::EnterpriseProfile;
use idnode_store::{EnterpriseStatus, PrefixStatus, Review};

use crate::{Registry, Result};

/// A node as the directory shows it: the secondary node itself, or an enterprise node
/// (one per enterprise prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// Its prefix.
    pub prefix: String,
    /// Display name.
    pub name: String,
    /// `true` for the secondary node itself.
    pub secondary: bool,
    /// Active (`ok`) or not (`hold`: suspended, or awaiting / refused review).
    pub active: bool,
    /// Registration time, unix ms.
    pub registered: i64,
    /// The enterprise's material (enterprise nodes).
    pub profile: Option<EnterpriseProfile>,
}

impl Registry {
    /// Every node of the directory, the secondary node first, then by prefix.
    pub async fn directory(&self) -> Result<Vec<NodeEntry>> {
        let enterprises = self.store.list_enterprises().await?;
        let mut out = Vec::new();
        for p in self.store.list_prefixes(None).await? {
            match p.enterprise_id {
                None => out.insert(
                    0,
                    NodeEntry {
                        prefix: p.prefix.clone(),
                        name: format!("idnode secondary node {}", p.prefix),
                        secondary: true,
                        active: true,
                        registered: p.created_at,
                        profile: None,
                    },
                ),
                Some(id) => {
                    let Some(e) = enterprises.iter().find(|e| e.id == id) else {
                        continue;
                    };
                    out.push(NodeEntry {
                        prefix: p.prefix.clone(),
                        name: e.name.clone(),
                        secondary: false,
                        active: e.status == EnterpriseStatus::Active
                            && p.status == PrefixStatus::Active
                            && p.review.allows_writes()
                            && p.review != Review::Rejected,
                        registered: p.created_at,
                        profile: Some(e.profile.clone()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The node with prefix `prefix` (case-insensitive).
    pub async fn directory_entry(&self, prefix: &str) -> Result<Option<NodeEntry>> {
        Ok(self
            .directory()
            .await?
            .into_iter()
            .find(|n| n.prefix.eq_ignore_ascii_case(prefix)))
    }

    /// Nodes whose name matches `pattern`: exact (case-insensitive), or with a trailing `*`
    /// a name prefix. Up to `limit`; the flag says whether more matched.
    pub async fn directory_search(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<(Vec<NodeEntry>, bool)> {
        let pattern = pattern.to_lowercase();
        let (stem, partial) = match pattern.strip_suffix('*') {
            Some(s) => (s.to_owned(), true),
            None => (pattern, false),
        };
        let mut hits: Vec<NodeEntry> = self
            .directory()
            .await?
            .into_iter()
            .filter(|n| {
                let name = n.name.to_lowercase();
                if partial {
                    name.starts_with(&stem)
                } else {
                    name == stem
                }
            })
            .collect();
        let more = hits.len() > limit;
        hits.truncate(limit);
        Ok((hits, more))
    }
}
