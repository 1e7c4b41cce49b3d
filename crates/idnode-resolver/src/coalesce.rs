//! Misses read the store together.
//!
//! Under load many misses wait for the store at once, each paying a round trip of its own
//! (a statement, a network send and receive on both sides). Here a miss joins a queue; a
//! caller holding one of a few read slots takes everything queued (up to [`MOST`] keys) and
//! reads it in one statement, then hands each waiter its record. A lone miss finds a free
//! slot and reads at once, so coalescing adds no wait when the node is quiet: batches form
//! only while earlier reads are in flight.
//!
//! No task of its own: whichever waiter gets a slot does the read. If that caller goes
//! away mid-read (its client hung up), the others read their keys alone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use idnode_store::{HandleRecord, StoreError};
use tokio::sync::{oneshot, Semaphore};

/// Most keys read in one statement.
pub(crate) const MOST: usize = 64;
type Reply = Result<Option<Arc<HandleRecord>>, StoreError>;

struct Waiting {
    key: String,
    reply: oneshot::Sender<Reply>,
}

/// The queue of misses and the read slots.
pub(crate) struct Coalescer {
    queue: Mutex<Vec<Waiting>>,
    slots: Semaphore,
}

impl Coalescer {
    /// A coalescer with `slots` reads in flight at once (at least one; each holds one
    /// database connection).
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            slots: Semaphore::new(slots.max(1)),
        }
    }

    /// The record of `key` (exact handle), read by `read` together with other misses
    /// queued meanwhile; `read` gets distinct keys and returns the records found.
    pub(crate) async fn load<F, Fut>(&self, key: &str, read: F) -> Reply
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<HandleRecord>, StoreError>>,
    {
        let (tx, mut rx) = oneshot::channel();
        self.lock().push(Waiting {
            key: key.to_owned(),
            reply: tx,
        });
        loop {
            tokio::select! {
                biased;
                got = &mut rx => return match got {
                    Ok(reply) => reply,
                    // The caller reading it went away: read alone.
                    Err(_) => read(vec![key.to_owned()]).await.map(|r| r.into_iter().next().map(Arc::new)),
                },
                permit = self.slots.acquire() => {
                    let Ok(_permit) = permit else { continue };
                    let batch = self.take();
                    if batch.is_empty() {
                        // Another caller took this key: its answer comes on `rx`.
                        return rx.await.unwrap_or_else(|_| Err(gone()));
                    }
                    answer(batch, &read).await;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest queued misses, up to [`MOST`] distinct keys.
    fn take(&self) -> Vec<Waiting> {
        let mut queue = self.lock();
        let mut keys = 0;
        let mut seen = std::collections::HashSet::new();
        let mut end = 0;
        for w in queue.iter() {
            if seen.insert(w.key.as_str()) {
                keys += 1;
                if keys > MOST {
                    break;
                }
            }
            end += 1;
        }
        queue.drain(..end).collect()
    }
}

/// Reads the keys of `batch` in one call and replies to every waiter.
async fn answer<F, Fut>(batch: Vec<Waiting>, read: &F)
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<HandleRecord>, StoreError>>,
{
    let mut keys: Vec<String> = batch.iter().map(|w| w.key.clone()).collect();
    keys.sort_unstable();
    keys.dedup();
    match read(keys).await {
        Ok(records) => {
            let found: HashMap<String, Arc<HandleRecord>> = records
                .into_iter()
                .map(|r| (r.handle.clone(), Arc::new(r)))
                .collect();
            for w in batch {
                let _ = w.reply.send(Ok(found.get(&w.key).cloned()));
            }
        }
        Err(e) => {
            for w in batch {
                let _ = w.reply.send(Err(share(&e)));
            }
        }
    }
}

/// A copy of a read's failure for each of its waiters (the kind kept, the database's own
/// error reduced to its text, which only goes to the log).
fn share(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Full(m) => StoreError::Full(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::NotFound(m) => StoreError::NotFound(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        other => StoreError::Database(other.to_string().into()),
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable("the read of this handle was abandoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn record(handle: &str) -> HandleRecord {
        HandleRecord {
            handle: handle.to_owned(),
            values: Vec::new(),
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// Concurrent misses share reads, every waiter gets its own key's answer, and no read
    /// holds more than MOST keys.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_share_reads() {
        let c = Arc::new(Coalescer::new(4));
        let reads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..500 {
            let (c, reads) = (c.clone(), reads.clone());
            tasks.push(tokio::spawn(async move {
                // Every third key is missing; keys repeat.
                let key = format!("88.118.8/k{}", i % 300);
                let got = c
                    .load(&key, |keys| {
                        let reads = reads.clone();
                        async move {
                            assert!(keys.len() <= MOST);
                            reads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                            Ok(keys
                                .iter()
                                .filter(|k| !k.ends_with('0') && !k.ends_with('5'))
                                .map(|k| record(k))
                                .collect())
                        }
                    })
                    .await
                    .unwrap();
                (key, got)
            }));
        }
        for t in tasks {
            let (key, got) = t.await.unwrap();
            let missing = key.ends_with('0') || key.ends_with('5');
            assert_eq!(got.map(|r| r.handle.clone()), (!missing).then_some(key));
        }
        let n = reads.load(Ordering::SeqCst);
        assert!(n < 500, "{n} reads for 500 misses");
    }

    /// A failed read reaches every waiter of its batch with its kind.
    #[tokio::test]
    async fn failures_reach_every_waiter() {
        let c = Coalescer::new(4);
        let fail = |_keys: Vec<String>| async {
            Err::<Vec<HandleRecord>, _>(StoreError::Unavailable("down".into()))
        };
        let (a, b) = tokio::join!(c.load("88.118.8/a", fail), c.load("88.118.8/b", fail));
        assert!(matches!(a, Err(StoreError::Unavailable(_))));
        assert!(matches!(b, Err(StoreError::Unavailable(_))));
    }
}
