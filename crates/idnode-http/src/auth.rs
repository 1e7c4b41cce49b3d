//! `Authorization: Basic` with `index:handle` identities (urlencoded or not).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use idnode_core::ResponseCode;
use idnode_registry::Principal;
use percent_encoding::percent_decode_str;

use crate::{ApiError, AppState};

/// Longest `Authorization` header accepted.
const MAX_AUTH_HEADER: usize = 4096;

/// Splits decoded Basic credentials into identity and secret.
///
/// Handle.Net clients send `urlencode("300:0.NA/88.118.8") + ":" + secret`; plain
/// `300:0.NA/88.118.8:secret` (as `curl -u` sends it) is accepted too.
pub(crate) fn split_basic(decoded: &str) -> Option<(String, String)> {
    let (user, rest) = decoded.split_once(':')?;
    if !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit()) {
        // Unencoded identity: index:handle:secret.
        let (handle, secret) = rest.split_once(':')?;
        return Some((format!("{user}:{handle}"), secret.to_owned()));
    }
    let user = percent_decode_str(user).decode_utf8().ok()?.into_owned();
    Some((user, rest.to_owned()))
}

/// Who sent a request: its headers and, when the server knows it, its address.
pub(crate) struct Caller {
    pub(crate) headers: HeaderMap,
    pub(crate) ip: Option<IpAddr>,
}

/// The peer address recorded by `serve` (absent when the router runs without it).
pub(crate) fn peer_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

impl Caller {
    /// The caller of a request, taking its headers.
    pub(crate) fn take(parts: &mut Parts) -> Self {
        Self {
            headers: std::mem::take(&mut parts.headers),
            ip: peer_ip(&parts.extensions),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::take(parts))
    }
}

/// An authenticated caller, for operations anonymous callers may not use: a request without
/// credentials is answered 401 before its path, query or body is looked at.
pub(crate) struct Authed {
    pub(crate) principal: Principal,
    pub(crate) caller: Caller,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::take(parts);
        let principal = principal(state, &caller.headers, caller.ip).await?;
        if matches!(principal, Principal::Anonymous) {
            return Err(ApiError::new(
                ResponseCode::AuthenticationNeeded,
                "authentication needed",
            ));
        }
        Ok(Self { principal, caller })
    }
}

/// The caller: anonymous without an `Authorization` header, authenticated otherwise.
pub(crate) async fn principal(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Principal::Anonymous);
    };
    let failed = || ApiError::new(ResponseCode::AuthenticationFailed, "authentication failed");
    if value.len() > MAX_AUTH_HEADER {
        return Err(failed());
    }
    let value = value.to_str().map_err(|_| failed())?;
    if value
        .trim_start()
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("Handle "))
    {
        return crate::sessions::principal(state, value, ip)
            .await
            .map_err(|r| match r {
                // Handle.Net answers 401 to an unknown or expired session and a failed proof.
                crate::sessions::Refusal::UnknownSession => ApiError::new(
                    ResponseCode::AuthenticationNeeded,
                    "unknown or expired session: open a new one (POST /api/sessions)",
                ),
                crate::sessions::Refusal::NotVerified(m) => {
                    ApiError::new(ResponseCode::AuthenticationNeeded, m)
                }
                crate::sessions::Refusal::Limited => {
                    ApiError::from(idnode_registry::RegistryError::RateLimited)
                }
            });
    }
    let Some(b64) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err(ApiError::new(
            ResponseCode::AuthenticationFailed,
            "only the Basic and Handle authorization schemes are supported",
        ));
    };
    let raw = STANDARD.decode(b64.trim()).map_err(|_| failed())?;
    let decoded = String::from_utf8(raw).map_err(|_| failed())?;
    let (identity, secret) = split_basic(&decoded).ok_or_else(failed)?;
    Ok(state
        .0
        .registry
        .authenticate_from(&identity, &secret, ip)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_identity_spellings() {
        assert_eq!(
            split_basic("300%3A0.NA%2F88.118.8:s:e:c"),
            Some(("300:0.NA/88.118.8".into(), "s:e:c".into()))
        );
        assert_eq!(
            split_basic("300:0.NA/88.118.8:secret"),
            Some(("300:0.NA/88.118.8".into(), "secret".into()))
        );
        assert_eq!(split_basic("nocolon"), None);
    }
}
