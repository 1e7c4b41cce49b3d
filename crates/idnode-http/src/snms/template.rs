//! `GET/POST/PUT/DELETE /snms/api/v3/template` and `/snms/api/v5/template`: SNMS's template
//! bodies mapped onto idnode templates. SNMS writes `state` as 0/1 and may send `idIndex` and
//! `type` as strings, and its answers carry fields of its own (`id`, `name`, `metadataId`);
//! those are read leniently here, while `/api/v1/templates` stays strict.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use idnode_template::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{body, ok, Refusal, Signed};
use crate::AppState;

/// Header fields of an SNMS template that idnode keeps (others are SNMS's own).
const HEADER: [&str; 9] = [
    "prefix",
    "version",
    "industryCategory",
    "industrySpecific",
    "industryTrade",
    "industrySubclass",
    "type",
    "description",
    "items",
];
/// Item fields idnode keeps.
const ITEM: [&str; 6] = ["name", "idType", "idIndex", "required", "state", "metadata"];

/// A number sent as a string (`"2000"`) as a number.
fn loosen_number(v: &mut Value) {
    if let Value::String(s) = v {
        if let Ok(n) = s.trim().parse::<u64>() {
            *v = n.into();
        }
    }
}

/// Only `keys` of `o`, without nulls.
fn keep(o: &mut Map<String, Value>, keys: &[&str]) {
    o.retain(|k, v| keys.contains(&k.as_str()) && !v.is_null());
}

/// An SNMS template body as an idnode template (not yet validated).
fn from_snms(v: Value) -> Result<Template, Refusal> {
    let Value::Object(mut o) = v else {
        return Err(Refusal::failed(
            "模板必须是 JSON 对象 (a template is a JSON object)",
        ));
    };
    keep(&mut o, &HEADER);
    if let Some(t) = o.get_mut("type") {
        loosen_number(t);
    }
    if let Some(Value::Array(items)) = o.get_mut("items") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            keep(item, &ITEM);
            if let Some(i) = item.get_mut("idIndex") {
                loosen_number(i);
            }
            if let Some(state) = item.get_mut("state") {
                loosen_number(state);
                match state.as_u64() {
                    Some(0) => *state = "disabled".into(),
                    Some(1) => *state = "enabled".into(),
                    _ => {}
                }
            }
        }
    }
    serde_json::from_value(Value::Object(o))
        .map_err(|e| Refusal::failed(format!("模板格式错误 (invalid template): {e}")))
}

/// An idnode template as SNMS answers it (`state` 1 enabled, 0 disabled).
fn to_snms(t: &Template) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(Value::Array(items)) = v.get_mut("items") {
        for state in items.iter_mut().filter_map(|i| i.get_mut("state")) {
            *state = Value::from(u8::from(state.as_str() == Some("enabled")));
        }
    }
    v
}

/// `prefix` and `version`, as the query of a read or the body of a delete.
#[derive(Deserialize)]
pub(super) struct Key {
    prefix: Option<String>,
    version: Option<String>,
}

impl Key {
    fn parts(&self) -> Result<(&str, &str), Refusal> {
        match (self.prefix.as_deref(), self.version.as_deref()) {
            (Some(p), Some(v)) if !p.is_empty() && !v.is_empty() => Ok((p, v)),
            (None | Some(""), _) => Err(Refusal::failed("缺少必要的请求参数: prefix")),
            _ => Err(Refusal::failed("缺少必要的请求参数: version")),
        }
    }
}

/// `GET …/template?prefix=&version=`.
pub(super) async fn read(
    State(s): State<AppState>,
    a: Signed,
    q: Result<Query<Key>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(key) = q.map_err(|e| Refusal::failed(e.body_text()))?;
    let (prefix, version) = key.parts()?;
    let (t, _) = s.0.registry.template(&a.principal, prefix, version).await?;
    Ok(ok(to_snms(&t)))
}

/// `POST …/template`.
pub(super) async fn create(
    State(s): State<AppState>,
    a: Signed,
    b: Body,
) -> Result<Response, Refusal> {
    let raw: Value = body(&s, &a.caller, b, s.0.limits.max_body_bytes).await?;
    let t = from_snms(raw)?;
    s.0.registry.create_template(&a.principal, t).await?;
    Ok(ok(true))
}

/// `PUT …/template` (SNMS v5): items matched by `idIndex` and `idType` change, others are
/// added, those left out stay.
pub(super) async fn update(
    State(s): State<AppState>,
    a: Signed,
    b: Body,
) -> Result<Response, Refusal> {
    let raw: Value = body(&s, &a.caller, b, s.0.limits.max_body_bytes).await?;
    let update = from_snms(raw)?;
    let (current, _) =
        s.0.registry
            .template(&a.principal, &update.prefix, &update.version)
            .await?;
    let amended = current.amended(update);
    s.0.registry.update_template(&a.principal, amended).await?;
    Ok(ok(true))
}

/// `DELETE …/template` with `{"prefix", "version"}`.
pub(super) async fn remove(
    State(s): State<AppState>,
    a: Signed,
    b: Body,
) -> Result<Response, Refusal> {
    let key: Key = body(&s, &a.caller, b, s.0.limits.max_body_bytes).await?;
    let (prefix, version) = key.parts()?;
    s.0.registry
        .delete_template(&a.principal, prefix, version)
        .await?;
    Ok(ok(true))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_documented_v5_body_maps_and_answers_back_in_snms_form() {
        // docs/dev-tools/snms/v5/template.md, with SNMS's own fields as its answers have them.
        let body = json!({
            "id": 177, "name": "", "prefix": "88.101.5", "version": "1.0.0",
            "industryCategory": "A", "industrySpecific": "01", "industryTrade": "011",
            "industrySubclass": "0111", "type": 1, "description": "测试模板",
            "items": [{"name": "e1", "idType": "ip", "idIndex": "2000", "metadataId": 124,
                       "metadata": {"type": "string", "minLength": 1, "maxLength": 10},
                       "required": false, "state": 0}]
        });
        let mut t = from_snms(body).unwrap();
        t.validate().unwrap();
        assert_eq!(t.items[0].id_index, Some(2000));
        assert_eq!(t.items[0].state, idnode_template::ItemState::Disabled);
        let back = to_snms(&t);
        assert_eq!(back["items"][0]["state"], 0);
        assert_eq!(back["items"][0]["idIndex"], 2000);
        assert_eq!(back["items"][0]["metadata"]["maxLength"], 10);
        assert!(from_snms(json!([1])).is_err());
        assert!(from_snms(json!({"prefix": "88.101.5"})).is_err());
    }
}
