//! Statistics in the console: registrations per day and the top prefixes on the operator's
//! dashboard, and a statistics page (with its CSV) for the operator and each enterprise.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_registry::StatsLine;
use idnode_store::{day_of, now_millis};
use idnode_web::console::operator::Dashboard;
use idnode_web::Lang;

use super::{Refused, Session};
use crate::AppState;

/// Days on the statistics page.
const PAGE_DAYS: i64 = 30;

/// The session's statistics lines (per day and prefix) of the last `days` days.
pub(super) async fn recent(
    s: &AppState,
    session: &Session,
    days: i64,
) -> Result<Vec<StatsLine>, Refused> {
    let now = now_millis();
    let (from, to) = (day_of(now - (days - 1) * 86_400_000), day_of(now));
    s.0.registry
        .stats(&session.principal, &from, &to, None)
        .await
        .map_err(|e| session.refuse(s, e))
}

/// Lines summed per prefix, most resolved first.
fn per_prefix(lines: &[StatsLine]) -> Vec<StatsLine> {
    let mut m: BTreeMap<&str, StatsLine> = BTreeMap::new();
    for l in lines {
        m.entry(&l.prefix)
            .or_insert_with(|| StatsLine {
                prefix: l.prefix.clone(),
                enterprise: l.enterprise,
                ..StatsLine::default()
            })
            .add(l);
    }
    let mut v: Vec<StatsLine> = m.into_values().collect();
    v.sort_by(|a, b| {
        b.resolved()
            .cmp(&a.resolved())
            .then(b.created.cmp(&a.created))
    });
    v
}

/// Registrations per day (each of the last `days` days) as bars, the ten most resolved
/// prefixes as a table.
pub(super) fn onto_dashboard(d: &mut Dashboard, lines: &[StatsLine], days: i64, l: Lang) {
    let now = now_millis();
    let mut per_day: BTreeMap<String, i64> = (0..days)
        .map(|k| (day_of(now - k * 86_400_000), 0))
        .collect();
    for x in lines {
        *per_day.entry(x.day.clone()).or_default() += x.created;
    }
    let bars = per_day
        .into_iter()
        .map(|(day, n)| (day.get(5..).unwrap_or(&day).to_owned(), n as f64))
        .collect();
    d.bars.push((
        l.pick(
            "每日注册量（近 14 天）",
            "Registrations per day (last 14 days)",
        )
        .into(),
        bars,
    ));
    let rows = per_prefix(lines)
        .iter()
        .take(10)
        .map(|p| {
            vec![
                p.prefix.clone(),
                p.enterprise.map(|e| e.to_string()).unwrap_or_default(),
                p.resolved().to_string(),
                p.clients.estimate().to_string(),
                p.created.to_string(),
            ]
        })
        .collect();
    d.tables.push((
        l.pick(
            "解析最多的前缀（近 14 天）",
            "Most resolved prefixes (last 14 days)",
        )
        .into(),
        vec![
            l.pick("前缀", "Prefix").into(),
            l.pick("企业", "Enterprise").into(),
            l.pick("解析", "Resolutions").into(),
            l.pick("独立客户端", "Distinct clients").into(),
            l.pick("注册", "Registrations").into(),
        ],
        rows,
    ));
}

/// `GET /console/stats`: per day and prefix, the last 30 days.
pub(super) async fn page(State(s): State<AppState>, session: Session) -> Response {
    let lines = match recent(&s, &session, PAGE_DAYS).await {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let rows: Vec<Vec<String>> = lines
        .iter()
        .rev()
        .map(|x| {
            vec![
                x.day.clone(),
                x.prefix.clone(),
                x.created.to_string(),
                x.updated.to_string(),
                x.deleted.to_string(),
                x.resolved().to_string(),
                x.resolutions
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                x.clients.estimate().to_string(),
            ]
        })
        .collect();
    let html = idnode_web::console::operator::stats(&session.frame(&s, None), &rows);
    session.html(StatusCode::OK, html)
}

/// `GET /console/stats.csv`: the page's lines as CSV.
pub(super) async fn csv(State(s): State<AppState>, session: Session) -> Response {
    let lines = match recent(&s, &session, PAGE_DAYS).await {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let mut r = (StatusCode::OK, crate::stats::csv_of(&lines)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"idnode-stats.csv\""),
    );
    r
}
