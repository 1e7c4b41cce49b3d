//! The storage contract of idnode: one [`Store`] trait, implemented by the SQLite and the
//! PostgreSQL backends, with the records it reads and writes.
//!
//! All writes go through [`Store::apply`], which runs a whole [`Batch`] in one transaction:
//! either every operation (and its history row) lands, or none does.

mod action;
pub mod audit;
pub mod change;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod events;
mod lease;
mod model;
mod outbox;
mod subscription;
mod template;
mod token;

pub use action::{Action, IdentifierChange};
use async_trait::async_trait;
pub use audit::{Attribution, AuditAlgorithm, AuditEntry};
pub use change::Change;
pub use error::{ItemError, ItemErrorKind, SpaceState, StoreError};
pub use events::{
    CaptureRecord, CaptureState, EventField, EventFilter, EventOrder, EventRecord, Grant,
    NamedQuery, NewCapture, NewEvent, NotStored, Readable, TraceLink,
};
pub use lease::Lease;
pub use model::{
    day_of, fill_created_values, fold, now_millis, prefix_range, profile_from_json,
    profile_to_json, Batch, Enterprise, EnterpriseStatus, HandleRecord, HistoryAction,
    HistoryRecord, Idempotency, NewEnterprise, Op, PrefixRecord, PrefixStatus, Review, SecretHash,
    StatRow, Status, StoreStats,
};
pub use outbox::{DepositRecord, OutboxItem, OutboxRow, OutboxState, OutboxStats};
pub use subscription::{Delivery, Settled, Subscription};
pub use template::{TemplateChange, TemplateOp, TemplateRecord};
pub use token::{TokenOp, TokenRecord};

/// How a backend uses its connections.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Longest wait for a free database connection before a call fails with
    /// [`StoreError::Unavailable`]. Bounds how long requests wait on a stopped or unreachable
    /// PostgreSQL server (SQLite's single writer queues writes and waits longer).
    pub acquire_timeout: std::time::Duration,
    /// The hash of the audit log's chain for new entries.
    pub audit_algorithm: AuditAlgorithm,
    /// A read-only replica (a streaming standby): no migrations are run, and
    /// [`Store::wal_position`] is its replayed position.
    pub replica: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: std::time::Duration::from_millis(500),
            audit_algorithm: AuditAlgorithm::default(),
            replica: false,
        }
    }
}

/// Where a backend delivers the changes other instances commit ([`Store::watch_changes`]).
pub type ChangeSink = std::sync::Arc<dyn Fn(Change) + Send + Sync>;

/// Keeps a backend's change feed running; dropping it stops the feed.
pub struct ChangeWatch {
    _guard: Box<dyn Send + Sync>,
}

impl ChangeWatch {
    /// A watch that holds `guard` (whatever stops the feed when dropped).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for ChangeWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeWatch")
    }
}

/// Result alias for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A storage backend. Implementations must be safe to share between tasks.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short backend name (`sqlite`, `postgres`) for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Delivers to `sink` every [`Change`] other instances sharing this database commit,
    /// from now until the returned watch is dropped, and [`Change::Resync`] after every
    /// (re)connection of the feed, when changes may have been missed. `None`: the backend
    /// has no such feed (SQLite: one process owns the database).
    fn watch_changes(&self, sink: ChangeSink) -> Option<ChangeWatch> {
        let _ = sink;
        None
    }

    /// Where the database's write-ahead log is, in bytes: the primary's current position,
    /// or what a replica has replayed. `None`: the backend has no such log to compare.
    async fn wal_position(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Checks the database answers and takes writes (for `/readyz`): a read, and while the
    /// last write ran out of space ([`StoreError::Full`]), a small probe write, so readiness
    /// returns once space does.
    async fn ready(&self) -> Result<()>;

    /// One handle by its normalised text.
    async fn get_handle(&self, handle: &str) -> Result<Option<HandleRecord>>;

    /// Several handles at once (missing ones are left out).
    async fn get_handles(&self, handles: &[String]) -> Result<Vec<HandleRecord>>;

    /// The existing handle whose folded (lower-cased) form equals `folded`, if any.
    async fn find_folded(&self, folded: &str) -> Result<Option<String>>;

    /// Total count and one page of the handles directly under `prefix`, ordered.
    async fn list_handles(
        &self,
        prefix: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<String>)>;

    /// Up to `limit` records with handles after `after` (keyset paging, ordered by handle),
    /// optionally only those directly under `prefix`.
    async fn scan_handles(
        &self,
        prefix: Option<&str>,
        after: &str,
        limit: u64,
    ) -> Result<Vec<HandleRecord>>;

    /// Applies a batch atomically. On any failing item nothing is written and
    /// [`StoreError::Batch`] lists every failing item.
    async fn apply(&self, batch: &Batch) -> Result<()>;

    /// Change history of a handle, newest first.
    async fn history(&self, handle: &str, limit: u64) -> Result<Vec<HistoryRecord>>;

    /// Audit log entries numbered above `after`, in order, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: u64) -> Result<Vec<AuditEntry>>;

    /// The audit log's recorded head: the last entry's number and hash (0 and
    /// [`audit::GENESIS`] while the log is empty).
    async fn audit_head(&self) -> Result<(i64, Vec<u8>)>;

    /// The stored hash of a secret key value.
    async fn get_secret(&self, handle: &str, index: u32) -> Result<Option<SecretHash>>;

    /// A prefix allocation.
    async fn get_prefix(&self, prefix: &str) -> Result<Option<PrefixRecord>>;

    /// All prefixes, or those of one enterprise.
    async fn list_prefixes(&self, enterprise: Option<i64>) -> Result<Vec<PrefixRecord>>;

    /// One enterprise.
    async fn get_enterprise(&self, id: i64) -> Result<Option<Enterprise>>;

    /// All enterprises, by id.
    async fn list_enterprises(&self) -> Result<Vec<Enterprise>>;

    /// The response recorded for an idempotency key of an actor.
    async fn get_idempotency(&self, actor: &str, key: &str) -> Result<Option<Idempotency>>;

    /// Counts for metrics and the console.
    async fn stats(&self) -> Result<StoreStats>;

    /// The next upstream action to deliver: the pending one with the lowest id.
    async fn outbox_head(&self) -> Result<Option<OutboxRow>>;

    /// Upstream actions in `state`, oldest first (up to `limit`).
    async fn outbox_list(&self, state: OutboxState, limit: u64) -> Result<Vec<OutboxRow>>;

    /// The outbox at a glance.
    async fn outbox_stats(&self) -> Result<OutboxStats>;

    /// Takes or renews the lease `name` for `holder` until `until` (unix ms): whether
    /// `holder` holds it now (it held it, or nobody did, or its holder's ran out by `now`).
    async fn lease(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool>;

    /// Gives the lease `name` up, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// The recorded fingerprint of the node's key `name` ([`Op::RecordNodeKey`]).
    async fn node_key(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// The id of the last history row written at or before `at` (unix ms); 0 when none.
    async fn history_cursor(&self, at: i64) -> Result<i64>;

    /// The history rows with `after < id <= until` (no upper bound without `until`), by id,
    /// up to `limit` rows: a run of creates is one row, returned as one record per handle
    /// with the run's id (page on by the last id). Creates and updates carry no values
    /// after (see [`fill_created_values`]).
    async fn history_range(
        &self,
        after: i64,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<HistoryRecord>>;

    /// Escrow deposits made, newest watermark first (up to `limit`).
    async fn deposits(&self, limit: u64) -> Result<Vec<DepositRecord>>;

    /// Statistics counters of the days `from..=to` (`YYYY-MM-DD`), by day, prefix, metric.
    async fn daily_stats(&self, from: &str, to: &str) -> Result<Vec<StatRow>>;

    /// Distinct-client sketches of the days `from..=to`: (day, prefix, registers).
    async fn stats_clients(&self, from: &str, to: &str) -> Result<Vec<(String, String, Vec<u8>)>>;

    /// Usage counters of the days `from..=to` (`YYYY-MM-DD`): (day, metric, value).
    async fn usage(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>>;

    /// A template version.
    async fn get_template(&self, prefix: &str, version: &str) -> Result<Option<TemplateRecord>>;

    /// The template versions of `prefix` (of every prefix: `None`), by prefix and creation.
    async fn list_templates(&self, prefix: Option<&str>) -> Result<Vec<TemplateRecord>>;

    /// Changes of the templates of `prefix` (of one version: `Some`), newest first, up to
    /// `limit`.
    async fn template_history(
        &self,
        prefix: &str,
        version: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TemplateChange>>;

    /// A bearer token by the SHA-256 of its text (expired ones too, until pruned).
    async fn get_token(&self, hash: &[u8]) -> Result<Option<TokenRecord>>;

    /// Which of `values` at `index` are held under `prefix`, and by which handle:
    /// (value, handle) pairs.
    async fn unique_holders(
        &self,
        prefix: &str,
        index: u32,
        values: &[String],
    ) -> Result<Vec<(String, String)>>;

    /// Stores a capture's events in one transaction with its job. Events their owner has
    /// stored already (same hash) are duplicates, reported and never stored twice.
    async fn capture(&self, capture: &NewCapture) -> Result<CaptureRecord>;

    /// A capture job by id.
    async fn capture_job(&self, id: i64) -> Result<Option<CaptureRecord>>;

    /// Events passing `filter`, in its order, at most `filter.limit`.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>>;

    /// One trace step, whoever reads it: every event that names one of `keys` in one of
    /// `from_roles` and (through the same event, or a transformation event with the same
    /// transformationID) another key in one of `to_roles`; each link says whose events
    /// are behind it and whether they count, for [`TraceLink::readable_by`].
    async fn trace_links(
        &self,
        keys: &[String],
        from_roles: &[i64],
        to_roles: &[i64],
    ) -> Result<Vec<TraceLink>>;

    /// The distinct values of `field` in the events `readable` covers, in order, after
    /// `after`, at most `limit`.
    async fn event_values(
        &self,
        field: EventField,
        readable: &Readable,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<String>>;

    /// Read grants, by owner and/or grantee.
    async fn grants(&self, owner: Option<i64>, grantee: Option<i64>) -> Result<Vec<Grant>>;

    /// Adds (`present`) or removes a grant; whether anything changed.
    async fn set_grant(&self, grant: &Grant, present: bool, by: &Attribution) -> Result<bool>;

    /// Saves a named query; `false` when its owner has one of that name already.
    async fn save_query(&self, query: &NamedQuery, by: &Attribution) -> Result<bool>;

    /// An owner's named queries by name (the one named `name`, when given).
    async fn named_queries(&self, owner: i64, name: Option<&str>) -> Result<Vec<NamedQuery>>;

    /// Deletes a named query, its subscriptions and their deliveries; whether there was
    /// one.
    async fn delete_query(&self, owner: i64, name: &str, by: &Attribution) -> Result<bool>;

    /// Saves a new subscription.
    async fn save_subscription(&self, subscription: &Subscription, by: &Attribution) -> Result<()>;

    /// The subscriptions to an owner's query (to any of its queries when `query` is
    /// `None`), oldest first.
    async fn subscriptions(&self, owner: i64, query: Option<&str>) -> Result<Vec<Subscription>>;

    /// One subscription by id.
    async fn subscription(&self, id: &str) -> Result<Option<Subscription>>;

    /// Deletes a subscription to an owner's query and its deliveries; whether there was
    /// one.
    async fn delete_subscription(
        &self,
        owner: i64,
        query: &str,
        id: &str,
        by: &Attribution,
    ) -> Result<bool>;

    /// Deliveries due at `now`, at most `limit`, the longest due first.
    async fn due_deliveries(&self, now: i64, limit: u64) -> Result<Vec<Delivery>>;

    /// Records how an attempt at `delivery` ended.
    async fn settle_delivery(&self, delivery: &Delivery, settled: &Settled) -> Result<()>;

    /// Scheduled subscriptions due at `now`, at most `limit`, the longest due first.
    async fn due_schedules(&self, now: i64, limit: u64) -> Result<Vec<Subscription>>;

    /// Moves a scheduled subscription on: events recorded from `min_record_time` on are
    /// still to deliver, it runs next at `next_run`, and (`notified`) last delivered then.
    async fn reschedule(
        &self,
        id: &str,
        min_record_time: i64,
        next_run: i64,
        notified: Option<i64>,
    ) -> Result<()>;
}
