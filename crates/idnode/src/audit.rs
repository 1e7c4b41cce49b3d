//! `idnode audit verify|export`: the audit log (migration 0021), walked from its first
//! entry in pages.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use idnode_store::audit::ChainCheck;
use idnode_store::{AuditEntry, Store};
use serde_json::json;

use crate::config::Config;

/// Entries read per query.
const PAGE: u64 = 1000;

/// `idnode audit …`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walks the hash chain from the first entry: each entry's number, its link to the one
    /// before, its own hash; then the recorded head. Fails naming the first broken entry.
    Verify,
    /// Writes the entries as JSON Lines (digests and hashes in hex).
    Export {
        /// Only the entries numbered above this one.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Runs an `idnode audit` command.
pub async fn command(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    let store = crate::open_store(&config.database).await?;
    match command {
        AuditCommand::Verify => {
            let (entries, head) = verify(store.as_ref()).await?;
            println!(
                "audit log intact: {entries} entries, head {}",
                hex::encode(head)
            );
        }
        AuditCommand::Export { after, output } => {
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            each(store.as_ref(), after, |e| {
                writeln!(out, "{}", line(e))?;
                Ok(())
            })
            .await?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Checks the whole chain; the number of entries and the head's hash. A node may append
/// while this runs: the head is read after the walk (an entry and its head commit
/// together), and entries appended meanwhile are walked too before the end is judged.
pub async fn verify(store: &dyn Store) -> anyhow::Result<(i64, Vec<u8>)> {
    let mut check = ChainCheck::default();
    loop {
        let walked = check.checked();
        each(store, walked, |e| Ok(check.next(e)?)).await?;
        let (seq, hash) = store.audit_head().await?;
        if seq > check.checked() && check.checked() > walked {
            continue;
        }
        check.finish(seq, &hash)?;
        return Ok((seq, hash));
    }
}

/// Calls `f` on every entry numbered above `after`, in order.
async fn each(
    store: &dyn Store,
    mut after: i64,
    mut f: impl FnMut(&AuditEntry) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    loop {
        let page = store.audit_entries(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.seq;
        page.iter().try_for_each(&mut f)?;
    }
}

/// One entry as a JSON line.
fn line(e: &AuditEntry) -> serde_json::Value {
    json!({
        "seq": e.seq,
        "at": e.at,
        "time": idnode_core::json::format_time(u32::try_from(e.at / 1000).unwrap_or(u32::MAX)),
        "actor": e.actor,
        "origin": e.origin,
        "action": e.action,
        "target": e.target,
        "before": hex::encode(&e.before),
        "after": hex::encode(&e.after),
        "alg": e.alg.as_str(),
        "prev": hex::encode(&e.prev),
        "hash": hex::encode(&e.hash),
    })
}
