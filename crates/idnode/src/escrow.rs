//! `[escrow]` and the daily deposit: the state at the watermark (00:00:00 UTC) as an `inde`
//! deposit (FULL on Sundays, on the first run and with `full_every_day`; DIFF otherwise),
//! gzip-compressed, signed, reported, and queued for delivery in one transaction.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use idnode_core::HandleValue;
use idnode_escrow::{
    DepositFile, DepositMeta, DepositWriter, FileKind, HandleObject, Kind, NodeObject, Report,
    SigningKey, HANDLE_NS, NODE_NS,
};
use idnode_store::Action;
use idnode_store::{Batch, DepositRecord, HistoryAction, Op, Store};
use serde::{Deserialize, Serialize};

use crate::{Config, Services};

/// Handles read per page.
const PAGE: u64 = 10_000;
const DAY: i64 = 86_400;

/// `[escrow]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EscrowSection {
    /// Make a deposit every day inside `serve`.
    pub enabled: bool,
    /// Where deposits are written (default: `escrow/` beside the SQLite database, else
    /// `./idnode-data/escrow`).
    pub dir: Option<PathBuf>,
    /// The OpenPGP signing key (ASCII-armored secret key), created when missing (default:
    /// `escrow.key` in `dir`).
    pub key_file: Option<PathBuf>,
    /// The escrow agent's upload base URL (HTTPS; files are PUT below it).
    pub url: Option<String>,
    /// UTC time of the daily run, `HH:MM`.
    pub run_at: String,
    /// A full deposit every day (otherwise full on Sundays, differential on other days).
    pub full_every_day: bool,
}

impl Default for EscrowSection {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: None,
            key_file: None,
            url: None,
            run_at: "00:10".into(),
            full_every_day: false,
        }
    }
}

impl EscrowSection {
    /// The deposit directory.
    pub fn dir(&self, config: &Config) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            config
                .seal_key_path()
                .parent()
                .map_or_else(|| PathBuf::from("idnode-data"), Path::to_path_buf)
                .join("escrow")
        })
    }

    /// The signing key file.
    pub fn key_file(&self, config: &Config) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.dir(config).join("escrow.key"))
    }

    /// Seconds after midnight UTC of the daily run.
    pub fn run_at_secs(&self) -> anyhow::Result<i64> {
        let (h, m) = self
            .run_at
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
            .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m))
            .context("[escrow] run_at is HH:MM (UTC)")?;
        Ok(h * 3600 + m * 60)
    }
}

/// Loads the OpenPGP signing key (ASCII-armored) from `path`, creating it (mode 0600) for
/// node `prefix` when missing.
pub fn signing_key(path: &Path, prefix: &str) -> anyhow::Result<SigningKey> {
    if !path.exists() {
        let armored = SigningKey::generate(&format!("idnode {prefix} <escrow@{prefix}>"))?;
        crate::files::create_private(path)
            .and_then(|mut f| f.write_all(armored.as_bytes()))
            .with_context(|| format!("creating {}", path.display()))?;
    }
    let text = String::from_utf8(crate::files::read_key_file(path)?)
        .with_context(|| format!("{} is not an armored key", path.display()))?;
    Ok(SigningKey::from_armored(&text)?)
}

/// Values a deposit may hold (secrets never).
fn public(values: &[HandleValue]) -> Vec<HandleValue> {
    values.iter().filter(|v| !v.is_secret()).cloned().collect()
}

/// For each handle changed after history row `cursor`: its values at that row (None: it
/// did not exist).
async fn state_after(
    store: &dyn Store,
    cursor: i64,
) -> anyhow::Result<HashMap<String, Option<Vec<HandleValue>>>> {
    let mut at_cursor = HashMap::new();
    let mut after = cursor;
    loop {
        let rows = store.history_range(after, None, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(at_cursor);
        };
        after = last.id;
        for r in rows {
            at_cursor.entry(r.handle).or_insert(match r.action {
                HistoryAction::Create => None,
                HistoryAction::Update | HistoryAction::Delete => r.before,
            });
        }
    }
}

async fn node_objects(services: &Services) -> anyhow::Result<Vec<NodeObject>> {
    let store = &services.store;
    let node = services.registry.node_prefix().to_owned();
    let mut out = vec![NodeObject {
        node_type: "sec".into(),
        prefix: node.clone(),
        name: format!("idnode secondary node {node}"),
        cc: "CN".into(),
        ..NodeObject::default()
    }];
    let enterprises: HashMap<i64, idnode_store::Enterprise> = store
        .list_enterprises()
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    for p in store.list_prefixes(None).await? {
        let Some(e) = p.enterprise_id.and_then(|id| enterprises.get(&id)) else {
            continue;
        };
        let pr = &e.profile;
        out.push(NodeObject {
            node_type: "ent".into(),
            prefix: p.prefix.clone(),
            name: e.name.clone(),
            nature: pr.nature.clone(),
            street: pr.addr_en.clone(),
            city: pr.city.clone(),
            sp: pr.province.clone(),
            cc: "CN".into(),
            cred_type: "BusinessLicense".into(),
            cred_no: pr.credit_code.clone(),
            legal_name: pr.legal_person.name.clone(),
            profile: pr.description.clone(),
            contact: idnode_escrow::Contact {
                name: pr.contact.name.clone(),
                phone: pr.contact.phone.clone(),
                email: pr.contact.email.clone(),
            },
            created: p.created_at / 1000,
        });
    }
    Ok(out)
}

/// The state of every handle changed after the watermark: its values then (None: it did
/// not exist).
type AtWatermark = HashMap<String, Option<Vec<HandleValue>>>;

/// The current records of `handles`, by handle.
async fn current(
    store: &dyn Store,
    handles: &[String],
) -> anyhow::Result<HashMap<String, idnode_store::HandleRecord>> {
    Ok(store
        .get_handles(handles)
        .await?
        .into_iter()
        .map(|r| (r.handle.clone(), r))
        .collect())
}

/// The members of a DIFF deposit: the handles changed between the previous deposit's
/// history cursor `from` and `cursor`, split into those that exist at the watermark and
/// those deleted by then.
async fn diff_members(
    store: &dyn Store,
    mut from: i64,
    cursor: i64,
    after: &AtWatermark,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut touched = HashSet::new();
    loop {
        let rows = store.history_range(from, Some(cursor), PAGE).await?;
        let Some(last) = rows.last() else { break };
        from = last.id;
        touched.extend(rows.into_iter().map(|r| r.handle));
    }
    let mut touched: Vec<String> = touched.into_iter().collect();
    touched.sort();
    let (mut live, mut deleted) = (Vec::new(), Vec::new());
    for chunk in touched.chunks(PAGE as usize) {
        let current = current(store, chunk).await?;
        for h in chunk {
            let exists = match after.get(h) {
                Some(state) => state.is_some(),
                None => current.contains_key(h),
            };
            if exists {
                live.push(h.clone());
            } else {
                deleted.push(h.clone());
            }
        }
    }
    Ok((live, deleted))
}

/// Writes the handles of the deposit as they were at the watermark: every handle (FULL,
/// `touched` None) or the live members of a DIFF.
async fn write_handles<W: std::io::Write>(
    store: &dyn Store,
    w: &mut DepositWriter<W>,
    touched: Option<&[String]>,
    after: &AtWatermark,
) -> anyhow::Result<()> {
    let at_watermark = |w: &mut DepositWriter<W>, name: &str, now: &[HandleValue]| {
        let values = match after.get(name) {
            Some(None) => return Ok(()),
            Some(Some(before)) => public(before),
            None => public(now),
        };
        w.handle(HandleObject {
            name,
            values: &values,
        })
    };
    let Some(live) = touched else {
        let mut from = String::new();
        loop {
            let page = store.scan_handles(None, &from, PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.handle.clone();
            for rec in &page {
                at_watermark(w, &rec.handle, &rec.values)?;
            }
        }
        // Handles deleted since the watermark existed then.
        for (h, state) in after {
            if let Some(values) = state {
                if store.get_handle(h).await?.is_none() {
                    at_watermark(w, h, values)?;
                }
            }
        }
        return Ok(());
    };
    for chunk in live.chunks(PAGE as usize) {
        let current = current(store, chunk).await?;
        for h in chunk {
            match (current.get(h), after.get(h)) {
                (Some(rec), _) => at_watermark(w, &rec.handle, &rec.values)?,
                (None, Some(Some(values))) => at_watermark(w, h, values)?,
                (None, _) => {}
            }
        }
    }
    Ok(())
}

/// What `idnode escrow run` does: the deposit of the state at `watermark` (unix seconds;
/// the CLI and the schedule pass a midnight UTC, as the drafts require), unless one exists
/// for that watermark (`resend` makes another revision).
pub async fn run(
    config: &Config,
    services: &Services,
    watermark: i64,
    full: bool,
    resend: bool,
) -> anyhow::Result<DepositRecord> {
    let c = &config.escrow;
    let store = services.store.as_ref();
    if watermark > idnode_store::now_millis() / 1000 {
        bail!("the watermark lies in the future");
    }
    let earlier = store.deposits(1_000).await?;
    let same_day: Vec<&DepositRecord> = earlier
        .iter()
        .filter(|d| d.watermark == watermark * 1000)
        .collect();
    if let (Some(d), false) = (same_day.first(), resend) {
        return Ok((*d).clone());
    }
    let rev = same_day.iter().map(|d| d.resend + 1).max().unwrap_or(0);
    let prev = earlier.iter().find(|d| d.watermark < watermark * 1000);
    let kind = if full || c.full_every_day || idnode_escrow::is_sunday(watermark) || prev.is_none()
    {
        Kind::Full
    } else {
        Kind::Diff
    };
    let date = idnode_escrow::date_of(watermark);
    let id = format!("{}{}{rev}", date.replace('-', ""), &kind.as_str()[..1]);
    let prefix = services.registry.node_prefix().to_owned();
    let cursor = store.history_cursor(watermark * 1000).await?;
    let after = state_after(store, cursor).await?;
    let name = |file: FileKind| {
        DepositFile {
            prefix: prefix.clone(),
            date: date.clone(),
            kind,
            series: (file != FileKind::Report).then_some(1),
            rev,
            file,
        }
        .name()
    };
    let dir = c.dir(config);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (data, sig, rep) = (
        name(FileKind::Data),
        name(FileKind::Signature),
        name(FileKind::Report),
    );
    let meta = DepositMeta {
        id: id.clone(),
        kind,
        prev_id: (kind == Kind::Diff)
            .then(|| prev.map(|p| p.id.clone()))
            .flatten(),
        resend: rev,
        watermark,
        prefix: prefix.clone(),
    };

    // Which handles the deposit holds: all at the watermark (FULL), or those changed since
    // the previous deposit (DIFF, with the deleted ones listed).
    let (touched, deleted) = match (kind, prev) {
        (Kind::Diff, Some(p)) => {
            let (live, deleted) = diff_members(store, p.history_cursor, cursor, &after).await?;
            (Some(live), deleted)
        }
        _ => (None, Vec::new()),
    };
    let tmp = dir.join(format!(".{data}.tmp"));
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    let mut w = DepositWriter::begin(gz, &meta, &[], &deleted)?;
    for n in node_objects(services).await? {
        w.node(&n)?;
    }
    write_handles(store, &mut w, touched.as_deref(), &after).await?;
    let (gz, nodes, handles) = w.finish()?;
    let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, dir.join(&data))?;
    let key = signing_key(&c.key_file(config), &prefix)?;
    let signature = idnode_escrow::sign(&key, std::fs::File::open(dir.join(&data))?)?;
    std::fs::write(dir.join(&sig), signature)?;
    let now = idnode_store::now_millis() / 1000;
    let report = Report {
        id: id.clone(),
        resend: rev,
        created: now,
        kind,
        watermark,
        prefix: prefix.clone(),
        counts: vec![(NODE_NS.into(), nodes), (HANDLE_NS.into(), handles)],
    };
    std::fs::write(dir.join(&rep), idnode_escrow::report_xml(&report))?;
    let record = DepositRecord {
        id: id.clone(),
        kind: kind.as_str().into(),
        watermark: watermark * 1000,
        prev_id: meta.prev_id.clone(),
        resend: rev,
        history_cursor: cursor,
        nodes,
        handles,
        files: vec![data.clone(), sig.clone(), rep.clone()],
        created_at: now * 1000,
    };
    let mut ops = vec![Op::RecordDeposit(record.clone())];
    if config.upstream.enabled {
        if c.url.is_some() {
            ops.push(Op::Enqueue(
                Action::EscrowDeposit {
                    id: id.clone(),
                    files: record.files.clone(),
                }
                .item(),
            ));
        }
        if config.upstream.report_url.is_some() {
            ops.push(Op::Enqueue(Action::EscrowReport { id, file: rep }.item()));
        }
    }
    store
        .apply(&Batch {
            actor: "system:escrow".into(),
            ops,
            idempotency: None,
        })
        .await?;
    Ok(record)
}

/// Today's midnight (UTC), unix seconds.
pub fn today() -> i64 {
    let now = idnode_store::now_millis() / 1000;
    now - now.rem_euclid(DAY)
}

/// The daily schedule inside `serve`: after `run_at` each day, the deposit of that day
/// (retried every 10 minutes when it fails).
pub(crate) fn spawn_schedule(
    config: Config,
    services: std::sync::Arc<Services>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let at = config.escrow.run_at_secs()?;
    Ok(tokio::spawn(async move {
        loop {
            let now = idnode_store::now_millis() / 1000;
            let day = today();
            let due = day + at;
            let next = if now < due {
                due
            } else {
                match run(&config, &services, day, false, false).await {
                    Ok(d) => {
                        tracing::info!(id = %d.id, kind = %d.kind, handles = d.handles, "escrow deposit");
                        day + DAY + at
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "escrow deposit failed; retrying in 10 minutes");
                        now + 600
                    }
                }
            };
            tokio::time::sleep(std::time::Duration::from_secs((next - now).max(1) as u64)).await;
        }
    }))
}

/// `idnode escrow …`.
#[derive(Debug, clap::Subcommand)]
pub enum EscrowCommand {
    /// Makes the deposit of a day now (default: today, watermark 00:00:00 UTC).
    Run {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// A full deposit even on a weekday.
        #[arg(long)]
        full: bool,
        /// Another revision when the day's deposit exists (after a failed verification).
        #[arg(long)]
        resend: bool,
    },
    /// Lists the deposits made.
    List,
    /// Prints the OpenPGP public key (ASCII-armored) of the signing key, for the escrow
    /// agent.
    PublicKey,
}

/// Runs an `idnode escrow` command.
pub async fn command(config: &Config, command: EscrowCommand) -> anyhow::Result<()> {
    match command {
        EscrowCommand::Run { date, full, resend } => {
            let watermark = match date {
                None => today(),
                Some(d) => idnode_escrow::parse_rfc3339(&format!("{d}T00:00:00Z"))
                    .context("--date is YYYY-MM-DD")?,
            };
            let services = Services::open(config).await?;
            let d = run(config, &services, watermark, full, resend).await?;
            println!(
                "deposit {} ({}) watermark {}: {} nodes, {} handles; files in {}: {}",
                d.id,
                d.kind,
                idnode_escrow::rfc3339(d.watermark / 1000),
                d.nodes,
                d.handles,
                config.escrow.dir(config).display(),
                d.files.join(" ")
            );
        }
        EscrowCommand::List => {
            let store = crate::open_store(&config.database).await?;
            for d in store.deposits(1_000).await? {
                println!(
                    "{}\t{}\t{}\tprev {}\t{} nodes\t{} handles",
                    d.id,
                    d.kind,
                    idnode_escrow::rfc3339(d.watermark / 1000),
                    d.prev_id.unwrap_or_else(|| "-".into()),
                    d.nodes,
                    d.handles
                );
            }
        }
        EscrowCommand::PublicKey => {
            let services = Services::open(config).await?;
            let key = signing_key(
                &config.escrow.key_file(config),
                services.registry.node_prefix(),
            )?;
            print!("{}", key.public_key()?);
        }
    }
    Ok(())
}
