//! The HTTPS side of the connection: escrow files to the escrow agent, deposit reports and
//! statistics reports to the top-level node's report interface.

use std::path::PathBuf;

use idnode_store::Action;

use crate::{EppConfig, UpstreamError};

/// Where HTTPS actions go.
#[derive(Debug, Clone, Default)]
pub struct HttpTargets {
    /// The escrow agent's upload base URL (files are PUT below it), ending in `/`.
    pub escrow_url: Option<String>,
    /// The top-level node's report interface base URL, ending in `/`.
    pub report_url: Option<String>,
    /// Where deposit files are.
    pub escrow_dir: PathBuf,
    /// Where statistics reports are.
    pub reports_dir: PathBuf,
}

/// An HTTPS client trusting the configured CA, authenticating as the EPP client.
pub(crate) struct Http {
    client: reqwest::Client,
    user: String,
    password: String,
    targets: HttpTargets,
}

fn transient(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Http(e.to_string())
}

/// The `<result code="…">` of an interface response body, if any.
fn result_code(body: &str) -> Option<u16> {
    let at = body.find("<result")?;
    let rest = &body[at..];
    let code = rest.split("code=\"").nth(1)?.get(..4)?;
    code.parse().ok()
}

impl Http {
    pub(crate) fn new(epp: &EppConfig, targets: HttpTargets) -> Result<Self, UpstreamError> {
        let pem = std::fs::read(&epp.ca_file)
            .map_err(|e| UpstreamError::Tls(format!("{}: {e}", epp.ca_file.display())))?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .timeout(epp.timeout.max(std::time::Duration::from_secs(60)));
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| UpstreamError::Tls(format!("{}: {e}", epp.ca_file.display())))?
        {
            builder = builder.add_root_certificate(cert);
        }
        Ok(Self {
            client: builder
                .build()
                .map_err(|e| UpstreamError::Tls(e.to_string()))?,
            user: epp.client_id.clone(),
            password: epp.password.clone(),
            targets,
        })
    }

    async fn put(
        &self,
        url: &str,
        path: &PathBuf,
        content_type: &str,
    ) -> Result<(), UpstreamError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| UpstreamError::Undeliverable(format!("{}: {e}", path.display())))?;
        let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        self.send(url, reqwest::Body::from(file), len, content_type)
            .await
    }

    async fn send(
        &self,
        url: &str,
        body: reqwest::Body,
        len: u64,
        content_type: &str,
    ) -> Result<(), UpstreamError> {
        let resp = self
            .client
            .put(url)
            .basic_auth(&self.user, Some(&self.password))
            .header("content-type", content_type)
            .header("content-length", len)
            .body(body)
            .send()
            .await
            .map_err(transient)?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let snippet: String = body.chars().take(300).collect();
        match status {
            200..=299 => match result_code(&body) {
                None | Some(1000) => Ok(()),
                Some(code) => Err(UpstreamError::Refused { code, msg: snippet }),
            },
            400..=428 | 430..=499 => Err(UpstreamError::Refused {
                code: status,
                msg: format!("HTTP {status} from {url}: {snippet}"),
            }),
            _ => Err(UpstreamError::Failed {
                code: status,
                msg: format!("HTTP {status} from {url}: {snippet}"),
            }),
        }
    }

    /// Delivers step `k` of an HTTPS action for the node `prefix`.
    pub(crate) async fn step(
        &self,
        action: &Action,
        k: u32,
        prefix: &str,
    ) -> Result<(), UpstreamError> {
        let missing = |what: &str| UpstreamError::Undeliverable(format!("no {what} is configured"));
        let report_url = || {
            self.targets
                .report_url
                .as_deref()
                .ok_or_else(|| missing("report url"))
        };
        match action {
            Action::EscrowDeposit { files, .. } => {
                let base = self
                    .targets
                    .escrow_url
                    .as_deref()
                    .ok_or_else(|| missing("escrow url"))?;
                let Some(file) = files.get(k as usize) else {
                    return Ok(());
                };
                let path = self.targets.escrow_dir.join(file);
                self.put(&format!("{base}{file}"), &path, "application/octet-stream")
                    .await
            }
            Action::EscrowReport { id, file } => {
                let base = report_url()?;
                let url = format!("{base}report/sln-escrow-report/{prefix}/{id}");
                self.put(&url, &self.targets.escrow_dir.join(file), "text/xml")
                    .await
            }
            Action::Statistics { period, file } => {
                let base = report_url()?;
                let url = format!("{base}report/statistics/{prefix}/{period}");
                self.put(
                    &url,
                    &self.targets.reports_dir.join(file),
                    "application/json",
                )
                .await
            }
            Action::Bootstrap { urls } => {
                let base = report_url()?;
                let body = format!("{{\"urls\":{}}}", json_strings(urls));
                let len = body.len() as u64;
                self.send(
                    &format!("{base}iiidap/bootstrap/{prefix}"),
                    reqwest::Body::from(body),
                    len,
                    "application/json",
                )
                .await
            }
            _ => Err(UpstreamError::Undeliverable("not an HTTPS action".into())),
        }
    }
}

/// A JSON array of strings.
fn json_strings(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            let escaped: String = s
                .chars()
                .flat_map(|c| match c {
                    '"' => vec!['\\', '"'],
                    '\\' => vec!['\\', '\\'],
                    c if c.is_control() => Vec::new(),
                    c => vec![c],
                })
                .collect();
            format!("\"{escaped}\"")
        })
        .collect();
    format!("[{}]", quoted.join(","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn result_codes_are_read_from_interface_bodies() {
        let ok = r#"<?xml version="1.0"?><response><result code="1000"><msg>OK</msg></result></response>"#;
        assert_eq!(super::result_code(ok), Some(1000));
        assert_eq!(super::result_code(&ok.replace("1000", "2202")), Some(2202));
        assert_eq!(super::result_code("plain"), None);
    }
}
