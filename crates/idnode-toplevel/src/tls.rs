//! The stand-in's TLS identity: a self-signed certificate made on first start and kept in
//! the data directory (`cert.pem` is what secondary nodes configure as their CA file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::Error;

/// The certificate file in `dir`.
pub fn cert_path(dir: &Path) -> PathBuf {
    dir.join("cert.pem")
}

/// Loads the TLS identity from `dir`, creating it (for `localhost` and `127.0.0.1`) when
/// missing.
pub fn server_config(dir: &Path) -> Result<Arc<ServerConfig>, Error> {
    let cert = cert_path(dir);
    let key = dir.join("key.pem");
    if !cert.exists() || !key.exists() {
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(|e| Error::Tls(e.to_string()))?;
        write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
        std::fs::write(&cert, made.cert.pem()).map_err(|e| Error::Io(e.to_string()))?;
    }
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| Error::Tls(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| Error::Io(e.to_string()))?;
    f.write_all(data).map_err(|e| Error::Io(e.to_string()))
}
