//! The rustls client configuration: the configured CA, optionally a client certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::{EppConfig, UpstreamError};

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, UpstreamError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| UpstreamError::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(UpstreamError::Tls(format!(
            "{} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The client configuration for `c`.
pub(crate) fn client_config(c: &EppConfig) -> Result<Arc<ClientConfig>, UpstreamError> {
    let mut roots = RootCertStore::empty();
    for cert in certs(&c.ca_file)? {
        roots
            .add(cert)
            .map_err(|e| UpstreamError::Tls(format!("{}: {e}", c.ca_file.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match &c.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| UpstreamError::Tls(format!("{}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(certs(cert)?, key)
                .map_err(|e| UpstreamError::Tls(e.to_string()))?
        }
    };
    Ok(Arc::new(config))
}
