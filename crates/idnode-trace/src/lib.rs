//! The traceability service: EPCIS 2.0 events captured by enterprises, read back by those
//! allowed to (the owner, the operator, partners the owner grants, optionally per business
//! step), and followed server-side: trace back and forward through aggregations,
//! transformations and associations, recall of everything a lot went into, and an
//! identifier's lifecycle (its registration history and its events in one timeline).
//!
//! No protocol here: the HTTP front end maps requests and [`TraceError`]s.

mod capture;
mod graph;
mod lifecycle;
mod links;
mod named;
mod query;
mod subscribe;
mod window;

use std::sync::Arc;

use idnode_epcis::{EpcisError, IdentifierForms, QueryError};
use idnode_registry::{Principal, Registry, RegistryError};
use idnode_store::{Grant, Readable, Store, StoreError};

pub use capture::Captured;
pub use graph::{Direction, Edge, Graph, Node, Recall, RecallItem};
pub use lifecycle::{Lifecycle, Moment};
pub use query::{Page, PageEvent, Values};
pub use subscribe::{is_private_host, is_private_ip, signature, Live, Webhook, MAX_ATTEMPTS};

/// Limits of the service.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most events in one capture document.
    pub capture_events: usize,
    /// Most bytes of one capture document.
    pub capture_bytes: usize,
    /// Events per page when the query names no `perPage`.
    pub per_page: u64,
    /// Most events per page.
    pub max_per_page: u64,
    /// Most stored events examined for one page (conditions on the body filter them).
    pub scan: u64,
    /// Deepest trace.
    pub trace_depth: u32,
    /// Most nodes in a trace answer.
    pub trace_nodes: usize,
    /// Most trace links held in memory (0: none; see `links.rs`).
    pub trace_cache_links: u64,
    /// Longest a held trace link is used, seconds: bounds how late captures made through
    /// another instance on the same database are seen by traces here.
    pub trace_cache_secs: u64,
    /// Whether webhooks may be on loopback or private addresses (off: the node posts
    /// nowhere inside its own network).
    pub webhook_private: bool,
    /// How long before a scheduled run its window of record times ends, ms: a capture's
    /// events are recorded when it begins and seen when it commits, so a window closed at
    /// once could miss a capture still committing.
    pub schedule_settle_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            capture_events: 10_000,
            capture_bytes: 16 << 20,
            per_page: 100,
            max_per_page: 1_000,
            scan: 20_000,
            trace_depth: 64,
            trace_nodes: 50_000,
            trace_cache_links: 200_000,
            trace_cache_secs: 300,
            webhook_private: false,
            schedule_settle_ms: 10_000,
        }
    }
}

/// Why a traceability request failed.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The input is not valid EPCIS (every fault listed).
    #[error(transparent)]
    Invalid(#[from] EpcisError),
    /// A query parameter is wrong.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// A document exceeds a capture limit.
    #[error("{0}")]
    TooLarge(String),
    /// A query would answer more events than its `maxEventCount`.
    #[error("{0}")]
    QueryTooLarge(String),
    /// The event is stored already (same hash).
    #[error("event {0} is captured already")]
    Duplicate(String),
    /// Credentials are needed.
    #[error("authentication needed")]
    Unauthenticated,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing readable by that name.
    #[error("{0} not found")]
    NotFound(String),
    /// A subscription request is wrong.
    #[error("{0}")]
    Subscription(String),
    /// Something of that name exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The registry failed (lifecycle history).
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Result alias of the service.
pub type Result<T, E = TraceError> = std::result::Result<T, E>;

/// The traceability service.
pub struct Traceability {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    forms: IdentifierForms,
    limits: Limits,
    /// The captures this node stored, as they are stored (WebSocket subscriptions).
    captured: tokio::sync::broadcast::Sender<i64>,
    /// Trace links held in memory.
    links: links::LinkCache,
    /// Permits for the CPU-heavy check of a capture, one per core this process may run on.
    checks: tokio::sync::Semaphore,
}

impl Traceability {
    /// A service on `store`; `forms` recognises this node's identifiers in URIs.
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        forms: IdentifierForms,
        limits: Limits,
    ) -> Self {
        let links = links::LinkCache::new(
            limits.trace_cache_links,
            std::time::Duration::from_secs(limits.trace_cache_secs),
        );
        Self {
            store,
            registry,
            forms,
            limits,
            captured: tokio::sync::broadcast::channel(1024).0,
            links,
            checks: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, usize::from),
            ),
        }
    }

    /// The service's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The identifier forms events are indexed by.
    pub fn forms(&self) -> &IdentifierForms {
        &self.forms
    }

    /// Whose events `who` may read.
    pub async fn readable(&self, who: &Principal) -> Result<Readable> {
        Ok(match who {
            Principal::Anonymous => return Err(TraceError::Unauthenticated),
            Principal::Operator { .. } => Readable {
                all: true,
                ..Readable::default()
            },
            Principal::Enterprise { id, .. } => {
                let mut r = Readable {
                    owners: vec![*id],
                    ..Readable::default()
                };
                for g in self.store.grants(None, Some(*id)).await? {
                    if g.biz_step.is_empty() {
                        r.owners.push(g.owner);
                    } else {
                        r.steps.push((g.owner, g.biz_step));
                    }
                }
                r
            }
        })
    }

    /// Lets `grantee` read the caller's events (those with `biz_step` only, when given, as
    /// a CBV term or URI); an enterprise grants its own events.
    pub async fn grant(&self, who: &Principal, grantee: i64, biz_step: &str) -> Result<Grant> {
        let g = self.grant_of(who, grantee, biz_step).await?;
        self.store.set_grant(&g, true, &by(who)).await?;
        Ok(g)
    }

    /// Withdraws a grant; whether there was one.
    pub async fn revoke(&self, who: &Principal, grantee: i64, biz_step: &str) -> Result<bool> {
        let g = self.grant_of(who, grantee, biz_step).await?;
        Ok(self.store.set_grant(&g, false, &by(who)).await?)
    }

    /// The grants the caller gave (an enterprise) or all (the operator).
    pub async fn grants(&self, who: &Principal) -> Result<Vec<Grant>> {
        match who {
            Principal::Anonymous => Err(TraceError::Unauthenticated),
            Principal::Operator { .. } => Ok(self.store.grants(None, None).await?),
            Principal::Enterprise { id, .. } => Ok(self.store.grants(Some(*id), None).await?),
        }
    }

    /// The enterprise a write belongs to (0: the operator), as the registry, which decides
    /// who writes, says: a suspended enterprise writes nothing.
    async fn writer(&self, who: &Principal) -> Result<i64> {
        self.registry.writer_of(who).await.map_err(|e| match e {
            RegistryError::AuthenticationNeeded => TraceError::Unauthenticated,
            RegistryError::Forbidden(m) => TraceError::Forbidden(m),
            e => TraceError::Registry(e),
        })
    }

    async fn grant_of(&self, who: &Principal, grantee: i64, biz_step: &str) -> Result<Grant> {
        let Principal::Enterprise { id, .. } = who else {
            return Err(match who {
                Principal::Anonymous => TraceError::Unauthenticated,
                _ => TraceError::Forbidden(
                    "grants are given by the enterprise owning the events".into(),
                ),
            });
        };
        self.writer(who).await?;
        if grantee == *id || self.store.get_enterprise(grantee).await?.is_none() {
            return Err(TraceError::NotFound(format!("enterprise {grantee}")));
        }
        let biz_step = if biz_step.is_empty() {
            String::new()
        } else {
            idnode_epcis::hash::term_value(
                idnode_epcis::vocab::Term::BizStep,
                biz_step,
                &idnode_epcis::Namespaces::default(),
            )
        };
        Ok(Grant {
            owner: *id,
            grantee,
            biz_step,
            created_at: idnode_store::now_millis(),
        })
    }
}

/// The enterprise a capture belongs to (0: the operator).
fn owner_of(who: &Principal) -> Result<i64> {
    match who {
        Principal::Anonymous => Err(TraceError::Unauthenticated),
        Principal::Operator { .. } => Ok(0),
        Principal::Enterprise { id, .. } => Ok(*id),
    }
}

/// Who writes, for the audit log: the caller's identity and address.
pub(crate) fn by(who: &Principal) -> idnode_store::Attribution {
    idnode_store::Attribution {
        actor: who.actor().to_owned(),
        origin: idnode_registry::origin::current(),
    }
}
