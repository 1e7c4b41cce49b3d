//! The console's credentials page (rotate the secret) and trace page (the graph of the
//! trace query, drawn as SVG).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use idnode_trace::Direction;
use idnode_web::console::enterprise::{self as pages, TraceView};

use super::{field, query_param, Session};
use crate::{ApiError, AppState};

/// `GET /console/credentials`.
pub(super) async fn credentials(State(s): State<AppState>, session: Session) -> Response {
    session.html(
        StatusCode::OK,
        pages::credentials(&session.frame(&s, None), None),
    )
}

/// `POST /console/credentials`: a new secret, shown once; this session ends with the old
/// secret, so its cookie is cleared.
pub(super) async fn rotate(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let fields = match session.form(&s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if field(&fields, "confirm") != Some("yes") {
        return session.refused(
            &s,
            ApiError::bad_request("rotating needs the confirmation box ticked"),
        );
    }
    match s.0.registry.rotate_secret(&session.principal).await {
        Ok(c) => {
            let html = pages::credentials(&session.frame(&s, None), Some(&c.secret));
            let mut r = session.html(StatusCode::OK, html);
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "idnode_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
            r
        }
        Err(e) => session.refused(&s, e),
    }
}

/// `POST /console/credentials/key`: an uploaded public key (the Handle binary form CNRI's
/// `hdl-keygen` writes, or a PEM `PUBLIC KEY`) added to the caller's identity handle.
pub(super) async fn add_key(State(s): State<AppState>, session: Session, body: Body) -> Response {
    let (_, bytes) = match super::transfer::upload(&session, &s, body).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(endpoint) = s.0.handle.as_ref() else {
        return session.refused(
            &s,
            ApiError::bad_request("this node has no Handle service to check keys"),
        );
    };
    let data = match endpoint.public_key_value(&bytes) {
        Ok(d) => d,
        Err(e) => {
            return session.refused(
                &s,
                ApiError::bad_request(format!("the key is refused: {e}")),
            )
        }
    };
    match s.0.registry.add_public_key(&session.principal, data).await {
        Ok(identity) => {
            let html = pages::key_added(&session.frame(&s, None), &identity);
            session.html(StatusCode::CREATED, html)
        }
        Err(e) => session.refused(&s, e),
    }
}

/// `GET /console/trace?epc=…&direction=back|forward`: what the caller may see of the trace.
pub(super) async fn trace(State(s): State<AppState>, session: Session) -> Response {
    let q = session.query.as_deref();
    let forward = query_param(q, "direction").as_deref() == Some("forward");
    let Some(epc) = query_param(q, "epc").filter(|e| !e.trim().is_empty()) else {
        return session.html(
            StatusCode::OK,
            pages::trace(&session.frame(&s, None), "", forward, None),
        );
    };
    let direction = if forward {
        Direction::Forward
    } else {
        Direction::Back
    };
    let graph = match s
        .trace()
        .trace(&session.principal, epc.trim(), direction, None, None)
        .await
    {
        Ok(g) => g,
        Err(e) => {
            let (status, detail) = crate::epcis::Problem::from(e).parts();
            return session.refused(&s, ApiError::bad_request(detail).with_status(status));
        }
    };
    let at = |id: &str| graph.nodes.iter().position(|n| n.id == id);
    let view = TraceView {
        nodes: graph
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.depth))
            .collect(),
        edges: graph
            .edges
            .iter()
            .filter_map(|e| Some((at(&e.from)?, at(&e.to)?, e.kind.to_owned(), e.events.len())))
            .collect(),
        truncated: graph.truncated,
    };
    session.html(
        StatusCode::OK,
        pages::trace(&session.frame(&s, None), &epc, forward, Some(&view)),
    )
}

/// `GET /console/templates?prefix=`: a prefix's template versions and their adoption.
pub(super) async fn templates(State(s): State<AppState>, session: Session) -> Response {
    let p = &session.principal;
    let reg = &s.0.registry;
    let records = match reg.prefixes(p, None).await {
        Ok(r) => r,
        Err(e) => return session.refused(&s, e),
    };
    let mut prefixes: Vec<String> = records.iter().map(|r| r.prefix.clone()).collect();
    prefixes.sort();
    let Some(prefix) = query_param(session.query.as_deref(), "prefix")
        .or_else(|| prefixes.iter().find(|x| x.as_str() != "0.NA").cloned())
    else {
        return session.html(
            StatusCode::OK,
            pages::templates(&session.frame(&s, None), "", &prefixes, false, &[]),
        );
    };
    let (list, used) = match (
        reg.templates(p, &prefix).await,
        reg.template_use(p, &prefix).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return session.refused(&s, e),
    };
    let required = records
        .iter()
        .any(|r| r.prefix == prefix && r.template_required);
    let rows: Vec<pages::TemplateRow> = list
        .into_iter()
        .map(|(t, _)| {
            let u = used.get(&t.version).cloned().unwrap_or_default();
            pages::TemplateRow {
                items: t
                    .items
                    .iter()
                    .map(|i| (i.name.clone(), i.id_type.clone()))
                    .collect(),
                version: t.version,
                description: t.description,
                identifiers: u.identifiers,
                writes: u.writes,
            }
        })
        .collect();
    let html = pages::templates(
        &session.frame(&s, None),
        &prefix,
        &prefixes,
        required,
        &rows,
    );
    session.html(StatusCode::OK, html)
}
