//! `idnode backup` (an online copy of a SQLite database) and `idnode probe` (a health check
//! for container runtimes whose images have no curl).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::config::Config;

/// Copies the node's SQLite database to `to` while the node runs, and names the key files
/// to keep with it.
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<()> {
    let url = &config.database.url;
    if !url.starts_with("sqlite:") {
        bail!(
            "idnode backup copies SQLite databases; back PostgreSQL up with pg_dump or \
             pg_basebackup (docs/deployment.md, \"Backup and restore\")"
        );
    }
    idnode_store_sqlite::backup(url, to)
        .await
        .with_context(|| format!("backing up to {}", to.display()))?;
    println!("backup: {}", to.display());
    println!(
        "keep with it (not copied: they are secrets): {} and {}",
        config.seal_key_path().display(),
        config.server_key_path().display()
    );
    Ok(())
}

/// GETs `url`: success when it answers 2xx within five seconds.
pub async fn probe(url: &str) -> anyhow::Result<()> {
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !resp.status().is_success() {
        bail!("GET {url}: {}", resp.status());
    }
    Ok(())
}
