//! Failures of `/epcis` as RFC 7807 problem documents with the standard's exception types
//! (`epcisException:ValidationException`, `QueryParameterException`, …), each fault of a
//! refused document named by its event and JSON pointer.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idnode_epcis::EpcisError;
use idnode_store::StoreError;
use idnode_trace::TraceError;
use serde::Serialize;

use crate::ApiError;

/// A problem document.
#[derive(Debug, Serialize)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    #[serde(serialize_with = "status_code")]
    status: StatusCode,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<idnode_epcis::Problem>,
}

fn status_code<S: serde::Serializer>(s: &StatusCode, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u16(s.as_u16())
}

impl Problem {
    pub(crate) fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            title: title(kind),
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// Its status and detail (for a page that shows the refusal).
    pub(crate) fn parts(self) -> (StatusCode, String) {
        (self.status, self.detail)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, NO_SUCH_RESOURCE, what)
    }

    pub(crate) fn not_acceptable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, NOT_ACCEPTABLE, detail)
    }

    pub(crate) fn bad_query(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, QUERY_PARAMETER, detail)
    }
}

const VALIDATION: &str = "epcisException:ValidationException";
const QUERY_PARAMETER: &str = "epcisException:QueryParameterException";
const QUERY_TOO_LARGE: &str = "epcisException:QueryTooLargeException";
const CAPTURE_LIMIT: &str = "epcisException:CaptureLimitExceededException";
const SECURITY: &str = "epcisException:SecurityException";
const NO_SUCH_RESOURCE: &str = "epcisException:NoSuchResourceException";
const SUBSCRIPTION: &str = "epcisException:SubscriptionControlsException";
const NOT_ACCEPTABLE: &str = "epcisException:NotAcceptableException";
const EXISTS: &str = "epcisException:ResourceAlreadyExistsException";
const IMPLEMENTATION: &str = "epcisException:ImplementationException";

fn title(kind: &str) -> &'static str {
    match kind {
        VALIDATION => "The input is not valid EPCIS 2.0",
        QUERY_PARAMETER => "A query parameter is invalid",
        QUERY_TOO_LARGE => "The query answers too many events",
        CAPTURE_LIMIT => "The capture exceeds a limit",
        SECURITY => "Not allowed",
        NO_SUCH_RESOURCE => "Not found",
        NOT_ACCEPTABLE => "The answer cannot be given in the form asked for",
        SUBSCRIPTION => "The subscription is invalid",
        EXISTS => "It exists already",
        _ => "The repository failed",
    }
}

impl From<TraceError> for Problem {
    fn from(e: TraceError) -> Self {
        let e = match e {
            TraceError::Registry(r) => return ApiError::from(r).into(),
            TraceError::Store(s) => return store(&s),
            e => e,
        };
        let detail = e.to_string();
        let (status, kind) = match &e {
            TraceError::Invalid(EpcisError::Invalid(problems)) => {
                let mut p = Self::new(StatusCode::BAD_REQUEST, VALIDATION, detail);
                p.errors = problems.clone();
                return p;
            }
            TraceError::Query(_) => (StatusCode::BAD_REQUEST, QUERY_PARAMETER),
            TraceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, CAPTURE_LIMIT),
            TraceError::QueryTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, QUERY_TOO_LARGE),
            TraceError::Duplicate(_) => {
                let mut p = Self::new(StatusCode::CONFLICT, VALIDATION, detail);
                p.title = "The event is captured already";
                return p;
            }
            TraceError::Unauthenticated => (StatusCode::UNAUTHORIZED, SECURITY),
            TraceError::Forbidden(_) => (StatusCode::FORBIDDEN, SECURITY),
            TraceError::NotFound(_) => (StatusCode::NOT_FOUND, NO_SUCH_RESOURCE),
            TraceError::Exists(_) => (StatusCode::CONFLICT, EXISTS),
            TraceError::Subscription(_) => (StatusCode::BAD_REQUEST, SUBSCRIPTION),
            TraceError::Store(_) | TraceError::Registry(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, IMPLEMENTATION)
            }
        };
        Self::new(status, kind, detail)
    }
}

fn store(e: &StoreError) -> Problem {
    let status = crate::error::storage_status(e);
    Problem::new(status, IMPLEMENTATION, e.public_message())
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        let kind = match e.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SECURITY,
            StatusCode::NOT_FOUND => NO_SUCH_RESOURCE,
            StatusCode::PAYLOAD_TOO_LARGE => CAPTURE_LIMIT,
            s if s.is_client_error() => VALIDATION,
            _ => IMPLEMENTATION,
        };
        Self::new(e.status, kind, e.message)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).expect("plain data serialises");
        let mut resp = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        let h = resp.headers_mut();
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"idnode\""),
                );
            }
            _ => {}
        }
        resp
    }
}
