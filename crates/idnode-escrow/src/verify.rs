//! Streaming deposit verification (what the escrow agent checks).

use std::collections::BTreeMap;
use std::io::BufRead;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::{is_sunday, parse_rfc3339, DepositMeta, EscrowError, Kind, HEADER_NS, INDE_NS};

/// What a deposit holds, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The header's identification of the deposit.
    pub meta: DepositMeta,
    /// Objects per namespace URI (as counted and as the header says).
    pub counts: BTreeMap<String, u64>,
    /// Deleted objects listed.
    pub deletes: u64,
}

fn schema(msg: impl Into<String>) -> EscrowError {
    EscrowError::Schema(msg.into())
}

/// Reads and checks a deposit (uncompressed XML) from `r`. `now` (unix seconds) bounds the
/// watermark.
pub fn verify_deposit(r: impl BufRead, now: i64) -> Result<Summary, EscrowError> {
    let mut reader = NsReader::from_reader(r);
    let mut buf = Vec::new();
    // (namespace, local name) of the open elements.
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut text = String::new();
    let mut meta: Option<(String, Kind, Option<String>, u16)> = None;
    let mut watermark = None;
    let mut version = None;
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    let mut header: Option<(String, BTreeMap<String, u64>)> = None;
    let mut count_uri: Option<String> = None;
    let mut deletes = 0u64;
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| schema(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let depth = stack.len();
                if depth == 0 {
                    if ns != INDE_NS || name != "deposit" {
                        return Err(schema(format!("root <{name}> is not inde:deposit")));
                    }
                    let attr = |k: &str| {
                        e.try_get_attribute(k)
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                    };
                    let id = attr("id").ok_or_else(|| schema("deposit lacks id"))?;
                    if id.is_empty()
                        || id.len() > 13
                        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return Err(schema(format!("deposit id {id:?} is not \\w{{1,13}}")));
                    }
                    let kind = attr("type")
                        .and_then(|t| Kind::parse(&t))
                        .ok_or_else(|| schema("deposit type is FULL or DIFF"))?;
                    let resend = match attr("resend") {
                        None => 0,
                        Some(r) => r.parse().map_err(|_| schema("resend is a number"))?,
                    };
                    meta = Some((id, kind, attr("prevId"), resend));
                }
                if depth == 2 && stack[1].1 == "contents" {
                    if ns == HEADER_NS && name == "header" {
                        if header.is_some() {
                            return Err(schema("more than one header"));
                        }
                        header = Some((String::new(), BTreeMap::new()));
                    } else {
                        *found.entry(ns.clone()).or_default() += 1;
                    }
                }
                if depth == 3
                    && stack[2] == (HEADER_NS.to_owned(), "header".to_owned())
                    && name == "count"
                {
                    count_uri = e
                        .try_get_attribute("uri")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                }
                if depth == 3 && stack[1].1 == "deletes" {
                    deletes += 1;
                }
                stack.push((ns, name));
                text.clear();
            }
            Event::Empty(e) => {
                if stack.len() == 2 && stack[1].1 == "contents" {
                    *found.entry(ns).or_default() += 1;
                }
                drop(e);
            }
            Event::Text(t) => {
                text.push_str(&t.unescape().map_err(|e| schema(e.to_string()))?);
            }
            Event::End(_) => {
                let (ns, name) = stack.pop().ok_or_else(|| schema("stray end tag"))?;
                let value = text.trim().to_owned();
                match (ns.as_str(), name.as_str(), stack.len()) {
                    (INDE_NS, "watermark", 1) => {
                        watermark = Some(
                            parse_rfc3339(&value)
                                .ok_or_else(|| schema(format!("watermark {value:?}")))?,
                        );
                    }
                    (INDE_NS, "version", 2) => version = Some(value),
                    (HEADER_NS, "prefix" | "slnp" | "node", 3) => {
                        if let Some(h) = header.as_mut() {
                            h.0 = value;
                        }
                    }
                    (HEADER_NS, "count", 3) => {
                        let uri = count_uri.take().ok_or_else(|| schema("count lacks uri"))?;
                        let n = value
                            .parse()
                            .map_err(|_| schema(format!("count {value:?}")))?;
                        if let Some(h) = header.as_mut() {
                            if h.1.insert(uri.clone(), n).is_some() {
                                return Err(EscrowError::DuplicateCount(uri));
                            }
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::DocType(_) => return Err(schema("DOCTYPE is not allowed")),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(schema("unclosed element"));
    }
    let (id, kind, prev_id, resend) = meta.ok_or_else(|| schema("no deposit"))?;
    let watermark = watermark.ok_or_else(|| schema("no watermark"))?;
    if version.as_deref() != Some("1.0") {
        return Err(EscrowError::Version(version.unwrap_or_default()));
    }
    if watermark > now + 300 {
        return Err(EscrowError::Future(crate::rfc3339(watermark)));
    }
    if kind == Kind::Diff {
        if prev_id.is_none() {
            return Err(EscrowError::Chain("a DIFF deposit names no prevId".into()));
        }
        if is_sunday(watermark) {
            return Err(EscrowError::SundayDiff);
        }
    }
    let (prefix, counts) = header.ok_or_else(|| schema("no header"))?;
    if prefix.is_empty() {
        return Err(EscrowError::NoPrefix);
    }
    for uri in counts.keys().chain(found.keys()) {
        let (f, h) = (
            found.get(uri).copied().unwrap_or(0),
            counts.get(uri).copied().unwrap_or(0),
        );
        if f != h {
            return Err(EscrowError::CountMismatch {
                uri: uri.clone(),
                found: f,
                header: h,
            });
        }
    }
    Ok(Summary {
        meta: DepositMeta {
            id,
            kind,
            prev_id,
            resend,
            watermark,
            prefix,
        },
        counts,
        deletes,
    })
}
