//! `GET/POST/DELETE /snms/api/v3/template` and `/snms/api/v5/template` (with `PUT`): SNMS's
//! template bodies mapped onto idnode templates (`Template::from_snms`, lenient about SNMS's
//! own fields and spellings, while `/api/v1/templates` stays strict).

use axum::extract::State;
use axum::response::Response;
use idnode_template::Template;
use serde::Deserialize;
use serde_json::Value;

use super::{ok, Asked, Refusal, Sent, Signed};
use crate::AppState;

/// An SNMS template body as an idnode template (not yet validated).
fn from_snms(v: Value) -> Result<Template, Refusal> {
    Template::from_snms(v)
        .map_err(|e| Refusal::failed(format!("模板格式错误 (invalid template): {e}")))
}

/// `prefix` and `version`, as the query of a read or the body of a delete.
#[derive(Deserialize)]
pub(super) struct Key {
    prefix: Option<String>,
    version: Option<String>,
}

impl Key {
    fn parts(&self) -> Result<(&str, &str), Refusal> {
        match (self.prefix.as_deref(), self.version.as_deref()) {
            (Some(p), Some(v)) if !p.is_empty() && !v.is_empty() => Ok((p, v)),
            (None | Some(""), _) => Err(Refusal::failed("缺少必要的请求参数: prefix")),
            _ => Err(Refusal::failed("缺少必要的请求参数: version")),
        }
    }
}

/// `GET …/template?prefix=&version=`.
pub(super) async fn read(
    State(s): State<AppState>,
    a: Signed,
    Asked(key): Asked<Key>,
) -> Result<Response, Refusal> {
    let (prefix, version) = key.parts()?;
    let (t, _) = s.0.registry.template(&a.principal, prefix, version).await?;
    Ok(ok(t.to_snms()))
}

/// `POST …/template`.
pub(super) async fn create(
    State(s): State<AppState>,
    Sent { who: a, body }: Sent<Value>,
) -> Result<Response, Refusal> {
    let t = from_snms(body)?;
    s.0.registry.create_template(&a.principal, t).await?;
    Ok(ok(true))
}

/// `PUT …/template` (SNMS v5): items matched by `idIndex` and `idType` change, others are
/// added, those left out stay.
pub(super) async fn update(
    State(s): State<AppState>,
    Sent { who: a, body }: Sent<Value>,
) -> Result<Response, Refusal> {
    let update = from_snms(body)?;
    let (current, _) =
        s.0.registry
            .template(&a.principal, &update.prefix, &update.version)
            .await?;
    let amended = current.amended(update);
    s.0.registry.update_template(&a.principal, amended).await?;
    Ok(ok(true))
}

/// `DELETE …/template` with `{"prefix", "version"}`.
pub(super) async fn remove(
    State(s): State<AppState>,
    Sent { who: a, body: key }: Sent<Key>,
) -> Result<Response, Refusal> {
    let (prefix, version) = key.parts()?;
    s.0.registry
        .delete_template(&a.principal, prefix, version)
        .await?;
    Ok(ok(true))
}
