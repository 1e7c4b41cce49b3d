//! The management API under `/api/v1`, described by a generated OpenAPI document.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use idnode_core::json::values_to_json;
use idnode_core::EnterpriseProfile;
use idnode_registry::BatchRequest;
use idnode_store::{Enterprise, EnterpriseStatus, HistoryRecord, PrefixRecord};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use idnode_registry::Principal;

use crate::auth::Authed;
use crate::body::read_json;
use crate::{ApiError, AppState};

/// A path parameter; a malformed one is answered in the JSON error shape (axum's own
/// rejection is plain text).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid path: {}",
                e.body_text()
            ))),
        }
    }
}

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 200;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/enterprises",
            get(list_enterprises).post(create_enterprise),
        )
        .route("/enterprises/{id}", get(get_enterprise))
        .route("/enterprises/{id}/profile", put(put_profile))
        .route("/enterprises/{id}/suspend", post(suspend_enterprise))
        .route("/enterprises/{id}/activate", post(activate_enterprise))
        .route("/prefixes", get(list_prefixes).post(allocate_prefix))
        .route("/identifiers/batch", post(batch))
        .route("/history/{*handle}", get(history))
        .route("/stats", get(crate::stats::stats))
        .merge(crate::templates::router())
}

/// The OpenAPI document of the management API.
#[derive(OpenApi)]
#[openapi(
    info(title = "idnode management API", description = "Onboarding, prefixes and bulk identifier writes of an idnode secondary node."),
    paths(list_enterprises, create_enterprise, get_enterprise, put_profile, suspend_enterprise,
          activate_enterprise, list_prefixes, allocate_prefix, batch, history,
          crate::templates::create, crate::templates::list, crate::templates::read,
          crate::templates::update, crate::templates::remove, crate::templates::history,
          crate::templates::detail, crate::templates::set_policy,
          crate::templates::adopt, crate::stats::stats),
    components(schemas(EnterpriseDto, NewEnterpriseDto, CreatedEnterpriseDto, PrefixDto,
                       NewPrefixDto, BatchDoc, BatchItemDoc, BatchOutcomeDoc, ErrorDoc,
                       ProblemDoc, HistoryDto, crate::templates::TemplateDto,
                       crate::templates::TemplateChangeDto, crate::templates::TemplateDoc,
                       crate::templates::ItemDoc, crate::templates::DetailDto,
                       crate::templates::PolicyDto, crate::templates::AdoptionDto,
                       crate::stats::StatsDto)),
    modifiers(&BasicAuth),
    security(("basic" = []))
)]
pub struct ApiDoc;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "user = urlencoded `index:handle` identity (e.g. 300:0.NA/88.118.8), password = its secret",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`: the document, completed for this node (`openapi.rs`).
pub(crate) async fn openapi(State(s): State<AppState>) -> Response {
    let doc =
        s.0.openapi
            .get_or_init(|| crate::openapi::document(s.0.registry.node_prefix()));
    ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response()
}

/// An enterprise.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnterpriseDto {
    id: i64,
    name: String,
    /// `active` or `suspended`.
    status: String,
    /// Unix milliseconds.
    created_at: i64,
    /// Registration material (`idnode_core::EnterpriseProfile`).
    #[schema(value_type = Object)]
    profile: EnterpriseProfile,
    /// The enterprise's id at the top-level node, once created there.
    upstream_id: Option<String>,
}

impl From<Enterprise> for EnterpriseDto {
    fn from(e: Enterprise) -> Self {
        Self {
            id: e.id,
            name: e.name,
            status: e.status.as_str().into(),
            created_at: e.created_at,
            profile: e.profile,
            upstream_id: e.upstream_id,
        }
    }
}

/// An enterprise to onboard with its first prefix.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewEnterpriseDto {
    name: String,
    /// Below the node prefix, e.g. `88.118.8`.
    prefix: String,
    /// Registration material sent to the top-level node (`credit_code`, `contact`, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    profile: EnterpriseProfile,
}

/// The onboarded enterprise and its admin identity; the secret is shown only here.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedEnterpriseDto {
    enterprise: EnterpriseDto,
    /// `300:0.NA/<prefix>`.
    identity: String,
    secret: String,
}

/// An allocated prefix.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrefixDto {
    prefix: String,
    /// Absent for the node's own prefix.
    enterprise_id: Option<i64>,
    status: String,
    created_at: i64,
    /// The top-level node's review: `none`, `pending`, `approved` or `rejected`.
    review: String,
    /// Why it was rejected.
    review_note: String,
    /// Every identifier under it must name a template version (value 1001).
    template_required: bool,
}

impl From<PrefixRecord> for PrefixDto {
    fn from(p: PrefixRecord) -> Self {
        Self {
            prefix: p.prefix,
            enterprise_id: p.enterprise_id,
            status: p.status.as_str().into(),
            created_at: p.created_at,
            review: p.review.as_str().into(),
            review_note: p.review_note,
            template_required: p.template_required,
        }
    }
}

/// A prefix to allocate to an enterprise.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewPrefixDto {
    prefix: String,
    #[serde(deserialize_with = "integral")]
    enterprise_id: i64,
}

/// An integer, also written as an integral number such as `7.0` (which JSON Schema counts
/// as an integer, and so do clients generated from the document).
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("{n} is not an integer"))),
    }
}

/// A batch of identifier writes, applied all or nothing.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BatchDoc {
    /// 1 to 10,000 operations.
    operations: Vec<BatchItemDoc>,
}

/// One operation of a batch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BatchItemDoc {
    /// `create`, `update` (replaces all values) or `delete`.
    op: String,
    /// The identifier, e.g. `88.118.8/GBX-2026-000123`.
    handle: String,
    /// Values in the Handle.Net REST form (create and update).
    values: Option<Vec<serde_json::Value>>,
}

/// The result of an applied batch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct BatchOutcomeDoc {
    #[schema(rename = "responseCode")]
    response_code: u32,
    created: usize,
    updated: usize,
    deleted: usize,
    /// Normalised identifiers in request order.
    handles: Vec<String>,
}

/// An error: Handle response code, message and, for batches, every failing item.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorDoc {
    #[schema(rename = "responseCode")]
    response_code: u32,
    message: String,
    problems: Option<Vec<ProblemDoc>>,
}

/// One failing item of a batch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ProblemDoc {
    position: usize,
    handle: String,
    #[schema(rename = "responseCode")]
    response_code: u32,
    message: String,
}

/// One change of an identifier.
#[derive(Serialize, ToSchema)]
pub(crate) struct HistoryDto {
    id: i64,
    /// `create`, `update` or `delete`.
    action: String,
    /// Identity that made the change.
    actor: String,
    /// Unix milliseconds.
    at: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

impl From<HistoryRecord> for HistoryDto {
    fn from(h: HistoryRecord) -> Self {
        let json = |v: Option<Vec<idnode_core::HandleValue>>| {
            v.map(|v| serde_json::from_str(&values_to_json(&v)).unwrap_or_default())
        };
        Self {
            id: h.id,
            action: h.action.as_str().into(),
            actor: h.actor,
            at: h.at,
            before: json(h.before),
            after: json(h.after),
        }
    }
}

/// The JSON body of an authenticated caller, parsed.
pub(crate) async fn json_body<T: for<'de> Deserialize<'de>>(
    s: &AppState,
    a: &Authed,
    body: Body,
) -> Result<T, ApiError> {
    let body = read_json(s, &a.caller, body, s.0.limits.max_body_bytes).await?;
    serde_json::from_slice(&body.bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// An authenticated caller and its JSON body: the caller is authenticated before the body
/// is read (within the node's body limit).
pub(crate) struct Posted<T> {
    /// Who posted it.
    pub(crate) a: Authed,
    /// What was posted.
    pub(crate) body: T,
}

impl<T: for<'de> Deserialize<'de>> FromRequest<AppState> for Posted<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let a = Authed::from_request_parts(&mut parts, s).await?;
        let body = json_body(s, &a, body).await?;
        Ok(Self { a, body })
    }
}

#[utoipa::path(get, path = "/api/v1/enterprises", responses(
    (status = 200, body = [EnterpriseDto]), (status = 401, body = ErrorDoc)))]
async fn list_enterprises(
    State(s): State<AppState>,
    a: Authed,
) -> Result<Json<Vec<EnterpriseDto>>, ApiError> {
    let p = a.principal;
    Ok(Json(
        s.0.registry
            .enterprises(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises", request_body = NewEnterpriseDto, responses(
    (status = 201, body = CreatedEnterpriseDto), (status = 409, body = ErrorDoc), (status = 403, body = ErrorDoc)))]
async fn create_enterprise(
    State(s): State<AppState>,
    Posted { a, body: req }: Posted<NewEnterpriseDto>,
) -> Result<(StatusCode, Json<CreatedEnterpriseDto>), ApiError> {
    let p = a.principal;
    let (e, c) =
        s.0.registry
            .create_enterprise(&p, &req.name, &req.prefix, req.profile)
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEnterpriseDto {
            enterprise: e.into(),
            identity: c.identity,
            secret: c.secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}", params(("id" = i64, Path)), responses(
    (status = 200, body = EnterpriseDto), (status = 404, body = ErrorDoc)))]
async fn get_enterprise(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EnterpriseDto>, ApiError> {
    let p = a.principal;
    Ok(Json(s.0.registry.enterprise(&p, id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/enterprises/{id}/profile", params(("id" = i64, Path)),
    request_body = Object, responses(
    (status = 200, body = EnterpriseDto), (status = 404, body = ErrorDoc), (status = 400, body = ErrorDoc)))]
async fn put_profile(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<i64>,
    body: Body,
) -> Result<Json<EnterpriseDto>, ApiError> {
    let profile: EnterpriseProfile = json_body(&s, &a, body).await?;
    let p = a.principal;
    let e = s.0.registry.set_enterprise_profile(&p, id, profile).await?;
    Ok(Json(e.into()))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/suspend", params(("id" = i64, Path)), responses(
    (status = 200, body = EnterpriseDto), (status = 404, body = ErrorDoc)))]
async fn suspend_enterprise(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EnterpriseDto>, ApiError> {
    set_status(&s, &a.principal, id, EnterpriseStatus::Suspended).await
}

async fn set_status(
    s: &AppState,
    p: &Principal,
    id: i64,
    status: EnterpriseStatus,
) -> Result<Json<EnterpriseDto>, ApiError> {
    let e = s.0.registry.set_enterprise_status(p, id, status).await?;
    Ok(Json(e.into()))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/activate", params(("id" = i64, Path)), responses(
    (status = 200, body = EnterpriseDto), (status = 404, body = ErrorDoc)))]
async fn activate_enterprise(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EnterpriseDto>, ApiError> {
    set_status(&s, &a.principal, id, EnterpriseStatus::Active).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrefixFilter {
    enterprise_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/prefixes", params(("enterpriseId" = Option<i64>, Query)), responses(
    (status = 200, body = [PrefixDto])))]
async fn list_prefixes(
    State(s): State<AppState>,
    a: Authed,
    uri: Uri,
) -> Result<Json<Vec<PrefixDto>>, ApiError> {
    let Query(f) = Query::<PrefixFilter>::try_from_uri(&uri)
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let p = a.principal;
    Ok(Json(
        s.0.registry
            .prefixes(&p, f.enterprise_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/prefixes", request_body = NewPrefixDto, responses(
    (status = 201, body = PrefixDto), (status = 409, body = ErrorDoc)))]
async fn allocate_prefix(
    State(s): State<AppState>,
    Posted { a, body: req }: Posted<NewPrefixDto>,
) -> Result<(StatusCode, Json<PrefixDto>), ApiError> {
    let p = a.principal;
    let rec =
        s.0.registry
            .allocate_prefix(&p, req.enterprise_id, &req.prefix)
            .await?;
    Ok((StatusCode::CREATED, Json(rec.into())))
}

#[utoipa::path(post, path = "/api/v1/identifiers/batch", request_body = BatchDoc,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the recorded reply of an identical earlier request")),
    responses((status = 200, body = BatchOutcomeDoc), (status = 400, body = ErrorDoc), (status = 409, body = ErrorDoc)))]
async fn batch(State(s): State<AppState>, a: Authed, body: Body) -> Result<Response, ApiError> {
    let raw = read_json(&s, &a.caller, body, s.0.limits.max_batch_bytes)
        .await?
        .bytes;
    let p = &a.principal;
    let key = match a.caller.headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key must be 1 to 200 visible characters")
                })?;
            let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &raw));
            Some((k.to_owned(), hash))
        }
    };
    let req = BatchRequest::from_slice(&raw)
        .map_err(|e| ApiError::bad_request(format!("invalid batch: {e}")))?;
    let reply = s.0.registry.batch(p, req, key).await?;
    let mut r = Json(reply.outcome).into_response();
    if reply.replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(r)
}

#[utoipa::path(get, path = "/api/v1/history/{handle}", params(("handle" = String, Path)), responses(
    (status = 200, body = [HistoryDto]), (status = 403, body = ErrorDoc)))]
async fn history(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(handle): ApiPath<String>,
) -> Result<Json<Vec<HistoryDto>>, ApiError> {
    let p = a.principal;
    let h = s.0.registry.history(&p, &handle, 1000).await?;
    Ok(Json(h.into_iter().map(Into::into).collect()))
}
