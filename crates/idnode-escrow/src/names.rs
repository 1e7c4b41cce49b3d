//! File names: `{prefix}_{YYYY-MM-DD}_{full|diff}_S{n}_R{rev}.{inde|sig}` and
//! `{prefix}_{YYYY-MM-DD}_{full|diff}_R{rev}.rep` (reports have no series number).

use crate::{EscrowError, Kind};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The processed (gzip-compressed) deposit.
    Data,
    /// The detached signature of the data file.
    Signature,
    /// The report.
    Report,
}

impl FileKind {
    fn ext(self) -> &'static str {
        match self {
            Self::Data => "inde",
            Self::Signature => "sig",
            Self::Report => "rep",
        }
    }
}

/// A deposit file's name, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositFile {
    /// The node's prefix.
    pub prefix: String,
    /// Watermark date, `YYYY-MM-DD`.
    pub date: String,
    /// Full or differential.
    pub kind: Kind,
    /// Position in a series (1 for a single file); none for reports.
    pub series: Option<u32>,
    /// Revision (resend).
    pub rev: u16,
    /// What it holds.
    pub file: FileKind,
}

impl DepositFile {
    /// The file name.
    pub fn name(&self) -> String {
        let series = self.series.map(|n| format!("_S{n}")).unwrap_or_default();
        format!(
            "{}_{}_{}{series}_R{}.{}",
            self.prefix,
            self.date,
            self.kind.file_str(),
            self.rev,
            self.file.ext()
        )
    }
}

/// Parses a file name of the draft's form.
pub fn parse_file_name(name: &str) -> Result<DepositFile, EscrowError> {
    let bad = || EscrowError::Name(name.to_owned());
    let (stem, ext) = name.rsplit_once('.').ok_or_else(bad)?;
    let file = match ext {
        "inde" => FileKind::Data,
        "sig" => FileKind::Signature,
        "rep" => FileKind::Report,
        _ => return Err(bad()),
    };
    let parts: Vec<&str> = stem.split('_').collect();
    let (prefix, date, kind, rest) = match parts.as_slice() {
        [p, d, k, rest @ ..] => (*p, *d, *k, rest),
        _ => return Err(bad()),
    };
    let num = |s: &str, tag: char| s.strip_prefix(tag).and_then(|n| n.parse::<u32>().ok());
    let (series, rev) = match (rest, file) {
        ([s, r], FileKind::Data | FileKind::Signature) => (Some(num(s, 'S').ok_or_else(bad)?), *r),
        ([r], FileKind::Report) => (None, *r),
        _ => return Err(bad()),
    };
    let ok_prefix = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.');
    let ok_date = date.len() == 10 && crate::parse_rfc3339(&format!("{date}T00:00:00Z")).is_some();
    if !ok_prefix || !ok_date {
        return Err(bad());
    }
    Ok(DepositFile {
        prefix: prefix.to_owned(),
        date: date.to_owned(),
        kind: Kind::parse(kind).ok_or_else(bad)?,
        series,
        rev: u16::try_from(num(rev, 'R').ok_or_else(bad)?).map_err(|_| bad())?,
        file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let f = DepositFile {
            prefix: "88.118".into(),
            date: "2026-11-29".into(),
            kind: Kind::Full,
            series: Some(1),
            rev: 0,
            file: FileKind::Data,
        };
        assert_eq!(f.name(), "88.118_2026-11-29_full_S1_R0.inde");
        assert_eq!(parse_file_name(&f.name()).unwrap(), f);
        let rep = DepositFile {
            series: None,
            file: FileKind::Report,
            kind: Kind::Diff,
            rev: 2,
            ..f
        };
        assert_eq!(rep.name(), "88.118_2026-11-29_diff_R2.rep");
        assert_eq!(parse_file_name(&rep.name()).unwrap(), rep);
        for bad in [
            "x.inde",
            "88.118_2026-13-01_full_S1_R0.inde",
            "88.118_2026-11-29_half_S1_R0.inde",
            "88.118_2026-11-29_full_R0.inde",
            "../x_2026-11-29_full_S1_R0.inde",
            "88.118_2026-11-29_full_S1_R0.exe",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad}");
        }
    }
}
