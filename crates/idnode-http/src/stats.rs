//! `GET /api/v1/stats`: statistics per day and prefix (or enterprise, or day), as JSON or
//! CSV. The operator sees every prefix, an enterprise its own.
// utoipa expands `params(StatsQuery)` into paths this lint flags.
#![allow(unused_qualifications)]

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_registry::{by_enterprise, StatsLine};
use idnode_store::{day_of, now_millis};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authed;
use crate::console::query_param;
use crate::{ApiError, AppState};

/// One line of statistics.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatsDto {
    /// `YYYY-MM-DD`.
    day: String,
    /// The prefix (absent in enterprise and day lines).
    #[serde(skip_serializing_if = "String::is_empty")]
    prefix: String,
    /// The enterprise owning the prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    enterprise: Option<i64>,
    /// Identifiers created.
    created: i64,
    /// Identifiers updated.
    updated: i64,
    /// Identifiers deleted.
    deleted: i64,
    /// All resolutions.
    resolutions: i64,
    /// Resolutions by `<front end>.<outcome>` (`http.ok`, `dns.not_found`, …).
    #[schema(value_type = Object)]
    by_outcome: std::collections::BTreeMap<String, i64>,
    /// Distinct clients that resolved (HyperLogLog estimate, ±2.3 %).
    distinct_clients: u64,
}

impl From<&StatsLine> for StatsDto {
    fn from(l: &StatsLine) -> Self {
        Self {
            day: l.day.clone(),
            prefix: l.prefix.clone(),
            enterprise: l.enterprise,
            created: l.created,
            updated: l.updated,
            deleted: l.deleted,
            resolutions: l.resolved(),
            by_outcome: l.resolutions.clone(),
            distinct_clients: l.clients.estimate(),
        }
    }
}

/// How lines are grouped.
#[derive(ToSchema)]
#[allow(dead_code)] // the OpenAPI document's enum; the handler reads the text.
#[schema(rename_all = "lowercase")]
pub(crate) enum By {
    Prefix,
    Enterprise,
    Day,
}

/// The answer's format.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
pub(crate) enum Format {
    Json,
    Csv,
}

/// The query of `GET /api/v1/stats` (for the OpenAPI document).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct StatsQuery {
    /// First day (default: 29 days before `to`; at most 400 days before it).
    #[param(format = Date)]
    from: Option<String>,
    /// Last day (default: today, UTC).
    #[param(format = Date)]
    to: Option<String>,
    /// One prefix only.
    prefix: Option<String>,
    /// Lines per prefix (default), enterprise or day.
    by: Option<By>,
    /// JSON (default) or CSV.
    format: Option<Format>,
}

/// The value of `name` in a query string; an empty one counts as absent (an empty
/// prefix names none).
fn param(q: Option<&str>, name: &str) -> Option<String> {
    query_param(q, name).filter(|v| !v.is_empty())
}

/// `lines` summed per day.
fn by_day(lines: &[StatsLine]) -> Vec<StatsLine> {
    let mut out: Vec<StatsLine> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(d) if d.day == l.day => d.add(l),
            _ => {
                let mut d = StatsLine {
                    day: l.day.clone(),
                    ..StatsLine::default()
                };
                d.add(l);
                out.push(d);
            }
        }
    }
    out
}

/// The CSV form of `lines`.
pub(crate) fn csv_of(lines: &[StatsLine]) -> String {
    csv(&lines.iter().map(StatsDto::from).collect::<Vec<_>>())
}

/// The CSV form: a header, then one row per line; every front end and outcome seen has a
/// column.
fn csv(lines: &[StatsDto]) -> String {
    let mut outcomes: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.by_outcome.keys().map(String::as_str))
        .collect();
    outcomes.sort_unstable();
    outcomes.dedup();
    let mut out =
        String::from("day,prefix,enterprise,created,updated,deleted,resolutions,distinct_clients");
    for o in &outcomes {
        out.push_str(",resolutions.");
        out.push_str(o);
    }
    out.push('\n');
    for l in lines {
        let enterprise = l.enterprise.map(|e| e.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}",
            l.day,
            l.prefix,
            enterprise,
            l.created,
            l.updated,
            l.deleted,
            l.resolutions,
            l.distinct_clients
        ));
        for o in &outcomes {
            out.push_str(&format!(",{}", l.by_outcome.get(*o).copied().unwrap_or(0)));
        }
        out.push('\n');
    }
    out
}

/// Statistics of `from..=to` (default: the last 30 days), per `by` = `prefix` (default),
/// `enterprise` or `day`, narrowed to one `prefix`; `format=csv` for CSV.
#[utoipa::path(get, path = "/api/v1/stats", params(StatsQuery),
    responses((status = 200, body = [StatsDto]), (status = 400, body = crate::manage::ErrorDoc),
        (status = 403, body = crate::manage::ErrorDoc)))]
pub(crate) async fn stats(
    State(s): State<AppState>,
    a: Authed,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let q = uri.query();
    let to = query_param(q, "to").unwrap_or_else(|| day_of(now_millis()));
    let from = query_param(q, "from").unwrap_or_else(|| {
        let t = day_of(now_millis() - 29 * 86_400_000);
        if to < t {
            to.clone()
        } else {
            t
        }
    });
    let prefix = param(q, "prefix");
    let lines =
        s.0.registry
            .stats(&a.principal, &from, &to, prefix.as_deref())
            .await?;
    let lines = match query_param(q, "by").as_deref() {
        None | Some("prefix") => lines,
        Some("enterprise") => by_enterprise(&lines),
        Some("day") => by_day(&lines),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "by={other}: prefix, enterprise or day"
            )))
        }
    };
    let dtos: Vec<StatsDto> = lines.iter().map(StatsDto::from).collect();
    match query_param(q, "format").as_deref() {
        None | Some("json") => Ok(axum::Json(dtos).into_response()),
        Some("csv") => {
            let mut r = (StatusCode::OK, csv(&dtos)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"idnode-stats.csv\""),
            );
            Ok(r)
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "format={other}: json or csv"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_column_per_outcome_seen() {
        let mut a = StatsLine {
            day: "2026-12-05".into(),
            prefix: "88.118.8".into(),
            enterprise: Some(1),
            created: 2,
            ..StatsLine::default()
        };
        a.resolutions.insert("http.ok".into(), 3);
        let mut b = StatsLine {
            prefix: "88.118.9".into(),
            ..a.clone()
        };
        b.resolutions.insert("dns.not_found".into(), 1);
        let text = csv(&[StatsDto::from(&a), StatsDto::from(&b)]);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "day,prefix,enterprise,created,updated,deleted,resolutions,distinct_clients,resolutions.dns.not_found,resolutions.http.ok"
        );
        assert_eq!(rows[1], "2026-12-05,88.118.8,1,2,0,0,3,0,0,3");
        assert_eq!(rows[2], "2026-12-05,88.118.9,1,2,0,0,4,0,1,3");
        let days = by_day(&[a, b]);
        assert_eq!((days.len(), days[0].created, days[0].resolved()), (1, 4, 7));
    }
}
