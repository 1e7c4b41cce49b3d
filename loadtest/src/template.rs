//! A 10-item metadata template for bulk registration benchmarks, and values that fit it.

use serde_json::{json, Value};

/// The definition of `version` under `prefix`: ten items of the kinds enterprises use most,
/// with rules on each (`unique`: the serial number is declared unique within the prefix).
pub(crate) fn definition(prefix: &str, version: &str, unique: bool) -> Value {
    let item = |name: &str, id_type: &str, index: u32, metadata: Value| json!({"name": name, "idType": id_type, "idIndex": index, "required": true, "metadata": metadata});
    json!({
        "prefix": prefix, "version": version,
        "industryCategory": "C", "industrySpecific": "34", "industryTrade": "345",
        "industrySubclass": "3453", "type": 1, "description": "bulk benchmark",
        "items": [
            item("产品名称", "productName", 2000, json!({"type": "string", "minLength": 1, "maxLength": 64})),
            item("序列号", "serialNo", 2001, json!({"type": "string", "pattern": "^SN-[0-9]{9}$", "unique": unique})),
            item("数量", "quantity", 2002, json!({"type": "integer", "minimum": 1, "maximum": 1000000})),
            item("重量", "weightKg", 2003, json!({"type": "number", "minimum": 0, "maximum": 10000})),
            item("等级", "grade", 2004, json!({"type": "enum", "values": ["A", "B", "C"]})),
            item("生产日期", "madeOn", 2005, json!({"type": "date"})),
            item("说明书", "manualUrl", 2006, json!({"type": "url", "maxLength": 200})),
            item("商品条码", "gtin", 2007, json!({"type": "gs1"})),
            item("联系人", "contact", 2008, json!({"type": "email"})),
            item("合格", "passed", 2009, json!({"type": "boolean"}))
        ]
    })
}

/// The ten item values of identifier `i` (all fitting the definition).
pub(crate) fn values(i: usize) -> Vec<Value> {
    let v = |index: u32, t: &str, data: String| json!({"index": index, "type": t, "data": data});
    vec![
        v(2000, "productName", "gearbox housing".into()),
        v(2001, "serialNo", format!("SN-{i:09}")),
        v(2002, "quantity", (i % 1000 + 1).to_string()),
        v(2003, "weightKg", format!("{}.5", i % 100)),
        v(2004, "grade", ["A", "B", "C"][i % 3].into()),
        v(
            2005,
            "madeOn",
            format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
        ),
        v(
            2006,
            "manualUrl",
            format!("https://docs.example.com/manual/{i}"),
        ),
        v(2007, "gtin", gtin13(i)),
        v(2008, "contact", "qa@gearbox.example.com".into()),
        v(
            2009,
            "passed",
            if i.is_multiple_of(7) { "false" } else { "true" }.into(),
        ),
    ]
}

/// A GTIN-13 with a correct check digit, distinct per `i` (modulo 10⁶).
fn gtin13(i: usize) -> String {
    let body = format!("690123{:06}", i % 1_000_000);
    let check = idnode_template::gs1_check_digit(&body).expect("digits");
    format!("{body}{check}")
}
