//! Real third-party clients against the node, unmodified.

use std::path::PathBuf;
use std::process::Command;

use crate::common::TestNode;
use crate::on_both;

/// A PYTHONPATH where `pyhandle` imports, installing it from PyPI into `target/` if needed.
fn pyhandle_path() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let deps = root.join("target").join("pydeps");
    let importable = |path: &PathBuf| {
        Command::new("python3")
            .args(["-c", "import pyhandle"])
            .env("PYTHONPATH", path)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable(&deps) {
        let out = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&deps)
            .arg("pyhandle==1.5.0")
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success() && importable(&deps),
            "cannot install pyhandle (python3 -m pip install pyhandle==1.5.0): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    deps
}

async fn pyhandle(n: &TestNode) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pyhandle_check.py");
    let path = tokio::task::spawn_blocking(pyhandle_path).await.unwrap();
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .args([&n.base, &n.a.identity, &n.a.secret, "88.118.8"])
        .env("PYTHONPATH", path)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "pyhandle against {:?} failed:\n{}\n{}",
        n.backend,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
on_both!(eudat_pyhandle_works_unchanged, pyhandle);
