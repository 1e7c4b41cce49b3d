//! Data escrow as the CAICT drafts describe it (draft-industrial-internet-identifier-data-
//! escrow, draft-wu-identifier-data-escrow-interface, draft-wu-identifier-sln-objects-
//! mapping): the `inde` deposit container with `indeNode` objects (the secondary node and
//! its enterprises) and `indeHeader` counts, plus idnode's profile object `idnh:handle` for
//! identifiers; the `indeReport` report; file naming; gzip compression; detached ECDSA P-256
//! / SHA-256 signatures.
//!
//! Writing streams (a full deposit of tens of millions of identifiers never sits in memory);
//! verification streams too, and checks what the escrow agent must: well-formed, object
//! counts equal to the header's, watermark not in the future, a DIFF names its predecessor
//! and is not dated Sunday.

mod error;
mod names;
mod report;
mod sign;
mod verify;
mod write;

pub use error::EscrowError;
pub use names::{parse_file_name, DepositFile, FileKind};
pub use report::{parse_report, report_xml, Report};
pub use sign::{check_public_key, public_key_of, sign, verify_signature, SigningKey};
pub use verify::{verify_deposit, Summary};
pub use write::{Contact, DepositWriter, HandleObject, NodeObject};

/// The deposit container namespace.
pub const INDE_NS: &str = "urn:ietf:params:xml:ns:inde-1.0";
/// Node objects (secondary node, enterprise nodes).
pub const NODE_NS: &str = "urn:ietf:params:xml:ns:indeNode-1.0";
/// The header pseudo-object.
pub const HEADER_NS: &str = "urn:ietf:params:xml:ns:indeHeader-1.0";
/// The report.
pub const REPORT_NS: &str = "urn:ietf:params:xml:ns:indeReport-1.0";
/// idnode's profile object for identifiers (handles with their values).
pub const HANDLE_NS: &str = "urn:idnode:params:xml:ns:indeHandle-1.0";
/// The escrow specification named in reports.
pub const SPEC_ESCROW: &str = "draft-industrial-internet-identifier-data-escrow-03";
/// The objects mapping named in reports.
pub const SPEC_MAPPING: &str = "draft-wu-identifier-sln-objects-mapping-04";

/// Full or differential deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The whole state at the watermark.
    Full,
    /// Changes since the previous deposit.
    Diff,
}

impl Kind {
    /// `FULL` / `DIFF` (deposit and report form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Diff => "DIFF",
        }
    }

    /// `full` / `diff` (file name form).
    pub fn file_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diff => "diff",
        }
    }

    /// From either form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "FULL" | "full" => Some(Self::Full),
            "DIFF" | "diff" => Some(Self::Diff),
            _ => None,
        }
    }
}

/// What identifies a deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositMeta {
    /// Deposit id (`\w{1,13}`), unique per node.
    pub id: String,
    /// Full or differential.
    pub kind: Kind,
    /// The previous deposit (required for DIFF).
    pub prev_id: Option<String>,
    /// Regeneration count for the same date.
    pub resend: u16,
    /// Watermark, unix seconds (00:00:00 UTC of the deposit's day).
    pub watermark: i64,
    /// The secondary node's prefix.
    pub prefix: String,
}

/// RFC 3339 UTC text of unix seconds.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Unix seconds of RFC 3339 text.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// Whether the day of `secs` (UTC) is a Sunday, when a FULL deposit is due.
pub fn is_sunday(secs: i64) -> bool {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .is_ok_and(|t| t.weekday() == time::Weekday::Sunday)
}

/// `YYYY-MM-DD` of unix seconds (UTC).
pub fn date_of(secs: i64) -> String {
    rfc3339(secs).get(..10).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests;
