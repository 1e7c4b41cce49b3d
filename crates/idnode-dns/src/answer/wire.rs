//! The byte-level side of answering: FORMERR and "slip" replies built from the query's own
//! bytes, the question section as sent, and the TXT form of an identifier's values with the
//! fast path that answers the commonest query from it without building records.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use idnode_core::{HandleValue, Ttl};

use super::{Facts, Owner, Prepared, Responder, Transport, MAX_UDP_PAYLOAD, PLAIN_UDP_PAYLOAD};

/// Longest character-string in a TXT record.
const TXT_STRING: usize = 255;

/// A value as TXT character-strings: `index type data`, data as text when it is printable
/// UTF-8 and as `base64:…` otherwise, cut at 255 octets (on character boundaries).
pub(super) fn txt_strings(v: &HandleValue) -> Vec<String> {
    let data = match std::str::from_utf8(&v.data) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("base64:{}", data_encoding::BASE64.encode(&v.data)),
    };
    let text = format!("{} {} {}", v.index, v.type_name, data);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(TXT_STRING);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(rest[..cut].to_owned());
        rest = &rest[cut..];
    }
    out
}

/// FORMERR for bytes that did not parse: the id and opcode echoed when the header is
/// there, nothing otherwise (and nothing for responses, to avoid loops).
pub(super) fn formerr(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 12 || bytes[2] & 0x80 != 0 {
        return Vec::new();
    }
    let mut out = vec![0u8; 12];
    out[..2].copy_from_slice(&bytes[..2]);
    out[2] = 0x80 | (bytes[2] & 0x78);
    out[3] = ResponseCode::FormErr.low();
    out
}

/// Where the question section of a query ends, when the query has exactly one question
/// with an uncompressed name of at most 255 octets.
fn question_end(query: &[u8]) -> Option<usize> {
    if query.get(4..6)? != [0, 1] {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len & 0xC0 != 0 {
            return None;
        }
        at += 1 + len;
        if at - 12 > 255 {
            return None;
        }
        if len == 0 {
            break;
        }
    }
    (at + 4 <= query.len()).then_some(at + 4)
}

/// The question section of a query, as [`question_end`] finds it.
pub(super) fn question_bytes(query: &[u8]) -> Option<Vec<u8>> {
    Some(query[12..question_end(query)?].to_vec())
}

/// The TXT form of an entry's values: their count (u16) and their TXT records as
/// answer-section bytes, each owner a pointer to the question name (offset 12); None when
/// a TTL depends on the time (absolute TTLs) or there are no values.
pub(crate) fn txt_form(values: &[HandleValue]) -> Option<Vec<u8>> {
    if values.is_empty() {
        return None;
    }
    let mut out = u16::try_from(values.len()).ok()?.to_be_bytes().to_vec();
    for v in values {
        let Ttl::Relative(ttl) = v.ttl else {
            return None;
        };
        out.extend_from_slice(&[0xC0, 0x0C, 0, 16, 0, 1]);
        out.extend_from_slice(&ttl.to_be_bytes());
        let strings = txt_strings(v);
        let len: usize = strings.iter().map(|s| s.len() + 1).sum();
        out.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
        for st in strings {
            out.push(u8::try_from(st.len()).ok()?);
            out.extend_from_slice(st.as_bytes());
        }
    }
    Some(out)
}

impl Responder {
    /// The commonest answer, built from the entry's TXT form instead of records: a
    /// TXT (or ANY) query for an existing identifier outside any delegation, the question
    /// copied as sent. The same bytes the general path builds (unit-tested); None when any
    /// of that does not hold or the answer would not fit.
    pub(super) fn txt_fast(&self, p: &Prepared, facts: &Facts) -> Option<Vec<u8>> {
        let question = p.question.as_ref()?;
        facts.entry.as_ref()?;
        let Owner::Leaf {
            identifier: Some(id),
            prefix,
        } = &p.owner
        else {
            return None;
        };
        if !matches!(p.query.query_type(), RecordType::TXT)
            || p.request.metadata.checking_disabled
            || self.delegation(id.prefix()).is_some()
            || prefix
                .as_deref()
                .is_some_and(|pre| self.delegation(pre).is_some())
        {
            return None;
        }
        let (count, records) = facts.txt.as_deref()?.split_at_checked(2)?;
        let edns = p.request.edns.as_ref();
        let limit = match (p.transport, edns) {
            (Transport::Tcp, _) => usize::from(u16::MAX),
            (Transport::Udp, Some(e)) => usize::from(e.max_payload().clamp(512, MAX_UDP_PAYLOAD)),
            (Transport::Udp, None) => PLAIN_UDP_PAYLOAD,
        };
        let len = 12 + question.len() + records.len() + if edns.is_some() { 11 } else { 0 };
        if len > limit {
            return None;
        }
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&p.request.metadata.id.to_be_bytes());
        out.push(0x84 | u8::from(p.request.metadata.recursion_desired));
        out.push(0);
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(count);
        out.extend_from_slice(&[0, 0, 0, u8::from(edns.is_some())]);
        out.extend_from_slice(question);
        out.extend_from_slice(records);
        if edns.is_some() {
            out.extend_from_slice(&[0, 0, 41]);
            out.extend_from_slice(&MAX_UDP_PAYLOAD.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        Some(out)
    }
}

/// The answer to a query from a client over its response rate: the query's header and
/// question with QR and TC set and no records, so a real client retries over TCP while a
/// spoofed flood gets nothing bigger than it sent (the "slip" of response rate limiting). None
/// when the query has no readable single question (such packets are dropped).
pub fn slip(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    let end = question_end(query)?;
    let mut out = query[..end].to_vec();
    out[2] = 0x80 | (query[2] & 0x79) | 0x02;
    out[3] = 0;
    out[6..12].fill(0);
    Some(out)
}
