//! The cache's warm-start snapshot on disk (`[cache] snapshot_file`): read when the node
//! starts, written every `snapshot_interval_secs` and when it stops (the format and what a
//! restored answer may do: `idnode-resolver/src/snapshot.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use idnode_resolver::{Resolver, SnapshotHeader};

use crate::{files, Config};

/// A snapshot read from its file.
pub(crate) struct Loaded {
    bytes: Vec<u8>,
    /// What it says about itself (checked).
    pub(crate) header: SnapshotHeader,
}

/// The configured snapshot, if there is one and it is sound (a damaged one is logged and
/// left alone: the node starts cold).
pub(crate) fn load(config: &Config) -> Option<Loaded> {
    let path = config.cache.snapshot_file.as_ref()?;
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cache snapshot not read");
            return None;
        }
    };
    match idnode_resolver::snapshot_header(&bytes) {
        Ok(header) => Some(Loaded { bytes, header }),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cache snapshot not used");
            None
        }
    }
}

/// Caches the answers of `loaded` in `resolver` (of the node `prefix`).
pub(crate) fn restore(resolver: &Resolver, prefix: &str, loaded: &Loaded) {
    let started = std::time::Instant::now();
    match resolver.restore(&loaded.bytes, prefix, unix_ms()) {
        Ok(n) => tracing::info!(
            answers = n,
            of = loaded.header.entries,
            ms = started.elapsed().as_millis() as u64,
            "cache snapshot restored"
        ),
        Err(e) => tracing::warn!(error = %e, "cache snapshot not restored"),
    }
}

/// Writes the snapshot of `resolver` to `path` ([`files::replace_private`]: a crash leaves
/// the old one or the new one, never a torn file); its size.
pub(crate) fn save(resolver: &Resolver, prefix: &str, path: &Path) -> anyhow::Result<usize> {
    // One writer at a time (the one of the interval may still run when the node stops):
    // both write the same file beside the snapshot.
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = resolver.snapshot(prefix, unix_ms());
    files::replace_private(path, &bytes)?;
    Ok(bytes.len())
}

/// [`save`] off the async threads, logged.
pub(crate) async fn save_logged(resolver: Arc<Resolver>, prefix: String, path: PathBuf) {
    let out = tokio::task::spawn_blocking(move || save(&resolver, &prefix, &path)).await;
    match out {
        Ok(Ok(bytes)) => tracing::debug!(bytes, "cache snapshot written"),
        Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "cache snapshot not written"),
        Err(e) => tracing::warn!(error = %e, "cache snapshot not written"),
    }
}

/// Writes a snapshot every `[cache] snapshot_interval_secs`, when one is configured.
pub(crate) fn spawn(
    config: &Config,
    resolver: Arc<Resolver>,
    prefix: String,
) -> Option<tokio::task::JoinHandle<()>> {
    let path = config.cache.snapshot_file.clone()?;
    let every = Duration::from_secs(config.cache.snapshot_interval_secs.max(1));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            save_logged(resolver.clone(), prefix.clone(), path.clone()).await;
        }
    }))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
