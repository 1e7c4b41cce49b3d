//! The change feed: `LISTEN idnode_changes` on a connection of its own, reconnected when
//! lost. After every (re)connection the sink hears [`Change::Resync`]: notifications sent
//! while no connection listened are gone, so everything cached may be stale.

use std::time::Duration;

use idnode_store::change::CHANNEL;
use idnode_store::{Change, ChangeSink, ChangeWatch};
use sqlx::postgres::PgListener;
use sqlx::{Pool, Postgres};

/// Silence after which the listening connection is checked with a query.
const PING_AFTER: Duration = Duration::from_secs(15);
/// How long that check (and a connection attempt) may take.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Aborts the feed's task when dropped.
struct Abort(tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the feed (see [`idnode_store::Store::watch_changes`]).
pub(crate) fn watch(pool: &Pool<Postgres>, instance: u64, sink: ChangeSink) -> ChangeWatch {
    let pool = pool.clone();
    ChangeWatch::new(Abort(tokio::spawn(run(pool, instance, sink))))
}

async fn run(pool: Pool<Postgres>, instance: u64, sink: ChangeSink) {
    let connected = metrics::gauge!("idnode_change_feed_connected");
    let resyncs = metrics::counter!("idnode_change_feed_resyncs_total");
    let received = metrics::counter!("idnode_change_feed_notifications_total");
    let mut backoff = Duration::from_millis(50);
    loop {
        let mut listener = match tokio::time::timeout(PING_TIMEOUT, connect(&pool)).await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "change feed: cannot listen yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(_) => continue,
        };
        backoff = Duration::from_millis(50);
        connected.set(1.0);
        resyncs.increment(1);
        sink(Change::Resync);
        loop {
            match tokio::time::timeout(PING_AFTER, listener.try_recv()).await {
                Ok(Ok(Some(n))) => {
                    received.increment(1);
                    match Change::parse(n.payload()) {
                        Some((from, change)) if from != instance => sink(change),
                        Some(_) => {}
                        None => tracing::debug!(payload = n.payload(), "change feed: not a change"),
                    }
                }
                Ok(Ok(None) | Err(_)) => break,
                Err(_) => {
                    let ping = sqlx::query("SELECT 1").execute(&mut listener);
                    if !matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        connected.set(0.0);
        tracing::warn!("change feed: the listening connection was lost; reconnecting");
    }
}

async fn connect(pool: &Pool<Postgres>) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection ends this listener: the next one is followed by a Resync, where
    // sqlx's own reconnection would lose notifications silently.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use idnode_core::{HandleValue, Identifier};
    use idnode_store::{Batch, Op, PrefixRecord, PrefixStatus, Review, Store};

    use super::*;
    use crate::PgStore;

    type Heard = Arc<Mutex<Vec<Change>>>;

    fn hear(store: &PgStore) -> (Heard, ChangeWatch) {
        let heard = Heard::default();
        let sink = heard.clone();
        let watch = store
            .watch_changes(Arc::new(move |c| sink.lock().unwrap().push(c)))
            .expect("PostgreSQL has a feed");
        (heard, watch)
    }

    /// Waits until `heard` holds `n` changes, then takes them.
    async fn take(heard: &Heard, n: usize) -> Vec<Change> {
        for _ in 0..500 {
            if heard.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::mem::take(&mut *heard.lock().unwrap())
    }

    fn batch(ops: Vec<Op>) -> Batch {
        Batch {
            actor: "test".into(),
            ops,
            idempotency: None,
            origin: String::new(),
        }
    }

    fn create(h: &str) -> Op {
        Op::Create {
            handle: Identifier::parse(h).unwrap(),
            values: vec![HandleValue::text(1, "URL", "https://a")],
        }
    }

    #[tokio::test]
    async fn another_store_hears_each_commit_and_resyncs_after_a_lost_connection() {
        let url = tokio::task::spawn_blocking(idnode_testkit::pg_database)
            .await
            .unwrap();
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        let (heard_a, _wa) = hear(&a);
        let (heard_b, _wb) = hear(&b);
        // Each feed starts with a resync.
        assert_eq!(take(&heard_b, 1).await, vec![Change::Resync]);
        assert_eq!(take(&heard_a, 1).await, vec![Change::Resync]);

        a.apply(&batch(vec![create("88.118.8/A"), create("88.118.8/B")]))
            .await
            .unwrap();
        assert_eq!(
            take(&heard_b, 1).await,
            vec![Change::Created(vec![
                "88.118.8/A".into(),
                "88.118.8/B".into()
            ])]
        );
        let rec = a.get_handle("88.118.8/A").await.unwrap().unwrap();
        a.apply(&batch(vec![
            Op::Update {
                handle: Identifier::parse("88.118.8/A").unwrap(),
                expected_version: rec.version,
                before: rec.values.clone(),
                values: vec![HandleValue::text(1, "URL", "https://b")],
            },
            Op::CreatePrefix(PrefixRecord {
                prefix: "88.118.9".into(),
                enterprise_id: None,
                status: PrefixStatus::Active,
                created_at: 1,
                review: Review::None,
                review_note: String::new(),
                template_required: false,
            }),
        ]))
        .await
        .unwrap();
        assert_eq!(
            take(&heard_b, 2).await,
            vec![Change::Handles(vec!["88.118.8/A".into()]), Change::Registry]
        );
        // A write that fails announces nothing.
        assert!(a.apply(&batch(vec![create("88.118.8/B")])).await.is_err());
        let many: Vec<Op> = (0..=idnode_store::change::MAX_CREATED_NAMED)
            .map(|i| create(&format!("88.118.8/M{i}")))
            .collect();
        a.apply(&batch(many)).await.unwrap();
        assert_eq!(take(&heard_b, 1).await, vec![Change::CreatedMany]);
        // The writer does not hear itself (B has heard everything by now).
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(*heard_a.lock().unwrap(), vec![]);

        // B's listening connection is cut: B reconnects and is told to resync.
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .execute(&sqlx::PgPool::connect(&url).await.unwrap())
        .await
        .unwrap();
        let after = take(&heard_b, 1).await;
        assert_eq!(after, vec![Change::Resync]);
        a.apply(&batch(vec![create("88.118.8/C")])).await.unwrap();
        let next = take(&heard_b, 1).await;
        assert!(
            next.contains(&Change::Created(vec!["88.118.8/C".into()])),
            "{next:?}"
        );
    }
}
