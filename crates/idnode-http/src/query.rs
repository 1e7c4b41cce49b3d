//! Query strings of the Handle REST API (repeated `index=` and `type=` keys).

use crate::ApiError;

/// Longest query string accepted.
const MAX_QUERY: usize = 8192;

/// Parameters given at most once.
const SINGLE: [&str; 7] = [
    "auth",
    "publicOnly",
    "overwrite",
    "mintNewSuffix",
    "prefix",
    "page",
    "pageSize",
];

/// Parsed parameters of `/api/handles` requests.
#[derive(Debug, Default)]
pub(crate) struct HandleQuery {
    pub(crate) indexes: Vec<u32>,
    pub(crate) various: bool,
    pub(crate) types: Vec<String>,
    pub(crate) auth: bool,
    pub(crate) public_only: bool,
    pub(crate) overwrite: Option<bool>,
    pub(crate) mint: bool,
    pub(crate) prefix: Option<String>,
    pub(crate) page: Option<u64>,
    pub(crate) page_size: Option<u64>,
}

fn flag(v: &str) -> Result<bool, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::bad_request(format!("'{v}' is not a boolean"))),
    }
}

fn number<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, ApiError> {
    v.parse()
        .map_err(|_| ApiError::bad_request(format!("{k}='{v}' is not a valid number")))
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for HandleQuery {
    type Rejection = ApiError;

    /// The request's query string, parsed (400 when malformed).
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        Self::parse(parts.uri.query())
    }
}

impl HandleQuery {
    pub(crate) fn parse(q: Option<&str>) -> Result<Self, ApiError> {
        let mut out = Self::default();
        let Some(q) = q else {
            return Ok(out);
        };
        if q.len() > MAX_QUERY {
            return Err(ApiError::bad_request("query string too long"));
        }
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            // Only index and type may repeat: a second overwrite= must not silently win.
            if SINGLE.contains(&k.as_ref()) {
                if seen.iter().any(|s| *s == k) {
                    return Err(ApiError::bad_request(format!(
                        "the query parameter '{k}' is given more than once"
                    )));
                }
                seen.push(k.to_string());
            }
            match k.as_ref() {
                "index" if v.eq_ignore_ascii_case("various") => out.various = true,
                "index" => out.indexes.push(number("index", &v)?),
                "type" => out.types.push(v.into_owned()),
                "auth" => out.auth = flag(&v)?,
                "publicOnly" => out.public_only = flag(&v)?,
                "overwrite" => out.overwrite = Some(flag(&v)?),
                "mintNewSuffix" => out.mint = flag(&v)?,
                "prefix" => out.prefix = Some(v.into_owned()),
                "page" => out.page = Some(number("page", &v)?),
                "pageSize" => out.page_size = Some(number("pageSize", &v)?),
                _ => {} // unknown parameters are ignored, as Handle.Net does
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_flags() {
        let q = HandleQuery::parse(Some(
            "index=1&index=2&type=URL&type=EMAIL&publicOnly=true&overwrite=false",
        ))
        .unwrap();
        assert_eq!(q.indexes, [1, 2]);
        assert_eq!(q.types, ["URL", "EMAIL"]);
        assert!(q.public_only);
        assert_eq!(q.overwrite, Some(false));
        assert!(HandleQuery::parse(Some("index=x")).is_err());
        assert!(HandleQuery::parse(Some("auth=maybe")).is_err());
        assert!(HandleQuery::parse(Some("index=various")).unwrap().various);
        assert!(HandleQuery::parse(Some("overwrite=false&overwrite=true")).is_err());
        assert!(HandleQuery::parse(Some("pageSize=1&prefix=a&pageSize=2")).is_err());
    }
}
