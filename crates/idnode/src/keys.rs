//! The node's keys: the secret sealing key and the Handle server key, read from their files
//! (created by the first instance) and checked against the fingerprints the database
//! records, so that an instance sharing the database with another never runs with a key of
//! its own: without the key file it refuses to start, naming the file.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use idnode_handle::server_key::ServerKey;
use idnode_registry::{SealingKey, SEALING_KEY_LEN};
use idnode_store::{Batch, Op, Store, StoreError};

use crate::files;

/// The sealing key for the node on `store`, from `path` (created when neither the file nor
/// a recorded fingerprint exists).
pub async fn sealing_key(store: &Arc<dyn Store>, path: &Path) -> anyhow::Result<SealingKey> {
    agreed(
        store,
        "seal",
        "secret sealing key",
        "seal_key_file",
        path,
        || load_sealing_key(path),
        |k| k.fingerprint().to_vec(),
    )
    .await
}

/// The Handle server key for the node on `store`, from `path` (created when neither the
/// file nor a recorded fingerprint exists).
pub async fn server_key(store: &Arc<dyn Store>, path: &Path) -> anyhow::Result<ServerKey> {
    agreed(
        store,
        "server",
        "Handle server key",
        "server_key_file",
        path,
        || load_server_key(path),
        server_fingerprint,
    )
    .await
}

/// Replaces the server key at `path` and records its fingerprint: every instance needs
/// the new file before it starts again.
pub async fn rotate_server_key_of(
    store: &Arc<dyn Store>,
    path: &Path,
) -> anyhow::Result<ServerKey> {
    let key = rotate_server_key(path)?;
    store
        .apply(&record("server", server_fingerprint(&key), true))
        .await?;
    Ok(key)
}

fn server_fingerprint(key: &ServerKey) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, &key.public_key().encode())
        .as_ref()
        .to_vec()
}

fn record(name: &str, fingerprint: Vec<u8>, replace: bool) -> Batch {
    Batch {
        actor: "system:keys".into(),
        ops: vec![Op::RecordNodeKey {
            name: name.into(),
            fingerprint,
            replace,
        }],
        idempotency: None,
        origin: String::new(),
    }
}

/// The key `load` reads (or creates) at `path`, once its fingerprint agrees with the one
/// recorded as `name` (recorded here when none is). While the database does not answer (a
/// node starting from its cache snapshot) the file must exist, and is checked when the
/// database answers: the node stops then if it disagrees.
async fn agreed<K>(
    store: &Arc<dyn Store>,
    name: &str,
    what: &str,
    setting: &str,
    path: &Path,
    load: impl FnOnce() -> anyhow::Result<K>,
    fingerprint: impl Fn(&K) -> Vec<u8>,
) -> anyhow::Result<K> {
    let recorded = match store.node_key(name).await {
        Err(StoreError::Unavailable(_)) => {
            if !path.exists() {
                bail!(
                    "the {what} file {} is missing and the database does not answer to say \
                     whether it has one: start with the key file of this node there, or name \
                     it with [secrets] {setting}",
                    path.display()
                );
            }
            let key = load()?;
            let check = (
                store.clone(),
                name.to_owned(),
                what.to_owned(),
                path.to_owned(),
            );
            tokio::spawn(check_when_reachable(check, fingerprint(&key)));
            return Ok(key);
        }
        r => r?,
    };
    if let (Some(r), false) = (&recorded, path.exists()) {
        bail!(
            "the {what} file {} is missing, but this database is already used with a {what} \
             (fingerprint {}): copy the key file from an instance of this node there, or name \
             it with [secrets] {setting}; a new key would not match",
            path.display(),
            short(r)
        );
    }
    let key = load()?;
    let fp = fingerprint(&key);
    if let Some(other) = settle(store, name, recorded, &fp).await? {
        bail!("{}", mismatch(what, path, &fp, &other));
    }
    Ok(key)
}

fn short(fp: &[u8]) -> String {
    hex::encode(&fp[..fp.len().min(8)])
}

fn mismatch(what: &str, path: &Path, fp: &[u8], recorded: &[u8]) -> String {
    format!(
        "{} is not the {what} this database is used with (fingerprint {} here, {} recorded): \
         use the key file of the other instances of this node",
        path.display(),
        short(fp),
        short(recorded)
    )
}

/// Records `fp` as `name` unless one is recorded (`recorded`, or by another instance
/// meanwhile); the recorded fingerprint when it differs from `fp`.
async fn settle(
    store: &Arc<dyn Store>,
    name: &str,
    recorded: Option<Vec<u8>>,
    fp: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let recorded = match recorded {
        Some(r) => r,
        None => match store.apply(&record(name, fp.to_vec(), false)).await {
            Ok(()) => return Ok(None),
            // Another instance recorded its key first.
            Err(StoreError::Conflict(_)) => store.node_key(name).await?.unwrap_or_default(),
            Err(e) => return Err(e),
        },
    };
    Ok((recorded != fp).then_some(recorded))
}

/// Checks the key of fingerprint `fp` once the database answers; stops the process if it
/// is not the one the database is used with (as a start with the database would have).
async fn check_when_reachable(
    (store, name, what, path): (Arc<dyn Store>, String, String, std::path::PathBuf),
    fp: Vec<u8>,
) {
    loop {
        let out = match store.node_key(&name).await {
            Ok(recorded) => settle(&store, &name, recorded, &fp).await,
            Err(e) => Err(e),
        };
        match out {
            Ok(None) => {
                tracing::info!("the {what} agrees with the database");
                return;
            }
            Ok(Some(other)) => {
                tracing::error!("{}; stopping", mismatch(&what, &path, &fp, &other));
                std::process::exit(1);
            }
            Err(StoreError::Unavailable(_)) => {}
            Err(e) => tracing::warn!(error = %e, "the {what} not yet checked"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Reads the node's sealing key from `path`, creating it (mode 0600, parent directories
/// 0700) when the file does not exist. A key file other users can read is refused.
pub fn load_sealing_key(path: &Path) -> anyhow::Result<SealingKey> {
    load_or_create(
        path,
        "secret sealing key",
        |bytes| {
            let key: [u8; SEALING_KEY_LEN] = bytes.try_into().map_err(|_| {
                anyhow::anyhow!(
                    "{} must hold exactly {SEALING_KEY_LEN} bytes",
                    path.display()
                )
            })?;
            Ok(SealingKey::new(&key))
        },
        || {
            let key = SealingKey::generate();
            Ok((SealingKey::new(&key), zeroize::Zeroizing::new(key.to_vec())))
        },
    )
}

/// Reads the node's Handle server key (PKCS#8 PEM RSA) from `path`, creating it (mode 0600)
/// when the file does not exist. Its public half is published in the node's `HS_SITE`.
pub fn load_server_key(path: &Path) -> anyhow::Result<ServerKey> {
    load_or_create(
        path,
        "Handle server key",
        |bytes| {
            let pem = std::str::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not a PEM file", path.display()))?;
            ServerKey::from_pkcs8_pem(pem).with_context(|| format!("reading {}", path.display()))
        },
        || {
            let (key, pem) = ServerKey::generate()?;
            Ok((key, zeroize::Zeroizing::new(pem.as_bytes().to_vec())))
        },
    )
}

/// Replaces the server key at `path` with a new one (written beside it, then renamed over
/// it); a running node keeps the old key until it restarts.
pub fn rotate_server_key(path: &Path) -> anyhow::Result<ServerKey> {
    let (key, pem) = ServerKey::generate()?;
    files::replace_private(path, pem.as_bytes())?;
    Ok(key)
}

/// Reads the key file at `path` with `parse`, or creates it from `create` (mode 0600, parent
/// directories 0700) when it does not exist; a concurrent creator's file wins.
fn load_or_create<K>(
    path: &Path,
    what: &str,
    parse: impl Fn(&[u8]) -> anyhow::Result<K>,
    create: impl FnOnce() -> anyhow::Result<(K, zeroize::Zeroizing<Vec<u8>>)>,
) -> anyhow::Result<K> {
    if path.exists() {
        let bytes = zeroize::Zeroizing::new(files::read_key_file(path)?);
        return parse(&bytes);
    }
    let (key, bytes) = create()?;
    let mut f = match files::create_private(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let bytes = zeroize::Zeroizing::new(files::read_key_file(path)?);
            return parse(&bytes);
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    std::io::Write::write_all(&mut f, &bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "created the {what}");
    Ok(key)
}
