//! The write side of idnode: who may do what, value preparation, batches and onboarding.
//!
//! Every change is one [`idnode_store::Batch`], applied atomically, followed by a
//! synchronous cache invalidation on the resolver so that a read after a write sees it.

mod auth;
mod batch;
mod conform;
mod detail;
mod directory;
mod each;
mod error;
mod handles;
mod onboarding;
pub mod origin;
mod overview;
mod pipeline;
mod quota;
mod scope;
mod seal;
mod stats;
mod template_use;
mod templates;
mod tokens;
mod upsert;
mod upstream;

use std::sync::Arc;

use idnode_core::Identifier;
use idnode_resolver::Resolver;
use idnode_store::Store;
use metrics::Counter;

pub use auth::{
    generate_secret, hash_secret, parse_identity, verify_secret, Credentials, Principal,
    SECRET_ALG, SECRET_ITERATIONS, VERIFICATIONS_PER_SECOND, VERIFICATION_BURST,
};
pub use batch::{BatchItem, BatchOutcome, BatchReply, BatchRequest, Change};
pub use conform::TemplateProblem;
pub use detail::{Detail, ItemInfo};
pub use directory::NodeEntry;
pub use error::{ItemProblem, RegistryError};
pub use handles::{PutMode, PutOutcome};
pub use overview::Overview;
pub use quota::Quotas;
pub use seal::{SealingKey, SEALING_KEY_LEN};
pub use stats::{by_enterprise, StatsLine, MAX_STATS_DAYS};
pub use template_use::TemplateUse;
pub use tokens::{daily_password, IssuedToken, TokenProof, DEFAULT_TOKEN_LIFETIME};
pub use upsert::UpsertReport;
pub use upstream::UpstreamPolicy;

/// Largest batch accepted by [`Registry::batch`].
pub const MAX_BATCH: usize = 10_000;

/// Result alias for registry calls.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The registry service.
pub struct Registry {
    store: Arc<dyn Store>,
    resolver: Arc<Resolver>,
    node_prefix: String,
    auth: auth::Authenticator,
    prefixes: scope::PrefixCache,
    registrations: Counter,
    sealing: Option<SealingKey>,
    usage: quota::Usage,
    upstream: Option<UpstreamPolicy>,
    templates: templates::TemplateCache,
    token_lifetime: std::time::Duration,
    template_use: template_use::Pending,
}

impl Registry {
    /// A registry for the node whose prefix is `node_prefix` (`88.118`).
    pub fn new(store: Arc<dyn Store>, resolver: Arc<Resolver>, node_prefix: &str) -> Self {
        // Exported at zero from the start (dashboards, `rate()`), not from the first refusal.
        metrics::counter!("idnode_template_refusals_total").increment(0);
        Self {
            auth: auth::Authenticator::new(store.clone()),
            prefixes: scope::PrefixCache::new(store.clone()),
            store,
            resolver,
            node_prefix: node_prefix.to_ascii_uppercase(),
            registrations: metrics::counter!("idnode_registrations_total"),
            sealing: None,
            usage: quota::Usage::new(Quotas::default()),
            upstream: None,
            templates: templates::TemplateCache::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            template_use: template_use::Pending::default(),
        }
    }

    /// Limits what enterprises may hold (identifiers, prefixes).
    pub fn with_quotas(mut self, quotas: Quotas) -> Self {
        self.usage = quota::Usage::new(quotas);
        self
    }

    /// Seals secrets written from now on under `key`, so Handle protocol `HS_SECKEY`
    /// challenges can be verified ([`Registry::handle_secret`]).
    pub fn with_sealing_key(mut self, key: SealingKey) -> Self {
        self.sealing = Some(key);
        self
    }

    /// The store operation saving secret `secret` of value `index` of `handle`: hashed,
    /// and sealed when the node has a sealing key.
    pub(crate) fn secret_op(&self, handle: &str, index: u32, secret: &[u8]) -> idnode_store::Op {
        let mut hash = hash_secret(secret);
        hash.sealed = self.sealing.as_ref().map(|k| k.seal(handle, index, secret));
        idnode_store::Op::PutSecret {
            handle: handle.to_owned(),
            index,
            secret: hash,
        }
    }

    /// The secret of `HS_SECKEY` value `index` of `handle`, for verifying a challenge
    /// answer. `None` when there is no such secret or it was stored without a sealed copy
    /// (written before the node had a sealing key: set the secret again).
    pub async fn handle_secret(&self, handle: &Identifier, index: u32) -> Result<Option<Vec<u8>>> {
        let Some(stored) = self.store.get_secret(handle.as_str(), index).await? else {
            return Ok(None);
        };
        Ok(match (&self.sealing, &stored.sealed) {
            (Some(k), Some(s)) => k.open(handle.as_str(), index, s),
            _ => None,
        })
    }

    /// `secret` sealed under the node's sealing key for `purpose` (a name for what it
    /// protects; it opens only for the same purpose), or `None` without a sealing key.
    pub fn seal(&self, purpose: &str, secret: &[u8]) -> Option<Vec<u8>> {
        self.sealing.as_ref().map(|k| k.seal(purpose, 0, secret))
    }

    /// A secret sealed by [`Registry::seal`] for `purpose`.
    pub fn open_sealed(&self, purpose: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        self.sealing.as_ref()?.open(purpose, 0, sealed)
    }

    /// The node prefix.
    pub fn node_prefix(&self) -> &str {
        &self.node_prefix
    }

    /// The resolver whose cache this registry keeps fresh.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// PBKDF2 computations this registry has made to check secrets (each credential is
    /// checked once while it is remembered; also counted in `idnode_auth_secret_checks_total`).
    pub fn secret_checks(&self) -> u64 {
        self.auth
            .computed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Authenticates an `index:handle` identity with its secret.
    pub async fn authenticate(&self, identity: &str, secret: &str) -> Result<Principal> {
        self.authenticate_from(identity, secret, None).await
    }

    /// [`Registry::authenticate`] for a request from `client`, which is rate-limited in the
    /// secret checks it can cause.
    pub async fn authenticate_from(
        &self,
        identity: &str,
        secret: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Principal> {
        let (identity, handle) = self.auth.verify(identity, secret, client).await?;
        self.principal_of(identity, &handle).await
    }

    /// The principal an identity (`index:handle`) acts as, once a front end has proved it
    /// (e.g. by a Handle challenge signed with the key at that index).
    pub async fn principal_of(&self, identity: String, handle: &Identifier) -> Result<Principal> {
        let owner = if handle.is_prefix_handle() {
            handle.suffix().to_owned()
        } else {
            handle.prefix().to_owned()
        };
        let info = self
            .prefixes
            .get(&owner)
            .await?
            .ok_or(RegistryError::AuthenticationFailed)?;
        Ok(match info.record.enterprise_id {
            None => Principal::Operator { identity },
            Some(id) => Principal::Enterprise { identity, id },
        })
    }

    /// Drops what another instance's committed `change` made stale in this one's caches
    /// (the resolver's answers, remembered credentials, prefixes, templates).
    pub fn heard(&self, change: &idnode_store::Change) {
        use idnode_store::Change;
        match change {
            Change::Handles(handles) => self.invalidate(handles.iter().map(String::as_str)),
            Change::Created(handles) => {
                for h in handles {
                    self.resolver.invalidate(h);
                }
            }
            Change::CreatedMany => self.resolver.forget_not_found(),
            Change::Registry => {
                self.prefixes.clear();
                self.templates.clear();
                self.resolver.forget_prefixes();
            }
            Change::Captured(_) => {}
            Change::Resync => {
                // The feed reconnected: the store answers again.
                self.resolver.store_answered();
                self.resolver.clear();
                self.auth.forget_all();
                self.prefixes.clear();
                self.templates.clear();
            }
        }
    }

    fn invalidate<'a>(&self, handles: impl IntoIterator<Item = &'a str>) {
        self.resolver.store_answered();
        for h in handles {
            self.resolver.invalidate(h);
            self.auth.forget(h);
        }
    }
}

#[cfg(test)]
mod tests;
