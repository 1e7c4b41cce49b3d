use thiserror::Error;

/// Everything that can be wrong with a handle, a value or an encoded value payload.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoreError {
    /// The handle text is not a valid identifier.
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    /// A value is malformed (bad format, bad payload, duplicate index ...).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// An enterprise profile field is malformed or too long.
    #[error("invalid enterprise profile: {0}")]
    Profile(String),
}

impl From<crate::wire::WireError> for CoreError {
    fn from(e: crate::wire::WireError) -> Self {
        match e {
            crate::wire::WireError::Truncated(what) | crate::wire::WireError::Malformed(what) => {
                Self::value(what)
            }
        }
    }
}

impl CoreError {
    pub(crate) fn handle(msg: impl Into<String>) -> Self {
        Self::InvalidHandle(msg.into())
    }
    pub(crate) fn value(msg: impl Into<String>) -> Self {
        Self::InvalidValue(msg.into())
    }
}
