//! The upstream outbox (actions queued for the top-level node) and escrow deposits.

/// An escrow deposit this node made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecord {
    /// Deposit id (`\w{1,13}`).
    pub id: String,
    /// `FULL` or `DIFF`.
    pub kind: String,
    /// Watermark, unix ms.
    pub watermark: i64,
    /// The previous deposit (DIFF).
    pub prev_id: Option<String>,
    /// Regeneration count for the same watermark.
    pub resend: u16,
    /// The last history row at or before the watermark.
    pub history_cursor: i64,
    /// Node objects deposited.
    pub nodes: u64,
    /// Handle objects deposited.
    pub handles: u64,
    /// The files (data, signature, report), by name.
    pub files: Vec<String>,
    /// When it was made, unix ms.
    pub created_at: i64,
}

/// An upstream action to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// What to do (`enterprise.create`, `prefix.apply`, `identifier.sync`, …).
    pub kind: String,
    /// Its parameters (JSON).
    pub payload: String,
}

/// Delivery state of an upstream action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting or being delivered.
    Pending,
    /// Delivered.
    Done,
    /// Refused upstream; needs an operator.
    Dead,
}

impl OutboxState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// A queued upstream action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Id (delivery order).
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Its parameters (JSON).
    pub payload: String,
    /// Steps acknowledged upstream.
    pub cursor: u32,
    /// State.
    pub state: OutboxState,
    /// Failed attempts.
    pub attempts: u32,
    /// Next attempt, unix ms.
    pub next_at: i64,
    /// Last failure.
    pub last_error: Option<String>,
    /// Queued at, unix ms.
    pub created_at: i64,
    /// Delivered (or given up) at, unix ms.
    pub done_at: Option<i64>,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Actions waiting.
    pub pending: u64,
    /// Actions refused upstream.
    pub dead: u64,
    /// Actions delivered (still kept).
    pub done: u64,
    /// When the oldest waiting action was queued, unix ms.
    pub oldest_pending_at: Option<i64>,
    /// Failed attempts of the next action.
    pub head_attempts: u32,
    /// Last failure of the next action.
    pub head_error: Option<String>,
}
