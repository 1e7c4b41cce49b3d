//! The operator's console pages: the dashboard (an enterprise's home is its prefixes),
//! enterprises (onboard, suspend, activate), the audit log.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use idnode_core::json::format_time;
use idnode_registry::Principal;
use idnode_store::EnterpriseStatus;
use idnode_web::console::operator::{self as pages, AuditRow, EnterpriseRow};

use super::dashboard::Sample;
use super::{field, query_param, see_other, Refused, Session};
use crate::AppState;

/// Audit entries per page.
const AUDIT_PAGE: u64 = 50;

/// `ms` since 1970 as RFC 3339.
pub(crate) fn when(ms: i64) -> String {
    format_time(u32::try_from(ms.div_euclid(1000)).unwrap_or(0))
}

/// `/console`: the operator's dashboard; an enterprise's prefixes.
pub(super) async fn home(State(s): State<AppState>, session: Session) -> Response {
    if !matches!(session.principal, Principal::Operator { .. }) {
        return super::data::prefix_page(&s, &session).await;
    }
    let overview = match s.0.registry.overview(&session.principal).await {
        Ok(o) => o,
        Err(e) => return session.refused(&s, e),
    };
    let now = s.0.prometheus.as_ref().map_or_else(Sample::default, |p| {
        Sample::parse(&p.render(), Instant::now())
    });
    let counts = [
        overview.stats.handles,
        overview.stats.enterprises,
        overview.stats.prefixes,
        overview.outbox.pending,
        overview.outbox.dead,
    ];
    let mut d = s.0.sampler.dashboard(&now, counts, session.lang);
    match super::stats::recent(&s, &session, 14).await {
        Ok(lines) => super::stats::onto_dashboard(&mut d, &lines, 14, session.lang),
        Err(r) => return *r,
    }
    session.html(
        StatusCode::OK,
        pages::dashboard(&session.frame(&s, None), &d),
    )
}

async fn enterprise_rows(s: &AppState, session: &Session) -> Result<Vec<EnterpriseRow>, Refused> {
    let p = &session.principal;
    let all =
        s.0.registry
            .enterprises(p)
            .await
            .map_err(|e| session.refuse(s, e))?;
    let prefixes =
        s.0.registry
            .prefixes(p, None)
            .await
            .map_err(|e| session.refuse(s, e))?;
    let mut held = Vec::with_capacity(all.len());
    for e in &all {
        let (quotas, n) =
            s.0.registry
                .quota_use(p, e.id)
                .await
                .map_err(|e| session.refuse(s, e))?;
        let limit = quotas
            .identifiers_per_enterprise
            .map_or("∞".to_owned(), |q| q.to_string());
        held.push(format!("{n} / {limit}"));
    }
    Ok(all
        .into_iter()
        .zip(held)
        .map(|(e, identifiers)| EnterpriseRow {
            identifiers,
            id: e.id,
            prefixes: prefixes
                .iter()
                .filter(|r| r.enterprise_id == Some(e.id))
                .map(|r| (r.prefix.clone(), r.review.as_str().to_owned()))
                .collect(),
            name: e.name,
            status: e.status.as_str().to_owned(),
            created: when(e.created_at),
        })
        .collect())
}

/// `GET /console/enterprises`.
pub(super) async fn enterprises(State(s): State<AppState>, session: Session) -> Response {
    if let Err(e) = idnode_registry::Registry::require_operator(&session.principal) {
        return session.refused(&s, e);
    }
    let flash = query_param(session.query.as_deref(), "done");
    let flash = flash.map(|d| match d.as_str() {
        "suspended" => session
            .lang
            .pick("企业已暂停。", "The enterprise is suspended."),
        _ => session
            .lang
            .pick("企业已启用。", "The enterprise is active."),
    });
    match enterprise_rows(&s, &session).await {
        Ok(rows) => {
            let html = pages::enterprises(&session.frame(&s, flash), &rows, None);
            session.html(StatusCode::OK, html)
        }
        Err(r) => *r,
    }
}

/// `POST /console/enterprises`: onboards an enterprise; its secret is shown once.
pub(super) async fn onboard(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let fields = match session.form(&s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let name = field(&fields, "name").unwrap_or_default();
    let prefix = field(&fields, "prefix").unwrap_or_default().trim();
    let created =
        s.0.registry
            .create_enterprise(&session.principal, name, prefix, Default::default())
            .await;
    let (_, credentials) = match created {
        Ok(c) => c,
        Err(e) => return session.refused(&s, e),
    };
    match enterprise_rows(&s, &session).await {
        Ok(rows) => {
            let shown = Some((credentials.identity.as_str(), credentials.secret.as_str()));
            let html = pages::enterprises(&session.frame(&s, None), &rows, shown);
            session.html(StatusCode::CREATED, html)
        }
        Err(r) => *r,
    }
}

/// `POST /console/enterprises/{id}/status`: `status=suspended|active`.
pub(super) async fn set_status(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Body,
) -> Response {
    let fields = match session.form(&s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (status, done) = match field(&fields, "status") {
        Some("suspended") => (EnterpriseStatus::Suspended, "suspended"),
        _ => (EnterpriseStatus::Active, "active"),
    };
    match s
        .0
        .registry
        .set_enterprise_status(&session.principal, id, status)
        .await
    {
        Ok(_) => see_other(&format!("/console/enterprises?done={done}")),
        Err(e) => session.refused(&s, e),
    }
}

/// `GET /console/audit?before=N`: the audit log, newest first.
pub(super) async fn audit(State(s): State<AppState>, session: Session) -> Response {
    let before = query_param(session.query.as_deref(), "before").and_then(|b| b.parse().ok());
    let entries = match s
        .0
        .registry
        .audit_page(&session.principal, before, AUDIT_PAGE)
        .await
    {
        Ok(e) => e,
        Err(e) => return session.refused(&s, e),
    };
    let algorithm = entries.first().map_or("sm3", |e| e.alg.as_str());
    let older = entries.last().map(|e| e.seq).filter(|seq| *seq > 1);
    let rows: Vec<AuditRow> = entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: when(e.at),
            actor: e.actor.clone(),
            origin: e.origin.clone(),
            what: format!("{} {}", e.action, e.target),
            hash: hex::encode(&e.hash),
        })
        .collect();
    let html = pages::audit(&session.frame(&s, None), &rows, algorithm, older);
    session.html(StatusCode::OK, html)
}
