//! HTTPS: a certificate chain and its private key from PEM files, loaded at start and again
//! on [`Tls::reload`] (the binary calls it on SIGHUP: a renewed certificate is taken
//! without a restart, connections already open keep theirs, and a reload that fails keeps
//! the certificate in use). ALPN offers HTTP/2 and HTTP/1.1. The certificate's expiry is
//! exported as `idnode_tls_certificate_expiry_timestamp_seconds`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Why the certificate or its key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing, unreadable or not PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refuses the pair (a key that does not match the certificate, say).
    #[error("TLS: {0}")]
    Config(String),
}

/// The TLS identity of the HTTP front end.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
    expiry: metrics::Gauge,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the certificate chain at `cert` and the private key at `key` (PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let (config, not_after) = server_config(cert, key)?;
        let expiry = metrics::gauge!("idnode_tls_certificate_expiry_timestamp_seconds");
        expiry.set(not_after as f64);
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(config),
            expiry,
        })
    }

    /// Loads the files again; on failure the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let (config, not_after) = server_config(&self.cert, &self.key)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        self.expiry.set(not_after as f64);
        Ok(())
    }

    /// What new connections are accepted with.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        tokio_rustls::TlsAcceptor::from(config)
    }
}

/// The server configuration of the pair, and the end certificate's notAfter (unix s).
fn server_config(cert: &Path, key: &Path) -> Result<(Arc<ServerConfig>, i64), TlsError> {
    let file = |path: &Path, reason: String| TlsError::File {
        path: path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| file(cert, e.to_string()))?;
    let Some(end) = chain.first() else {
        return Err(file(cert, "no certificate in the file".into()));
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(end)
        .map_err(|e| file(cert, format!("not an X.509 certificate: {e}")))?;
    let not_after = parsed.validity().not_after.timestamp();
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let (c, k) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, made.cert.pem()).unwrap();
        std::fs::write(&k, made.signing_key.serialize_pem()).unwrap();
        (c, k)
    }

    #[test]
    fn loads_reloads_and_keeps_the_old_pair_when_the_new_one_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = pair(dir.path(), "a.example");
        let tls = Tls::load(&c, &k).unwrap();
        let (c2, k2) = pair(dir.path(), "b.example");
        std::fs::copy(&c2, &c).unwrap();
        // The new certificate with the old key: refused, the old pair stays.
        assert!(matches!(tls.reload(), Err(TlsError::Config(_))));
        std::fs::copy(&k2, &k).unwrap();
        tls.reload().unwrap();
        std::fs::write(&c, "not pem").unwrap();
        let err = tls.reload().unwrap_err().to_string();
        assert!(err.contains("a.example.crt"), "{err}");
        assert!(Tls::load(&dir.path().join("missing.crt"), &k).is_err());
    }
}
