//! Identifiers the SNMS way (`/identityv2/data…`): one at a time, in batches of up to 2,000
//! whose items succeed or fail each on its own, and the detail with template item names.
//!
//! An SNMS identifier body becomes values through `idnode_template::snms_values`
//! (`templateVersion` at index 1001, which the body may not set itself; items from 2000 up).

use axum::extract::State;
use axum::response::Response;
use idnode_core::ResponseCode;
use idnode_registry::{Change, ItemProblem, Registry, RegistryError};
use idnode_template::{snms_handle, snms_values};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{message_of, ok, status_of, Asked, Refusal, Sent, Signed, MAX_SNMS_BATCH, OK};
use crate::AppState;

/// An item of a create or update batch as a change (or why it cannot be one).
fn change_of(v: Value, update: bool) -> (String, Result<Change, RegistryError>) {
    let handle = snms_handle(&v);
    let change = snms_values(v)
        .map_err(RegistryError::InvalidValue)
        .map(|values| {
            if update {
                Change::ReplaceData(values)
            } else {
                Change::Create(values)
            }
        });
    (handle, change)
}

/// Writes one item; its failure is the whole answer (`not_found` words a missing handle,
/// when the document for the call words it otherwise than [`message_of`]).
async fn one(
    registry: &Registry,
    a: &Signed,
    item: (String, Result<Change, RegistryError>),
    not_found: Option<&str>,
) -> Result<Response, Refusal> {
    let failed = registry.write_each(&a.principal, vec![item]).await?;
    match failed.first() {
        None => Ok(ok(true)),
        Some(p) => Err(Refusal {
            http: axum::http::StatusCode::OK,
            status: status_of(p.code),
            message: match not_found {
                Some(words) if p.code == ResponseCode::HandleNotFound.code() => words.into(),
                _ => message_of(p.code, &p.message),
            },
        }),
    }
}

/// `POST /identityv2/data` (`UPDATE` false), and `PUT` (true: the template data, 1001 and
/// 2000 up, is replaced, the rest kept).
pub(super) async fn write<const UPDATE: bool>(
    State(s): State<AppState>,
    Sent { who: a, body }: Sent<Value>,
) -> Result<Response, Refusal> {
    one(&s.0.registry, &a, change_of(body, UPDATE), None).await
}

/// `{"handle": …}` of a delete.
#[derive(Deserialize)]
pub(super) struct HandleIn {
    handle: String,
}

/// `DELETE /identityv2/data`.
pub(super) async fn remove(
    State(s): State<AppState>,
    Sent { who: a, body: h }: Sent<HandleIn>,
) -> Result<Response, Refusal> {
    // SNMS words a single delete of a missing identifier so (its batch delete: 标识不存在).
    let item = (h.handle, Ok(Change::Delete));
    one(&s.0.registry, &a, item, Some("没有找到标识")).await
}

/// The result of one item of a create or update batch.
#[derive(Serialize)]
struct ItemOut {
    handle: String,
    msg: String,
}

/// The result of one item of a delete batch (`code` 1 for success, else an SNMS status).
#[derive(Serialize)]
struct DeletedOut {
    handle: String,
    code: i32,
    msg: String,
}

/// Runs a batch of at most [`MAX_SNMS_BATCH`] items; for each, `None` (written) or its
/// problem.
async fn each(
    s: &AppState,
    a: &Signed,
    items: Vec<(String, Result<Change, RegistryError>)>,
    what: &str,
) -> Result<Vec<(String, Option<ItemProblem>)>, Refusal> {
    if items.is_empty() || items.len() > MAX_SNMS_BATCH {
        return Err(Refusal::failed(format!(
            "批量{what}最大支持{MAX_SNMS_BATCH}条 (1 to {MAX_SNMS_BATCH} items, not {})",
            items.len()
        )));
    }
    let handles: Vec<String> = items.iter().map(|(h, _)| h.clone()).collect();
    let mut failed =
        s.0.registry
            .write_each(&a.principal, items)
            .await?
            .into_iter()
            .peekable();
    Ok(handles
        .into_iter()
        .enumerate()
        .map(|(k, h)| (h, failed.next_if(|p| p.position == k)))
        .collect())
}

/// `POST /identityv2/data/batchCreate` (`UPDATE` false) and `PUT …/batchUpdate` (true).
pub(super) async fn write_batch<const UPDATE: bool>(
    State(s): State<AppState>,
    Sent { who: a, body: raw }: Sent<Vec<Value>, true>,
) -> Result<Response, Refusal> {
    let items = raw.into_iter().map(|v| change_of(v, UPDATE)).collect();
    let what = if UPDATE { "更新" } else { "注册" };
    let out: Vec<ItemOut> = each(&s, &a, items, what)
        .await?
        .into_iter()
        .map(|(handle, p)| ItemOut {
            handle,
            msg: p.map_or_else(|| "success".into(), |p| message_of(p.code, &p.message)),
        })
        .collect();
    Ok(ok(out))
}

/// `DELETE /identityv2/data/batchDelete` with an array of handles.
pub(super) async fn batch_delete(
    State(s): State<AppState>,
    Sent {
        who: a,
        body: handles,
    }: Sent<Vec<String>, true>,
) -> Result<Response, Refusal> {
    let items = handles
        .into_iter()
        .map(|h| (h, Ok(Change::Delete)))
        .collect();
    let out: Vec<DeletedOut> = each(&s, &a, items, "删除")
        .await?
        .into_iter()
        .map(|(handle, p)| match p {
            None => DeletedOut {
                handle,
                code: OK,
                msg: "success".into(),
            },
            Some(p) => DeletedOut {
                handle,
                code: status_of(p.code),
                msg: message_of(p.code, &p.message),
            },
        })
        .collect();
    Ok(ok(out))
}

#[derive(Deserialize)]
pub(super) struct DetailQuery {
    handle: Option<String>,
}

/// One value of the detail: SNMS's fields, and the template item's name.
#[derive(Serialize)]
struct ValueOut {
    index: u32,
    #[serde(rename = "type")]
    type_name: String,
    data: DataOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
struct DataOut {
    format: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailOut {
    code: &'static str,
    prefix: String,
    handle: String,
    template_version: Option<String>,
    value: Vec<ValueOut>,
}

/// `GET /identityv2/data/detail?handle=`: the values the caller may read that are text
/// (`HS_` administration values are left out), each with its template item's name.
pub(super) async fn detail(
    State(s): State<AppState>,
    a: Signed,
    Asked(q): Asked<DetailQuery>,
) -> Result<Response, Refusal> {
    let handle = q
        .handle
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Refusal::failed("缺少必要的请求参数: handle"))?;
    let d = s.0.registry.detail(&a.principal, &handle).await?;
    let value = d
        .values
        .into_iter()
        .filter(|(v, _)| !v.type_name.starts_with("HS_"))
        .filter_map(|(v, item)| {
            let text = String::from_utf8(v.data).ok()?;
            Some(ValueOut {
                index: v.index,
                type_name: v.type_name,
                data: DataOut {
                    format: "string",
                    value: text,
                },
                name: item.map(|i| i.name),
            })
        })
        .collect();
    let prefix = d.handle.split_once('/').map_or("", |(p, _)| p).to_owned();
    Ok(ok(DetailOut {
        code: "200",
        prefix,
        handle: d.handle,
        template_version: d.template_version,
        value,
    }))
}
