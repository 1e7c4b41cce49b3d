//! `/epcis` in the served OpenAPI document: the trace graph, recall and grants idnode adds
//! to the EPCIS 2.0 REST bindings, and the named queries and subscriptions (the capture and
//! query operations GS1 documents in its own OpenAPI file).

use serde_json::{json, Value};

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn schemas() -> Value {
    let text = json!({"type": "string"});
    json!({
        "TraceGraph": {
            "type": "object", "required": ["root", "direction", "nodes", "edges", "truncated"],
            "properties": {
                "root": {"type": "string", "description": "the key of the identifier traced: a canonical GS1 Digital Link, `hdl:` and the case-folded handle, or the URI as given"},
                "direction": {"type": "string", "enum": ["back", "forward"]},
                "nodes": {"type": "array", "items": {"type": "object", "required": ["id", "depth"], "properties": {
                    "id": text, "depth": {"type": "integer", "minimum": 0, "description": "steps from the root"}}}},
                "edges": {"type": "array", "items": {"type": "object", "required": ["from", "to", "kind", "events"], "properties": {
                    "from": {"type": "string", "description": "the node nearer the root"},
                    "to": {"type": "string", "description": "the node reached"},
                    "kind": {"type": "string", "enum": ["aggregation", "transformation", "association", "transaction"]},
                    "events": {"type": "array", "items": text, "description": "the eventIDs behind the edge, in time order"},
                    "since": {"type": "integer", "description": "containment: first entry (unix ms); absent: before any event seen"},
                    "until": {"type": "integer", "description": "containment: last exit (unix ms); absent: still inside"}}}},
                "truncated": {"type": "boolean", "description": "the depth or node limit cut the trace short"}
            }
        },
        "Recall": {
            "type": "object", "required": ["recalled", "items", "truncated"],
            "properties": {
                "recalled": text,
                "items": {"type": "array", "items": {"type": "object", "required": ["id", "depth", "current", "outermost"], "properties": {
                    "id": text, "depth": {"type": "integer", "minimum": 1},
                    "current": {"type": "boolean", "description": "contains the recalled lot now (false: did for a while)"},
                    "outermost": {"type": "boolean", "description": "contains it now and is inside nothing else"},
                    "location": {"type": "string", "description": "last known bizLocation, else readPoint"},
                    "disposition": {"type": "string", "description": "last known disposition"}}}},
                "truncated": {"type": "boolean"}
            }
        },
        "Grant": {
            "type": "object", "required": ["owner", "grantee", "bizStep", "createdAt"],
            "properties": {"owner": {"type": "integer"}, "grantee": {"type": "integer"},
                           "bizStep": {"type": "string", "description": "empty: every event"},
                           "createdAt": {"type": "integer"}}
        },
        "NewGrant": {
            "type": "object", "required": ["grantee"], "additionalProperties": false,
            "properties": {"grantee": {"type": "integer", "minimum": 1, "maximum": i64::MAX},
                           "bizStep": {"type": "string", "maxLength": 1024, "description": "a CBV term or URI; absent or empty: every event"}}
        },
        "NamedQuery": {
            "type": "object", "required": ["name", "query"],
            "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,128}$"},
                           "query": {"type": "object", "description": "query parameters of GS1's query-schema.json; a list parameter's values as an array"}}
        },
        "NewSubscription": {
            "type": "object", "required": ["dest"],
            "properties": {"dest": {"type": "string", "maxLength": 2048, "description": "an http or https webhook URL, not on a loopback or private address"},
                           "signatureToken": {"type": "string", "minLength": 1, "maxLength": 512},
                           "stream": {"type": "boolean", "enum": [true]},
                           "schedule": {"type": "object", "description": "second, minute, hour, dayOfMonth, month, dayOfWeek: lists and [low-high] ranges, UTC"},
                           "reportIfEmpty": {"type": "boolean"},
                           "initialRecordTime": {"type": "string", "format": "date-time"}}
        },
        "Subscription": {
            "type": "object", "required": ["subscriptionID", "dest", "createdAt", "minRecordTime"],
            "properties": {"subscriptionID": text, "dest": text, "createdAt": text, "minRecordTime": text,
                           "lastNotifiedAt": text, "stream": {"type": "boolean"}, "schedule": {"type": "object"},
                           "reportIfEmpty": {"type": "boolean"}}
        },
        "Problem": {
            "type": "object", "required": ["type", "title", "status", "detail"],
            "properties": {"type": text, "title": text, "status": {"type": "integer"}, "detail": text,
                           "errors": {"type": "array", "items": {"type": "object", "properties": {
                               "event": {"type": ["integer", "null"]}, "pointer": text, "message": text}}}}
        }
    })
}

fn problems(codes: &[(&str, &str)]) -> Value {
    let mut out = serde_json::Map::new();
    for (code, why) in codes {
        out.insert(
            (*code).to_owned(),
            json!({"description": why, "content": {"application/problem+json": {"schema": reference("Problem")}}}),
        );
    }
    Value::Object(out)
}

fn answer(schema: &Value, what: &str, errors: &[(&str, &str)]) -> Value {
    let mut r = problems(errors);
    r["200"] = json!({"description": what, "content": {"application/json": {"schema": schema}}});
    r
}

/// Adds the trace, recall and grant paths and their schemas to `doc`.
pub(crate) fn add_to(doc: &mut Value) {
    const READ: [(&str, &str); 4] = [
        ("400", "a malformed parameter"),
        ("401", "credentials missing or refused"),
        ("429", "too many authentication attempts from this client"),
        (
            "503",
            "the database is unavailable; retry after Retry-After seconds",
        ),
    ];
    let epc = json!({"name": "epc", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 1024},
                     "description": "any URI form of an identifier (EPC URN, GS1 Digital Link, hdl:, the node's URL), a class or lot"});
    let paths = json!({
        "/epcis/trace/{epc}": {"get": {
            "tags": ["Traceability"], "summary": "Trace back or forward in one request",
            "description": "Follows aggregations and associations (a child counts while inside: from its ADD or OBSERVE to its DELETE), transformations (instances and classes or lots, across events sharing a transformationID) among the events the caller may read, to `depth` steps and `nodes` nodes, cycle-safe.",
            "parameters": [epc,
                {"name": "direction", "in": "query", "schema": {"type": "string", "enum": ["back", "forward"], "default": "back"}},
                {"name": "depth", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64}},
                {"name": "nodes", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}}],
            "responses": answer(&reference("TraceGraph"), "the graph", &READ)}},
        "/epcis/recall/{epc}": {"get": {
            "tags": ["Traceability"], "summary": "What contains this lot or item",
            "description": "Every item containing it directly or through transformations and aggregations, the outermost marked, each with its last known location and disposition.",
            "parameters": [epc],
            "responses": answer(&reference("Recall"), "the items", &READ)}},
        "/epcis/grants": {
            "get": {"tags": ["Traceability"], "summary": "Read grants given (all, for the operator)",
                    "responses": answer(&json!({"type": "array", "items": reference("Grant")}), "the grants", &READ[1..])},
            "post": {"tags": ["Traceability"], "summary": "Let an enterprise read the caller's events",
                     "requestBody": {"required": true, "content": {"application/json": {"schema": reference("NewGrant")}}},
                     "responses": {
                         "201": {"description": "granted", "content": {"application/json": {"schema": reference("Grant")}}},
                         "400": problems(&[("400", "a malformed body")])["400"],
                         "401": problems(&[("401", "credentials missing or refused")])["401"],
                         "403": problems(&[("403", "only an enterprise grants its events, and not while suspended")])["403"],
                         "404": problems(&[("404", "no such enterprise")])["404"],
                         "408": problems(&[("408", "the body did not arrive in time")])["408"],
                         "413": problems(&[("413", "the body exceeds its size limit")])["413"],
                         "415": problems(&[("415", "the body is not application/json")])["415"],
                         "429": problems(&[("429", "too many authentication attempts")])["429"],
                         "503": problems(&[("503", "the database is unavailable")])["503"]}}},
        "/epcis/grants/{grantee}": {"delete": {
            "tags": ["Traceability"], "summary": "Withdraw a grant",
            "parameters": [{"name": "grantee", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": i64::MAX}},
                           {"name": "bizStep", "in": "query", "schema": {"type": "string"}}],
            "responses": {"204": {"description": "withdrawn"},
                          "400": problems(&[("400", "a malformed parameter")])["400"],
                          "401": problems(&[("401", "credentials missing or refused")])["401"],
                          "403": problems(&[("403", "only an enterprise grants its events, and not while suspended")])["403"],
                          "404": problems(&[("404", "no such grant")])["404"],
                          "429": problems(&[("429", "too many authentication attempts")])["429"],
                          "503": problems(&[("503", "the database is unavailable")])["503"]}}}
    });
    for new in [paths, query_paths()] {
        if let (Some(p), Some(new)) = (doc["paths"].as_object_mut(), new.as_object()) {
            p.extend(new.clone());
        }
    }
    if let (Some(s), Some(new)) = (
        doc["components"]["schemas"].as_object_mut(),
        schemas().as_object(),
    ) {
        s.extend(new.clone());
    }
}

/// Named queries and their subscriptions.
fn query_paths() -> Value {
    let name =
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let common = [
        ("401", "credentials missing or refused"),
        ("429", "too many authentication attempts from this client"),
        (
            "503",
            "the database is unavailable; retry after Retry-After seconds",
        ),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = common.to_vec();
        all.extend_from_slice(extra);
        problems(&all)
    };
    // Every write here: a suspended enterprise writes nothing.
    let suspended = (
        "403",
        "the caller's enterprise is suspended: its writes are refused",
    );
    let created = |schema: Value, extra: &[(&'static str, &'static str)]| {
        let mut r = with(&[extra, &[suspended]].concat());
        r["201"] = json!({"description": "created; Location names it",
                          "content": {"application/json": {"schema": schema}}});
        r
    };
    let deleted = |extra: &[(&'static str, &'static str)]| {
        let mut r = with(&[extra, &[suspended]].concat());
        r["204"] = json!({"description": "deleted"});
        r
    };
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let list = |item: &str| json!({"type": "array", "items": reference(item)});
    json!({
        "/epcis/queries": {
            "get": {"tags": ["Traceability"], "summary": "The caller's enterprise's named queries",
                    "responses": answer(&list("NamedQuery"), "the queries", &common)},
            "post": {"tags": ["Traceability"], "summary": "Save a named query",
                     "requestBody": body(reference("NamedQuery")),
                     "responses": created(reference("NamedQuery"), &[("400", "a faulty name or definition"), ("409", "the name is taken"), ("413", "the definition is too large")])}},
        "/epcis/queries/{name}": {
            "get": {"tags": ["Traceability"], "summary": "A named query", "parameters": [name],
                    "responses": answer(&reference("NamedQuery"), "the query", &[("404", "no such query"), common[0], common[1], common[2]])},
            "delete": {"tags": ["Traceability"], "summary": "Delete a named query and its subscriptions", "parameters": [name],
                       "responses": deleted(&[("404", "no such query")])}},
        "/epcis/queries/{name}/events": {"get": {
            "tags": ["Traceability"], "summary": "A page of the query's events (an EPCISQueryDocument)",
            "description": "The next page is at the URL of the `Link: <…>; rel=\"next\"` header (its opaque `nextPageToken`). With `Upgrade: websocket` and `stream=true`: a WebSocket subscription.",
            "parameters": [name,
                {"name": "perPage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": u64::MAX}}],
            "responses": answer(&json!({"type": "object"}), "the EPCISQueryDocument", &[("400", "a malformed parameter"), ("404", "no such query"), common[0], common[1], common[2]])}},
        "/epcis/queries/{name}/subscriptions": {
            "get": {"tags": ["Traceability"], "summary": "The query's subscriptions", "parameters": [name],
                    "responses": answer(&list("Subscription"), "the subscriptions", &[("404", "no such query"), common[0], common[1], common[2]])},
            "post": {"tags": ["Traceability"], "summary": "Subscribe a webhook (stream or schedule)", "parameters": [name],
                     "requestBody": body(reference("NewSubscription")),
                     "responses": created(reference("Subscription"), &[("400", "a faulty subscription"), ("404", "no such query")])}},
        "/epcis/queries/{name}/subscriptions/{id}": {
            "get": {"tags": ["Traceability"], "summary": "A subscription", "parameters": [name, id],
                    "responses": answer(&reference("Subscription"), "the subscription", &[("404", "no such query or subscription"), common[0], common[1], common[2]])},
            "delete": {"tags": ["Traceability"], "summary": "Unsubscribe", "parameters": [name, id],
                       "responses": deleted(&[("404", "no such subscription")])}}
    })
}
