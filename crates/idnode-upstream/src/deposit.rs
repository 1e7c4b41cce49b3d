//! The daily escrow deposit: the state at the watermark (00:00:00 UTC) as an `inde` deposit
//! (FULL on Sundays, on the first run and when asked; DIFF otherwise), gzip-compressed,
//! signed and reported, then recorded and queued for delivery in one registry write.

use std::collections::{HashMap, HashSet};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use idnode_core::HandleValue;
use idnode_escrow::{
    DepositFile, DepositMeta, DepositWriter, FileKind, HandleObject, Kind, NodeObject, Report,
    SigningKey, HANDLE_NS, NODE_NS,
};
use idnode_registry::Registry;
use idnode_store::{Action, DepositRecord, HandleRecord, HistoryAction, Store};

use crate::UpstreamError;

/// Handles read per page.
const PAGE: u64 = 10_000;
/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

type Result<T> = std::result::Result<T, UpstreamError>;

/// Where and how deposits are made.
#[derive(Debug, Clone)]
pub struct DepositSettings {
    /// The directory the deposit's files are written to.
    pub dir: PathBuf,
    /// A full deposit every day (otherwise full on Sundays, differential on other days).
    pub full_every_day: bool,
    /// Queue the upload of the files to the escrow agent (an agent URL is configured).
    pub upload: bool,
    /// Queue the deposit's report to the top-level node (a report URL is configured).
    pub report: bool,
}

/// The deposit asked for.
#[derive(Debug, Clone, Copy)]
pub struct DepositRequest {
    /// The state deposited: a midnight UTC, unix seconds.
    pub watermark: i64,
    /// Full even on a weekday.
    pub full: bool,
    /// Another revision when the watermark's deposit exists.
    pub resend: bool,
}

/// Today's midnight (UTC), unix seconds.
pub fn today() -> i64 {
    let now = idnode_store::now_millis() / 1000;
    now - now.rem_euclid(DAY)
}

/// An I/O error on `path`.
pub(crate) fn at(path: &Path) -> impl FnOnce(std::io::Error) -> UpstreamError + '_ {
    move |source| UpstreamError::File {
        path: path.to_owned(),
        source,
    }
}

/// Makes the deposit of the state at `request.watermark`, unless one exists for that
/// watermark (then it is returned; `resend` makes another revision). `store` is read,
/// `registry` records the deposit and queues its delivery.
pub async fn make_deposit(
    registry: &Registry,
    store: &dyn Store,
    key: &SigningKey,
    settings: &DepositSettings,
    request: DepositRequest,
) -> Result<DepositRecord> {
    let watermark = request.watermark;
    if watermark > idnode_store::now_millis() / 1000 {
        return Err(UpstreamError::Invalid(
            "the watermark lies in the future".into(),
        ));
    }
    let earlier = store.deposits(1_000).await?;
    let same_day: Vec<&DepositRecord> = earlier
        .iter()
        .filter(|d| d.watermark == watermark * 1000)
        .collect();
    if let (Some(d), false) = (same_day.first(), request.resend) {
        return Ok((*d).clone());
    }
    let prev = earlier.iter().find(|d| d.watermark < watermark * 1000);
    let diff = !(request.full
        || settings.full_every_day
        || idnode_escrow::is_sunday(watermark)
        || prev.is_none());
    let kind = if diff { Kind::Diff } else { Kind::Full };
    // The id and the file names carry only the date and the kind: the revision counts every
    // deposit of that date and kind (two watermarks of one date, e.g. from a manual run with
    // a watermark other than midnight, must not collide).
    let stem = format!(
        "{}{}",
        idnode_escrow::date_of(watermark).replace('-', ""),
        &kind.as_str()[..1]
    );
    let rev = earlier
        .iter()
        .filter(|d| {
            d.id.strip_prefix(&stem)
                .is_some_and(|r| r.parse::<u16>().is_ok())
        })
        .map(|d| d.resend.saturating_add(1))
        .max()
        .unwrap_or(0);
    let meta = DepositMeta {
        id: format!("{stem}{rev}"),
        kind,
        prev_id: prev.filter(|_| diff).map(|p| p.id.clone()),
        resend: rev,
        watermark,
        prefix: registry.node_prefix().to_owned(),
    };
    let cursor = store.history_cursor(watermark * 1000).await?;
    let created = idnode_store::now_millis() / 1000;
    let deposit = Deposit {
        store,
        created,
        after: state_after(store, cursor).await?,
        dir: &settings.dir,
        meta,
    };
    let since = prev.filter(|_| diff).map(|p| p.history_cursor);
    let (files, nodes, handles) = deposit.write(since, cursor, key).await?;
    let Deposit { meta, .. } = deposit;
    let record = DepositRecord {
        id: meta.id.clone(),
        kind: kind.as_str().into(),
        watermark: watermark * 1000,
        prev_id: meta.prev_id,
        resend: rev,
        history_cursor: cursor,
        nodes,
        handles,
        files: files.clone(),
        created_at: created * 1000,
    };
    let mut deliver = Vec::new();
    if settings.upload {
        deliver.push(Action::EscrowDeposit {
            id: meta.id.clone(),
            files: files.clone(),
        });
    }
    if settings.report {
        deliver.push(Action::EscrowReport {
            id: meta.id,
            file: files[2].clone(),
        });
    }
    registry.record_deposit(record.clone(), &deliver).await?;
    Ok(record)
}

/// The state of every handle changed after the watermark: its values then (None: it did
/// not exist).
type AtWatermark = HashMap<String, Option<Vec<HandleValue>>>;

/// One deposit being written.
struct Deposit<'a> {
    store: &'a dyn Store,
    /// When it is made, unix seconds.
    created: i64,
    after: AtWatermark,
    dir: &'a Path,
    meta: DepositMeta,
}

impl Deposit<'_> {
    /// The name of one of the deposit's files.
    fn name(&self, file: FileKind) -> String {
        DepositFile {
            prefix: self.meta.prefix.clone(),
            date: idnode_escrow::date_of(self.meta.watermark),
            kind: self.meta.kind,
            series: (file != FileKind::Report).then_some(1),
            rev: self.meta.resend,
            file,
        }
        .name()
    }

    /// Writes the data file (atomically: a temporary file renamed), its signature and its
    /// report; returns the three file names and the node and handle counts. `since` is the
    /// previous deposit's history cursor (a DIFF), `cursor` the watermark's.
    async fn write(
        &self,
        since: Option<i64>,
        cursor: i64,
        key: &SigningKey,
    ) -> Result<(Vec<String>, u64, u64)> {
        std::fs::create_dir_all(self.dir).map_err(at(self.dir))?;
        let (data, sig, rep) = (
            self.name(FileKind::Data),
            self.name(FileKind::Signature),
            self.name(FileKind::Report),
        );
        // Which handles the deposit holds: all at the watermark (FULL), or those changed
        // since the previous deposit (DIFF, with the deleted ones listed).
        let (touched, deleted) = match since {
            Some(from) => {
                let (live, deleted) = self.diff_members(from, cursor).await?;
                (Some(live), deleted)
            }
            None => (None, Vec::new()),
        };
        let tmp = self.dir.join(format!(".{data}.tmp"));
        let file = std::fs::File::create(&tmp).map_err(at(&tmp))?;
        let gz =
            flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        let mut w = DepositWriter::begin(gz, &self.meta, &[], &deleted).map_err(at(&tmp))?;
        for n in node_objects(self.store, &self.meta.prefix).await? {
            w.node(&n).map_err(at(&tmp))?;
        }
        self.write_handles(&mut w, touched.as_deref(), &tmp).await?;
        let (gz, nodes, handles) = w.finish().map_err(at(&tmp))?;
        let file = gz
            .finish()
            .map_err(at(&tmp))?
            .into_inner()
            .map_err(|e| at(&tmp)(e.into_error()))?;
        file.sync_all().map_err(at(&tmp))?;
        drop(file);
        let data_path = self.dir.join(&data);
        std::fs::rename(&tmp, &data_path).map_err(at(&data_path))?;
        let signature = idnode_escrow::sign(
            key,
            std::fs::File::open(&data_path).map_err(at(&data_path))?,
        )?;
        let sig_path = self.dir.join(&sig);
        std::fs::write(&sig_path, signature).map_err(at(&sig_path))?;
        let report = Report {
            id: self.meta.id.clone(),
            resend: self.meta.resend,
            created: self.created,
            kind: self.meta.kind,
            watermark: self.meta.watermark,
            prefix: self.meta.prefix.clone(),
            counts: vec![(NODE_NS.into(), nodes), (HANDLE_NS.into(), handles)],
        };
        let rep_path = self.dir.join(&rep);
        std::fs::write(&rep_path, idnode_escrow::report_xml(&report)).map_err(at(&rep_path))?;
        Ok((vec![data, sig, rep], nodes, handles))
    }

    /// The members of a DIFF deposit: the handles changed between the previous deposit's
    /// history cursor `from` and `cursor`, split into those that exist at the watermark and
    /// those deleted by then.
    async fn diff_members(&self, mut from: i64, cursor: i64) -> Result<(Vec<String>, Vec<String>)> {
        let mut touched = HashSet::new();
        loop {
            let rows = self.store.history_range(from, Some(cursor), PAGE).await?;
            let Some(last) = rows.last() else { break };
            from = last.id;
            touched.extend(rows.into_iter().map(|r| r.handle));
        }
        let mut touched: Vec<String> = touched.into_iter().collect();
        touched.sort();
        let (mut live, mut deleted) = (Vec::new(), Vec::new());
        for chunk in touched.chunks(PAGE as usize) {
            let current = current(self.store, chunk).await?;
            for h in chunk {
                let exists = match self.after.get(h) {
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

    /// Writes `name` as it was at the watermark (`now`: its values today); nothing when it
    /// did not exist then.
    fn at_watermark<W: std::io::Write>(
        &self,
        w: &mut DepositWriter<W>,
        name: &str,
        now: &[HandleValue],
    ) -> std::io::Result<()> {
        let values = match self.after.get(name) {
            Some(None) => return Ok(()),
            Some(Some(before)) => public(before),
            None => public(now),
        };
        w.handle(HandleObject {
            name,
            values: &values,
        })
    }

    /// Writes the handles of the deposit as they were at the watermark: every handle (FULL,
    /// `touched` None) or the live members of a DIFF, into the file `tmp`.
    async fn write_handles<W: std::io::Write>(
        &self,
        w: &mut DepositWriter<W>,
        touched: Option<&[String]>,
        tmp: &Path,
    ) -> Result<()> {
        let Some(live) = touched else {
            let mut from = String::new();
            loop {
                let page = self.store.scan_handles(None, &from, PAGE).await?;
                let Some(last) = page.last() else { break };
                from = last.handle.clone();
                for rec in &page {
                    self.at_watermark(w, &rec.handle, &rec.values)
                        .map_err(at(tmp))?;
                }
            }
            // Handles deleted since the watermark existed then.
            for (h, state) in &self.after {
                if let Some(values) = state {
                    if self.store.get_handle(h).await?.is_none() {
                        self.at_watermark(w, h, values).map_err(at(tmp))?;
                    }
                }
            }
            return Ok(());
        };
        for chunk in live.chunks(PAGE as usize) {
            let current = current(self.store, chunk).await?;
            for h in chunk {
                match (current.get(h), self.after.get(h)) {
                    (Some(rec), _) => self
                        .at_watermark(w, &rec.handle, &rec.values)
                        .map_err(at(tmp))?,
                    (None, Some(Some(values))) => {
                        self.at_watermark(w, h, values).map_err(at(tmp))?
                    }
                    (None, _) => {}
                }
            }
        }
        Ok(())
    }
}

/// Values a deposit may hold (secrets never).
fn public(values: &[HandleValue]) -> Vec<HandleValue> {
    values.iter().filter(|v| !v.is_secret()).cloned().collect()
}

/// For each handle changed after history row `cursor`: its values at that row (None: it
/// did not exist).
async fn state_after(store: &dyn Store, cursor: i64) -> Result<AtWatermark> {
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

/// The current records of `handles`, by handle.
async fn current(store: &dyn Store, handles: &[String]) -> Result<HashMap<String, HandleRecord>> {
    Ok(store
        .get_handles(handles)
        .await?
        .into_iter()
        .map(|r| (r.handle.clone(), r))
        .collect())
}

/// The node objects: the secondary node `node`, then each enterprise by its prefixes.
async fn node_objects(store: &dyn Store, node: &str) -> Result<Vec<NodeObject>> {
    let mut out = vec![NodeObject {
        node_type: "sec".into(),
        prefix: node.to_owned(),
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
