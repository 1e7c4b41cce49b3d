//! SNMS's JSON bodies (`teleinfo-dev/id-guide`, `docs/dev-tools/snms/`) mapped onto idnode's
//! templates and values (no I/O). SNMS writes an item's `state` as 0/1 and may send `idIndex`
//! and `type` as text, and its answers carry fields of its own (`id`, `name`, `metadataId`):
//! those are read leniently here, while idnode's own template JSON stays strict. An SNMS
//! identifier body `{handle, templateVersion, value: [{index, type, data: {format, value}}]}`
//! becomes values: `templateVersion` at [`TEMPLATE_INDEX`], which the body may not set
//! itself, items from [`FIRST_ITEM_INDEX`] up, text only.

use idnode_core::HandleValue;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Template, TemplateError, FIRST_ITEM_INDEX, TEMPLATE_INDEX, TEMPLATE_TYPE};

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

/// A number sent as text (`"2000"`) as a number.
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

fn invalid(m: String) -> TemplateError {
    TemplateError::Invalid(vec![m])
}

impl Template {
    /// An SNMS template body as an idnode template (not yet validated).
    pub fn from_snms(v: Value) -> Result<Self, TemplateError> {
        let Value::Object(mut o) = v else {
            return Err(invalid(
                "模板必须是 JSON 对象 (a template is a JSON object)".into(),
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
        serde_json::from_value(Value::Object(o)).map_err(|e| invalid(e.to_string()))
    }

    /// This template as SNMS answers it (`state` 1 enabled, 0 disabled).
    pub fn to_snms(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(Value::Array(items)) = v.get_mut("items") {
            for state in items.iter_mut().filter_map(|i| i.get_mut("state")) {
                *state = Value::from(u8::from(state.as_str() == Some("enabled")));
            }
        }
        v
    }
}

/// One identifier as SNMS sends it (its `handle` is read by [`snms_handle`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataIn {
    #[serde(default)]
    template_version: Option<String>,
    #[serde(default)]
    value: Vec<ValueIn>,
}

#[derive(Deserialize)]
struct ValueIn {
    index: Value,
    #[serde(rename = "type")]
    type_name: String,
    data: DataValue,
}

#[derive(Deserialize)]
struct DataValue {
    #[serde(default)]
    format: Option<String>,
    /// SNMS's table spells it `vlaue` once.
    #[serde(alias = "vlaue")]
    value: Value,
}

/// The handle an SNMS identifier body names (empty when it names none), for reporting an item
/// even when the rest of it is malformed.
pub fn snms_handle(body: &Value) -> String {
    match body.get("handle") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The values of an SNMS identifier body: its template version at 1001, then its items;
/// the reason (SNMS's words first) when the body is malformed.
pub fn snms_values(body: Value) -> Result<Vec<HandleValue>, String> {
    let d: DataIn =
        serde_json::from_value(body).map_err(|e| format!("格式错误 (malformed item): {e}"))?;
    let version = d
        .template_version
        .filter(|v| !v.is_empty())
        .ok_or("templateVersion 不能为空 (the template version is required)")?;
    let mut values = vec![HandleValue::text(TEMPLATE_INDEX, TEMPLATE_TYPE, &version)];
    for v in d.value {
        let index = match &v.index {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("索引 {} 不是整数 (index is not an integer)", v.index))?;
        if index == TEMPLATE_INDEX {
            return Err(
                "索引1001为预留索引 (index 1001 is reserved: it holds templateVersion)".into(),
            );
        }
        if index < FIRST_ITEM_INDEX {
            return Err(format!(
                "非法操作，索引{index}在模板中不存在 (template items start at index 2000)"
            ));
        }
        if v.data.format.as_deref().is_some_and(|f| f != "string") {
            return Err(format!(
                "索引{index}: data.format 只支持 string (only the string format)"
            ));
        }
        let text = match v.data.value {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        values.push(HandleValue::text(index, &v.type_name, &text));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ItemState;

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
        let mut t = Template::from_snms(body).unwrap();
        t.validate().unwrap();
        assert_eq!(t.items[0].id_index, Some(2000));
        assert_eq!(t.items[0].state, ItemState::Disabled);
        let back = t.to_snms();
        assert_eq!(back["items"][0]["state"], 0);
        assert_eq!(back["items"][0]["idIndex"], 2000);
        assert_eq!(back["items"][0]["metadata"]["maxLength"], 10);
        assert!(Template::from_snms(json!([1])).is_err());
        assert!(Template::from_snms(json!({"prefix": "88.101.5"})).is_err());
    }

    #[test]
    fn the_documented_identifier_body_maps_to_values() {
        // docs/dev-tools/snms/v5/handle-operate.md, 注册标识.
        let body = json!({"handle": "88.1021.150/xx002", "templateVersion": "1.0",
            "value": [{"data": {"format": "string", "value": "小型机械01"}, "auth": "",
                       "index": 2000, "type": "name"}]});
        assert_eq!(snms_handle(&body), "88.1021.150/xx002");
        let v = snms_values(body).unwrap();
        assert_eq!(
            v,
            [
                HandleValue::text(1001, "TEMPLATE", "1.0"),
                HandleValue::text(2000, "name", "小型机械01")
            ]
        );
        let reserved = json!({"templateVersion": "1", "value": [
            {"index": 1001, "type": "TEMPLATE", "data": {"value": "2"}}]});
        assert!(snms_values(reserved).unwrap_err().contains("1001"));
        let low = json!({"templateVersion": "1", "value": [
            {"index": "1000", "type": "x", "data": {"value": "2"}}]});
        assert!(snms_values(low).unwrap_err().contains("1000"));
        assert!(snms_values(json!({"value": []})).is_err());
        assert!(snms_values(json!([])).is_err());
    }
}
