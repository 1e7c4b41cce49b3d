//! Metadata templates in the management API (`/api/v1/templates`): define, read, change
//! while unused, delete while unused, and who changed what when.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use axum::{Json, Router};
use idnode_registry::TemplateUse;
use idnode_store::TemplateChange;
use idnode_template::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authed;
use crate::manage::{json_body, ApiPath, ErrorDoc, Posted};
use crate::{ApiError, AppState};

/// A prefix not served here (RC 301) is a resource that does not exist: 404.
fn served(e: idnode_registry::RegistryError) -> ApiError {
    let e = ApiError::from(e);
    if e.rc == 301 {
        e.with_status(StatusCode::NOT_FOUND)
    } else {
        e
    }
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", axum::routing::post(create))
        .route("/template-adoptions", axum::routing::post(adopt))
        .route("/templates/{prefix}", get(list))
        .route(
            "/templates/{prefix}/{version}",
            get(read).put(update).delete(remove),
        )
        .route("/template-history/{prefix}", get(history))
        .route("/identifiers/{*handle}", get(detail))
        .route("/prefixes/{prefix}/policy", axum::routing::put(set_policy))
}

/// A template version (the SNMS shape: prefix, version, industry codes, type, items with
/// `idType`, `idIndex`, `required`, `state` and typed `metadata`), whether identifiers
/// use it (then it can no longer change), and its use as counted in the per-day usage
/// counters (recorded every minute).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateDto {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    template: Template,
    used: bool,
    /// Identifiers naming this version.
    identifiers: i64,
    /// Creates and updates checked against it.
    writes: i64,
}

impl TemplateDto {
    fn new(template: Template, used: bool, counted: Option<&TemplateUse>) -> Self {
        let counted = counted.copied().unwrap_or_default();
        Self {
            template,
            used,
            identifiers: counted.identifiers,
            writes: counted.writes,
        }
    }
}

/// A template definition as written (the SNMS shape; `idIndex` is assigned from 2000 when
/// left out). JSON Schema cannot say every rule (an industry trade code extends its specific
/// code, item indexes and types differ, a pattern compiles): those answer 400 with every
/// problem listed.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub(crate) struct TemplateDoc {
    #[schema(min_length = 1, max_length = 64)]
    prefix: String,
    #[schema(min_length = 1, max_length = 128)]
    version: String,
    /// GB/T 4754 category letter.
    #[schema(pattern = "^[A-T]$")]
    industry_category: String,
    #[schema(pattern = "^[0-9]{2}$")]
    industry_specific: String,
    #[schema(pattern = "^[0-9]{3}$")]
    industry_trade: String,
    #[schema(pattern = "^[0-9]{4}$")]
    industry_subclass: String,
    /// 1 active identifier carrier, 2 other.
    #[schema(rename = "type", minimum = 1, maximum = 2)]
    object_type: u8,
    description: Option<String>,
    /// The version of the same prefix this one builds on.
    extends: Option<String>,
    #[schema(min_items = 1, max_items = 500)]
    items: Vec<ItemDoc>,
}

/// One item of a template.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ItemDoc {
    #[schema(min_length = 1, max_length = 128)]
    name: String,
    #[schema(min_length = 1, max_length = 128)]
    id_type: String,
    #[schema(minimum = 2000)]
    id_index: Option<u32>,
    required: Option<bool>,
    /// `enabled` or `disabled`.
    state: Option<String>,
    /// `type` (string, number, integer, boolean, date, datetime, url, email, enum,
    /// reference, gs1, json), `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
    /// `values`, `prefixes`, `unique`.
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
}

/// One change of a template.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateChangeDto {
    prefix: String,
    version: String,
    /// `create`, `update` or `delete`.
    action: String,
    actor: String,
    /// Unix milliseconds.
    at: i64,
    /// The definition after the change.
    #[schema(value_type = Option<Object>)]
    body: Option<serde_json::Value>,
}

impl From<TemplateChange> for TemplateChangeDto {
    fn from(c: TemplateChange) -> Self {
        Self {
            body: c.body.and_then(|b| serde_json::from_str(&b).ok()),
            prefix: c.prefix,
            version: c.version,
            action: c.action,
            actor: c.actor,
            at: c.at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/templates", request_body = TemplateDoc, responses(
    (status = 201, body = TemplateDto), (status = 400, body = ErrorDoc), (status = 403, body = ErrorDoc),
    (status = 409, body = ErrorDoc)))]
pub(crate) async fn create(
    State(s): State<AppState>,
    Posted { a, body: t }: Posted<Template>,
) -> Result<(StatusCode, Json<TemplateDto>), ApiError> {
    let made = s.0.registry.create_template(&a.principal, t).await;
    Ok(created(made.map_err(served)?))
}

/// A 201 answer with a template just made (not used yet).
fn created(t: Template) -> (StatusCode, Json<TemplateDto>) {
    (StatusCode::CREATED, Json(TemplateDto::new(t, false, None)))
}

#[utoipa::path(get, path = "/api/v1/templates/{prefix}", params(("prefix" = String, Path)),
    responses((status = 200, body = [TemplateDto]), (status = 404, body = ErrorDoc)))]
pub(crate) async fn list(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(prefix): ApiPath<String>,
) -> Result<Json<Vec<TemplateDto>>, ApiError> {
    let all =
        s.0.registry
            .templates(&a.principal, &prefix)
            .await
            .map_err(served)?;
    let counted = s.0.registry.template_use(&a.principal, &prefix).await?;
    Ok(Json(
        all.into_iter()
            .map(|(t, used)| {
                let c = counted.get(&t.version);
                TemplateDto::new(t, used, c)
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/templates/{prefix}/{version}",
    params(("prefix" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = TemplateDto), (status = 404, body = ErrorDoc)))]
pub(crate) async fn read(
    State(s): State<AppState>,
    a: Authed,
    ApiPath((prefix, version)): ApiPath<(String, String)>,
) -> Result<Json<TemplateDto>, ApiError> {
    let (template, used) =
        s.0.registry
            .template(&a.principal, &prefix, &version)
            .await?;
    let counted = s.0.registry.template_use(&a.principal, &prefix).await?;
    Ok(Json(TemplateDto::new(
        template,
        used,
        counted.get(&version),
    )))
}

#[utoipa::path(put, path = "/api/v1/templates/{prefix}/{version}",
    params(("prefix" = String, Path), ("version" = String, Path)), request_body = TemplateDoc,
    responses((status = 200, body = TemplateDto), (status = 409, body = ErrorDoc, description = "used by identifiers")))]
pub(crate) async fn update(
    State(s): State<AppState>,
    a: Authed,
    ApiPath((prefix, version)): ApiPath<(String, String)>,
    body: Body,
) -> Result<Json<TemplateDto>, ApiError> {
    // The path names the version; the body may repeat or leave out `prefix` and `version`.
    let mut raw: serde_json::Value = json_body(&s, &a, body).await?;
    if let Some(o) = raw.as_object_mut() {
        o.insert("prefix".into(), prefix.into());
        o.insert("version".into(), version.into());
    }
    let t: Template = serde_json::from_value(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid template: {e}")))?;
    let template =
        s.0.registry
            .update_template(&a.principal, t)
            .await
            .map_err(served)?;
    Ok(Json(TemplateDto::new(template, false, None)))
}

#[utoipa::path(delete, path = "/api/v1/templates/{prefix}/{version}",
    params(("prefix" = String, Path), ("version" = String, Path)),
    responses((status = 204), (status = 409, body = ErrorDoc, description = "used by identifiers")))]
pub(crate) async fn remove(
    State(s): State<AppState>,
    a: Authed,
    ApiPath((prefix, version)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.0.registry
        .delete_template(&a.principal, &prefix, &version)
        .await
        .map_err(served)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct HistoryFilter {
    version: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/template-history/{prefix}",
    params(("prefix" = String, Path), ("version" = Option<String>, Query)),
    responses((status = 200, body = [TemplateChangeDto]), (status = 403, body = ErrorDoc)))]
pub(crate) async fn history(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(prefix): ApiPath<String>,
    uri: Uri,
) -> Result<Json<Vec<TemplateChangeDto>>, ApiError> {
    let Query(f) = Query::<HistoryFilter>::try_from_uri(&uri)
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let changes =
        s.0.registry
            .template_history(&a.principal, &prefix, f.version.as_deref(), 1000)
            .await
            .map_err(served)?;
    Ok(Json(changes.into_iter().map(Into::into).collect()))
}

/// An identifier's values with their template items (anonymous callers see the public ones).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DetailDto {
    /// Always 1.
    response_code: u32,
    handle: String,
    /// The template version the identifier names at index 1001.
    template_version: Option<String>,
    /// The values the caller may read, in the Handle.Net REST form, each with `item`
    /// (`name`, `idType`, `kind`) when its template declares it.
    #[schema(value_type = Vec<Object>)]
    values: Vec<serde_json::Value>,
    /// Where its traceability events and its lifecycle are read.
    links: IdentifierLinks,
}

/// Links from an identifier to its traceability.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentifierLinks {
    /// `GET /epcis/epcs/{hdl:handle}/events`: the EPCIS events naming it, in any URI form.
    events: String,
    /// `GET /api/v1/identifiers/{handle}/lifecycle`: registration history and events.
    lifecycle: String,
}

impl IdentifierLinks {
    fn of(handle: &str) -> Self {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let uri = format!("hdl:{handle}");
        Self {
            events: format!(
                "/epcis/epcs/{}/events",
                utf8_percent_encode(&uri, NON_ALPHANUMERIC)
            ),
            lifecycle: format!("/api/v1/identifiers/{handle}/lifecycle"),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/identifiers/{handle}", params(("handle" = String, Path)),
    security((), ("basic" = [])),
    responses((status = 200, body = DetailDto), (status = 404, body = ErrorDoc)))]
pub(crate) async fn detail(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    uri: axum::extract::OriginalUri,
    ApiPath(handle): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let p = crate::auth::principal(&s, &caller.headers, caller.ip).await?;
    // `…/{handle}/lifecycle` with a literal slash (a handle ending in `/lifecycle` is
    // written with `%2F`).
    if uri.path().ends_with("/lifecycle") {
        if let Some(h) = handle.strip_suffix("/lifecycle") {
            return match s.trace().lifecycle(&p, h).await {
                Ok(l) => Ok(Json(l).into_response()),
                Err(e) => Ok(crate::epcis::Problem::from(e).into_response()),
            };
        }
    }
    let d = s.0.registry.detail(&p, &handle).await?;
    let values = d
        .values
        .iter()
        .map(|(v, item)| {
            let mut out = idnode_core::json::value_to_json(v);
            if let (Some(i), Some(o)) = (item, out.as_object_mut()) {
                let item = serde_json::json!({"name": i.name, "idType": i.id_type, "kind": i.kind});
                o.insert("item".into(), item);
            }
            out
        })
        .collect();
    Ok(Json(DetailDto {
        response_code: 1,
        links: IdentifierLinks::of(&d.handle),
        handle: d.handle,
        template_version: d.template_version,
        values,
    })
    .into_response())
}

/// A prefix's policy.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicyDto {
    /// Every identifier under the prefix must name a template version (its value at index
    /// 1001); writes without one are refused like other template violations.
    template_required: bool,
}

#[utoipa::path(put, path = "/api/v1/prefixes/{prefix}/policy", params(("prefix" = String, Path)),
    request_body = PolicyDto, responses((status = 204), (status = 404, body = ErrorDoc)))]
pub(crate) async fn set_policy(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(prefix): ApiPath<String>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let policy: PolicyDto = json_body(&s, &a, body).await?;
    s.0.registry
        .set_template_required(&a.principal, &prefix, policy.template_required)
        .await
        .map_err(served)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An enterprise adopting a node-wide industry template.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdoptionDto {
    /// The prefix adopting it.
    #[schema(min_length = 1, max_length = 64)]
    prefix: String,
    /// The version of the node's template to adopt.
    #[schema(min_length = 1, max_length = 128)]
    from: String,
    /// The version it becomes under `prefix`.
    #[schema(min_length = 1, max_length = 128)]
    version: String,
}

#[utoipa::path(post, path = "/api/v1/template-adoptions", request_body = AdoptionDto, responses(
    (status = 201, body = TemplateDto), (status = 404, body = ErrorDoc), (status = 409, body = ErrorDoc)))]
pub(crate) async fn adopt(
    State(s): State<AppState>,
    Posted { a, body: d }: Posted<AdoptionDto>,
) -> Result<(StatusCode, Json<TemplateDto>), ApiError> {
    let made =
        s.0.registry
            .adopt_template(&a.principal, &d.prefix, &d.from, &d.version)
            .await;
    Ok(created(made.map_err(served)?))
}
