//! `idnode import`: CSV or JSON Lines, streamed in two passes so memory stays bounded
//! whatever the file's size. The first pass checks every line (nothing is written when one
//! is malformed); the second writes batches, each one transaction, safe to re-run.
//!
//! JSON Lines: one `{"handle": "...", "values": [...]}` per line, values in the REST form.
//! CSV: a header `handle,index,type,data` with optional `format` (string, base64, hex,
//! admin, vlist, site), `permissions` and `ttl` columns; one row per value, rows of one
//! handle may be anywhere in the file. The first pass spreads CSV rows over temporary
//! partition files by handle (beside the input), so one partition at a time is grouped in
//! memory.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash as _, Hasher as _};
use std::io::{BufRead, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use idnode_core::import::{group, jsonl_item, CsvColumns, ImportItem as Item};
use idnode_core::json::{values_from_json, values_to_json};
use idnode_registry::{RegistryError, UpsertReport};
use serde_json::{json, Value};

use crate::transfer::{progress, Format};
use crate::{cli_operator, Services};

/// Errors printed before giving up.
const MAX_SHOWN: usize = 100;

/// Input bytes per CSV partition (grouped in memory one at a time); at most 256 files.
const PARTITION_BYTES: u64 = 8 << 20;

/// The lines of a JSON Lines file, parsed.
fn jsonl_items(path: &Path) -> anyhow::Result<impl Iterator<Item = Result<Item, String>>> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(BufReader::new(file)
        .lines()
        .enumerate()
        .filter_map(|(k, line)| match line {
            Ok(l) => jsonl_item(k + 1, &l).transpose(),
            Err(e) => Some(Err(format!("line {}: {e}", k + 1))),
        }))
}

/// CSV rows spread over partition files by handle.
struct Partitions {
    dir: tempfile::TempDir,
    files: usize,
}

impl Partitions {
    fn path(&self, k: usize) -> PathBuf {
        self.dir.path().join(format!("part-{k}.jsonl"))
    }
}

/// First pass over a CSV file: checks every row, writes each to its handle's partition as
/// `{"l": line, "h": handle, "v": [value]}`. Returns the partitions, or the errors.
fn csv_partition(path: &Path, errors: &mut Vec<String>) -> anyhow::Result<Partitions> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let files = (size / PARTITION_BYTES + 1).min(256) as usize;
    let beside = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = tempfile::Builder::new()
        .prefix(".idnode-import-")
        .tempdir_in(beside.unwrap_or(Path::new(".")))
        .context("creating a temporary directory beside the input")?;
    let parts = Partitions { dir, files };
    let mut out = (0..files)
        .map(|k| File::create(parts.path(k)).map(BufWriter::new))
        .collect::<Result<Vec<_>, _>>()
        .context("creating partition files")?;
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(BufReader::new(file));
    let cols = match rdr.headers() {
        Ok(h) => match CsvColumns::of(h.iter()) {
            Ok(cols) => cols,
            Err(missing) => {
                errors.extend(missing);
                return Ok(parts);
            }
        },
        Err(e) => {
            errors.push(format!("line 1: {e}"));
            return Ok(parts);
        }
    };
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
        let row: Vec<&str> = rec.iter().collect();
        let handle = cols.get(&row, "handle");
        match cols.value(&row) {
            Ok(v) if errors.is_empty() => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                handle.hash(&mut h);
                let w = &mut out[(h.finish() % files as u64) as usize];
                let row = json!({"l": line, "h": handle, "v": values_to_json([&v])});
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n")?;
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("line {line}: {handle}: {e}")),
        }
    }
    for mut w in out {
        w.flush().context("writing a partition file")?;
    }
    Ok(parts)
}

/// The handles of one partition, their rows grouped, in the order they first appear.
fn partition_items(path: &Path) -> anyhow::Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let row: Value = serde_json::from_str(&line?)?;
        let item = Item {
            line: row["l"].as_u64().unwrap_or(0) as usize,
            handle: row["h"].as_str().unwrap_or_default().to_owned(),
            values: values_from_json(row["v"].as_str().unwrap_or("[]"))?,
        };
        group(&mut items, &mut at, item);
    }
    Ok(items)
}

/// Writes `items` in batches of `batch_size`, adding to `total`.
async fn write_batches(
    services: &Services,
    path: &Path,
    items: impl Iterator<Item = Item>,
    batch_size: usize,
    bar: &indicatif::ProgressBar,
    total: &mut UpsertReport,
) -> anyhow::Result<()> {
    let size = batch_size.clamp(1, idnode_registry::MAX_BATCH);
    let mut chunk = Vec::with_capacity(size);
    let mut items = items.peekable();
    while items.peek().is_some() {
        chunk.clear();
        chunk.extend(items.by_ref().take(size));
        let batch = chunk
            .iter()
            .map(|i| (i.handle.clone(), i.values.clone()))
            .collect();
        match services.registry.upsert(&cli_operator(), batch).await {
            Ok(r) => {
                total.created += r.created;
                total.updated += r.updated;
                total.unchanged += r.unchanged;
            }
            Err(e @ (RegistryError::Batch(_) | RegistryError::Template(_))) => {
                bar.abandon();
                for (line, handle, message) in failing_lines(&chunk, &e) {
                    eprintln!("{}: line {line}: {handle}: {message}", path.display());
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
    Ok(())
}

/// (line, handle, what is wrong) of every failing item of a refused batch.
fn failing_lines(chunk: &[Item], e: &RegistryError) -> Vec<(usize, String, String)> {
    let handles: Vec<&str> = chunk.iter().map(|i| i.handle.as_str()).collect();
    e.item_faults(&handles)
        .into_iter()
        .map(|(at, handle, message)| (chunk.get(at).map_or(0, |i| i.line), handle, message))
        .collect()
}

fn give_up(path: &Path, errors: &[String]) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    for e in errors.iter().take(MAX_SHOWN) {
        eprintln!("{}: {e}", path.display());
    }
    bail!("{} malformed line(s); nothing was imported", errors.len());
}

/// Imports a file; every batch of `batch_size` handles is one transaction. Nothing is written
/// when any line is malformed.
pub async fn import(
    services: &Services,
    path: &Path,
    format: Option<Format>,
    batch_size: usize,
) -> anyhow::Result<UpsertReport> {
    let mut total = UpsertReport::default();
    let mut errors = Vec::new();
    match format.unwrap_or_else(|| Format::guess(path)) {
        Format::Jsonl => {
            let mut count = 0u64;
            for item in jsonl_items(path)? {
                match item {
                    Ok(_) => count += 1,
                    Err(e) => errors.push(e),
                }
            }
            give_up(path, &errors)?;
            let bar = progress(count, "importing");
            let items = jsonl_items(path)?.filter_map(Result::ok);
            write_batches(services, path, items, batch_size, &bar, &mut total).await?;
            bar.finish_and_clear();
        }
        Format::Csv => {
            let parts = csv_partition(path, &mut errors)?;
            give_up(path, &errors)?;
            let bar = progress(parts.files as u64, "importing partitions");
            for k in 0..parts.files {
                let items = partition_items(&parts.path(k))?;
                let quiet = indicatif::ProgressBar::hidden();
                write_batches(
                    services,
                    path,
                    items.into_iter(),
                    batch_size,
                    &quiet,
                    &mut total,
                )
                .await?;
                bar.inc(1);
            }
            bar.finish_and_clear();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_group_by_handle_and_report_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(
            &path,
            "handle,index,type,data,format\n\
             88.118.8/a,1,URL,https://a,\n\
             88.118.8/b,1,URL,https://b,\n\
             88.118.8/a,2,BIN,AAE=,base64\n\
             88.118.8/c,x,URL,https://c,\n\
             88.118.8/d,1,URL,zz,hex\n",
        )
        .unwrap();
        let mut errors = Vec::new();
        csv_partition(&path, &mut errors).unwrap();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("line 5:"), "{errors:?}");
        assert!(errors[1].starts_with("line 6:"), "{errors:?}");

        std::fs::write(
            &path,
            "handle,index,type,data,format\n\
             88.118.8/a,1,URL,https://a,\n\
             88.118.8/b,1,URL,https://b,\n\
             88.118.8/a,2,BIN,AAE=,base64\n",
        )
        .unwrap();
        let mut errors = Vec::new();
        let parts = csv_partition(&path, &mut errors).unwrap();
        assert!(errors.is_empty());
        let mut items: Vec<Item> = (0..parts.files)
            .flat_map(|k| partition_items(&parts.path(k)).unwrap())
            .collect();
        items.sort_by(|a, b| a.handle.cmp(&b.handle));
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].handle.as_str(), items[0].line), ("88.118.8/a", 2));
        assert_eq!(items[0].values.len(), 2);
        assert_eq!(items[0].values[1].data, [0, 1]);
    }

    #[test]
    fn jsonl_errors_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, "{\"handle\":\"88.118.8/a\",\"values\":[]}\n\nnot json\n{\"handle\":\"x\",\"values\":[{\"index\":0,\"type\":\"URL\",\"data\":\"u\"}]}\n").unwrap();
        let (items, errors): (Vec<_>, Vec<_>) =
            jsonl_items(&path).unwrap().partition(Result::is_ok);
        assert_eq!(items.len(), 1);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].as_ref().unwrap_err().starts_with("line 3:"));
        assert!(errors[1].as_ref().unwrap_err().starts_with("line 4:"));
    }
}
