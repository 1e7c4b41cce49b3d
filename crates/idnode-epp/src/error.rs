use thiserror::Error;

/// Everything that can be wrong with an EPP frame or document.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EppError {
    /// The 4-byte length header announces a frame that is too short or over the limit.
    #[error("EPP frame of {len} bytes refused (limit {max})")]
    FrameSize {
        /// Announced total length, header included.
        len: u64,
        /// The limit in force.
        max: usize,
    },
    /// The frame is not well-formed XML, or breaks a parser limit.
    #[error("malformed EPP XML: {0}")]
    Xml(String),
    /// Well-formed XML that is not the EPP element expected (missing or unknown element,
    /// bad attribute value).
    #[error("unexpected EPP document: {0}")]
    Syntax(String),
    /// A command for an object namespace this side does not know.
    #[error("unimplemented object service: {0}")]
    UnknownObject(String),
}

impl EppError {
    pub(crate) fn syntax(msg: impl Into<String>) -> Self {
        Self::Syntax(msg.into())
    }

    /// The RFC 5730 result code a server answers this error with: 2001 (syntax), 2307
    /// (unimplemented object service) or 2400 (command failed) for a frame it cannot use.
    pub fn result_code(&self) -> u16 {
        match self {
            Self::Xml(_) | Self::Syntax(_) => 2001,
            Self::UnknownObject(_) => 2307,
            Self::FrameSize { .. } => 2400,
        }
    }
}
