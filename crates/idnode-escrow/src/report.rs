//! The deposit report (`indeReport:report`), sent with each deposit to the escrow agent and
//! to the top-level node's report interface.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::{
    parse_rfc3339, rfc3339, EscrowError, Kind, HEADER_NS, REPORT_NS, SPEC_ESCROW, SPEC_MAPPING,
};

/// A deposit report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The deposit's id.
    pub id: String,
    /// Its resend count.
    pub resend: u16,
    /// When the deposit was made, unix seconds.
    pub created: i64,
    /// Full or differential.
    pub kind: Kind,
    /// Watermark, unix seconds.
    pub watermark: i64,
    /// The node's prefix.
    pub prefix: String,
    /// Object counts per namespace URI.
    pub counts: Vec<(String, u64)>,
}

/// The report as XML.
pub fn report_xml(r: &Report) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><indeReport:report xmlns:indeReport="{REPORT_NS}" xmlns:indeHeader="{HEADER_NS}"><indeReport:id>{}</indeReport:id><indeReport:version>1</indeReport:version><indeReport:indeSpecEscrow>{SPEC_ESCROW}</indeReport:indeSpecEscrow><indeReport:indeSpecMapping>{SPEC_MAPPING}</indeReport:indeSpecMapping><indeReport:resend>{}</indeReport:resend><indeReport:crDate>{}</indeReport:crDate><indeReport:kind>{}</indeReport:kind><indeReport:watermark>{}</indeReport:watermark><indeHeader:header><indeHeader:prefix>{}</indeHeader:prefix>"#,
        escape(&r.id),
        r.resend,
        rfc3339(r.created),
        r.kind.as_str(),
        rfc3339(r.watermark),
        escape(&r.prefix)
    );
    for (uri, n) in &r.counts {
        s.push_str(&format!(
            r#"<indeHeader:count uri="{}">{n}</indeHeader:count>"#,
            escape(uri)
        ));
    }
    s.push_str("</indeHeader:header></indeReport:report>");
    s
}

/// Parses and checks a report: version 1, dates, a header prefix, each URI counted once.
pub fn parse_report(xml: &[u8]) -> Result<Report, EscrowError> {
    let schema = |m: String| EscrowError::Schema(m);
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut fields = std::collections::HashMap::new();
    let mut counts: Vec<(String, u64)> = Vec::new();
    let mut uri = None;
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| schema(e.to_string()))?
        {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() && name != "report" {
                    return Err(schema(format!("root <{name}> is not a report")));
                }
                if name == "count" {
                    uri = e
                        .try_get_attribute("uri")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.unescape().map_err(|e| schema(e.to_string()))?),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let value = text.trim().to_owned();
                if name == "count" {
                    let u = uri.take().ok_or_else(|| schema("count lacks uri".into()))?;
                    if counts.iter().any(|(x, _)| *x == u) {
                        return Err(EscrowError::DuplicateCount(u));
                    }
                    let n = value
                        .parse()
                        .map_err(|_| schema(format!("count {value:?}")))?;
                    counts.push((u, n));
                } else if path.len() <= 2 {
                    fields.insert(name, value);
                }
                text.clear();
            }
            Event::DocType(_) => return Err(schema("DOCTYPE is not allowed".into())),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if get("version") != "1" {
        return Err(EscrowError::Version(get("version")));
    }
    let date = |k: &str| parse_rfc3339(&get(k)).ok_or_else(|| schema(format!("{k} {:?}", get(k))));
    let prefix = get("prefix");
    if prefix.is_empty() {
        return Err(EscrowError::NoPrefix);
    }
    Ok(Report {
        id: get("id"),
        resend: get("resend").parse().unwrap_or(0),
        created: date("crDate")?,
        kind: Kind::parse(&get("kind")).ok_or_else(|| schema("kind is FULL or DIFF".into()))?,
        watermark: date("watermark")?,
        prefix,
        counts,
    })
}
