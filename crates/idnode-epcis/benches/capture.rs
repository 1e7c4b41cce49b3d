//! Hot functions of a capture: checking a document (JSON Schema and vocabularies), the
//! event hash ID and the index of one event, on the gearbox example's events.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use idnode_epcis::{capture_document, event_hash, index, IdentifierForms};
use serde_json::Value;

/// The gearbox document with its 11 events repeated to `n`.
fn document(n: usize) -> Vec<u8> {
    let text = include_str!("../../idnode-trace/tests/data/gearbox.jsonld");
    let mut doc: Value = serde_json::from_str(text).unwrap();
    let events = doc["epcisBody"]["eventList"].as_array().unwrap().clone();
    let list: Vec<Value> = events.iter().cycle().take(n).cloned().collect();
    doc["epcisBody"]["eventList"] = Value::Array(list);
    serde_json::to_vec(&doc).unwrap()
}

fn capture(c: &mut Criterion) {
    let doc = document(1_000);
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Elements(1_000));
    g.sample_size(20);
    g.bench_function("capture_document_1000_events", |b| {
        b.iter(|| capture_document(black_box(&doc)).unwrap())
    });
    g.bench_function("json_parse_1000_events", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&doc)).unwrap())
    });
    g.finish();
    let checked = capture_document(&doc).unwrap();
    let e = &checked.events[9];
    c.bench_function("event_hash_aggregation", |b| {
        b.iter(|| event_hash(black_box(&e.body), &checked.namespaces))
    });
    let forms = IdentifierForms::new(["https://id.example.cn/"]);
    c.bench_function("index_aggregation", |b| {
        b.iter(|| index(black_box(&e.body), &checked.namespaces, &forms))
    });
}

criterion_group!(benches, capture);
criterion_main!(benches);
