//! A top-level node that misbehaves: bad XML, result codes RFC 5730 does not define, an
//! oversize frame, a stalled connection, a transient failure, a refusal. Each gives a clear
//! error on the queued action and a retry (or, for the refusal, a dead row for an operator);
//! once the server behaves, everything is delivered exactly once.
#![allow(missing_docs)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idnode_epp::{
    body_len, encode_frame, Command, Document, Greeting, Namespaces, ResData, Response, HEADER_LEN,
};
use idnode_registry::{Registry, UpstreamPolicy};
use idnode_resolver::{CacheConfig, Resolver};
use idnode_store::{OutboxState, Store};
use idnode_store_sqlite::SqliteStore;
use idnode_upstream::{EppConfig, Worker, WorkerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GOOD: u8 = 0;
const BAD_XML: u8 = 1;
const UNKNOWN_CODE: u8 = 2;
const OVERSIZE: u8 = 3;
const STALL: u8 = 4;
const TRANSIENT: u8 = 5;
const REFUSE: u8 = 6;

#[derive(Default)]
struct Seen {
    /// clTRIDs of the ent:create commands applied.
    creates: Vec<String>,
    /// Distinct clTRIDs of applied transform commands.
    applied: HashSet<String>,
    /// Transform commands received more than once (redeliveries).
    repeats: usize,
    /// `<hello>` keep-alives received.
    hellos: usize,
}

async fn fake_server(dir: &std::path::Path, mode: Arc<AtomicU8>, seen: Arc<Mutex<Seen>>) -> u16 {
    let tls = idnode_toplevel::tls::server_config(dir).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, mode, seen) = (acceptor.clone(), mode.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let ns = Namespaces::default();
                let greeting = Greeting {
                    sv_id: "fake".into(),
                    versions: vec!["1.0".into()],
                    ..Default::default()
                };
                let _ = s.write_all(&encode_frame(&greeting.to_xml())).await;
                loop {
                    let mut h = [0u8; HEADER_LEN];
                    if s.read_exact(&mut h).await.is_err() {
                        return;
                    }
                    let mut body = vec![0u8; body_len(h, 1 << 20).unwrap()];
                    s.read_exact(&mut body).await.unwrap();
                    let req = match Document::parse(&body, &ns) {
                        Ok(Document::Command(req)) => req,
                        Ok(Document::Hello) => {
                            seen.lock().unwrap().hellos += 1;
                            let _ = s.write_all(&encode_frame(&greeting.to_xml())).await;
                            continue;
                        }
                        Err(_) => continue,
                    };
                    let trid = Some(req.cl_trid.clone());
                    let m = mode.load(Ordering::SeqCst);
                    let out = match (&req.command, m) {
                        (Command::Login { .. }, _) => Response::new(1000, trid, "s").to_xml(&ns),
                        (_, BAD_XML) => "<epp><response><result code=\"1000\">".to_owned(),
                        (_, UNKNOWN_CODE) => Response::new(3123, trid, "s").to_xml(&ns),
                        (_, OVERSIZE) => {
                            let _ = s.write_all(&(64u32 << 20).to_be_bytes()).await;
                            let _ = s.write_all(b"<epp>").await;
                            tokio::time::sleep(Duration::from_secs(5)).await;
                            return;
                        }
                        (_, STALL) => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        (_, TRANSIENT) => Response::new(2400, trid, "s").to_xml(&ns),
                        (Command::EntCreate { .. }, REFUSE) => {
                            let mut r = Response::new(2306, trid, "s");
                            r.reason = Some("credit code not on file".into());
                            r.to_xml(&ns)
                        }
                        (Command::PollReq, _) => Response::new(1300, trid, "s").to_xml(&ns),
                        (command, _) => {
                            let mut r = Response::new(1000, trid, "s");
                            let mut seen = seen.lock().unwrap();
                            if !seen.applied.insert(req.cl_trid.clone()) {
                                seen.repeats += 1;
                            } else if let Command::EntCreate { .. } = command {
                                seen.creates.push(req.cl_trid.clone());
                            }
                            if let Command::EntCreate { .. } = command {
                                r.data = ResData::EntCreated("E7".into());
                            }
                            r.to_xml(&ns)
                        }
                    };
                    if s.write_all(&encode_frame(&out)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_give_clear_errors_and_retries_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, registry) = node_with_an_enterprise(dir.path()).await;
    let mode = Arc::new(AtomicU8::new(BAD_XML));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let port = fake_server(dir.path(), mode.clone(), seen.clone()).await;
    let worker = worker(dir.path(), port, &store, &registry);
    // Each misbehaviour leaves the first action (the node's site registration, queued by
    // init) queued, with a growing attempt count and an error that says what happened.
    for (m, expect) in [
        (BAD_XML, "malformed answer"),
        (UNKNOWN_CODE, "3123"),
        (OVERSIZE, "refused (limit"),
        (STALL, "did not answer within"),
        (TRANSIENT, "2400"),
    ] {
        mode.store(m, Ordering::SeqCst);
        until(expect, || async {
            let head = store.outbox_head().await.unwrap().unwrap();
            head.attempts >= 1
                && head
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains(expect))
        })
        .await;
        let head = store.outbox_head().await.unwrap().unwrap();
        assert_eq!(head.state, OutboxState::Pending);
    }
    assert!(seen.lock().unwrap().creates.is_empty());

    // A refusal is not retried: the step is set aside and the queue moves on; the prefix
    // application cannot go without the enterprise, so it is set aside too.
    mode.store(REFUSE, Ordering::SeqCst);
    until("the refusal to be set aside", || async {
        store.outbox_stats().await.unwrap().dead == 2
    })
    .await;
    mode.store(GOOD, Ordering::SeqCst);
    let dead = store.outbox_list(OutboxState::Dead, 10).await.unwrap();
    assert_eq!(dead[0].kind, "enterprise.create");
    let error = |k: usize| dead[k].last_error.clone().unwrap_or_default();
    assert!(error(0).contains("2306") && error(0).contains("credit code not on file"));
    assert_eq!(dead[1].kind, "prefix.apply");
    assert!(error(1).contains("was not created at the top-level node"));

    // The operator fixes the cause and re-queues both; they go through, once.
    for d in store.outbox_list(OutboxState::Dead, 10).await.unwrap() {
        store
            .apply(&idnode_store::Batch {
                actor: "operator".into(),
                ops: vec![idnode_store::Op::OutboxRequeue { id: d.id }],
                idempotency: None,
                origin: String::new(),
            })
            .await
            .unwrap();
    }
    until("the queue to drain", || async {
        let s = store.outbox_stats().await.unwrap();
        s.pending == 0 && s.dead == 0
    })
    .await;
    let e = store.get_enterprise(1).await.unwrap().unwrap();
    assert_eq!(e.upstream_id.as_deref(), Some("E7"));
    // Idle, the session is kept open with <hello>.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (creates, repeats, hellos) = {
        let seen = seen.lock().unwrap();
        (seen.creates.len(), seen.repeats, seen.hellos)
    };
    assert_eq!((creates, repeats), (1, 0));
    assert!(hellos >= 1, "no keep-alive while idle");
    worker.shutdown().await;
}

/// A node (SQLite, connected upstream) with one enterprise: its store and registry.
async fn node_with_an_enterprise(dir: &std::path::Path) -> (Arc<dyn Store>, Arc<Registry>) {
    let url = format!("sqlite://{}", dir.join("n.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let resolver = Arc::new(Resolver::new(
        store.clone(),
        vec!["88.118".into()],
        &CacheConfig::default(),
    ));
    let registry = Arc::new(
        Registry::new(store.clone(), resolver, "88.118").with_upstream(UpstreamPolicy {
            sync_identifiers: true,
        }),
    );
    registry.init_node(None).await.unwrap();
    let op = idnode_registry::Principal::Operator {
        identity: "test".into(),
    };
    registry
        .create_enterprise(&op, "Gearbox Co", "88.118.8", Default::default())
        .await
        .unwrap();

    (store, registry)
}

/// The worker delivering `store`'s outbox to the fake server on `port`, with short
/// timeouts and backoff.
fn worker(
    dir: &std::path::Path,
    port: u16,
    store: &Arc<dyn Store>,
    registry: &Arc<Registry>,
) -> idnode_upstream::WorkerHandle {
    let epp = EppConfig {
        host: "127.0.0.1".into(),
        port,
        server_name: None,
        ca_file: idnode_toplevel::tls::cert_path(dir),
        client_cert: None,
        client_id: "snms-88.118".into(),
        password: "pw".into(),
        namespaces: Namespaces::default(),
        timeout: Duration::from_millis(400),
        max_frame: 1 << 20,
    };
    let cfg = WorkerConfig {
        node_prefix: "88.118".into(),
        shr_user_id: "snms-88.118".into(),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        poll_interval: Duration::from_secs(3600),
        keepalive: Duration::from_millis(100),
        ..WorkerConfig::default()
    };
    Worker::new(store.clone(), registry.clone(), epp, cfg).spawn()
}
