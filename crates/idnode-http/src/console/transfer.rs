//! Moving identifiers in and out through the console: CSV/JSON Lines imports (every line
//! checked, then all written in one transaction: one faulty line and nothing is written)
//! and JSON Lines exports (streamed, secret keys left out).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use idnode_core::import::{group, jsonl_item, CsvColumns, ImportItem};
use idnode_core::json::values_to_json;
use idnode_registry::RegistryError;
use idnode_web::console::enterprise::{self as pages, ImportOutcome};

use super::{query_param, Refused, Session, MAX_UPLOAD};
use crate::{ApiError, AppState};
use std::sync::{Arc, Mutex};

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
fn parse_upload(
    text: &str,
    csv: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<ImportItem>, Vec<(usize, String, String)>> {
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
            if line % 1000 == 0 {
                progress(line);
            }
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
            if k % 1000 == 0 {
                progress(k);
            }
            match jsonl_item(k + 1, line) {
                Ok(Some(item)) => group(&mut items, &mut at, item),
                Ok(None) => {}
                Err(m) => faults.push((k + 1, String::new(), m)),
            }
        }
    }
    if faults.is_empty() {
        return Ok(items);
    }
    // The page (and the job kept for an hour) names the first faults only.
    if faults.len() > MAX_FAULTS {
        let more = faults.len() - MAX_FAULTS;
        faults.truncate(MAX_FAULTS);
        faults.push((0, String::new(), format!("and {more} more faulty lines")));
    }
    Err(faults)
}

/// Faulty lines an import names at most.
const MAX_FAULTS: usize = 1000;

/// The file of a `multipart/form-data` upload and its CSRF field.
pub(super) async fn upload(
    session: &Session,
    s: &AppState,
    body: Body,
) -> Result<(String, Vec<u8>), Refused> {
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
                let bytes = part.bytes().await.map_err(bad)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    session.check_csrf(csrf.as_deref())?;
    file.ok_or_else(|| session.refuse(s, ApiError::bad_request("no file was uploaded")))
}

/// Imports under way or done (an hour), by id: what the import page shows.
pub(crate) struct ImportJobs(moka::sync::Cache<String, Arc<Mutex<ImportJob>>>);

impl Default for ImportJobs {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .time_to_live(std::time::Duration::from_secs(3600))
                .max_capacity(10_000)
                .build(),
        )
    }
}

/// One import: whose, how far, how it ended.
pub(crate) struct ImportJob {
    owner: String,
    prefix: String,
    lines: usize,
    checked: usize,
    writing: bool,
    outcome: Option<ImportOutcome>,
}

fn lock(job: &Mutex<ImportJob>) -> std::sync::MutexGuard<'_, ImportJob> {
    job.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `POST /console/import`: the upload becomes an import job (every line checked, then all
/// written in one transaction), and the browser goes to its page.
pub(super) async fn import(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let prefix = query_param(session.query.as_deref(), "prefix").unwrap_or_default();
    let (name, bytes) = match upload(&session, &s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return session.refused(&s, ApiError::bad_request("the file is not UTF-8 text"));
    };
    let csv = name.ends_with(".csv") || text.starts_with("handle,");
    let job = Arc::new(Mutex::new(ImportJob {
        owner: session.principal.actor().to_owned(),
        prefix,
        lines: text.lines().count(),
        checked: 0,
        writing: false,
        outcome: None,
    }));
    let id = idnode_registry::generate_secret();
    s.0.imports.0.insert(id.clone(), job.clone());
    let (registry, principal) = (s.0.registry.clone(), session.principal.clone());
    let run = async move {
        let progress = job.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            parse_upload(&text, csv, &mut |n| lock(&progress).checked = n)
        })
        .await
        .unwrap_or_else(|e| Err(vec![(0, String::new(), format!("the import failed: {e}"))]));
        let outcome = match parsed {
            Err(faults) => ImportOutcome { written: None, faults },
            Ok(items) if items.len() > idnode_registry::MAX_BATCH => ImportOutcome {
                written: None,
                faults: vec![(0, String::new(), format!(
                    "{} identifiers: the console imports at most {} at once (use idnode import or the batch API)",
                    items.len(), idnode_registry::MAX_BATCH))],
            },
            Ok(items) => {
                {
                    let mut j = lock(&job);
                    j.writing = true;
                    j.checked = j.lines;
                }
                let lines: Vec<usize> = items.iter().map(|i| i.line).collect();
                let handles: Vec<String> = items.iter().map(|i| i.handle.clone()).collect();
                let batch = items.into_iter().map(|i| (i.handle, i.values)).collect();
                match registry.upsert(&principal, batch).await {
                    Ok(r) => ImportOutcome { written: Some((r.created, r.updated, r.unchanged)), faults: Vec::new() },
                    Err(e) => ImportOutcome { written: None, faults: faults_of(&e, &handles, &lines) },
                }
            }
        };
        lock(&job).outcome = Some(outcome);
    };
    // The write is audited from the uploader's address.
    match session.caller.ip {
        Some(ip) => tokio::spawn(idnode_registry::origin::scope(ip, run)),
        None => tokio::spawn(run),
    };
    super::see_other(&format!("/console/import/{id}"))
}

/// `GET /console/import/{id}`: the import's progress (reloading each second), then its
/// outcome. Only its uploader sees it.
pub(super) async fn import_job(
    State(s): State<AppState>,
    session: Session,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let job =
        s.0.imports
            .0
            .get(&id)
            .filter(|j| lock(j).owner == session.principal.actor());
    let Some(job) = job else {
        return session.refused(
            &s,
            ApiError::new(idnode_core::ResponseCode::HandleNotFound, "no such import")
                .with_status(StatusCode::NOT_FOUND),
        );
    };
    let j = lock(&job);
    let frame = session.frame(&s, None);
    match &j.outcome {
        Some(o) => {
            let status = if o.written.is_some() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            session.html(status, pages::import(&frame, &j.prefix, Some(o)))
        }
        None => {
            let mut r = session.html(
                StatusCode::OK,
                pages::import_progress(&frame, j.lines, j.checked, j.writing),
            );
            r.headers_mut()
                .insert("refresh", header::HeaderValue::from_static("1"));
            r
        }
    }
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

/// Identifiers per page of an export.
const EXPORT_PAGE: u64 = 1000;

/// `GET /console/export?prefix=`: every identifier under the prefix as JSON Lines (the
/// import's format: it imports back unchanged), secret keys left out, streamed page by page.
pub(super) async fn export(State(s): State<AppState>, session: Session) -> Response {
    let prefix = query_param(session.query.as_deref(), "prefix").unwrap_or_default();
    // The first page answers for the rights; later pages stream.
    let first = match s
        .0
        .registry
        .export_page(&session.principal, &prefix, "", EXPORT_PAGE)
        .await
    {
        Ok(p) => p,
        Err(e) => return session.refused(&s, e),
    };
    let p = session.principal.clone();
    let pages = futures_util::stream::unfold(
        Some((first, s.clone(), p, prefix.clone())),
        |state| async move {
            let (page, s, p, prefix) = state?;
            let last = page.last().map(|(h, _)| h.clone())?;
            let mut chunk = String::new();
            for (handle, values) in &page {
                let line = serde_json::json!({"handle": handle, "values": serde_json::from_str::<serde_json::Value>(&values_to_json(values)).unwrap_or_default()});
                chunk.push_str(&line.to_string());
                chunk.push('\n');
            }
            let next = if (page.len() as u64) < EXPORT_PAGE {
                None
            } else {
                match s
                    .0
                    .registry
                    .export_page(&p, &prefix, &last, EXPORT_PAGE)
                    .await
                {
                    Ok(n) => Some((n, s.clone(), p, prefix)),
                    Err(e) => {
                        tracing::warn!(error = %e, "console export cut short");
                        return Some((Err(std::io::Error::other(e.to_string())), None));
                    }
                }
            };
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), next))
        },
    );
    let mut r = Response::new(Body::from_stream(pages));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-ndjson"),
    );
    let name = format!(
        "attachment; filename=\"{}.jsonl\"",
        prefix.replace(['"', '\\', '/'], "_")
    );
    if let Ok(v) = header::HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_name_every_faulty_line() {
        let text =
            "handle,index,type,data\n88.1/a,1,URL,https://a\n88.1/b,x,URL,u\n88.1/a,2,EMAIL,a@b\n";
        let faults = parse_upload(text, true, &mut |_| {}).unwrap_err();
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
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((items.len(), items[0].values.len()), (1, 2));
        let faults =
            parse_upload("{\"handle\":\"88.1/a\"}\nnope\n", false, &mut |_| {}).unwrap_err();
        assert_eq!(faults[0].0, 2);
        // At most MAX_FAULTS are named, and how many more there were.
        let many = "nope\n".repeat(MAX_FAULTS + 5);
        let capped = parse_upload(&many, false, &mut |_| {}).unwrap_err();
        assert_eq!(capped.len(), MAX_FAULTS + 1);
        assert_eq!(capped[MAX_FAULTS].2, "and 5 more faulty lines");
    }
}
