//! EPCIS query subscriptions (webhooks) and what is still to deliver to them.

/// A subscription to a named query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Its id (a random UUID).
    pub id: String,
    /// The owner of its query.
    pub owner: i64,
    /// Its query's name.
    pub query: String,
    /// Who subscribed (deliveries hold what they may read).
    pub actor: String,
    /// The webhook URL.
    pub dest: String,
    /// The signatureToken, sealed (hex; empty when none was given).
    pub secret: String,
    /// Delivered capture by capture.
    pub stream: bool,
    /// When scheduled, the schedule (JSON; empty for a stream).
    pub schedule: String,
    /// Whether a scheduled run with no events is reported.
    pub report_if_empty: bool,
    /// When made, unix ms.
    pub created_at: i64,
    /// Events recorded before this are not delivered, unix ms.
    pub min_record_time: i64,
    /// When a scheduled subscription runs next, unix ms.
    pub next_run: i64,
    /// When a delivery last succeeded, unix ms.
    pub last_notified_at: Option<i64>,
}

/// Something still to deliver: a capture's events to a stream subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The subscription.
    pub subscription: String,
    /// The capture job whose events.
    pub capture: i64,
    /// Failed attempts so far.
    pub attempts: i64,
    /// When it is due, unix ms.
    pub next_at: i64,
    /// The last failure.
    pub error: String,
}

/// How a delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Delivered (or nothing in it to deliver) at this time: forgotten.
    Done(i64),
    /// Failed: tried again at `next_at`.
    Retry {
        /// When next.
        next_at: i64,
        /// Why it failed.
        error: String,
    },
    /// Failed for the last time: given up.
    GiveUp,
}
