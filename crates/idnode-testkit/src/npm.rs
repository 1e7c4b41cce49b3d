//! Real clients from npm for the tests that drive the node with them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An npm project at `dir` holding `package` (`name@version`), installed on first use;
/// later calls find the marker naming the package and return at once. npm packages that
/// are only npm's placeholders for Node built-ins (`fs@0.0.1-security`, which some
/// registry mirrors lack) are satisfied by an empty local package of the same name, as
/// the placeholder is. Panics when npm fails (a missing client is a failure, never a
/// silent skip).
pub fn npm_package(dir: &Path, package: &str, placeholders: &[&str]) -> PathBuf {
    let marker = dir.join("idnode-installed");
    if std::fs::read_to_string(&marker).is_ok_and(|r| r == package) {
        return dir.to_owned();
    }
    let (name, version) = package.rsplit_once('@').expect("name@version");
    std::fs::create_dir_all(dir).expect("the npm directory is created");
    let mut overrides = serde_json::Map::new();
    for p in placeholders {
        let stub = dir.join("placeholders").join(p);
        std::fs::create_dir_all(&stub).expect("the placeholder directory is created");
        let manifest = serde_json::json!({"name": p, "version": "0.0.1-security"});
        std::fs::write(stub.join("package.json"), manifest.to_string()).expect("written");
        overrides.insert((*p).to_owned(), format!("file:./placeholders/{p}").into());
    }
    let manifest = serde_json::json!({
        "name": "idnode-test-client", "version": "1.0.0", "private": true,
        "dependencies": {name: version},
        "overrides": overrides,
    });
    std::fs::write(dir.join("package.json"), manifest.to_string()).expect("written");
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "npm install {package} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("npm did not run (install Node.js and npm): {e}"),
    }
    std::fs::write(&marker, package).expect("the marker is written");
    dir.to_owned()
}
