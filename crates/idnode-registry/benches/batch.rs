//! Reading a bulk batch body (10,000 creates of five values each, as `loadtest/` sends them)
//! into checked values: in one pass (`BatchRequest::from_slice`), beside the former two-pass
//! read (every value kept raw, then parsed on its own) as its reference.
#![allow(missing_docs)]

use std::fmt::Write as _;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use idnode_core::json::ValueIn;
use idnode_core::{validate_record_shape, HandleValue};
use idnode_registry::BatchRequest;
use serde_json::value::RawValue;

const ITEMS: u64 = 10_000;

fn body() -> String {
    let mut s = String::from(r#"{"operations":["#);
    for i in 0..ITEMS {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"op":"create","handle":"88.118.8/p{i:09}","values":[{{"index":1,"type":"URL","data":"https://trace.example.com/p/{i}"}},{{"index":2,"type":"productName","data":"gearbox housing"}},{{"index":3,"type":"batchNo","data":"L{:06}"}},{{"index":4,"type":"productionDate","data":"2026-12-05"}},{{"index":5,"type":"manufacturer","data":{{"format":"string","value":"Chongqing Gearworks Co."}}}}]}}"#,
            i / 1000
        );
    }
    s.push_str("]}");
    s
}

fn checked(values: Vec<ValueIn>) -> Vec<HandleValue> {
    let vs: Vec<HandleValue> = values
        .into_iter()
        .map(|v| v.into_value().unwrap())
        .collect();
    // Each value was checked as it was converted (as the registry does).
    validate_record_shape(&vs).unwrap();
    vs
}

#[derive(serde::Deserialize)]
struct TwoPass<'a> {
    #[serde(borrow)]
    operations: Vec<TwoPassItem<'a>>,
}

#[derive(serde::Deserialize)]
struct TwoPassItem<'a> {
    #[serde(borrow)]
    handle: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    values: Vec<&'a RawValue>,
}

fn read(c: &mut Criterion) {
    let body = body();
    let mut g = c.benchmark_group("batch_body_10k");
    g.throughput(Throughput::Elements(ITEMS));
    g.sample_size(20);
    g.bench_function("one_pass", |b| {
        b.iter(|| {
            let req = BatchRequest::from_slice(black_box(body.as_bytes())).unwrap();
            req.operations
                .into_iter()
                .map(|i| {
                    let vs = i.values.unwrap().unwrap();
                    validate_record_shape(&vs).unwrap();
                    (i.handle.into_owned(), vs)
                })
                .count()
        })
    });
    g.bench_function("two_pass_reference", |b| {
        b.iter(|| {
            let req: TwoPass<'_> = serde_json::from_slice(black_box(body.as_bytes())).unwrap();
            req.operations
                .into_iter()
                .map(|i| {
                    let values = i
                        .values
                        .iter()
                        .map(|v| serde_json::from_str(v.get()).unwrap());
                    (i.handle.into_owned(), checked(values.collect()))
                })
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
