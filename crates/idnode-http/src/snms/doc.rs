//! The SNMS-compatible API in the served OpenAPI document: its paths, bodies and envelope,
//! and how each maps onto idnode (written as JSON: SNMS's bodies are looser than what utoipa
//! derives from idnode's own types).

use serde_json::{json, Value};

use super::MAX_SNMS_BATCH;

fn envelope() -> Value {
    json!({
        "type": "object", "required": ["message", "status", "data"],
        "properties": {
            "message": {"type": "string", "description": "`success`, or why not"},
            "status": {"type": "integer", "enum": [1, -1, -2, -3, -4],
                       "description": "1 success, -1 not signed in (no, unknown, revoked or expired token), -2 business failure (see message; data that does not fit its template lists every violation), -3 no permission, -4 internal error"},
            "data": {"description": "the answer (null on failure)"}
        }
    })
}

fn schemas() -> Value {
    let text = |max: usize| json!({"type": "string", "maxLength": max});
    let number = json!({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]});
    let value = json!({
        "type": "object", "required": ["index", "type", "data"],
        "properties": {
            "index": {"type": "integer", "minimum": 2000, "description": "a template item's idIndex (1001 is set by templateVersion)"},
            "type": text(128),
            "data": {"type": "object", "required": ["value"], "properties": {
                "format": {"type": "string", "enum": ["string"]}, "value": text(16384)}},
            "auth": {"type": "string", "description": "reserved"}
        }
    });
    json!({
        "SnmsEnvelope": envelope(),
        "SnmsLogin": {"type": "object", "required": ["username", "password"], "properties": {
            "username": {"type": "string", "maxLength": 255, "description": "an identity: 300:0.NA/88.118.8, or a handle holding an HS_SECKEY at index 300"},
            "password": {"type": "string", "maxLength": 1024}}},
        "SnmsTemplate": {"type": "object",
            "required": ["prefix", "version", "industryCategory", "industrySpecific", "industryTrade", "industrySubclass", "type", "items"],
            "properties": {
                "prefix": text(64), "version": text(128),
                "industryCategory": text(1), "industrySpecific": text(2),
                "industryTrade": text(3), "industrySubclass": text(4),
                "type": number, "description": text(1000),
                "items": {"type": "array", "maxItems": 500, "items": {"type": "object",
                    "required": ["name", "idType", "metadata"], "properties": {
                        "name": text(128), "idType": text(128), "idIndex": number,
                        "required": {"type": "boolean"},
                        "state": {"description": "1 enabled, 0 disabled"},
                        "metadata": {"type": "object", "description": "type (string, number, integer, boolean, date, datetime, url, email, enum, reference, gs1, json), minLength, maxLength, pattern, minimum, maximum, values, prefixes, unique"}}}}}},
        "SnmsKey": {"type": "object", "required": ["prefix", "version"],
                    "properties": {"prefix": text(64), "version": text(128)}},
        "SnmsData": {"type": "object", "required": ["handle", "templateVersion", "value"],
            "properties": {"handle": text(255), "templateVersion": text(128),
                           "value": {"type": "array", "items": value}}},
        "SnmsHandle": {"type": "object", "required": ["handle"], "properties": {"handle": text(255)}}
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// One operation: `what` it does and how it maps onto idnode, its body, whether it needs a
/// token.
fn op(summary: &str, what: &str, request: Option<Value>, signed: bool) -> Value {
    let answer = |d: &str| json!({"description": d, "content": {"application/json": {"schema": reference("SnmsEnvelope")}}});
    let mut o = json!({
        "tags": ["SNMS"], "summary": summary, "description": what,
        "responses": {"200": answer("SNMS's envelope, whatever the outcome")}
    });
    if let Some(schema) = request {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
        for (code, why) in [
            ("408", "the body did not arrive in time"),
            ("413", "the body exceeds its size limit"),
            ("415", "the body is not application/json"),
        ] {
            o["responses"][code] = answer(why);
        }
    }
    o["security"] = if signed {
        json!([{"bearer": []}])
    } else {
        json!([])
    };
    o
}

fn template_ops(v5: bool) -> Value {
    let mut t = json!({
        "get": op("Read a template version", "`Registry::template`: the enterprise's own versions (and the node's). Query: prefix, version.", None, true),
        "post": op("Define a template version", "`Registry::create_template` (as `POST /api/v1/templates`): idIndex assigned from 2000 when left out, state 0/1 read as disabled/enabled, SNMS's own fields (id, name, metadataId) ignored.", Some(reference("SnmsTemplate")), true),
        "delete": op("Delete an unused template version", "`Registry::delete_template`; a version identifiers use is kept (-2).", Some(reference("SnmsKey")), true),
    });
    t["get"]["parameters"] = json!([
        {"name": "prefix", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 64}},
        {"name": "version", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 128}}
    ]);
    if v5 {
        t["put"] = op("Change an unused template version", "SNMS v5 semantics: items matched by idIndex and idType change, other items are added, items left out stay (`Template::amended`), then `Registry::update_template`; a version identifiers use no longer changes (-2).", Some(reference("SnmsTemplate")), true);
    }
    t
}

/// Adds the SNMS paths, schemas and the bearer scheme to `doc`.
pub(crate) fn add_to(doc: &mut Value) {
    let batch = |items: Value| json!({"type": "array", "minItems": 1, "maxItems": MAX_SNMS_BATCH, "items": items});
    let paths = json!({
        "/identity/token": {
            "post": op("Sign in with the secret", "`Registry::issue_token`: the identity's secret checked like Basic credentials (rate-limited per client); data {token}, a bearer token living [snms] token_lifetime_secs (24 h), void when revoked or when the identity's secret changes. Wrong credentials: -2.", Some(reference("SnmsLogin")), false),
            "delete": op("Sign out", "Revokes the bearer token sent.", None, true)
        },
        "/identity/token/v1": {
            "post": op("Sign in with the daily hash", "As /identity/token with password = hex(sha256(hex(sha256(secret)) + yyyy-MM-dd)), today's date in China (UTC+8) or in UTC. Needs the node's sealing key.", Some(reference("SnmsLogin")), false)
        },
        "/snms/api/v3/template": template_ops(false),
        "/snms/api/v5/template": template_ops(true),
        "/identityv2/data": {
            "post": op("Register an identifier", "One create through the write pipeline: templateVersion becomes the value at index 1001 (TEMPLATE), which the body may not set; items from 2000 up; checked against the template (every violation in message). An existing handle: -2 标识已存在.", Some(reference("SnmsData")), true),
            "put": op("Update an identifier", "Replaces the identifier's template data (1001 and 2000 up) and keeps its other values (HS_ADMIN, keys); checked like a registration.", Some(reference("SnmsData")), true),
            "delete": op("Delete an identifier", "Deletes it (a missing one: -2 没有找到标识).", Some(reference("SnmsHandle")), true)
        },
        "/identityv2/data/detail": {
            "get": {
                "tags": ["SNMS"], "summary": "An identifier's data",
                "description": "`Registry::detail`: data {code, prefix, handle, templateVersion, value[{index, type, data{format, value}, name}]}, the values the caller may read that are text, each with its template item's name.",
                "parameters": [{"name": "handle", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 255}}],
                "security": [{"bearer": []}],
                "responses": {"200": {"description": "SNMS's envelope", "content": {"application/json": {"schema": reference("SnmsEnvelope")}}}}
            }
        },
        "/identityv2/data/batchCreate": {
            "post": op("Register up to 2,000 identifiers", "`Registry::write_each`: each item succeeds or fails on its own (idnode's own batch is all-or-nothing); data [{handle, msg}], msg `success` or why not.", Some(batch(reference("SnmsData"))), true)
        },
        "/identityv2/data/batchUpdate": {
            "put": op("Update up to 2,000 identifiers", "As batchCreate, each item as PUT /identityv2/data.", Some(batch(reference("SnmsData"))), true)
        },
        "/identityv2/data/batchDelete": {
            "delete": op("Delete up to 2,000 identifiers", "Each handle on its own; data [{handle, code, msg}], code 1 or an SNMS status.", Some(batch(json!({"type": "string", "maxLength": 255}))), true)
        }
    });
    if let (Some(all), Value::Object(new)) = (doc["paths"].as_object_mut(), paths) {
        all.extend(new);
    }
    if let (Some(all), Value::Object(new)) =
        (doc["components"]["schemas"].as_object_mut(), schemas())
    {
        all.extend(new);
    }
    doc["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http", "scheme": "bearer",
        "description": "a token from POST /identity/token or /identity/token/v1 (SNMS API only)"
    });
}
