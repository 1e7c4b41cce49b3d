//! The standard's example documents, shared by the integration tests.

use std::path::{Path, PathBuf};

/// The directory of the standard's examples.
pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("standard/examples")
}

/// Every example document (`.jsonld`), sorted.
pub(crate) fn examples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "jsonld") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&examples_dir(), &mut out);
    out.sort();
    out
}
