//! Real clients from PyPI for the tests that drive the node or check its output with them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Held while a virtual environment is checked and created: two tests of one binary that
/// need the same one would otherwise both run `venv --clear` on it at once (a fresh-clone
/// CI run failed so, the reference hash tests of JSON and of XML starting together).
static CREATING: Mutex<()> = Mutex::new(());

/// A Python virtual environment at `venv` holding `requirement` (`name==version`), created
/// and installed on first use; later calls find the marker naming the requirement and return
/// at once. Panics when python3, venv or pip fail (a missing client is a failure, never a
/// silent skip).
pub fn python_venv(venv: &Path, requirement: &str) -> PathBuf {
    // A test that panicked while holding the lock leaves nothing a later call trusts: the
    // marker is written last.
    let _creating = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    let marker = venv.join("idnode-installed");
    if std::fs::read_to_string(&marker).is_ok_and(|r| r == requirement) {
        return venv.to_owned();
    }
    let ok = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(venv)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 -m venv failed (install python3 and python3-venv)"
    );
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", requirement])
        .output();
    match pip {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "pip install {requirement} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("pip did not run: {e}"),
    }
    std::fs::write(&marker, requirement).expect("the marker is written");
    venv.to_owned()
}
