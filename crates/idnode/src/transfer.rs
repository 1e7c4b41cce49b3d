//! `idnode export` (CSV or JSON Lines, the formats `idnode import` reads, see `import.rs`)
//! and what both share.

use std::io::Write;
use std::path::Path;

use idnode_core::json::{render_data, values_to_json};
use idnode_core::{HandleValue, Permissions, Ttl};
use idnode_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// File formats of import and export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values, one row per value.
    Csv,
    /// JSON Lines, one handle per line.
    Jsonl,
}

impl Format {
    pub(crate) fn guess(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Jsonl,
        }
    }
}

/// A progress bar on standard error.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Calls `f` for every stored handle (or those directly under `prefix`), in handle order.
async fn for_each_handle(
    store: &dyn Store,
    prefix: Option<&str>,
    mut f: impl FnMut(&idnode_store::HandleRecord) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let total = match prefix {
        Some(p) => store.list_handles(p, 0, 0).await?.0,
        None => store.stats().await?.handles,
    };
    let bar = progress(total, "exporting");
    let mut after = String::new();
    let mut n = 0u64;
    loop {
        let page = store.scan_handles(prefix, &after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.handle.clone();
        for rec in &page {
            f(rec)?;
        }
        n += page.len() as u64;
        bar.inc(page.len() as u64);
    }
    bar.finish_and_clear();
    Ok(n)
}

fn csv_row(handle: &str, v: &HandleValue) -> [String; 7] {
    let data = render_data(v);
    let text = match &data["value"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    [
        handle.to_owned(),
        v.index.to_string(),
        v.type_name.clone(),
        data["format"].as_str().unwrap_or("string").to_owned(),
        text,
        if v.permissions == Permissions::DEFAULT {
            String::new()
        } else {
            v.permissions.to_rest()
        },
        match v.ttl {
            Ttl::Relative(t) => t.to_string(),
            Ttl::Absolute(_) => String::new(),
        },
    ]
}

/// Writes every handle (or those directly under `prefix`); secrets are never exported.
pub async fn export(
    store: &dyn Store,
    prefix: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let public = |rec: &idnode_store::HandleRecord| -> Vec<HandleValue> {
        rec.values
            .iter()
            .filter(|v| !v.is_secret())
            .cloned()
            .collect()
    };
    let n = match format {
        Format::Jsonl => {
            for_each_handle(store, prefix, |rec| {
                let vals: Value = serde_json::from_str(&values_to_json(&public(rec)))?;
                serde_json::to_writer(&mut *out, &json!({"handle": rec.handle, "values": vals}))?;
                out.write_all(b"\n")?;
                Ok(())
            })
            .await?
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record([
                "handle",
                "index",
                "type",
                "format",
                "data",
                "permissions",
                "ttl",
            ])?;
            let n = for_each_handle(store, prefix, |rec| {
                for v in public(rec) {
                    w.write_record(csv_row(&rec.handle, &v))?;
                }
                Ok(())
            })
            .await?;
            w.flush()?;
            n
        }
    };
    out.flush()?;
    Ok(n)
}
