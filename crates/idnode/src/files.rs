//! Files holding secrets: the SQLite database (secret hashes), the sealing key, the escrow
//! signing key, passwords. They are made readable by their owner only, and a key file other
//! users can read is refused.

use std::fs::{File, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{bail, Context as _};

/// Creates the new file `path` (it must not exist) with mode 0600, and its missing
/// directories with mode 0700.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Replaces `path` with `bytes`: written beside it first (`path.new`, mode 0600), synced,
/// then renamed over it and the rename synced, so that a crash leaves the old file or the
/// new one, never a torn one.
pub fn replace_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    std::io::Write::write_all(&mut f, bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}

/// Makes sure the SQLite database `path` exists with mode 0600 before SQLite opens it, so
/// that SQLite gives its `-wal` and `-shm` files the same mode. An existing database (or WAL,
/// shared-memory file) that others can read is restricted to its owner, with a warning.
pub fn private_file(path: &Path) -> anyhow::Result<()> {
    match create_private(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(file, Permissions::from_mode(mode & 0o700))
                .with_context(|| format!("restricting {} to its owner", file.display()))?;
            tracing::warn!(
                file = %file.display(),
                was = format!("{mode:o}"),
                "the database holds secret hashes: restricted it to its owner"
            );
        }
    }
    Ok(())
}

/// Refuses a key or password file that other users may read or write.
pub fn check_key_file(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        bail!(
            "{} holds a secret but other users can access it (mode {mode:o}); \
             run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Reads a key or password file after [`check_key_file`].
pub fn read_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    check_key_file(path)?;
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_files_are_private_and_open_keys_refused() {
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new/dir/idnode.db");
        private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(db.parent().unwrap()), 0o700);

        let old = dir.path().join("old.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::write(dir.path().join("old.db-wal"), b"").unwrap();
        std::fs::set_permissions(&old, Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path().join("old.db-wal"), Permissions::from_mode(0o664))
            .unwrap();
        private_file(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(&dir.path().join("old.db-wal")), 0o600);

        let key = dir.path().join("k");
        std::fs::write(&key, b"secret").unwrap();
        std::fs::set_permissions(&key, Permissions::from_mode(0o644)).unwrap();
        let err = read_key_file(&key).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, Permissions::from_mode(0o640)).unwrap();
        assert_eq!(read_key_file(&key).unwrap(), b"secret");
    }
}
