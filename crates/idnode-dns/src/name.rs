//! The identifier ↔ DNS name mapping (SPEC §6), free of I/O.
//!
//! `88.118.8/GBX-1` is `GBX-1.8.118.88.<zone>`: the prefix's segments in reverse order,
//! the suffix as the leftmost label. A suffix that is not one plain LDH label (letters,
//! digits, inner hyphens, at most 63 octets, not of the reserved `??--` form) is written as
//! `h--` followed by the RFC 4648 base32hex form (lower case, unpadded) of its UTF-8 bytes,
//! cut into labels of at most 60 characters, each starting with `h--`; `88.118.8/a b` is
//! `h--c4g64.8.118.88.<zone>`.
//!
//! Names are case-insensitive, suffixes are not: a plain-label suffix is looked up by its
//! folded form, which is unambiguous because the registry refuses handles that differ from
//! an existing one only by case. Base32hex keeps the exact bytes (and decodes in either
//! case). Prefix segments beginning with `_` or `h--` cannot be reached by name.

use data_encoding::BASE32HEX_NOPAD;
pub use hickory_proto::rr::Name;
use idnode_core::{normalize_prefix, Identifier};

/// Marks a label carrying encoded suffix bytes.
const ENCODED: &str = "h--";
/// Base32hex characters per encoded label (63 minus the marker).
const CHUNK: usize = 60;

/// What the labels below the zone denote, before the store is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The zone apex.
    Apex,
    /// `_service._proto.<prefix>`: where a prefix is served (SRV).
    Service {
        /// `_handle`, `_http`, …
        service: String,
        /// `_tcp` or `_udp`.
        proto: String,
        /// The prefix.
        prefix: String,
    },
    /// An identifier, or (when `prefix` is set) possibly the prefix the whole name spells.
    Leaf {
        /// The identifier the labels spell, if they spell one.
        identifier: Option<Identifier>,
        /// The prefix all the labels spell, if they spell one (`8.118.88` → `88.118.8`).
        prefix: Option<String>,
    },
}

/// Why labels do not name anything this node could hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The labels spell neither an identifier nor a prefix.
    #[error("no identifier or prefix has this name")]
    NoSuch,
}

fn is_plain_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !(b.len() >= 4 && b[2] == b'-' && b[3] == b'-')
}

/// The labels below the zone (leftmost first) naming `id`, or None when the identifier has
/// no name (a prefix segment that is not a label, or a name too long for the DNS).
pub fn identifier_labels(id: &Identifier) -> Option<Vec<String>> {
    let mut labels = Vec::new();
    let suffix = id.suffix();
    if is_plain_label(suffix) {
        labels.push(suffix.to_owned());
    } else {
        let enc = BASE32HEX_NOPAD
            .encode(suffix.as_bytes())
            .to_ascii_lowercase();
        for chunk in enc.as_bytes().chunks(CHUNK) {
            let chunk = std::str::from_utf8(chunk).expect("base32hex is ASCII");
            labels.push(format!("{ENCODED}{chunk}"));
        }
        if enc.is_empty() {
            return None;
        }
    }
    labels.extend(prefix_labels(id.prefix())?);
    // Wire length: one length octet per label plus the labels; the zone needs room too.
    let len: usize = labels.iter().map(|l| l.len() + 1).sum();
    (len < 255).then_some(labels)
}

/// The labels (leftmost first) naming prefix `p` (`88.118.8` → `8`, `118`, `88`).
pub fn prefix_labels(p: &str) -> Option<Vec<String>> {
    p.split('.')
        .rev()
        .map(|s| {
            (s.len() <= 63 && !s.starts_with('_') && !s.starts_with(ENCODED))
                .then(|| s.to_ascii_lowercase())
        })
        .collect()
}

fn prefix_of(labels: &[&str]) -> Option<String> {
    if labels.is_empty() {
        return None;
    }
    let joined = labels.iter().rev().copied().collect::<Vec<_>>().join(".");
    normalize_prefix(&joined).ok()
}

/// Reads the labels below the zone (leftmost first, as sent).
pub fn parse(labels: &[&str]) -> Result<Owner, NameError> {
    if labels.is_empty() {
        return Ok(Owner::Apex);
    }
    if labels.len() >= 3 && labels[0].starts_with('_') && labels[1].starts_with('_') {
        let prefix = prefix_of(&labels[2..]).ok_or(NameError::NoSuch)?;
        return Ok(Owner::Service {
            service: labels[0].to_ascii_lowercase(),
            proto: labels[1].to_ascii_lowercase(),
            prefix,
        });
    }
    let encoded = labels
        .iter()
        .take_while(|l| {
            l.len() > ENCODED.len() && l.as_bytes()[..3].eq_ignore_ascii_case(ENCODED.as_bytes())
        })
        .count();
    if encoded > 0 {
        let text: String = labels[..encoded]
            .iter()
            .map(|l| l[3..].to_ascii_uppercase())
            .collect();
        let bytes = BASE32HEX_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| NameError::NoSuch)?;
        let suffix = String::from_utf8(bytes).map_err(|_| NameError::NoSuch)?;
        let prefix = prefix_of(&labels[encoded..]).ok_or(NameError::NoSuch)?;
        let id = Identifier::parse(&format!("{prefix}/{suffix}")).map_err(|_| NameError::NoSuch)?;
        return Ok(Owner::Leaf {
            identifier: Some(id),
            prefix: None,
        });
    }
    let identifier = if is_plain_label(labels[0]) {
        prefix_of(&labels[1..]).and_then(|p| Identifier::parse(&format!("{p}/{}", labels[0])).ok())
    } else {
        None
    };
    let prefix = prefix_of(labels);
    if identifier.is_none() && prefix.is_none() {
        return Err(NameError::NoSuch);
    }
    Ok(Owner::Leaf { identifier, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> Identifier {
        Identifier::parse(s).unwrap()
    }

    fn roundtrip(s: &str) -> Identifier {
        let labels = identifier_labels(&id(s)).expect("has a name");
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        match parse(&refs).unwrap() {
            Owner::Leaf {
                identifier: Some(i),
                ..
            } => i,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_suffixes_are_one_label_under_the_reversed_prefix() {
        assert_eq!(
            identifier_labels(&id("88.118.8/GBX-2026-000123")).unwrap(),
            ["GBX-2026-000123", "8", "118", "88"]
        );
        assert_eq!(roundtrip("88.118.8/GBX-1").as_str(), "88.118.8/GBX-1");
    }

    #[test]
    fn other_suffixes_are_encoded_and_come_back_exactly() {
        let l = identifier_labels(&id("88.118.8/a b")).unwrap();
        assert_eq!(l[0], "h--c4g64");
        for s in [
            "88.118.8/a b",
            "88.118.8/x.y/z",
            "88.118.8/产品-1",
            "88.118.8/-lead",
            "88.118.8/ab--cd",
            "88.118.8/_svc",
        ] {
            assert_eq!(roundtrip(s).as_str(), s);
        }
        // Long suffixes take several labels.
        let long = format!("88.118.8/{}", "é".repeat(60));
        let labels = identifier_labels(&id(&long)).unwrap();
        assert!(labels.iter().take_while(|l| l.starts_with("h--")).count() > 1);
        assert!(labels.iter().all(|l| l.len() <= 63));
        assert_eq!(roundtrip(&long).as_str(), long);
    }

    #[test]
    fn names_too_long_for_the_dns_have_none() {
        let s = format!("88.118.8/{}", "\u{4e00}".repeat(80));
        assert_eq!(identifier_labels(&id(&s)), None);
    }

    #[test]
    fn apex_services_and_prefix_names() {
        assert_eq!(parse(&[]).unwrap(), Owner::Apex);
        assert_eq!(
            parse(&["_handle", "_tcp", "8", "118", "88"]).unwrap(),
            Owner::Service {
                service: "_handle".into(),
                proto: "_tcp".into(),
                prefix: "88.118.8".into()
            }
        );
        // `8.118.88` spells the prefix 88.118.8 and the identifier 88.118/8.
        assert_eq!(
            parse(&["8", "118", "88"]).unwrap(),
            Owner::Leaf {
                identifier: Some(id("88.118/8")),
                prefix: Some("88.118.8".into())
            }
        );
        assert_eq!(parse(&["h--zz!", "88"]), Err(NameError::NoSuch));
        assert_eq!(parse(&["a b"]), Err(NameError::NoSuch));
        // Found by fuzzing: a multi-byte character where the marker would end.
        assert_eq!(parse(&["h-ќ4g65", "88"]), Err(NameError::NoSuch));
    }

    proptest! {
        #[test]
        fn every_named_identifier_comes_back(suffix in "[^\\p{Cc}]{1,40}") {
            if let Ok(i) = Identifier::parse(&format!("88.118.8/{suffix}")) {
                if let Some(labels) = identifier_labels(&i) {
                    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                    let back = match parse(&refs).unwrap() {
                        Owner::Leaf { identifier: Some(b), .. } => b,
                        other => panic!("{other:?}"),
                    };
                    // Plain labels come back up to case (looked up folded); encoded exactly.
                    prop_assert_eq!(back.folded(), i.folded());
                }
            }
        }

        #[test]
        fn parsing_never_panics(labels in proptest::collection::vec("[a-zA-Z0-9_-]{0,70}", 0..6)) {
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let _ = parse(&refs);
        }
    }
}
