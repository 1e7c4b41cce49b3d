use thiserror::Error;

/// What is wrong with a deposit, a report or a signature. Variants that the top-level
/// node's report interface defines carry its result code ([`EscrowError::code`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EscrowError {
    /// Not well-formed, or not the expected document (schema validation failed: 2001).
    #[error("schema validation failed: {0}")]
    Schema(String),
    /// A date lies in the future (2002).
    #[error("date in the future: {0}")]
    Future(String),
    /// Unsupported version (2003).
    #[error("unsupported version: {0}")]
    Version(String),
    /// A differential deposit dated Sunday, when a full one is due (2202).
    #[error("differential deposit for a Sunday watermark")]
    SundayDiff,
    /// The header lacks a prefix (2203).
    #[error("the header names no prefix")]
    NoPrefix,
    /// The header counts one URI twice (2204).
    #[error("the header counts {0} twice")]
    DuplicateCount(String),
    /// Object counts differ from the header.
    #[error("{uri}: {found} objects, the header says {header}")]
    CountMismatch {
        /// Object namespace.
        uri: String,
        /// Counted.
        found: u64,
        /// Declared.
        header: u64,
    },
    /// A DIFF deposit without its predecessor, or one that does not follow the chain.
    #[error("broken chain: {0}")]
    Chain(String),
    /// The detached signature does not verify.
    #[error("signature does not verify")]
    Signature,
    /// A file name not of the draft's form.
    #[error(
        "file name {0} is not {{prefix}}_{{date}}_{{full|diff}}_S{{n}}_R{{rev}}.{{inde|sig|rep}}"
    )]
    Name(String),
    /// Reading or writing failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A key is unusable.
    #[error("key: {0}")]
    Key(String),
}

impl EscrowError {
    /// The result code of the top-level node's report interface for this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::Future(_) => 2002,
            Self::Version(_) => 2003,
            Self::SundayDiff => 2202,
            Self::NoPrefix => 2203,
            Self::DuplicateCount(_) => 2204,
            _ => 2001,
        }
    }
}
