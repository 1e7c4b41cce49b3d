//! Identifier (handle) syntax and normalisation (SPEC §2).

use std::fmt;
use std::str::FromStr;

use crate::CoreError;

/// Longest identifier accepted, in characters (the national SNMS limit).
pub const MAX_HANDLE_CHARS: usize = 255;
/// Longest prefix accepted, in characters.
pub const MAX_PREFIX_CHARS: usize = 64;
/// The prefix under which prefix handles (`0.NA/88.118.8`) live.
pub const NA_PREFIX: &str = "0.NA";

/// A syntactically valid, normalised handle `prefix/suffix`.
///
/// The prefix is ASCII, dot-separated and stored upper-cased; the suffix keeps its case.
/// Suffixes of prefix handles (`0.NA/…`) are prefixes themselves and are upper-cased too.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    text: String,
    slash: usize,
}

impl Identifier {
    /// Parses and normalises a handle.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let (prefix, suffix) = s
            .split_once('/')
            .ok_or_else(|| CoreError::handle(format!("'{}' has no '/'", truncate(s))))?;
        let prefix = normalize_prefix(prefix)?;
        if suffix.is_empty() {
            return Err(CoreError::handle("empty suffix"));
        }
        if let Some(c) = suffix.chars().find(|c| c.is_control()) {
            return Err(CoreError::handle(format!(
                "suffix contains control character U+{:04X}",
                c as u32
            )));
        }
        let suffix = if prefix == NA_PREFIX {
            normalize_prefix(suffix)?
        } else {
            suffix.to_owned()
        };
        let chars = prefix.len() + 1 + suffix.chars().count();
        if chars > MAX_HANDLE_CHARS {
            return Err(CoreError::handle(format!(
                "handle is {chars} characters long, at most {MAX_HANDLE_CHARS} allowed"
            )));
        }
        let slash = prefix.len();
        let mut text = prefix;
        text.push('/');
        text.push_str(&suffix);
        Ok(Self { text, slash })
    }

    /// The prefix handle `0.NA/<prefix>` of an (already valid) prefix.
    pub fn for_prefix(prefix: &str) -> Result<Self, CoreError> {
        Self::parse(&format!("{NA_PREFIX}/{prefix}"))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The prefix part (upper-cased).
    pub fn prefix(&self) -> &str {
        &self.text[..self.slash]
    }

    /// The suffix part.
    pub fn suffix(&self) -> &str {
        &self.text[self.slash + 1..]
    }

    /// True for prefix handles such as `0.NA/88.118.8`.
    pub fn is_prefix_handle(&self) -> bool {
        self.prefix() == NA_PREFIX
    }

    /// The case-folded form: two identifiers with the same folded form may not coexist.
    pub fn folded(&self) -> String {
        self.text.to_lowercase()
    }

    /// Consumes the identifier, returning its text.
    pub fn into_string(self) -> String {
        self.text
    }
}

/// Validates a prefix (`88.118.8`) and returns it upper-cased.
///
/// Segments are non-empty and made of ASCII letters, digits, `-` and `_`.
pub fn normalize_prefix(p: &str) -> Result<String, CoreError> {
    if p.is_empty() {
        return Err(CoreError::handle("empty prefix"));
    }
    if p.len() > MAX_PREFIX_CHARS {
        return Err(CoreError::handle(format!(
            "prefix is longer than {MAX_PREFIX_CHARS} characters"
        )));
    }
    for seg in p.split('.') {
        if seg.is_empty() {
            return Err(CoreError::handle(format!(
                "prefix '{}' has an empty segment",
                truncate(p)
            )));
        }
        if let Some(c) = seg
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(CoreError::handle(format!(
                "prefix '{}' contains '{}'",
                truncate(p),
                c.escape_default()
            )));
        }
    }
    Ok(p.to_ascii_uppercase())
}

/// True when `prefix` equals `parent` or lies below it (`88.118.8` under `88.118`).
pub fn is_under(prefix: &str, parent: &str) -> bool {
    prefix == parent
        || (prefix.len() > parent.len()
            && prefix.starts_with(parent)
            && prefix.as_bytes()[parent.len()] == b'.')
}

fn truncate(s: &str) -> String {
    s.chars()
        .take(80)
        .flat_map(char::escape_default)
        .collect::<String>()
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Identifier {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Identifier {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn normalises_prefix_keeps_suffix() {
        let id = Identifier::parse("88.118.8/GbX-2026-000123").unwrap();
        assert_eq!(id.as_str(), "88.118.8/GbX-2026-000123");
        let id = Identifier::parse("88.abc.8/x/y").unwrap();
        assert_eq!(id.prefix(), "88.ABC.8");
        assert_eq!(id.suffix(), "x/y");
        let na = Identifier::parse("0.na/88.abc").unwrap();
        assert_eq!(na.as_str(), "0.NA/88.ABC");
        assert!(na.is_prefix_handle());
    }

    #[test]
    fn rejects_bad_handles() {
        for bad in [
            "",
            "noslash",
            "/suffix",
            "88.118/",
            "88..118/x",
            "88.118./x",
            "88 118/x",
            "88.118/a\u{7}b",
            "88.118/a\nb",
            "88.中/x",
            "0.NA/88 1",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("88.118/{}", "x".repeat(249));
        assert!(Identifier::parse(&long).is_err());
        let ok = format!("88.118/{}", "x".repeat(248));
        assert!(Identifier::parse(&ok).is_ok());
        let long_prefix = format!("{}/x", "8".repeat(65));
        assert!(Identifier::parse(&long_prefix).is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        let id = format!("88.118/{}", "标".repeat(248));
        assert!(Identifier::parse(&id).is_ok());
    }

    #[test]
    fn folded_collides_on_case_only() {
        let a = Identifier::parse("88.118/Abc").unwrap();
        let b = Identifier::parse("88.118/aBC").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.folded(), b.folded());
    }

    #[test]
    fn under() {
        assert!(is_under("88.118.8", "88.118"));
        assert!(is_under("88.118", "88.118"));
        assert!(!is_under("88.1180", "88.118"));
        assert!(!is_under("88.11", "88.118"));
    }

    fn prefix_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec("[0-9A-Za-z_-]{1,6}", 1..5).prop_map(|v| v.join("."))
    }

    proptest! {
        #[test]
        fn parse_print_round_trip(p in prefix_strategy(), s in "[^\\p{Cc}]{1,60}") {
            prop_assume!(p.to_ascii_uppercase() != NA_PREFIX);
            let text = format!("{p}/{s}");
            let id = Identifier::parse(&text).unwrap();
            let again = Identifier::parse(id.as_str()).unwrap();
            prop_assert_eq!(&again, &id);
            prop_assert_eq!(id.prefix(), p.to_ascii_uppercase());
            prop_assert_eq!(id.suffix(), s.as_str());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = Identifier::parse(&s);
        }
    }
}
