//! A small filesystem of its own (tmpfs), which a test fills to see what a full disk does.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a new temporary directory; unmounted when dropped. Mounting needs
/// root (CI runs as root) or password-less `sudo`; without either this panics with the
/// reason, since the full-disk tests cannot run otherwise.
pub struct SmallDisk {
    dir: PathBuf,
    sudo: bool,
}

fn run(sudo: bool, args: &[&str]) -> std::io::Result<std::process::Output> {
    if sudo {
        Command::new("sudo").arg("-n").args(args).output()
    } else {
        Command::new(args[0]).args(&args[1..]).output()
    }
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` (mode 0777, so a PostgreSQL server can use it too).
    pub fn mount(bytes: u64) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("idnode-disk-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let sudo = !super::is_root();
        let size = format!("size={bytes},mode=0777");
        let target = dir.to_str().expect("UTF-8 temp path");
        let out = run(
            sudo,
            &["mount", "-t", "tmpfs", "-o", &size, "tmpfs", target],
        )
        .unwrap_or_else(|e| panic!("mount not runnable: {e}"));
        assert!(
            out.status.success(),
            "mounting a {bytes}-byte tmpfs on {target} failed (the full-disk tests need root or \
             password-less sudo): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, sudo }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Bytes still free.
    pub fn available(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.dir)
            .output()
            .expect("stat runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        it.next().unwrap() * it.next().unwrap()
    }

    /// Fills the disk with a file until `leave` bytes are left.
    pub fn fill_leaving(&self, leave: u64) {
        let mut f = std::fs::File::create(self.filler()).expect("filler file");
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut todo = self.available().saturating_sub(leave);
        while todo > 0 {
            let n = todo.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..n]).expect("room for the filler");
            todo -= n as u64;
        }
        f.sync_all().expect("filler synced");
    }

    /// Frees the space the filler took.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("filler removed");
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if let Some(target) = self.dir.to_str() {
            let _ = run(self.sudo, &["umount", "-l", target]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
