//! The console's pages of identifier data: prefixes, a prefix's identifiers, one
//! identifier (values with template item names, history, edit, delete), a new identifier.
//! Imports and exports are in `transfer.rs`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use idnode_core::json::values_to_json;
use idnode_core::HandleValue;
use idnode_registry::PutMode;
use idnode_web::console::enterprise::{
    self as pages, HistoryLine, IdentifierList, PrefixRow, ValueLine,
};
use idnode_web::ValueRow;

use super::operator::when;
use super::{field, query_param, see_other, Session};
use crate::{ApiError, AppState};

/// Identifiers per page.
const PAGE: u64 = 100;
/// Most identifiers a search by value names.
const SEARCH_HITS: usize = 100;
/// Most identifiers a search by value looks at (there is no index of values).
const SEARCH_SCAN: u64 = 100_000;
/// History entries shown.
const HISTORY: u64 = 50;

/// The prefixes the session may manage (an enterprise's home).
pub(super) async fn prefix_page(s: &AppState, session: &Session) -> Response {
    let p = &session.principal;
    let (prefixes, enterprises) = match (
        s.0.registry.prefixes(p, None).await,
        s.0.registry.enterprises(p).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return session.refused(s, e),
    };
    let names: HashMap<i64, String> = enterprises.into_iter().map(|e| (e.id, e.name)).collect();
    let rows: Vec<PrefixRow> = prefixes
        .into_iter()
        .map(|r| PrefixRow {
            enterprise: r
                .enterprise_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            status: r.status.as_str().to_owned(),
            review: r.review.as_str().to_owned(),
            prefix: r.prefix,
        })
        .collect();
    session.html(
        StatusCode::OK,
        pages::prefixes(&session.frame(s, None), &rows),
    )
}

/// `GET /console/prefixes`.
pub(super) async fn prefixes(State(s): State<AppState>, session: Session) -> Response {
    prefix_page(&s, &session).await
}

/// `GET /console/prefixes/{prefix}?page=N`, or `?suffix=` to go to one identifier.
pub(super) async fn identifiers(
    State(s): State<AppState>,
    session: Session,
    Path(prefix): Path<String>,
) -> Response {
    let q = session.query.as_deref();
    if let Some(suffix) = query_param(q, "suffix").filter(|x| !x.trim().is_empty()) {
        let handle = format!("{prefix}/{}", suffix.trim());
        return see_other(&format!(
            "/console/identifiers{}",
            idnode_web::handle_path(&handle)
        ));
    }
    if let Some(text) = query_param(q, "value").filter(|x| !x.trim().is_empty()) {
        let found =
            s.0.registry
                .find_by_value(
                    &session.principal,
                    &prefix,
                    text.trim(),
                    SEARCH_HITS,
                    SEARCH_SCAN,
                )
                .await;
        let (handles, scanned, complete) = match found {
            Ok(f) => f,
            Err(e) => return session.refused(&s, e),
        };
        let list = IdentifierList {
            prefix: &prefix,
            total: handles.len() as u64,
            handles: &handles,
            page: 0,
            more: false,
            search: Some((text.trim(), scanned, complete)),
        };
        return session.html(
            StatusCode::OK,
            pages::identifiers(&session.frame(&s, None), &list),
        );
    }
    let page: u64 = query_param(q, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listed =
        s.0.registry
            .list_handles(&session.principal, &prefix, page, PAGE)
            .await;
    let (total, handles) = match listed {
        Ok(l) => l,
        Err(e) => return session.refused(&s, e),
    };
    let list = IdentifierList {
        prefix: &prefix,
        total,
        more: (page + 1).saturating_mul(PAGE) < total,
        handles: &handles,
        page,
        search: None,
    };
    let flash = query_param(q, "done").map(|_| {
        session
            .lang
            .pick("标识已删除。", "The identifier is deleted.")
    });
    session.html(
        StatusCode::OK,
        pages::identifiers(&session.frame(&s, flash), &list),
    )
}

/// Whether the console's form edits `v` (a text value that is not a Handle system value).
fn editable(v: &HandleValue) -> bool {
    !v.type_name.starts_with("HS_") && std::str::from_utf8(&v.data).is_ok()
}

/// `GET /console/identifiers/{handle}`.
pub(super) async fn identifier(
    State(s): State<AppState>,
    session: Session,
    Path(handle): Path<String>,
) -> Response {
    let p = &session.principal;
    let detail = match s.0.registry.detail(p, &handle).await {
        Ok(d) => d,
        Err(e) => return session.refused(&s, e),
    };
    let history = match s.0.registry.history(p, &detail.handle, HISTORY).await {
        Ok(h) => h,
        Err(e) => return session.refused(&s, e),
    };
    let values: Vec<ValueLine> = detail
        .values
        .iter()
        .map(|(v, item)| ValueLine {
            row: ValueRow::of(v),
            item: item.as_ref().map(|i| i.name.clone()),
            editable: editable(v),
        })
        .collect();
    let history: Vec<HistoryLine> = history
        .iter()
        .map(|h| HistoryLine {
            at: when(h.at),
            action: h.action.as_str().to_owned(),
            actor: h.actor.clone(),
            values: h.after.as_deref().map(values_to_json).unwrap_or_default(),
        })
        .collect();
    let flash = query_param(session.query.as_deref(), "done").map(|d| match d.as_str() {
        "created" => session
            .lang
            .pick("标识已注册。", "The identifier is registered."),
        _ => session.lang.pick("已保存。", "Saved."),
    });
    let html = pages::identifier(
        &session.frame(&s, flash),
        &detail.handle,
        detail.template_version.as_deref(),
        &values,
        &history,
    );
    session.html(StatusCode::OK, html)
}

/// The rows of an edit form: (index, type, data) of each row whose type is filled in; a
/// row without an index takes the lowest index neither `taken` nor named by another row.
fn rows(fields: &[(String, String)], taken: &[u32]) -> Result<Vec<HandleValue>, ApiError> {
    let column = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (indexes, types, data) = (column("index"), column("type"), column("data"));
    if indexes.len() != types.len() || types.len() != data.len() {
        return Err(ApiError::bad_request("the form's rows are incomplete"));
    }
    // Indexes the form names, kept free for their rows.
    let explicit: Vec<u32> = indexes
        .iter()
        .filter_map(|i| i.trim().parse().ok())
        .collect();
    let mut out: Vec<HandleValue> = Vec::new();
    for ((index, type_name), data) in indexes.iter().zip(&types).zip(&data) {
        let type_name = type_name.trim();
        if type_name.is_empty() {
            continue;
        }
        let index = match index.trim() {
            "" => (1..u32::MAX)
                .find(|i| {
                    !taken.contains(i) && !explicit.contains(i) && out.iter().all(|v| v.index != *i)
                })
                .unwrap_or(u32::MAX),
            i => i.parse().map_err(|_| {
                ApiError::bad_request(format!("index '{i}' is not a positive number"))
            })?,
        };
        if out.iter().any(|v| v.index == index) {
            return Err(ApiError::bad_request(format!(
                "index {index} is used twice"
            )));
        }
        out.push(HandleValue::text(index, type_name, data));
    }
    Ok(out)
}

/// `POST /console/identifiers/{handle}`: `action=save` (the edit form) or `action=delete`.
pub(super) async fn change(
    State(s): State<AppState>,
    session: Session,
    Path(handle): Path<String>,
    body: Body,
) -> Response {
    let fields = match session.form(&s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let p = &session.principal;
    let reg = &s.0.registry;
    if field(&fields, "action") == Some("delete") {
        if field(&fields, "confirm") != Some("yes") {
            return session.refused(
                &s,
                ApiError::bad_request("deleting needs the confirmation box ticked"),
            );
        }
        let prefix = handle.split_once('/').map_or("", |(p, _)| p).to_owned();
        return match reg.delete_handle(p, &handle, None).await {
            Ok(()) => see_other(&format!("/console/prefixes/{prefix}?done=deleted")),
            Err(e) => session.refused(&s, e),
        };
    }
    let detail = match reg.detail(p, &handle).await {
        Ok(d) => d,
        Err(e) => return session.refused(&s, e),
    };
    let shown: Vec<&HandleValue> = detail
        .values
        .iter()
        .map(|(v, _)| v)
        .filter(|v| editable(v))
        .collect();
    let taken: Vec<u32> = detail.values.iter().map(|(v, _)| v.index).collect();
    let mut values = match rows(&fields, &taken) {
        Ok(v) => v,
        Err(e) => return session.refused(&s, e),
    };
    // A value the form leaves as it was keeps its permissions, ttl and timestamp.
    for v in &mut values {
        if let Some(old) = shown
            .iter()
            .find(|o| o.index == v.index && o.type_name == v.type_name && o.data == v.data)
        {
            *v = (*old).clone();
        }
    }
    let remove: Vec<u32> = shown
        .iter()
        .map(|o| o.index)
        .filter(|i| values.iter().all(|v| v.index != *i))
        .collect();
    let mode = PutMode::Edit { remove };
    match reg.put_handle(p, &detail.handle, values, mode, false).await {
        Ok(_) => see_other(&format!(
            "/console/identifiers{}?done=saved",
            idnode_web::handle_path(&detail.handle)
        )),
        Err(e) => session.refused(&s, e),
    }
}

/// `GET /console/new?prefix=`.
pub(super) async fn new_form(State(s): State<AppState>, session: Session) -> Response {
    let prefix = query_param(session.query.as_deref(), "prefix").unwrap_or_default();
    let html = pages::new_identifier(&session.frame(&s, None), &prefix, "", None);
    session.html(StatusCode::OK, html)
}

/// `POST /console/new`: registers `prefix/suffix` with the form's values.
pub(super) async fn create(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let fields = match session.form(&s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let prefix = field(&fields, "prefix").unwrap_or_default();
    let suffix = field(&fields, "suffix").unwrap_or_default().trim();
    let again = |e: ApiError| {
        let html =
            pages::new_identifier(&session.frame(&s, None), prefix, suffix, Some(&e.message));
        session.html(e.status, html)
    };
    let values = match rows(&fields, &[]) {
        Ok(v) => v,
        Err(e) => return again(e),
    };
    let handle = format!("{prefix}/{suffix}");
    let mode = PutMode::Replace { overwrite: false };
    match s
        .0
        .registry
        .put_handle(&session.principal, &handle, values, mode, false)
        .await
    {
        Ok(out) => see_other(&format!(
            "/console/identifiers{}?done=created",
            idnode_web::handle_path(&out.handle)
        )),
        Err(e) => again(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_rows_take_free_indexes_and_skip_blank_types() {
        let f = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let fields = vec![
            f("index", "1"),
            f("type", "URL"),
            f("data", "u"),
            f("index", ""),
            f("type", "EMAIL"),
            f("data", "e"),
            f("index", ""),
            f("type", ""),
            f("data", ""),
        ];
        let v = rows(&fields, &[1, 2, 100]).unwrap();
        assert_eq!(v.iter().map(|v| v.index).collect::<Vec<_>>(), [1, 3]);
        let twice = vec![
            f("index", "1"),
            f("type", "A"),
            f("data", ""),
            f("index", "1"),
            f("type", "B"),
            f("data", ""),
        ];
        assert!(rows(&twice, &[]).is_err());
        assert!(rows(&[f("index", "1")], &[]).is_err());
    }
}
