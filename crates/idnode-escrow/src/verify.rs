//! Streaming deposit verification (what the escrow agent checks).

use std::collections::BTreeMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
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

/// The root element's attributes: id, kind, prevId, resend.
type Root = (String, Kind, Option<String>, u16);

/// What has been read of a deposit so far.
#[derive(Default)]
struct Scan {
    /// (namespace, local name) of the open elements.
    stack: Vec<(String, String)>,
    text: String,
    root: Option<Root>,
    watermark: Option<i64>,
    version: Option<String>,
    /// Objects found per namespace.
    found: BTreeMap<String, u64>,
    /// The header: its prefix and counts.
    header: Option<(String, BTreeMap<String, u64>)>,
    count_uri: Option<String>,
    deletes: u64,
}

/// An attribute of `e`, unescaped.
fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.try_get_attribute(key)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The root `inde:deposit` element's attributes.
fn root(ns: &str, name: &str, e: &BytesStart<'_>) -> Result<Root, EscrowError> {
    if ns != INDE_NS || name != "deposit" {
        return Err(schema(format!("root <{name}> is not inde:deposit")));
    }
    let id = attribute(e, "id").ok_or_else(|| schema("deposit lacks id"))?;
    if id.is_empty() || id.len() > 13 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(schema(format!("deposit id {id:?} is not \\w{{1,13}}")));
    }
    let kind = attribute(e, "type")
        .and_then(|t| Kind::parse(&t))
        .ok_or_else(|| schema("deposit type is FULL or DIFF"))?;
    let resend = match attribute(e, "resend") {
        None => 0,
        Some(r) => r.parse().map_err(|_| schema("resend is a number"))?,
    };
    Ok((id, kind, attribute(e, "prevId"), resend))
}

impl Scan {
    /// An element opens.
    fn start(&mut self, ns: String, e: &BytesStart<'_>) -> Result<(), EscrowError> {
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let depth = self.stack.len();
        if depth == 0 {
            self.root = Some(root(&ns, &name, e)?);
        }
        if depth == 2 && self.stack[1].1 == "contents" {
            if ns == HEADER_NS && name == "header" {
                if self.header.is_some() {
                    return Err(schema("more than one header"));
                }
                self.header = Some((String::new(), BTreeMap::new()));
            } else {
                *self.found.entry(ns.clone()).or_default() += 1;
            }
        }
        if depth == 3
            && self.stack[2] == (HEADER_NS.to_owned(), "header".to_owned())
            && name == "count"
        {
            self.count_uri = attribute(e, "uri");
        }
        if depth == 3 && self.stack[1].1 == "deletes" {
            self.deletes += 1;
        }
        self.stack.push((ns, name));
        self.text.clear();
        Ok(())
    }

    /// The open element closes.
    fn end(&mut self) -> Result<(), EscrowError> {
        let (ns, name) = self.stack.pop().ok_or_else(|| schema("stray end tag"))?;
        let value = self.text.trim().to_owned();
        match (ns.as_str(), name.as_str(), self.stack.len()) {
            (INDE_NS, "watermark", 1) => {
                self.watermark = Some(
                    parse_rfc3339(&value).ok_or_else(|| schema(format!("watermark {value:?}")))?,
                );
            }
            (INDE_NS, "version", 2) => self.version = Some(value),
            (HEADER_NS, "prefix" | "slnp" | "node", 3) => {
                if let Some(h) = self.header.as_mut() {
                    h.0 = value;
                }
            }
            (HEADER_NS, "count", 3) => {
                let uri = self
                    .count_uri
                    .take()
                    .ok_or_else(|| schema("count lacks uri"))?;
                let n = value
                    .parse()
                    .map_err(|_| schema(format!("count {value:?}")))?;
                if let Some(h) = self.header.as_mut() {
                    if h.1.insert(uri.clone(), n).is_some() {
                        return Err(EscrowError::DuplicateCount(uri));
                    }
                }
            }
            _ => {}
        }
        self.text.clear();
        Ok(())
    }

    /// The document is read: checks what the whole must satisfy.
    fn finish(self, now: i64) -> Result<Summary, EscrowError> {
        if !self.stack.is_empty() {
            return Err(schema("unclosed element"));
        }
        let (id, kind, prev_id, resend) = self.root.ok_or_else(|| schema("no deposit"))?;
        let watermark = self.watermark.ok_or_else(|| schema("no watermark"))?;
        if self.version.as_deref() != Some("1.0") {
            return Err(EscrowError::Version(self.version.unwrap_or_default()));
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
        let (prefix, counts) = self.header.ok_or_else(|| schema("no header"))?;
        if prefix.is_empty() {
            return Err(EscrowError::NoPrefix);
        }
        for uri in counts.keys().chain(self.found.keys()) {
            let (f, h) = (
                self.found.get(uri).copied().unwrap_or(0),
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
            deletes: self.deletes,
        })
    }
}

/// Reads and checks a deposit (uncompressed XML) from `r`. `now` (unix seconds) bounds the
/// watermark.
pub fn verify_deposit(r: impl BufRead, now: i64) -> Result<Summary, EscrowError> {
    let mut reader = NsReader::from_reader(r);
    let mut buf = Vec::new();
    let mut scan = Scan::default();
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| schema(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) => scan.start(ns, &e)?,
            Event::Empty(_) if scan.stack.len() == 2 && scan.stack[1].1 == "contents" => {
                *scan.found.entry(ns).or_default() += 1;
            }
            Event::Text(t) => {
                scan.text
                    .push_str(&t.unescape().map_err(|e| schema(e.to_string()))?);
            }
            Event::End(_) => scan.end()?,
            Event::DocType(_) => return Err(schema("DOCTYPE is not allowed")),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    scan.finish(now)
}
