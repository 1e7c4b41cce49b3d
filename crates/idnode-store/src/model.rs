//! Records and write operations of the store.

use idnode_core::{EnterpriseProfile, HandleValue, Identifier};

use crate::outbox::{DepositRecord, OutboxItem};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A stored handle record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleRecord {
    /// Normalised handle.
    pub handle: String,
    /// Its values, ordered by index.
    pub values: Vec<HandleValue>,
    /// Bumped by every update (optimistic concurrency).
    pub version: i64,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// One write operation of a batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Creates a handle; fails if it (or a case variant) exists.
    Create {
        /// The handle.
        handle: Identifier,
        /// Its values.
        values: Vec<HandleValue>,
    },
    /// Replaces the values of a handle read at `expected_version`.
    Update {
        /// The handle.
        handle: Identifier,
        /// The version read before computing `values`.
        expected_version: i64,
        /// Values before the change (for history).
        before: Vec<HandleValue>,
        /// The new values.
        values: Vec<HandleValue>,
    },
    /// Deletes a handle read at `expected_version`.
    Delete {
        /// The handle.
        handle: Identifier,
        /// The version read before deciding to delete.
        expected_version: i64,
        /// Values before the deletion (for history).
        before: Vec<HandleValue>,
    },
    /// Stores (or replaces) the hash of a secret key value.
    PutSecret {
        /// Handle holding the `HS_SECKEY` value.
        handle: String,
        /// Index of that value.
        index: u32,
        /// The salted hash.
        secret: SecretHash,
    },
    /// Forgets a secret key value.
    DeleteSecret {
        /// Handle holding the `HS_SECKEY` value.
        handle: String,
        /// Index of that value (`None`: every secret of the handle).
        index: Option<u32>,
    },
    /// Allocates a prefix.
    CreatePrefix(PrefixRecord),
    /// Sets a prefix's policy: whether its identifiers must name a template version.
    SetPrefixPolicy {
        /// The prefix.
        prefix: String,
        /// Identifiers under it must name a template version.
        template_required: bool,
    },
    /// Changes the status of a prefix.
    SetPrefixStatus {
        /// The prefix.
        prefix: String,
        /// New status.
        status: PrefixStatus,
    },
    /// Creates an enterprise with a caller-chosen id.
    CreateEnterprise(NewEnterprise),
    /// Changes the status of an enterprise.
    SetEnterpriseStatus {
        /// The enterprise.
        id: i64,
        /// New status.
        status: EnterpriseStatus,
    },
    /// Replaces the registration material of an enterprise.
    SetEnterpriseProfile {
        /// The enterprise.
        id: i64,
        /// The material.
        profile: Box<EnterpriseProfile>,
    },
    /// Records the enterprise's id at the top-level node.
    SetEnterpriseUpstream {
        /// The enterprise.
        id: i64,
        /// Its `entId` upstream.
        upstream_id: String,
    },
    /// Records the top-level node's review of a prefix.
    SetPrefixReview {
        /// The prefix.
        prefix: String,
        /// The review state.
        review: Review,
        /// The reviewer's note.
        note: String,
    },
    /// Queues an upstream action (delivered after earlier ones).
    Enqueue(OutboxItem),
    /// Records that steps up to `cursor` of an action were acknowledged upstream (clearing
    /// its failure count and error); `done` when the action is complete.
    OutboxProgress {
        /// The action.
        id: i64,
        /// Steps acknowledged.
        cursor: u32,
        /// Complete.
        done: bool,
    },
    /// Records a failed delivery attempt and when to try again.
    OutboxRetry {
        /// The action.
        id: i64,
        /// Attempts so far.
        attempts: u32,
        /// Next attempt, unix ms.
        next_at: i64,
        /// What went wrong.
        error: String,
    },
    /// Records an action the top-level node refused, for an operator (state `dead`).
    OutboxDead {
        /// The refused action.
        item: OutboxItem,
        /// The refusal.
        error: String,
    },
    /// Puts a dead action back in the queue (operator).
    OutboxRequeue {
        /// The action.
        id: i64,
    },
    /// Records an escrow deposit made.
    RecordDeposit(DepositRecord),
    /// Adds `delta` to a per-day usage counter.
    AddUsage {
        /// The day, `YYYY-MM-DD` (UTC).
        day: String,
        /// The counter (`resolutions.http`, `uptime_seconds`, …).
        metric: String,
        /// The amount.
        delta: i64,
    },
    /// Adds to the statistics of one day: counters per prefix and metric, and distinct
    /// clients per prefix (HyperLogLog registers, merged into the stored ones).
    AddStats {
        /// The day, `YYYY-MM-DD` (UTC).
        day: String,
        /// (prefix, metric, amount).
        counts: Vec<(String, String, i64)>,
        /// (prefix, sketch registers).
        clients: Vec<(String, Vec<u8>)>,
    },
    /// Deletes the statistics of the days before `day` (`YYYY-MM-DD`).
    PruneStats {
        /// The first day kept.
        day: String,
    },
    /// A write to templates or unique values.
    Template(crate::TemplateOp),
    /// A write to bearer tokens.
    Token(crate::TokenOp),
    /// Records the fingerprint of one of the node's keys (`seal`, `server`): a conflict
    /// when one is recorded already, unless `replace` (the key was rotated).
    RecordNodeKey {
        /// Which key.
        name: String,
        /// Its fingerprint (never the key).
        fingerprint: Vec<u8>,
        /// Replace a recorded fingerprint.
        replace: bool,
    },
}

/// The top-level node's review of a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// Not applied for (no upstream connection).
    None,
    /// Applied for; writes under it are refused until approved.
    Pending,
    /// Approved.
    Approved,
    /// Rejected; writes under it are refused.
    Rejected,
}

impl Review {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
    /// Whether identifiers may be written under the prefix.
    pub fn allows_writes(self) -> bool {
        matches!(self, Self::None | Self::Approved)
    }
}

/// Operations applied in one transaction, attributed to one actor.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Who makes the change (`300:0.NA/88.118.8`, `cli`, …), recorded in history.
    pub actor: String,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// Records the response for an `Idempotency-Key` in the same transaction.
    pub idempotency: Option<Idempotency>,
    /// Where the change came from, for the audit log: the client's address, '' when it
    /// did not come over the network.
    pub origin: String,
}

/// A recorded idempotent response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The actor that used the key.
    pub actor: String,
    /// The client's key.
    pub key: String,
    /// Hash of the request, to detect a key reused for another request.
    pub request_hash: String,
    /// HTTP status of the recorded response.
    pub status: u16,
    /// The recorded response body.
    pub body: String,
}

/// What kind of change a history row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAction {
    /// Handle created.
    Create,
    /// Values changed.
    Update,
    /// Handle deleted.
    Delete,
}

impl HistoryAction {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create" => Self::Create,
            "update" => Self::Update,
            "delete" => Self::Delete,
            _ => return None,
        })
    }
}

/// One change of a handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// Row id (increasing).
    pub id: i64,
    /// The handle.
    pub handle: String,
    /// The kind of change.
    pub action: HistoryAction,
    /// Who made it.
    pub actor: String,
    /// When, unix ms.
    pub at: i64,
    /// Values before (none for a create).
    pub before: Option<Vec<HandleValue>>,
    /// Values after (none for a delete).
    pub after: Option<Vec<HandleValue>>,
}

/// A salted PBKDF2 hash of a secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    /// Algorithm name, e.g. `PBKDF2-HMAC-SHA256`.
    pub alg: String,
    /// Random salt.
    pub salt: Vec<u8>,
    /// Iteration count.
    pub iterations: u32,
    /// Derived key.
    pub hash: Vec<u8>,
    /// The secret encrypted under the node's sealing key (AES-256-GCM, bound to handle and
    /// index), for protocols whose challenge needs the secret itself (Handle HS_SECKEY).
    /// `None` when written without a sealing key.
    pub sealed: Option<Vec<u8>>,
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHash")
            .field("alg", &self.alg)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// Status of a prefix or an enterprise: active, or suspended (writes refused; identifiers
/// still resolve).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Served normally; may write.
    Active,
    /// Writes refused.
    Suspended,
}

impl Status {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// Status of a prefix.
pub type PrefixStatus = Status;
/// Status of an enterprise.
pub type EnterpriseStatus = Status;

/// An allocated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRecord {
    /// The prefix, upper-cased (`88.118.8`).
    pub prefix: String,
    /// Owning enterprise; `None` for the node's own prefix.
    pub enterprise_id: Option<i64>,
    /// Status.
    pub status: PrefixStatus,
    /// Allocation time, unix ms.
    pub created_at: i64,
    /// The top-level node's review.
    pub review: Review,
    /// The reviewer's note (why it was rejected).
    pub review_note: String,
    /// Every identifier under it must name a template version (value 1001).
    pub template_required: bool,
}

/// An enterprise to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnterprise {
    /// Id chosen by the registry (unique).
    pub id: i64,
    /// Display name (unique).
    pub name: String,
    /// Registration material.
    pub profile: Box<EnterpriseProfile>,
}

/// An onboarded enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Status.
    pub status: EnterpriseStatus,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Registration material.
    pub profile: EnterpriseProfile,
    /// Its id at the top-level node, once created there.
    pub upstream_id: Option<String>,
}

/// The UTC day (`YYYY-MM-DD`) of unix milliseconds `ms`.
pub fn day_of(ms: i64) -> String {
    let secs = u32::try_from(ms.div_euclid(1000)).unwrap_or(u32::MAX);
    idnode_core::json::format_time(secs)
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}

/// One statistics counter of one day and prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The prefix (`-`: resolutions of malformed or too many prefixes).
    pub prefix: String,
    /// `created`, `updated`, `deleted`, `resolutions.<front end>.<outcome>`.
    pub metric: String,
    /// The count.
    pub value: i64,
}

/// Counts for metrics and the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Handles stored.
    pub handles: u64,
    /// Enterprises onboarded.
    pub enterprises: u64,
    /// Prefixes allocated.
    pub prefixes: u64,
}

/// The lower-cased form a handle is keyed by (the same folding as `Identifier::folded`).
pub fn fold(handle: &str) -> String {
    handle.to_lowercase()
}

/// The key range `[lo, hi)` holding exactly the handles directly under `prefix`.
pub fn prefix_range(prefix: &str) -> (String, String) {
    let p = prefix.to_lowercase();
    (format!("{p}/"), format!("{p}0"))
}

/// Fills in the values after each create and update (stored without a copy): the next
/// newer row's `before`, or `current` for the newest. `rows` are newest first.
pub fn fill_created_values(rows: &mut [HistoryRecord], current: Option<&[HandleValue]>) {
    for i in 0..rows.len() {
        let kept = matches!(
            rows[i].action,
            HistoryAction::Create | HistoryAction::Update
        );
        if kept && rows[i].after.is_none() {
            rows[i].after = if i == 0 {
                current.map(<[HandleValue]>::to_vec)
            } else {
                rows[i - 1].before.clone()
            };
        }
    }
}

/// The stored text of a profile.
pub fn profile_to_json(p: &EnterpriseProfile) -> String {
    serde_json::to_string(p).expect("plain data serialises")
}

/// A profile from its stored text.
pub fn profile_from_json(s: &str) -> Result<EnterpriseProfile, crate::StoreError> {
    serde_json::from_str(s).map_err(|e| crate::StoreError::Corrupt(format!("profile: {e}")))
}
