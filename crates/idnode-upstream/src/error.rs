use thiserror::Error;

/// What can go wrong talking to the top-level node.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// Connecting, TLS or the socket failed.
    #[error("connection to the top-level node failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server took longer than the configured timeout.
    #[error("the top-level node did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// TLS configuration (CA or client certificate files) is unusable.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The server sent something that is not the EPP expected (bad XML, oversize frame,
    /// wrong document, mismatched transaction id).
    #[error("malformed answer from the top-level node: {0}")]
    Protocol(String),
    /// The server refused the command (an RFC 5730 error code other than 2400/250x):
    /// retrying will not help.
    #[error("refused by the top-level node: {code} {msg}")]
    Refused {
        /// Result code.
        code: u16,
        /// Result message (and reason).
        msg: String,
    },
    /// The server failed for now (2400, 2500–2502) or answered a code RFC 5730 does not
    /// define: retry later.
    #[error("the top-level node failed: {code} {msg}")]
    Failed {
        /// Result code.
        code: u16,
        /// Result message (and reason).
        msg: String,
    },
    /// An HTTPS exchange failed (connection, timeout): retry later.
    #[error("HTTPS: {0}")]
    Http(String),
    /// The action cannot be expressed upstream (its enterprise is gone or was never created
    /// there): an operator must look at it.
    #[error("cannot deliver: {0}")]
    Undeliverable(String),
    /// A deposit or report file could not be written or read.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A deposit could not be encoded or signed.
    #[error(transparent)]
    Escrow(#[from] idnode_escrow::EscrowError),
    /// A deposit or report was asked for that cannot be made (a watermark in the future).
    #[error("{0}")]
    Invalid(String),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] idnode_store::StoreError),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] idnode_registry::RegistryError),
}

impl UpstreamError {
    /// Whether retrying cannot help: the action is recorded dead for an operator.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::Undeliverable(_))
    }

    /// Whether the session is unusable after this error (reconnect before the next command).
    pub fn breaks_session(&self) -> bool {
        matches!(
            self,
            Self::Io(_) | Self::Timeout(_) | Self::Protocol(_) | Self::Tls(_)
        ) || matches!(self, Self::Failed { code, .. } if (2500..=2502).contains(code))
    }
}

impl From<idnode_epp::EppError> for UpstreamError {
    fn from(e: idnode_epp::EppError) -> Self {
        Self::Protocol(e.to_string())
    }
}
