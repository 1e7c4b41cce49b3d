//! The served OpenAPI document: the one utoipa generates from the handlers, completed with
//! what the handlers' shared code answers (every operation's error statuses) and with the
//! exact form of its inputs (this node's prefix in prefix and handle patterns, the
//! enterprise profile's fields, batch and value bounds), so that a client generated from it,
//! or a fuzzer driven by it, sends what the node accepts.

use idnode_core::{MAX_DATA_BYTES, MAX_INDEX, MAX_PROFILE_TEXT, MAX_TYPE_CHARS, MAX_VALUES};
use serde_json::{json, Map, Value};
use utoipa::OpenApi as _;

use crate::manage::ApiDoc;

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDoc"}}}
    })
}

/// Error statuses of an operation, from what it takes.
fn statuses(method: &str, path: &str, op: &Value) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("401", "credentials missing or wrong"),
        ("403", "the caller may not do this"),
        ("429", "too many authentication attempts from this client"),
        (
            "503",
            "the database is unavailable; retry after Retry-After seconds",
        ),
    ];
    if path.contains('{') || op.get("parameters").is_some() {
        out.push(("400", "a malformed parameter"));
    }
    if path.contains('{') {
        out.push(("404", "no such record"));
    }
    if op.get("requestBody").is_some() {
        out.extend([
            ("400", "a malformed body"),
            ("404", "a record the body names does not exist"),
            ("408", "the body did not arrive in time"),
            ("413", "the body exceeds its size limit"),
            ("415", "the body is not application/json"),
        ]);
    }
    if method != "get" {
        out.push(("507", "the node's storage is full; nothing was written"));
    }
    out
}

/// A printable text field of at most `max` characters.
fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"})
}

/// The enterprise profile (`idnode_core::EnterpriseProfile`): every field optional.
fn profile() -> Value {
    let t = text(MAX_PROFILE_TEXT);
    let image =
        json!({"type": "string", "maxLength": 2 * 1024 * 1024, "pattern": "^[A-Za-z0-9+/=]*$"});
    let fields = |names: &[&str]| -> Map<String, Value> {
        names.iter().map(|n| ((*n).to_owned(), t.clone())).collect()
    };
    let contact = fields(&["name", "email", "phone"]);
    let mut legal = fields(&["name", "id_type", "id_no", "id_img_type"]);
    legal.insert("id_img".into(), image.clone());
    let mut props = fields(&[
        "ent_type",
        "cert_img_type",
        "name_cn",
        "province",
        "city",
        "county",
        "addr_cn",
        "name_en",
        "addr_en",
        "website",
        "description",
        "nature",
    ]);
    props.insert(
        "credit_code".into(),
        json!({"type": "string", "pattern": "^([0-9A-Z]{18})?$",
               "description": "Unified Social Credit Code: 18 digits or upper-case letters"}),
    );
    props.insert("cert_img".into(), image);
    props.insert(
        "contact".into(),
        json!({"type": "object", "additionalProperties": false, "properties": contact}),
    );
    props.insert(
        "legal_person".into(),
        json!({"type": "object", "additionalProperties": false, "properties": legal}),
    );
    json!({"type": "object", "additionalProperties": false, "properties": props,
           "description": "Registration material sent to the top-level node"})
}

/// A value in the Handle.Net REST form, as the node accepts it in batches.
fn value() -> Value {
    json!({
        "type": "object",
        "required": ["index", "type", "data"],
        "properties": {
            "index": {"type": "integer", "minimum": 1, "maximum": MAX_INDEX},
            "type": {"type": "string", "minLength": 1, "maxLength": MAX_TYPE_CHARS,
                     "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"},
            "data": {"type": "object", "required": ["format", "value"],
                     "additionalProperties": false,
                     "properties": {
                         "format": {"type": "string", "enum": ["string"]},
                         "value": {"type": "string", "maxLength": MAX_DATA_BYTES / 4}}},
            "permissions": {"type": "string", "pattern": "^[01]{4}$"},
            "ttl": {"type": "integer", "minimum": 0, "maximum": u32::MAX},
        },
        "description": "Other data formats (base64, hex, admin, vlist, site) are accepted too; see the Handle.Net REST API"
    })
}

/// The document for a node serving `node_prefix`.
pub(crate) fn document(node_prefix: &str) -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("document serialises");
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in ops.iter_mut() {
                for (code, why) in statuses(method, path, op) {
                    op["responses"]
                        .as_object_mut()
                        .map(|r| r.entry(code).or_insert_with(|| error(why)));
                }
            }
        }
    }
    crate::snms::doc::add_to(&mut doc);
    crate::epcis::doc::add_to(&mut doc);
    let escaped = node_prefix.replace('.', "\\.");
    // Prefixes are at most 64 characters: so many segments of up to 7 fit below the node's.
    let segments = 64usize.saturating_sub(node_prefix.len()) / 7;
    let prefix = json!({"type": "string", "maxLength": 64,
                        "pattern": format!("^{escaped}(\\.[1-9][0-9]{{0,5}}){{1,{segments}}}$"),
                        "description": format!("a prefix below {node_prefix}")});
    let handle = json!({"type": "string", "maxLength": 255,
                        "pattern": format!("^{escaped}(\\.[1-9][0-9]{{0,5}}){{0,{segments}}}/[!-~]{{1,64}}$")});
    let schemas = &mut doc["components"]["schemas"];
    schemas["NewEnterpriseDto"]["properties"]["prefix"] = prefix.clone();
    schemas["NewEnterpriseDto"]["properties"]["name"] = json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"});
    schemas["NewEnterpriseDto"]["properties"]["profile"] = profile();
    schemas["NewEnterpriseDto"]["additionalProperties"] = json!(false);
    schemas["NewPrefixDto"]["properties"]["prefix"] = prefix;
    schemas["NewPrefixDto"]["properties"]["enterpriseId"]["minimum"] = json!(1);
    schemas["NewPrefixDto"]["additionalProperties"] = json!(false);
    schemas["EnterpriseProfile"] = profile();
    let item = &mut schemas["BatchItemDoc"];
    item["properties"]["op"]["enum"] = json!(["create", "update", "delete"]);
    item["properties"]["handle"] = handle.clone();
    item["properties"]["values"] =
        json!({"type": "array", "maxItems": MAX_VALUES, "items": value()});
    item["additionalProperties"] = json!(false);
    // A delete carries no values.
    item["oneOf"] = json!([
        {"properties": {"op": {"enum": ["create", "update"]}}},
        {"properties": {"op": {"const": "delete"}}, "not": {"required": ["values"]}}
    ]);
    schemas["BatchDoc"]["additionalProperties"] = json!(false);
    let ops = &mut schemas["BatchDoc"]["properties"]["operations"];
    ops["minItems"] = json!(1);
    ops["maxItems"] = json!(10_000);
    let batch = &mut doc["paths"]["/api/v1/identifiers/batch"]["post"]["parameters"];
    if let Some(params) = batch.as_array_mut() {
        for p in params.iter_mut().filter(|p| p["name"] == "Idempotency-Key") {
            p["schema"] = json!({"type": "string", "minLength": 1, "maxLength": 200,
                                 "pattern": "^[!-~]([ -~]*[!-~])?$"});
        }
    }
    for path in ["/api/v1/history/{handle}", "/api/v1/identifiers/{handle}"] {
        if let Some(p) = doc["paths"][path]["get"]["parameters"].get_mut(0) {
            p["schema"] = handle.clone();
        }
    }
    if let Some(profile) = doc["paths"]["/api/v1/enterprises/{id}/profile"]["put"]["requestBody"]
        ["content"]["application/json"]
        .as_object_mut()
    {
        profile.insert(
            "schema".into(),
            json!({"$ref": "#/components/schemas/EnterpriseProfile"}),
        );
    }
    serde_json::to_string_pretty(&doc).expect("document serialises")
}
