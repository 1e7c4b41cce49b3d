//! Authorisation: which principal may write or read as admin which handle.

use std::sync::Arc;
use std::time::Duration;

use idnode_core::{is_under, Identifier};
use idnode_resolver::View;
use idnode_store::{Enterprise, EnterpriseStatus, PrefixRecord, PrefixStatus, Review, Store};
use moka::future::Cache;

use crate::{Principal, Registry, RegistryError, Result};

/// What the registry needs to know about an allocated prefix.
#[derive(Debug, Clone)]
pub(crate) struct PrefixInfo {
    pub(crate) record: PrefixRecord,
    pub(crate) enterprise: Option<Enterprise>,
    /// Identity that administers new handles under the prefix (`0.NA/<primary prefix>`).
    pub(crate) admin_handle: String,
}

/// A short-lived cache of prefix allocations, dropped on every onboarding change.
pub(crate) struct PrefixCache {
    store: Arc<dyn Store>,
    cache: Cache<String, Option<Arc<PrefixInfo>>>,
}

impl PrefixCache {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(5))
                .build(),
        }
    }

    /// Forgets what was read about `prefix` (after a change to it).
    pub(crate) async fn forget(&self, prefix: &str) {
        self.cache.invalidate(prefix).await;
    }

    pub(crate) async fn get(&self, prefix: &str) -> Result<Option<Arc<PrefixInfo>>> {
        if let Some(hit) = self.cache.get(prefix).await {
            return Ok(hit);
        }
        let info = self.load(prefix).await?;
        self.cache.insert(prefix.to_owned(), info.clone()).await;
        Ok(info)
    }

    async fn load(&self, prefix: &str) -> Result<Option<Arc<PrefixInfo>>> {
        let Some(record) = self.store.get_prefix(prefix).await? else {
            return Ok(None);
        };
        let (enterprise, admin_handle) = match record.enterprise_id {
            None => (None, format!("0.NA/{}", record.prefix)),
            Some(id) => {
                let e = self.store.get_enterprise(id).await?;
                let mut own = self.store.list_prefixes(Some(id)).await?;
                own.sort_by(|a, b| (a.created_at, &a.prefix).cmp(&(b.created_at, &b.prefix)));
                let primary = own
                    .first()
                    .map_or(record.prefix.clone(), |p| p.prefix.clone());
                (e, format!("0.NA/{primary}"))
            }
        };
        Ok(Some(Arc::new(PrefixInfo {
            record,
            enterprise,
            admin_handle,
        })))
    }

    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }
}

impl Registry {
    /// The allocated prefix governing writes to `id`, after checking `p` may write there.
    pub(crate) async fn write_scope(
        &self,
        p: &Principal,
        id: &Identifier,
    ) -> Result<Arc<PrefixInfo>> {
        let governing = if id.is_prefix_handle() {
            id.suffix()
        } else {
            id.prefix()
        };
        self.prefix_scope(p, governing, id.is_prefix_handle()).await
    }

    /// The allocated prefix `governing`, after checking `p` may write under it
    /// (`prefix_handle`: the write addresses its `0.NA/` handle, which is operator-only).
    pub(crate) async fn prefix_scope(
        &self,
        p: &Principal,
        governing: &str,
        prefix_handle: bool,
    ) -> Result<Arc<PrefixInfo>> {
        if !is_under(governing, &self.node_prefix) {
            return Err(RegistryError::NotResponsible(format!(
                "prefix {governing} is not served by this node ({})",
                self.node_prefix
            )));
        }
        let info = self.prefixes.get(governing).await?.ok_or_else(|| {
            RegistryError::NotResponsible(format!(
                "prefix {governing} is not allocated on this node"
            ))
        })?;
        if !prefix_handle && !matches!(p, Principal::Anonymous) {
            match info.record.review {
                Review::Pending => {
                    return Err(RegistryError::Forbidden(format!(
                        "prefix {governing} awaits approval by the top-level node"
                    )))
                }
                Review::Rejected => {
                    return Err(RegistryError::Forbidden(format!(
                        "prefix {governing} was rejected by the top-level node: {}",
                        info.record.review_note
                    )))
                }
                Review::None | Review::Approved => {}
            }
        }
        match p {
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
            Principal::Operator { .. } => Ok(info),
            Principal::Enterprise { id: eid, .. } => {
                if prefix_handle {
                    return Err(RegistryError::Forbidden(
                        "prefix handles are managed by the node operator".into(),
                    ));
                }
                if info.record.enterprise_id != Some(*eid) {
                    return Err(RegistryError::Forbidden(format!(
                        "prefix {governing} belongs to another enterprise"
                    )));
                }
                if info
                    .enterprise
                    .as_ref()
                    .is_none_or(|e| e.status != EnterpriseStatus::Active)
                {
                    return Err(RegistryError::Forbidden("enterprise is suspended".into()));
                }
                if info.record.status != PrefixStatus::Active {
                    return Err(RegistryError::Forbidden(format!(
                        "prefix {governing} is suspended"
                    )));
                }
                Ok(info)
            }
        }
    }

    /// The view `p` gets of `id`: admin for the operator and the owning enterprise.
    pub async fn view_for(&self, p: &Principal, id: &Identifier) -> Result<View> {
        Ok(match p {
            Principal::Anonymous => View::Public,
            Principal::Operator { .. } => View::Admin,
            Principal::Enterprise { id: eid, .. } => {
                let governing = if id.is_prefix_handle() {
                    id.suffix()
                } else {
                    id.prefix()
                };
                match self.prefixes.get(governing).await? {
                    Some(info) if info.record.enterprise_id == Some(*eid) => View::Admin,
                    _ => View::Public,
                }
            }
        })
    }

    /// The enterprise whose data a write by `p` changes outside identifiers (0: the
    /// operator, for traceability events and grants); a suspended enterprise writes nothing
    /// (its identifiers still resolve, and it still reads).
    pub async fn writer_of(&self, p: &Principal) -> Result<i64> {
        match p {
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
            Principal::Operator { .. } => Ok(0),
            Principal::Enterprise { id, .. } => match self.store.get_enterprise(*id).await? {
                Some(e) if e.status == EnterpriseStatus::Active => Ok(*id),
                _ => Err(RegistryError::Forbidden(format!(
                    "enterprise {id} is suspended: its writes are refused"
                ))),
            },
        }
    }

    /// Refuses anyone but the node operator.
    pub fn require_operator(p: &Principal) -> Result<()> {
        match p {
            Principal::Operator { .. } => Ok(()),
            Principal::Anonymous => Err(RegistryError::AuthenticationNeeded),
            Principal::Enterprise { .. } => Err(RegistryError::Forbidden(
                "only the node operator may do this".into(),
            )),
        }
    }
}
