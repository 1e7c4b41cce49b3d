//! The console's pages of identifier data: prefixes, a prefix's identifiers, one
//! identifier (values with template item names, history, edit, delete), a new identifier,
//! CSV/JSONL imports (one transaction: one faulty line and nothing is written).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use idnode_core::import::{group, jsonl_item, CsvColumns, ImportItem};
use idnode_core::json::values_to_json;
use idnode_core::HandleValue;
use idnode_registry::{PutMode, RegistryError};
use idnode_web::console::enterprise::{
    self as pages, HistoryLine, IdentifierList, ImportOutcome, PrefixRow, ValueLine,
};
use idnode_web::ValueRow;

use super::operator::when;
use super::{field, query_param, see_other, Refused, Session, MAX_UPLOAD};
use crate::{ApiError, AppState};

/// Identifiers per page.
const PAGE: u64 = 100;
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

/// `GET /console/import?prefix=`.
pub(super) async fn import_form(State(s): State<AppState>, session: Session) -> Response {
    let prefix = query_param(session.query.as_deref(), "prefix").unwrap_or_default();
    session.html(
        StatusCode::OK,
        pages::import(&session.frame(&s, None), &prefix, None),
    )
}

/// The items of an uploaded file (CSV when `csv`, JSON Lines otherwise), or every
/// faulty line.
fn parse_upload(text: &str, csv: bool) -> Result<Vec<ImportItem>, Vec<(usize, String, String)>> {
    let (mut items, mut at, mut faults) = (Vec::new(), HashMap::new(), Vec::new());
    if csv {
        let mut rdr = ::csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let cols = match rdr
            .headers()
            .map_err(|e| vec![e.to_string()])
            .and_then(|h| CsvColumns::of(h.iter()))
        {
            Ok(c) => c,
            Err(m) => return Err(m.into_iter().map(|m| (1, String::new(), m)).collect()),
        };
        for rec in rdr.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    faults.push((line, String::new(), e.to_string()));
                    continue;
                }
            };
            let line = rec.position().map_or(0, |p| p.line() as usize);
            let row: Vec<&str> = rec.iter().collect();
            let handle = cols.get(&row, "handle").to_owned();
            match cols.value(&row) {
                Ok(v) => group(
                    &mut items,
                    &mut at,
                    ImportItem {
                        line,
                        handle,
                        values: vec![v],
                    },
                ),
                Err(m) => faults.push((line, handle, m)),
            }
        }
    } else {
        for (k, line) in text.lines().enumerate() {
            match jsonl_item(k + 1, line) {
                Ok(Some(item)) => group(&mut items, &mut at, item),
                Ok(None) => {}
                Err(m) => faults.push((k + 1, String::new(), m)),
            }
        }
    }
    if faults.is_empty() {
        Ok(items)
    } else {
        Err(faults)
    }
}

/// The file of a `multipart/form-data` upload and its CSRF field.
async fn upload(session: &Session, s: &AppState, body: Body) -> Result<(String, String), Refused> {
    let boundary = session
        .caller
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            session.refuse(
                s,
                ApiError::bad_request("expected a file upload (multipart/form-data)"),
            )
        })?;
    let bytes = crate::body::read(s, &session.caller, body, MAX_UPLOAD)
        .await
        .map_err(|e| session.refuse(s, e))?
        .bytes
        .clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let (mut csrf, mut file) = (None, None);
    let bad = |e: multer::Error| {
        session.refuse(
            s,
            ApiError::bad_request(format!("the upload is malformed: {e}")),
        )
    };
    while let Some(part) = parts.next_field().await.map_err(bad)? {
        match part.name() {
            Some("csrf") => csrf = Some(part.text().await.map_err(bad)?),
            Some("file") => {
                let name = part.file_name().unwrap_or_default().to_ascii_lowercase();
                let text = part.text().await.map_err(bad)?;
                file = Some((name, text));
            }
            _ => {}
        }
    }
    session.check_csrf(csrf.as_deref())?;
    file.ok_or_else(|| session.refuse(s, ApiError::bad_request("no file was uploaded")))
}

/// `POST /console/import`: every line checked, then all of them written in one transaction.
pub(super) async fn import(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let prefix = query_param(session.query.as_deref(), "prefix").unwrap_or_default();
    let (name, text) = match upload(&session, &s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let csv = name.ends_with(".csv") || text.starts_with("handle,");
    let outcome = match parse_upload(&text, csv) {
        Err(faults) => ImportOutcome { written: None, faults },
        Ok(items) if items.len() > idnode_registry::MAX_BATCH => ImportOutcome {
            written: None,
            faults: vec![(0, String::new(), format!(
                "{} identifiers: the console imports at most {} at once (use idnode import or the batch API)",
                items.len(), idnode_registry::MAX_BATCH))],
        },
        Ok(items) => {
            let lines: Vec<usize> = items.iter().map(|i| i.line).collect();
            let handles: Vec<String> = items.iter().map(|i| i.handle.clone()).collect();
            let batch = items.into_iter().map(|i| (i.handle, i.values)).collect();
            match s.0.registry.upsert(&session.principal, batch).await {
                Ok(r) => ImportOutcome { written: Some((r.created, r.updated, r.unchanged)), faults: Vec::new() },
                Err(e) => ImportOutcome { written: None, faults: faults_of(&e, &handles, &lines) },
            }
        }
    };
    let status = if outcome.written.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    session.html(
        status,
        pages::import(&session.frame(&s, None), &prefix, Some(&outcome)),
    )
}

/// The faulty lines of a refused import.
fn faults_of(
    e: &RegistryError,
    handles: &[String],
    lines: &[usize],
) -> Vec<(usize, String, String)> {
    let names: Vec<&str> = handles.iter().map(String::as_str).collect();
    let faults = e.item_faults(&names);
    if faults.is_empty() {
        return vec![(0, String::new(), e.to_string())];
    }
    faults
        .into_iter()
        .map(|(at, h, m)| (lines.get(at).copied().unwrap_or(0), h, m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_name_every_faulty_line() {
        let text =
            "handle,index,type,data\n88.1/a,1,URL,https://a\n88.1/b,x,URL,u\n88.1/a,2,EMAIL,a@b\n";
        let faults = parse_upload(text, true).unwrap_err();
        assert_eq!(
            faults,
            vec![(
                3,
                "88.1/b".into(),
                "index must be a positive integer".into()
            )]
        );
        let items = parse_upload(
            "handle,index,type,data\n88.1/a,1,URL,u\n88.1/a,2,E,e\n",
            true,
        )
        .unwrap();
        assert_eq!((items.len(), items[0].values.len()), (1, 2));
        let faults = parse_upload("{\"handle\":\"88.1/a\"}\nnope\n", false).unwrap_err();
        assert_eq!(faults[0].0, 2);
    }

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
