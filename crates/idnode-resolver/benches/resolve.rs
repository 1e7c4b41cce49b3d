//! Cache-hit cost of the resolver (the hot path behind every front end).
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use idnode_core::{HandleValue, Identifier};
use idnode_resolver::{CacheConfig, Outcome, Resolver, View};
use idnode_store::{Batch, Op, Store};
use idnode_store_sqlite::SqliteStore;

fn cache_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let (resolver, ids) = rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
        let ids: Vec<Identifier> = (0..10_000)
            .map(|i| Identifier::parse(&format!("88.118.8/p{i:09}")).unwrap())
            .collect();
        let ops = ids
            .iter()
            .map(|h| Op::Create {
                handle: h.clone(),
                values: vec![
                    HandleValue::text(1, "URL", "https://trace.example.com/p/1"),
                    HandleValue::text(2, "productName", "gearbox housing"),
                ],
            })
            .collect();
        store
            .apply(&Batch {
                actor: "bench".into(),
                ops,
                idempotency: None,
                origin: String::new(),
            })
            .await
            .unwrap();
        let r = Resolver::new(store, vec!["88.118".into()], &CacheConfig::default());
        for h in &ids {
            r.resolve(h, View::Public, false).await.unwrap();
        }
        (r, ids)
    });
    let mut i = 0;
    c.bench_function("resolver_cached_lookup", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            let e = resolver.cached(&ids[i], View::Public).unwrap();
            criterion::black_box(e.body().len())
        })
    });
    // The counting every front end adds to a cached lookup: Prometheus counter, per-prefix
    // statistics and the client sketch.
    let meter = idnode_resolver::Meter::new("http");
    let client = std::net::IpAddr::from([192, 0, 2, 7]);
    c.bench_function("resolver_cached_lookup_and_prometheus_count", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            let e = resolver.cached(&ids[i], View::Public).unwrap();
            meter.count(Outcome::Ok);
            criterion::black_box(e.body().len())
        })
    });
    c.bench_function("resolver_cached_lookup_and_count", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            let e = resolver.cached(&ids[i], View::Public).unwrap();
            meter.record(resolver.tally(), ids[i].prefix(), Outcome::Ok, Some(client));
            criterion::black_box(e.body().len())
        })
    });
    c.bench_function("resolver_resolve_hit_incl_block_on", |b| {
        b.iter(|| {
            i = (i + 7919) % ids.len();
            let e = rt
                .block_on(resolver.resolve(&ids[i], View::Public, false))
                .unwrap();
            criterion::black_box(e.body().len())
        })
    });
}

criterion_group!(benches, cache_hit);
criterion_main!(benches);
