//! `POST /identity/token` (the secret), `POST /identity/token/v1` (its daily hash,
//! `sha256(sha256(secret) + yyyy-MM-dd)`), `DELETE /identity/token` (sign out).

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use idnode_registry::{RegistryError, TokenProof};
use serde::{Deserialize, Serialize};

use super::{bearer, body, ok, Refusal};
use crate::auth::Caller;
use crate::AppState;

/// Largest sign-in body.
const MAX_LOGIN_BYTES: usize = 4096;

/// The sign-in body: `username` is an identity (`300:0.NA/88.118.8`, or a handle meaning
/// its secret at index 300).
#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct Issued {
    token: String,
}

/// `POST /identity/token` (`DAILY` false) and `POST /identity/token/v1` (true).
pub(super) async fn issue<const DAILY: bool>(
    State(s): State<AppState>,
    caller: Caller,
    b: Body,
) -> Result<Response, Refusal> {
    let login: Login = body(&s, &caller, b, MAX_LOGIN_BYTES).await?;
    let proof = if DAILY {
        TokenProof::Daily(&login.password)
    } else {
        TokenProof::Secret(&login.password)
    };
    match s
        .0
        .registry
        .issue_token(&login.username, proof, caller.ip)
        .await
    {
        Ok(t) => Ok(ok(Issued { token: t.token })),
        Err(RegistryError::AuthenticationFailed) => Err(Refusal::failed(
            "用户名/密码错误！(wrong username or password)",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /identity/token`: revokes the bearer token sent.
pub(super) async fn revoke(State(s): State<AppState>, caller: Caller) -> Result<Response, Refusal> {
    let token = bearer(&caller).ok_or(RegistryError::AuthenticationNeeded)?;
    s.0.registry.revoke_token(token, caller.ip).await?;
    Ok(ok(true))
}
