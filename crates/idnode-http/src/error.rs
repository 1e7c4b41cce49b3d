//! The one place where service errors become HTTP statuses and Handle-style JSON bodies.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_core::ResponseCode;
use idnode_registry::{ItemProblem, RegistryError, TemplateProblem};
use idnode_resolver::ResolveError;
use idnode_store::StoreError;
use serde::Serialize;

/// The HTTP status for a Handle response code (SPEC §4).
/// `created` selects 201 for success; `resolving` lets "values not found" be 200.
pub fn http_status(rc: u32, created: bool, resolving: bool) -> StatusCode {
    match rc {
        1 if created => StatusCode::CREATED,
        1 => StatusCode::OK,
        100 => StatusCode::NOT_FOUND,
        101 | 201 => StatusCode::CONFLICT,
        2 => StatusCode::INTERNAL_SERVER_ERROR,
        4 | 102 | 202 | 301 => StatusCode::BAD_REQUEST,
        5 => StatusCode::NOT_IMPLEMENTED,
        3 | 7 => StatusCode::SERVICE_UNAVAILABLE,
        302 | 303 => StatusCode::MULTIPLE_CHOICES,
        402 => StatusCode::UNAUTHORIZED,
        400 | 401 | 403 | 404 | 604 | 605 => StatusCode::FORBIDDEN,
        200 if resolving => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An error answered as `{"responseCode":…,"handle":…,"message":…}`.
#[derive(Debug)]
pub struct ApiError {
    /// Handle response code.
    pub rc: u32,
    /// HTTP status (derived from `rc` unless overridden).
    pub status: StatusCode,
    /// The handle concerned, when there is one.
    pub handle: Option<String>,
    /// Human-readable reason.
    pub message: String,
    /// Per-item problems of a rejected batch.
    pub problems: Vec<ItemProblem>,
    /// Every template violation of every identifier, when values do not fit templates.
    pub violations: Vec<TemplateProblem>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "responseCode")]
    rc: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    handle: Option<&'a str>,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [ItemProblem],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    violations: &'a [TemplateProblem],
}

impl ApiError {
    /// An error for a response code with a message.
    pub fn new(rc: ResponseCode, message: impl Into<String>) -> Self {
        Self {
            rc: rc.code(),
            status: http_status(rc.code(), false, false),
            handle: None,
            message: message.into(),
            problems: Vec::new(),
            violations: Vec::new(),
        }
    }

    /// A malformed request (protocol error, 400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ResponseCode::ProtocolError, message)
    }

    /// Names the handle in the body.
    #[must_use]
    pub fn with_handle(mut self, h: &str) -> Self {
        self.handle = Some(h.to_owned());
        self
    }

    /// Overrides the HTTP status.
    #[must_use]
    pub fn with_status(mut self, s: StatusCode) -> Self {
        self.status = s;
        self
    }
}

/// The status of a storage failure, logged here with the database's own text (which the
/// client never sees): 503 while the database is unreachable, 507 when it is full, else 500.
pub(crate) fn storage_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "database unavailable");
            StatusCode::SERVICE_UNAVAILABLE
        }
        StoreError::Full(_) => {
            tracing::error!(error = %e, "database full");
            StatusCode::INSUFFICIENT_STORAGE
        }
        _ => {
            tracing::error!(error = %e, "storage failure");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let mut out = Self::new(e.response_code(), e.to_string());
        match e {
            RegistryError::Batch(problems) => {
                // The status of the first failing item: 409 when it exists, 404 when it
                // (or its prefix, here) does not, 403 when it may not be written, 400 when
                // it is malformed.
                if let Some(first) = problems.first() {
                    out.status = match first.code {
                        301 => StatusCode::NOT_FOUND,
                        code => http_status(code, false, false),
                    };
                }
                out.problems = problems;
            }
            RegistryError::Template(problems) => out.violations = problems,
            RegistryError::RateLimited => out.status = StatusCode::TOO_MANY_REQUESTS,
            RegistryError::Store(inner) => out.status = storage_status(&inner),
            _ => {}
        }
        out
    }
}

impl From<ResolveError> for ApiError {
    fn from(e: ResolveError) -> Self {
        let msg = match &e {
            ResolveError::NotFound => "Handle Not Found".to_owned(),
            other => other.to_string(),
        };
        let mut out = Self::new(e.response_code(), msg);
        if let ResolveError::Store(inner) = &e {
            out.status = storage_status(inner);
        }
        out
    }
}

impl From<idnode_core::CoreError> for ApiError {
    fn from(e: idnode_core::CoreError) -> Self {
        RegistryError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body {
            rc: self.rc,
            handle: self.handle.as_deref(),
            message: &self.message,
            problems: &self.problems,
            violations: &self.violations,
        })
        .expect("plain data serialises");
        let mut resp = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"idnode\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_status_mapping() {
        let cases = [
            (1, false, false, 200),
            (1, true, false, 201),
            (100, false, false, 404),
            (101, false, false, 409),
            (201, false, false, 409),
            (2, false, false, 500),
            (4, false, false, 400),
            (102, false, false, 400),
            (202, false, false, 400),
            (301, false, false, 400),
            (5, false, false, 501),
            (3, false, false, 503),
            (7, false, false, 503),
            (302, false, false, 300),
            (303, false, false, 300),
            (402, false, false, 401),
            (400, false, false, 403),
            (401, false, false, 403),
            (403, false, false, 403),
            (404, false, false, 403),
            (200, false, true, 200),
            (200, false, false, 400),
        ];
        for (rc, created, resolving, want) in cases {
            assert_eq!(
                http_status(rc, created, resolving).as_u16(),
                want,
                "rc {rc}"
            );
        }
    }
}
