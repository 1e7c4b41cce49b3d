//! Jobs only one instance sharing a database may do at a time (deliver the outbox, send
//! reports, deliver webhooks): each holds a [`Lease`] while it works.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{now_millis, Store};

/// A lease this instance holds or wants (see [`Store::lease`]).
pub struct Lease {
    store: Arc<dyn Store>,
    name: String,
    holder: String,
    term: i64,
    /// Until when this instance holds it, as far as it knows (unix ms; 0: not held).
    until: AtomicI64,
    held: metrics::Gauge,
}

impl Lease {
    /// The lease `name` wanted by `holder` (unique per instance), for `term` at a time.
    pub fn new(store: Arc<dyn Store>, name: &str, holder: &str, term: Duration) -> Self {
        Self {
            store,
            name: name.to_owned(),
            holder: holder.to_owned(),
            term: i64::try_from(term.as_millis())
                .unwrap_or(i64::MAX / 4)
                .max(3),
            until: AtomicI64::new(0),
            held: metrics::gauge!("idnode_lease_held", "lease" => name.to_owned()),
        }
    }

    /// Whether this instance may do the job now: it holds the lease with at least half its
    /// term left. The lease is renewed once a third of the term has passed; when the
    /// renewal cannot be made (the database is unreachable), the lease counts as held only
    /// while over half its term is left, so that one job started under it ends before
    /// another instance can take it. A job must therefore take less than half the term.
    pub async fn hold(&self) -> bool {
        let now = now_millis();
        let until = self.until.load(Ordering::Acquire);
        if until - now > self.term * 2 / 3 {
            return true;
        }
        let held = match self
            .store
            .lease(&self.name, &self.holder, now, now + self.term)
            .await
        {
            Ok(true) => {
                self.until.store(now + self.term, Ordering::Release);
                true
            }
            Ok(false) => {
                self.until.store(0, Ordering::Release);
                false
            }
            Err(_) => until - now > self.term / 2,
        };
        self.held.set(if held { 1.0 } else { 0.0 });
        held
    }

    /// Gives the lease up (when the instance stops), so that another takes it at once.
    pub async fn release(&self) {
        if self.until.swap(0, Ordering::AcqRel) > now_millis() {
            let _ = self.store.release_lease(&self.name, &self.holder).await;
        }
        self.held.set(0.0);
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}
