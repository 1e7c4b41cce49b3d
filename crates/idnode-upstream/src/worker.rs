//! The delivery loop: outbox actions in order, review polling, keep-alive, metrics.

use std::sync::Arc;
use std::time::Duration;

use idnode_epp::{Command, ResData};
use idnode_registry::{Registry, RegistryError};
use idnode_store::Action;
use idnode_store::{now_millis, Batch, Lease, Op, OutboxRow, Store};
use metrics::{counter, gauge};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::deliver::{self, Context};
use crate::{EppConfig, Session, UpstreamError, WorkerConfig};

/// Most poll messages handled in one round.
const POLL_BATCH: usize = 100;
/// Idle re-check of the outbox.
const IDLE_CHECK: Duration = Duration::from_millis(200);
/// Actor recorded for the worker's own changes.
const ACTOR: &str = "system:upstream";

/// The upstream worker (one per node: EPP sessions are sequential; where several
/// instances share the database, the one holding the `upstream` lease works).
pub struct Worker {
    lease: Option<Lease>,
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    epp: EppConfig,
    cfg: WorkerConfig,
    session: Option<Session>,
    http: Option<crate::http::Http>,
    connect_failures: u32,
    poll_failures: u32,
}

/// A running worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker after the step in flight (logging out politely).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The retry delay after `attempts` failures: exponential from `initial`, capped at `max`,
/// then a random point in its upper half (jitter, so many nodes don't retry in step).
pub(crate) fn backoff(cfg: &WorkerConfig, attempts: u32) -> Duration {
    let exp = cfg
        .backoff_initial
        .saturating_mul(1u32 << attempts.min(20))
        .min(cfg.backoff_max);
    let mut r = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut r);
    let frac = f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX);
    exp.mul_f64(0.5 + frac / 2.0)
}

fn at(delay: Duration) -> i64 {
    now_millis().saturating_add(delay.as_millis() as i64)
}

impl Worker {
    /// A worker delivering `store`'s outbox to the EPP server of `epp`.
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        epp: EppConfig,
        cfg: WorkerConfig,
    ) -> Self {
        let http = match crate::http::Http::new(&epp, cfg.http.clone()) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::error!(error = %e, "no HTTPS client: escrow and report uploads wait");
                None
            }
        };
        Self {
            lease: None,
            store,
            registry,
            epp,
            cfg,
            session: None,
            http,
            connect_failures: 0,
            poll_failures: 0,
        }
    }

    /// Works only while holding `lease` (instances sharing one database take turns). The
    /// lease's term must exceed twice the longest delivery.
    #[must_use]
    pub fn with_lease(mut self, lease: Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Whether this worker may work now; when it may not, its EPP session is closed.
    async fn may_work(&mut self) -> bool {
        let Some(lease) = &self.lease else {
            return true;
        };
        if lease.hold().await {
            return true;
        }
        if let Some(s) = self.session.take() {
            s.logout().await;
            gauge!("idnode_upstream_connected").set(0.0);
        }
        false
    }

    /// Starts the worker on the runtime.
    pub fn spawn(self) -> WorkerHandle {
        let (stop, rx) = watch::channel(false);
        WorkerHandle {
            stop,
            task: tokio::spawn(self.run(rx)),
        }
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut next_poll = 0i64;
        let mut next_stats = 0i64;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = now_millis();
            if now >= next_stats {
                self.publish_stats().await;
                next_stats = now + 1000;
            }
            if !self.may_work().await {
                if sleep_or_stop(&mut stop, Duration::from_secs(1)).await {
                    break;
                }
                continue;
            }
            let head = match self.store.outbox_head().await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outbox");
                    None
                }
            };
            let mut wake = now + IDLE_CHECK.as_millis() as i64;
            if let Some(row) = head {
                if row.next_at <= now {
                    self.deliver(row).await;
                    continue;
                }
                wake = wake.min(row.next_at);
            }
            if now >= next_poll {
                let delay = match self.poll().await {
                    Ok(()) => {
                        self.poll_failures = 0;
                        self.cfg.poll_interval
                    }
                    Err(e) => {
                        self.poll_failures += 1;
                        tracing::warn!(error = %e, "polling the top-level node failed");
                        backoff(&self.cfg, self.poll_failures).min(self.cfg.poll_interval)
                    }
                };
                next_poll = at(delay);
                continue;
            }
            wake = wake.min(next_poll);
            self.keepalive().await;
            let nap = Duration::from_millis((wake - now).clamp(1, 1000) as u64);
            if sleep_or_stop(&mut stop, nap).await {
                break;
            }
        }
        if let Some(s) = self.session.take() {
            s.logout().await;
        }
        if let Some(lease) = &self.lease {
            lease.release().await;
        }
    }

    async fn session(&mut self) -> Result<&mut Session, UpstreamError> {
        if self.session.is_none() {
            match Session::open(&self.epp).await {
                Ok(s) => {
                    tracing::info!(server = %s.greeting.sv_id, "EPP session open");
                    self.connect_failures = 0;
                    gauge!("idnode_upstream_connected").set(1.0);
                    self.session = Some(s);
                }
                Err(e) => {
                    self.connect_failures += 1;
                    gauge!("idnode_upstream_connected").set(0.0);
                    return Err(e);
                }
            }
        }
        Ok(self.session.as_mut().expect("just opened"))
    }

    fn drop_session_after(&mut self, e: &UpstreamError) {
        if e.breaks_session() {
            self.session = None;
            gauge!("idnode_upstream_connected").set(0.0);
        }
    }

    async fn keepalive(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.idle() < self.cfg.keepalive {
            return;
        }
        if let Err(e) = s.hello().await {
            tracing::info!(error = %e, "EPP keep-alive failed; reconnecting when needed");
            self.session = None;
            gauge!("idnode_upstream_connected").set(0.0);
        }
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<(), idnode_store::StoreError> {
        self.store
            .apply(&Batch {
                actor: ACTOR.into(),
                ops,
                idempotency: None,
                origin: String::new(),
            })
            .await
    }

    /// Sets aside an action whose payload cannot be read, as a dead row for an operator.
    async fn set_aside(&mut self, row: &OutboxRow, e: &idnode_store::StoreError) {
        let ops = vec![
            Op::OutboxDead {
                item: idnode_store::OutboxItem {
                    kind: row.kind.clone(),
                    payload: row.payload.clone(),
                },
                error: e.to_string(),
            },
            Op::OutboxProgress {
                id: row.id,
                cursor: row.cursor,
                done: true,
            },
        ];
        if let Err(e) = self.commit(ops).await {
            tracing::error!(error = %e, "cannot set aside an unreadable upstream action");
        }
    }

    /// Delivers step `cursor` of `action`: over HTTPS, or over the EPP session (opened when
    /// needed); the local changes its answer causes.
    async fn step(
        &mut self,
        row: &OutboxRow,
        action: &Action,
        cursor: u32,
    ) -> Result<Vec<Op>, UpstreamError> {
        if !action.uses_epp() {
            return match &self.http {
                Some(h) => h
                    .step(action, cursor, &self.cfg.node_prefix)
                    .await
                    .map(|()| Vec::new()),
                None => Err(UpstreamError::Tls("no HTTPS client (see the log)".into())),
            };
        }
        self.session().await?;
        let Some(s) = self.session.as_mut() else {
            return Err(UpstreamError::Protocol("no session".into()));
        };
        let cx = Context {
            store: self.store.as_ref(),
            cfg: &self.cfg,
            client_id: &self.epp.client_id,
        };
        deliver::step(s, &cx, row, action, cursor).await
    }

    /// Delivers the steps of `row` from its cursor on, committing progress every
    /// `commit_every` steps, at the end, and before giving up for now.
    async fn deliver(&mut self, row: OutboxRow) {
        let action = match Action::from_row(&row) {
            Ok(a) => a,
            Err(e) => return self.set_aside(&row, &e).await,
        };
        let steps = action.steps();
        let mut cursor = row.cursor;
        let mut ops = Vec::new();
        let mut since_commit = 0;
        while cursor < steps {
            let result = self.step(&row, &action, cursor).await;
            match result {
                Ok(extra) => {
                    counter!("idnode_upstream_commands_total", "result" => "ok").increment(1);
                    ops.extend(extra);
                }
                Err(e) if e.is_permanent() => {
                    counter!("idnode_upstream_commands_total", "result" => "refused").increment(1);
                    tracing::warn!(action = row.id, step = cursor, error = %e,
                        "upstream action refused; set aside for an operator");
                    ops.push(Op::OutboxDead {
                        item: action.step(cursor).item(),
                        error: e.to_string(),
                    });
                }
                Err(e) => {
                    counter!("idnode_upstream_commands_total", "result" => "failed").increment(1);
                    self.drop_session_after(&e);
                    let attempts = row.attempts.saturating_add(1);
                    let delay = backoff(&self.cfg, attempts);
                    tracing::warn!(action = row.id, step = cursor, attempts, retry_in = ?delay,
                        error = %e, "upstream delivery failed");
                    if cursor > row.cursor {
                        ops.push(Op::OutboxProgress {
                            id: row.id,
                            cursor,
                            done: false,
                        });
                    }
                    ops.push(Op::OutboxRetry {
                        id: row.id,
                        attempts: if cursor > row.cursor { 1 } else { attempts },
                        next_at: at(delay),
                        error: e.to_string(),
                    });
                    if let Err(e) = self.commit(ops).await {
                        tracing::error!(error = %e, "cannot record an upstream failure");
                    }
                    return;
                }
            }
            cursor += 1;
            since_commit += 1;
            if since_commit >= self.cfg.commit_every && cursor < steps {
                ops.push(Op::OutboxProgress {
                    id: row.id,
                    cursor,
                    done: false,
                });
                if let Err(e) = self.commit(std::mem::take(&mut ops)).await {
                    tracing::error!(error = %e, "cannot record upstream progress");
                    return;
                }
                since_commit = 0;
            }
        }
        ops.push(Op::OutboxProgress {
            id: row.id,
            cursor,
            done: true,
        });
        if let Err(e) = self.commit(ops).await {
            // Delivered but not recorded: the next round redelivers, and the top-level node
            // recognises the transaction ids.
            tracing::error!(error = %e, "cannot record a delivered upstream action");
        }
    }

    /// Reads queued review results and applies them, acknowledging each once recorded.
    async fn poll(&mut self) -> Result<(), UpstreamError> {
        for _ in 0..POLL_BATCH {
            let trid = format!("poll-{}", now_millis());
            let s = self.session().await?;
            let r = match s.command(Command::PollReq, &trid).await {
                Ok(r) => r,
                Err(e) => {
                    self.drop_session_after(&e);
                    return Err(e);
                }
            };
            if r.code != 1301 {
                return Ok(());
            }
            let msg_id = r.msgq.as_ref().map(|q| q.id.clone()).unwrap_or_default();
            if let ResData::Review(review) = &r.data {
                let approved = review.approved();
                match self
                    .registry
                    .record_review(&review.prefix, approved, &review.audit_msg)
                    .await
                {
                    Ok(()) => {
                        let result = if approved { "approved" } else { "rejected" };
                        counter!("idnode_upstream_reviews_total", "result" => result).increment(1);
                        tracing::info!(prefix = %review.prefix, approved, note = %review.audit_msg,
                            "top-level review recorded");
                    }
                    Err(RegistryError::NotFound(_)) => {
                        tracing::warn!(prefix = %review.prefix, "review of a prefix this node does not hold");
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                tracing::info!(message = ?r.msgq, "poll message without a review; acknowledged");
            }
            let ack = format!("ack-{}", now_millis());
            let s = self.session().await?;
            if let Err(e) = s.command(Command::PollAck { msg_id }, &ack).await {
                self.drop_session_after(&e);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn publish_stats(&self) {
        let Ok(stats) = self.store.outbox_stats().await else {
            return;
        };
        gauge!("idnode_upstream_outbox_pending").set(stats.pending as f64);
        gauge!("idnode_upstream_outbox_dead").set(stats.dead as f64);
        gauge!("idnode_upstream_outbox_head_attempts").set(f64::from(stats.head_attempts));
        let age = stats
            .oldest_pending_at
            .map_or(0.0, |t| (now_millis() - t).max(0) as f64 / 1000.0);
        gauge!("idnode_upstream_outbox_oldest_age_seconds").set(age);
    }
}

/// Sleeps for `d`; true when asked to stop meanwhile.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
