//! `idnode import` and `idnode export`: CSV or JSON Lines, batch-atomic and idempotent.
//!
//! JSON Lines: one `{"handle": "...", "values": [...]}` per line, values in the REST form.
//! CSV: a header `handle,index,type,data` with optional `format` (string, base64, hex,
//! admin, vlist, site), `permissions` and `ttl` columns; one row per value, rows of one
//! handle may be anywhere in the file.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context as _};
use idnode_core::json::{render_data, values_to_json, ValueIn};
use idnode_core::{HandleValue, Permissions, Ttl};
use idnode_registry::{RegistryError, UpsertReport};
use idnode_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::{cli_operator, Services};

/// File formats of import and export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values, one row per value.
    Csv,
    /// JSON Lines, one handle per line.
    Jsonl,
}

impl Format {
    fn guess(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Jsonl,
        }
    }
}

/// A handle read from a file, with the line it starts on.
struct Item {
    line: usize,
    handle: String,
    values: Vec<HandleValue>,
}

fn parse_jsonl(text: &str, errors: &mut Vec<String>) -> Vec<Item> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        handle: String,
        #[serde(default)]
        values: Vec<ValueIn>,
    }
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let n = k + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = match serde_json::from_str(line) {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!("line {n}: {e}"));
                continue;
            }
        };
        match parsed
            .values
            .into_iter()
            .map(ValueIn::into_value)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(values) => out.push(Item {
                line: n,
                handle: parsed.handle,
                values,
            }),
            Err(e) => errors.push(format!("line {n}: {}: {e}", parsed.handle)),
        }
    }
    out
}

fn csv_value(
    rec: &csv::StringRecord,
    cols: &HashMap<String, usize>,
) -> anyhow::Result<HandleValue> {
    let get = |c: &str| cols.get(c).and_then(|i| rec.get(*i)).unwrap_or("");
    let format = match get("format") {
        "" => "string",
        f => f,
    };
    let data = get("data");
    let value = match format {
        "admin" | "vlist" | "site" => serde_json::from_str::<Value>(data)
            .context("data of a structured format must be JSON")?,
        _ => Value::String(data.to_owned()),
    };
    let mut v = json!({
        "index": get("index").parse::<u32>().context("index must be a positive integer")?,
        "type": get("type"),
        "data": {"format": format, "value": value},
    });
    if !get("permissions").is_empty() {
        v["permissions"] = Value::String(get("permissions").to_owned());
    }
    if !get("ttl").is_empty() {
        v["ttl"] = json!(get("ttl").parse::<u32>().context("ttl must be seconds")?);
    }
    Ok(serde_json::from_value::<ValueIn>(v)?.into_value()?)
}

fn parse_csv(text: &str, errors: &mut Vec<String>) -> Vec<Item> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let cols: HashMap<String, usize> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .enumerate()
            .map(|(i, c)| (c.trim().to_owned(), i))
            .collect(),
        Err(e) => {
            errors.push(format!("line 1: {e}"));
            return Vec::new();
        }
    };
    for required in ["handle", "index", "type", "data"] {
        if !cols.contains_key(required) {
            errors.push(format!("line 1: the header has no '{required}' column"));
        }
    }
    if !errors.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Item> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let handle = rec.get(cols["handle"]).unwrap_or("").to_owned();
        match csv_value(&rec, &cols) {
            Ok(v) => match at.get(&handle) {
                Some(&i) => out[i].values.push(v),
                None => {
                    at.insert(handle.clone(), out.len());
                    out.push(Item {
                        line,
                        handle,
                        values: vec![v],
                    });
                }
            },
            Err(e) => errors.push(format!("line {line}: {handle}: {e:#}")),
        }
    }
    out
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Imports a file; every batch of `batch_size` handles is one transaction. Nothing is written
/// when any line is malformed.
pub async fn import(
    services: &Services,
    path: &Path,
    format: Option<Format>,
    batch_size: usize,
) -> anyhow::Result<UpsertReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut errors = Vec::new();
    let items = match format.unwrap_or_else(|| Format::guess(path)) {
        Format::Jsonl => parse_jsonl(&text, &mut errors),
        Format::Csv => parse_csv(&text, &mut errors),
    };
    if !errors.is_empty() {
        for e in errors.iter().take(100) {
            eprintln!("{}: {e}", path.display());
        }
        bail!("{} malformed line(s); nothing was imported", errors.len());
    }
    let bar = progress(items.len() as u64, "importing");
    let mut total = UpsertReport::default();
    let operator = cli_operator();
    for chunk in items.chunks(batch_size.clamp(1, idnode_registry::MAX_BATCH)) {
        let batch = chunk
            .iter()
            .map(|i| (i.handle.clone(), i.values.clone()))
            .collect();
        match services.registry.upsert(&operator, batch).await {
            Ok(r) => {
                total.created += r.created;
                total.updated += r.updated;
                total.unchanged += r.unchanged;
            }
            Err(RegistryError::Batch(problems)) => {
                bar.abandon();
                for p in &problems {
                    let line = chunk.get(p.position).map_or(0, |i| i.line);
                    eprintln!(
                        "{}: line {line}: {}: {}",
                        path.display(),
                        p.handle,
                        p.message
                    );
                }
                bail!(
                    "a batch failed and was not written; {} handle(s) were imported before it \
                     (re-running the import after fixing the file is safe)",
                    total.created + total.updated + total.unchanged
                );
            }
            Err(e) => return Err(e.into()),
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(total)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_group_by_handle_and_report_lines() {
        let text = "handle,index,type,data,format\n\
                    88.118.8/a,1,URL,https://a,\n\
                    88.118.8/b,1,URL,https://b,\n\
                    88.118.8/a,2,BIN,AAE=,base64\n\
                    88.118.8/c,x,URL,https://c,\n\
                    88.118.8/d,1,URL,zz,hex\n";
        let mut errors = Vec::new();
        let items = parse_csv(text, &mut errors);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].values.len(), 2);
        assert_eq!(items[0].values[1].data, [0, 1]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("line 5:"), "{errors:?}");
        assert!(errors[1].starts_with("line 6:"), "{errors:?}");
    }

    #[test]
    fn jsonl_errors_name_their_line() {
        let text = "{\"handle\":\"88.118.8/a\",\"values\":[]}\n\nnot json\n{\"handle\":\"x\",\"values\":[{\"index\":0,\"type\":\"URL\",\"data\":\"u\"}]}\n";
        let mut errors = Vec::new();
        let items = parse_jsonl(text, &mut errors);
        assert_eq!(items.len(), 1);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("line 3:"));
        assert!(errors[1].starts_with("line 4:"));
    }
}
