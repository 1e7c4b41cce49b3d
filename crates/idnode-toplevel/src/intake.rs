//! The escrow agent's and the report interface's side: deposits verified as they complete
//! (data, signature, report), deposit and statistics reports, the IIIDAP bootstrap registry.

use std::io::BufReader;
use std::path::Path;

use crate::password::now_millis;
use idnode_escrow::{parse_file_name, DepositFile, FileKind, Kind};
use sqlx::Row;

use crate::state::State;
use crate::Error;

/// A deposit's verification result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositCheck {
    /// Deposit id.
    pub id: String,
    /// Revision.
    pub resend: u16,
    /// `FULL` or `DIFF`.
    pub kind: String,
    /// Previous deposit.
    pub prev_id: Option<String>,
    /// `DVPN` (passed) or `DVFN` (failed).
    pub status: String,
    /// `verified`, or what failed.
    pub detail: String,
    /// Objects per namespace URI.
    pub counts: std::collections::BTreeMap<String, u64>,
}

fn name_with(f: &DepositFile, file: FileKind) -> String {
    DepositFile {
        file,
        series: (file != FileKind::Report).then_some(1),
        ..f.clone()
    }
    .name()
}

impl State {
    /// The registration material on file for enterprise `ent_id`.
    pub async fn enterprise_profile(
        &self,
        ent_id: &str,
    ) -> Result<Option<idnode_core::EnterpriseProfile>, Error> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT profile FROM enterprises WHERE ent_id = ?")
                .bind(ent_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Registers the escrow signing key (ASCII-armored OpenPGP public key) of a client.
    pub async fn set_escrow_key(&self, client: &str, key: &str) -> Result<(), Error> {
        idnode_escrow::check_public_key(key).map_err(|e| Error::Refused(e.to_string()))?;
        sqlx::query("UPDATE clients SET escrow_key = ? WHERE id = ?")
            .bind(key)
            .bind(client)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Verifies the deposit `name` belongs to once its data, signature and report files are
    /// all in `dir`; records DVPN or DVFN. `None` while files are missing.
    pub async fn check_deposit(
        &self,
        client: &str,
        dir: &Path,
        name: &str,
    ) -> Result<Option<DepositCheck>, Error> {
        let f = parse_file_name(name).map_err(|e| Error::Refused(e.to_string()))?;
        let (data, sig, rep) = (
            dir.join(name_with(&f, FileKind::Data)),
            dir.join(name_with(&f, FileKind::Signature)),
            dir.join(name_with(&f, FileKind::Report)),
        );
        if !(data.exists() && sig.exists() && rep.exists()) {
            return Ok(None);
        }
        let key: Option<String> = sqlx::query_scalar("SELECT escrow_key FROM clients WHERE id = ?")
            .bind(client)
            .fetch_one(&self.pool)
            .await?;
        let verified = tokio::task::spawn_blocking({
            let (data, sig, rep) = (data.clone(), sig.clone(), rep.clone());
            move || verify_files(key, &data, &sig, &rep)
        })
        .await
        .map_err(|e| Error::Io(e.to_string()))?;
        let (kind, prev_id, status, detail, counts) = match verified {
            Ok(s) => {
                let chain_ok = match (&s.meta.kind, &s.meta.prev_id) {
                    (Kind::Full, _) => true,
                    (Kind::Diff, None) => false,
                    (Kind::Diff, Some(prev)) => {
                        let n: i64 = sqlx::query_scalar(
                            "SELECT count(*) FROM deposits WHERE client = ? AND id = ? \
                             AND status = 'DVPN'",
                        )
                        .bind(client)
                        .bind(prev)
                        .fetch_one(&self.pool)
                        .await?;
                        n > 0
                    }
                };
                let counts = serde_json::to_string(&s.counts).unwrap_or_default();
                if chain_ok {
                    (
                        s.meta.kind,
                        s.meta.prev_id,
                        "DVPN",
                        "verified".to_owned(),
                        counts,
                    )
                } else {
                    let detail = format!(
                        "broken chain: previous deposit {:?} was not verified",
                        s.meta.prev_id
                    );
                    (s.meta.kind, s.meta.prev_id, "DVFN", detail, counts)
                }
            }
            Err(e) => (f.kind, None, "DVFN", e, "{}".to_owned()),
        };
        let id = format!(
            "{}{}{}",
            f.date.replace('-', ""),
            &f.kind.as_str()[..1],
            f.rev
        );
        let watermark = idnode_escrow::parse_rfc3339(&format!("{}T00:00:00Z", f.date)).unwrap_or(0);
        sqlx::query(
            "INSERT INTO deposits (client, id, resend, kind, watermark, prev_id, status, detail, \
             counts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (client, id, resend) DO UPDATE SET status = excluded.status, \
             detail = excluded.detail, counts = excluded.counts, received_at = excluded.received_at",
        )
        .bind(client)
        .bind(&id)
        .bind(i64::from(f.rev))
        .bind(kind.as_str())
        .bind(watermark)
        .bind(&prev_id)
        .bind(status)
        .bind(&detail)
        .bind(&counts)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(Some(DepositCheck {
            id,
            resend: f.rev,
            kind: kind.as_str().into(),
            prev_id,
            status: status.into(),
            detail,
            counts: serde_json::from_str(&counts).unwrap_or_default(),
        }))
    }

    /// Deposits received from `client`, by watermark.
    pub async fn deposits(&self, client: &str) -> Result<Vec<DepositCheck>, Error> {
        let rows = sqlx::query(
            "SELECT id, resend, kind, prev_id, status, detail, counts FROM deposits \
             WHERE client = ? ORDER BY received_at, id",
        )
        .bind(client)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DepositCheck {
                id: r.get("id"),
                resend: r.get::<i64, _>("resend") as u16,
                kind: r.get("kind"),
                prev_id: r.get("prev_id"),
                status: r.get("status"),
                detail: r.get("detail"),
                counts: serde_json::from_str(r.get("counts")).unwrap_or_default(),
            })
            .collect())
    }

    /// Stores a deposit report (after the interface's checks).
    pub async fn put_report(
        &self,
        prefix: &str,
        id: &str,
        watermark: i64,
        body: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO reports (prefix, id, watermark, body, received_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (prefix, id) DO UPDATE SET body = excluded.body, \
             watermark = excluded.watermark, received_at = excluded.received_at",
        )
        .bind(prefix)
        .bind(id)
        .bind(watermark)
        .bind(body)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ids of the deposit reports received for `prefix`.
    pub async fn reports(&self, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(
            sqlx::query_scalar("SELECT id FROM reports WHERE prefix = ? ORDER BY watermark")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Whether a report with a watermark on `date` (`YYYY-MM-DD`) was received for `prefix`.
    pub async fn report_on(&self, prefix: &str, date: &str) -> Result<bool, Error> {
        let Some(day) = idnode_escrow::parse_rfc3339(&format!("{date}T00:00:00Z")) else {
            return Ok(false);
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reports WHERE prefix = ? AND watermark >= ? AND watermark < ?",
        )
        .bind(prefix)
        .bind(day)
        .bind(day + 86_400)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Stores a statistics report.
    pub async fn put_statistics(
        &self,
        prefix: &str,
        period: &str,
        body: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO statistics (prefix, period, body, received_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (prefix, period) DO UPDATE SET body = excluded.body, \
             received_at = excluded.received_at",
        )
        .bind(prefix)
        .bind(period)
        .bind(body)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The statistics reports of `prefix`: (period, JSON).
    pub async fn statistics(&self, prefix: &str) -> Result<Vec<(String, String)>, Error> {
        let rows =
            sqlx::query("SELECT period, body FROM statistics WHERE prefix = ? ORDER BY period")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("period"), r.get("body")))
            .collect())
    }

    /// Records the IIIDAP base URLs of a node.
    pub async fn put_bootstrap(&self, prefix: &str, urls: &[String]) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO bootstrap (prefix, urls, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (prefix) DO UPDATE SET urls = excluded.urls, updated_at = excluded.updated_at",
        )
        .bind(prefix)
        .bind(serde_json::to_string(urls).unwrap_or_default())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The IIIDAP bootstrap registry: each node's prefix and approved enterprise prefixes,
    /// with its base URLs.
    pub async fn bootstrap(&self) -> Result<serde_json::Value, Error> {
        let rows = sqlx::query("SELECT prefix, urls FROM bootstrap ORDER BY prefix")
            .fetch_all(&self.pool)
            .await?;
        let mut services = Vec::new();
        for r in rows {
            let prefix: String = r.get("prefix");
            let urls: Vec<String> = serde_json::from_str(r.get("urls")).unwrap_or_default();
            let mut entries: Vec<String> = sqlx::query_scalar(
                "SELECT p.prefix FROM prefixes p JOIN clients c ON c.id = p.client \
                 WHERE c.prefix = ? AND p.state = 'approved' ORDER BY p.prefix",
            )
            .bind(&prefix)
            .fetch_all(&self.pool)
            .await?;
            entries.insert(0, prefix);
            let lower =
                |v: Vec<String>| v.into_iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
            services.push(serde_json::json!([lower(entries), lower(urls)]));
        }
        Ok(serde_json::json!({
            "version": "1.0",
            "publication": idnode_escrow::rfc3339(now_millis() / 1000),
            "description": "IIIDAP bootstrap registry of the idnode top-level stand-in",
            "services": services,
        }))
    }
}

/// Checks a deposit's files: the signature over the data under the node's escrow key, the
/// deposit itself, and that the report names it and its counts. The reason when not.
fn verify_files(
    key: Option<String>,
    data: &Path,
    sig: &Path,
    rep: &Path,
) -> Result<idnode_escrow::Summary, String> {
    let key = key.ok_or("no escrow key is registered for this node")?;
    let signature = std::fs::read(sig).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(data).map_err(|e| e.to_string())?;
    idnode_escrow::verify_signature(&key, file, &signature).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(data).map_err(|e| e.to_string())?;
    let xml = BufReader::new(flate2::read::GzDecoder::new(file));
    let summary =
        idnode_escrow::verify_deposit(xml, now_millis() / 1000).map_err(|e| e.to_string())?;
    let report = std::fs::read(rep).map_err(|e| e.to_string())?;
    let report = idnode_escrow::parse_report(&report).map_err(|e| e.to_string())?;
    if report.id != summary.meta.id || report.kind != summary.meta.kind {
        return Err(format!("the report is of deposit {}", report.id));
    }
    for (uri, n) in &report.counts {
        if summary.counts.get(uri) != Some(n) {
            return Err(format!("the report counts {n} of {uri}"));
        }
    }
    Ok(summary)
}
