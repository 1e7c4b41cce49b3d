//! Repository hygiene: no key material is tracked. Test runs write keys of their own
//! (sealing keys, server keys, test admin keys) into temporary directories; none of them, and
//! no operator's key, may ever be committed.

use std::path::Path;
use std::process::Command;

/// File names that only ever hold keys.
const KEY_NAMES: &[&str] = &["seal.key", "server.key", "id_rsa", "id_ecdsa", "id_ed25519"];
/// Extensions of key and certificate-with-key containers.
const KEY_EXTENSIONS: &[&str] = &[
    "key", "pem", "der", "p8", "pk8", "p12", "pfx", "jks", "keystore",
];

/// Whether `text` holds a PEM private key: a `-----BEGIN … PRIVATE KEY…-----` line followed
/// by base64 lines (a string that merely names the armour, as a test assertion may, is not a
/// key).
fn has_pem_private_key(text: &str) -> bool {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let l = line.trim();
        if l.starts_with("-----BEGIN ") && l.contains("PRIVATE KEY") && l.ends_with("-----") {
            let body = lines
                .clone()
                .map(str::trim)
                .skip_while(|l| l.contains(':') || l.is_empty()) // armour headers
                .take_while(|l| !l.starts_with("-----END"))
                .filter(|l| {
                    l.len() >= 16
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                })
                .count();
            if body > 0 {
                return true;
            }
        }
    }
    false
}

fn key_like_name(path: &str) -> bool {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
        .to_ascii_lowercase();
    KEY_NAMES.contains(&name.as_str())
        || Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| KEY_EXTENSIONS.contains(&e))
}

#[test]
fn no_key_material_is_tracked() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git runs (the hygiene check reads the index of the checkout)");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Vec::new();
    for path in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        if key_like_name(&path) {
            found.push(format!("{path} (file name of a key)"));
            continue;
        }
        // Files deleted in the work tree but still tracked are read from the index.
        let text = std::fs::read(Path::new(root).join(&path)).unwrap_or_else(|_| {
            Command::new("git")
                .args(["show", &format!(":{path}")])
                .current_dir(root)
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        });
        if has_pem_private_key(&String::from_utf8_lossy(&text)) {
            found.push(format!("{path} (holds a PEM private key)"));
        }
    }
    assert!(
        found.is_empty(),
        "key material is tracked; remove it from git (and rotate it if it was ever used):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_recognises_keys() {
    let pem = "x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    assert!(has_pem_private_key(pem));
    let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: x\n\nlQOYBF0AAAABCADd8ab3kqCqZ1hB\n";
    assert!(has_pem_private_key(pgp));
    let named = r#"assert!(armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));"#;
    assert!(!has_pem_private_key(named));
    assert!(!has_pem_private_key(
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n"
    ));
    for p in [
        "crates/idnode/idnode-data/seal.key",
        "a/server.key",
        "k.PEM",
        "x/y.der",
    ] {
        assert!(key_like_name(p), "{p}");
    }
    for p in ["src/keys.rs", "docs/keys.md", "seal.rs"] {
        assert!(!key_like_name(p), "{p}");
    }
}
