//! Hot functions of the model: identifier parsing and value encoding.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use idnode_core::json::{render_record, values_from_json, values_to_json};
use idnode_core::{AdminRef, HandleValue, Identifier};

fn record() -> Vec<HandleValue> {
    vec![
        HandleValue::text(1, "URL", "https://trace.example.com/p/123456"),
        HandleValue::text(2, "productName", "gearbox housing"),
        HandleValue::admin(100, &AdminRef::new("0.NA/88.118.8", 300)),
    ]
}

fn parsing(c: &mut Criterion) {
    c.bench_function("identifier_parse", |b| {
        b.iter(|| Identifier::parse(black_box("88.118.8/GBX-2026-000123")).unwrap())
    });
    c.bench_function("identifier_parse_lowercase_prefix", |b| {
        b.iter(|| Identifier::parse(black_box("88.abc.8/GBX-2026-000123")).unwrap())
    });
}

fn encoding(c: &mut Criterion) {
    let values = record();
    c.bench_function("render_record_3_values", |b| {
        b.iter(|| render_record(black_box("88.118.8/GBX-2026-000123"), &values))
    });
    c.bench_function("values_to_json_3_values", |b| {
        b.iter(|| values_to_json(black_box(&values)))
    });
    let stored = values_to_json(&values);
    c.bench_function("values_from_json_3_values", |b| {
        b.iter(|| values_from_json(black_box(&stored)).unwrap())
    });
    // The record of the load tests (`idnode-loadtest bulk`): five short values and the
    // HS_ADMIN value the node adds.
    let six = vec![
        HandleValue::text(1, "URL", "https://trace.example.com/p/000123456"),
        HandleValue::text(2, "productName", "gearbox housing"),
        HandleValue::text(3, "batchNumber", "B2026-0042"),
        HandleValue::text(4, "productionDate", "2026-03-01"),
        HandleValue::text(5, "manufacturer", "Chongqing Gearbox Co."),
        HandleValue::admin(100, &AdminRef::new("0.NA/88.118.8", 300)),
    ];
    c.bench_function("render_record_6_values", |b| {
        b.iter(|| render_record(black_box("88.118.8/p000123456"), &six))
    });
    let admin = AdminRef::new("0.NA/88.118.8", 300);
    let bytes = admin.encode();
    c.bench_function("hs_admin_decode", |b| {
        b.iter(|| AdminRef::decode(black_box(&bytes)).unwrap())
    });
}

criterion_group!(benches, parsing, encoding);
criterion_main!(benches);
