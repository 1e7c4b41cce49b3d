use idnode_core::{CoreError, ResponseCode};
use idnode_store::StoreError;
use thiserror::Error;

/// Why a registry call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Malformed handle.
    #[error("{0}")]
    InvalidHandle(String),
    /// Malformed value or record.
    #[error("{0}")]
    InvalidValue(String),
    /// Malformed request outside handles and values.
    #[error("{0}")]
    BadRequest(String),
    /// The handle does not exist.
    #[error("handle not found")]
    HandleNotFound,
    /// The handle (or a case variant of it) exists.
    #[error("{0}")]
    HandleExists(String),
    /// None of the addressed values exist.
    #[error("values not found")]
    ValuesNotFound,
    /// A value exists at the index and overwrite was refused.
    #[error("value {0} already exists")]
    ValueExists(u32),
    /// The prefix is not served (or not allocated) here.
    #[error("{0}")]
    NotResponsible(String),
    /// The operation needs an authenticated caller.
    #[error("authentication needed")]
    AuthenticationNeeded,
    /// Credentials were wrong or unknown.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// A bearer token whose lifetime is over.
    #[error("the token has expired: ask for a new one")]
    TokenExpired,
    /// Too many secret checks from this client; retry later.
    #[error("too many authentication attempts from this client; retry in a few seconds")]
    RateLimited,
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// A non-handle record (enterprise, prefix) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness rule outside handles (prefix taken, name taken, key reused).
    #[error("{0}")]
    Conflict(String),
    /// Items of a batch failed; nothing was written.
    #[error("{} item(s) of the batch failed; nothing was written", .0.len())]
    Batch(Vec<ItemProblem>),
    /// The enterprise may not register more identifiers (national SDK RC 604).
    #[error("{0}")]
    RegistrationLimit(String),
    /// The enterprise may not hold more prefixes (national SDK RC 605).
    #[error("{0}")]
    PrefixLimit(String),
    /// Identifiers do not fit their templates; every violation is listed, nothing was
    /// written.
    #[error("{}", template_message(.0))]
    Template(Vec<crate::TemplateProblem>),
    /// A template definition is refused; every problem is listed.
    #[error("invalid template: {}", .0.join("; "))]
    InvalidTemplate(Vec<String>),
    /// The store failed (the message is [`StoreError::public_message`]).
    #[error("{}", .0.public_message())]
    Store(#[source] StoreError),
}

/// One failing item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemProblem {
    /// Position in the request.
    pub position: usize,
    /// The handle addressed (as sent).
    pub handle: String,
    /// Handle response code.
    #[serde(rename = "responseCode")]
    pub code: u32,
    /// What is wrong.
    pub message: String,
}

impl RegistryError {
    /// (position, handle, what is wrong) of every failing item of a refused write of
    /// `handles` (in request order): batch problems by their position, template violations
    /// found by handle (one row per violation); empty for other failures.
    pub fn item_faults(&self, handles: &[&str]) -> Vec<(usize, String, String)> {
        match self {
            Self::Batch(problems) => problems
                .iter()
                .map(|p| (p.position, p.handle.clone(), p.message.clone()))
                .collect(),
            Self::Template(problems) => problems
                .iter()
                .flat_map(|p| {
                    let at = handles
                        .iter()
                        .position(|h| h.eq_ignore_ascii_case(&p.handle))
                        .unwrap_or(0);
                    p.violations
                        .iter()
                        .map(move |v| (at, p.handle.clone(), v.to_string()))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The Handle response code for this failure.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            Self::InvalidHandle(_) => ResponseCode::InvalidHandle,
            Self::InvalidValue(_) | Self::Template(_) | Self::InvalidTemplate(_) => {
                ResponseCode::InvalidValue
            }
            Self::BadRequest(_) | Self::Batch(_) => ResponseCode::ProtocolError,
            Self::HandleNotFound | Self::NotFound(_) => ResponseCode::HandleNotFound,
            Self::HandleExists(_) | Self::Conflict(_) => ResponseCode::HandleAlreadyExists,
            Self::ValuesNotFound => ResponseCode::ValuesNotFound,
            Self::ValueExists(_) => ResponseCode::ValueAlreadyExists,
            Self::NotResponsible(_) => ResponseCode::ServerNotResponsible,
            Self::AuthenticationNeeded | Self::TokenExpired => ResponseCode::AuthenticationNeeded,
            Self::AuthenticationFailed => ResponseCode::AuthenticationFailed,
            Self::Forbidden(_) => ResponseCode::InsufficientPermissions,
            Self::Store(_) => ResponseCode::Error,
            Self::RateLimited => ResponseCode::ServerBusy,
            Self::RegistrationLimit(_) => ResponseCode::RegistrationLimit,
            Self::PrefixLimit(_) => ResponseCode::PrefixLimit,
        }
    }
}

/// Longest text of a template refusal (the Handle protocol carries it as its error message);
/// the full list is in [`RegistryError::Template`] itself.
const MAX_TEMPLATE_MESSAGE: usize = 4096;

/// "88.118.8/A: index 2000 (productName): expected …; index 2003 (…): …" for every identifier,
/// cut at [`MAX_TEMPLATE_MESSAGE`] bytes with the number of violations left out.
fn template_message(problems: &[crate::TemplateProblem]) -> String {
    let total: usize = problems.iter().map(|p| p.violations.len()).sum();
    let mut out = String::new();
    let mut shown = 0;
    for p in problems {
        for (n, v) in p.violations.iter().enumerate() {
            let part = match (n, out.is_empty()) {
                (0, true) => format!("{}: {v}", p.handle),
                (0, false) => format!(" | {}: {v}", p.handle),
                _ => format!("; {v}"),
            };
            if out.len() + part.len() > MAX_TEMPLATE_MESSAGE {
                return format!("{out} … and {} more violation(s)", total - shown);
            }
            out.push_str(&part);
            shown += 1;
        }
    }
    out
}

impl From<CoreError> for RegistryError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidHandle(m) => Self::InvalidHandle(m),
            CoreError::InvalidValue(m) => Self::InvalidValue(m),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            other => Self::Store(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use idnode_template::{Rule, Violation};

    use super::*;

    #[test]
    fn template_messages_list_violations_and_stop_at_the_cap() {
        let v = |index| Violation {
            item: "productName".into(),
            index,
            rule: Rule::Required,
            value: String::new(),
            message: "item productName (产品名称) is required".into(),
        };
        let problem = |h: &str, n: u32| crate::TemplateProblem {
            handle: h.into(),
            violations: (0..n).map(|i| v(2000 + i)).collect(),
        };
        let short = template_message(&[problem("88.118.8/A", 2), problem("88.118.8/B", 1)]);
        assert_eq!(
            short,
            "88.118.8/A: index 2000 (productName): item productName (产品名称) is required; \
             index 2001 (productName): item productName (产品名称) is required | \
             88.118.8/B: index 2000 (productName): item productName (产品名称) is required"
        );
        let long = template_message(&[problem("88.118.8/C", 2000)]);
        assert!(long.len() <= MAX_TEMPLATE_MESSAGE + 64, "{}", long.len());
        assert!(long.ends_with("more violation(s)"), "{long}");
    }
}
