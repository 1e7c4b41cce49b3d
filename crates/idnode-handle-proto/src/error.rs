//! The codec's one error type.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The bytes end before the structure does.
    #[error("truncated message: {0}")]
    Truncated(&'static str),
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The message is larger than the protocol allows.
    #[error("message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The operation is known to the protocol but not served here.
    #[error("operation {0} is not supported")]
    Unsupported(u32),
}

impl From<idnode_core::wire::WireError> for ProtoError {
    fn from(e: idnode_core::wire::WireError) -> Self {
        match e {
            idnode_core::wire::WireError::Truncated(what) => Self::Truncated(what),
            idnode_core::wire::WireError::Malformed(what) => Self::malformed(what),
        }
    }
}

impl ProtoError {
    /// The Handle response code to answer with.
    pub fn response_code(&self) -> u32 {
        match self {
            Self::Unsupported(_) => crate::rc::OPERATION_NOT_SUPPORTED,
            _ => crate::rc::PROTOCOL_ERROR,
        }
    }

    pub(crate) fn malformed(s: impl Into<String>) -> Self {
        Self::Malformed(s.into())
    }
}
