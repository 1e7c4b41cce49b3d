//! The kinds of value a template item may require, and the check of one text against a kind.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use idnode_core::gs1::gs1_check_digit_ok;

/// A template item's kind (`metadata.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any text (SNMS's only kind).
    #[default]
    String,
    /// A decimal number (`-12.5`, `3e2`).
    Number,
    /// A whole number in the 64-bit range.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 date and time with offset, `2026-12-04T08:00:00+08:00`.
    Datetime,
    /// An absolute URL with a scheme and (for http/https) a host.
    Url,
    /// An e-mail address.
    Email,
    /// One of the item's listed `values`.
    Enum,
    /// A registered identifier (`prefix/suffix`), optionally under given prefixes.
    Reference,
    /// A GS1 key whose check digit is right (GTIN, GLN, SSCC …).
    Gs1,
    /// A JSON document.
    Json,
}

impl Kind {
    /// The kind's name as written in templates.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Url => "url",
            Self::Email => "email",
            Self::Enum => "enum",
            Self::Reference => "reference",
            Self::Gs1 => "gs1",
            Self::Json => "json",
        }
    }

    /// Whether numeric ranges apply to the kind.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Number | Self::Integer)
    }

    /// Checks `text` is of this kind: `Err` says what was expected; `Ok` carries the number
    /// for numeric kinds. Enum membership and reference targets are checked by the caller.
    pub(crate) fn accept(self, text: &str) -> Result<Option<f64>, &'static str> {
        let ok = match self {
            Self::String | Self::Enum => true,
            Self::Number => return number(text).map(Some).ok_or("a decimal number"),
            Self::Integer => {
                return text
                    .parse::<i64>()
                    .ok()
                    .filter(|_| !text.starts_with('+'))
                    .map(|n| Some(n as f64))
                    .ok_or("a whole number")
            }
            Self::Boolean => matches!(text, "true" | "false"),
            Self::Date => {
                time::Date::parse(text, format_description!("[year]-[month]-[day]")).is_ok()
            }
            Self::Datetime => time::OffsetDateTime::parse(text, &Rfc3339).is_ok(),
            Self::Url => url_ok(text),
            Self::Email => email_ok(text),
            Self::Reference => idnode_core::Identifier::parse(text).is_ok(),
            Self::Gs1 => gs1_check_digit_ok(text),
            Self::Json => serde_json::from_str::<serde_json::Value>(text).is_ok(),
        };
        if ok {
            Ok(None)
        } else {
            Err(self.expected())
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Self::Boolean => "true or false",
            Self::Date => "a date YYYY-MM-DD",
            Self::Datetime => "an RFC 3339 date and time",
            Self::Url => "an absolute URL",
            Self::Email => "an e-mail address",
            Self::Reference => "an identifier prefix/suffix",
            Self::Gs1 => "a GS1 key with a valid check digit",
            Self::Json => "a JSON document",
            _ => "text",
        }
    }
}

/// A finite decimal number in JSON's syntax (no `inf`, `NaN`, hex or leading `+`).
fn number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    let n: f64 = text.parse().ok().filter(|_| plain)?;
    n.is_finite().then_some(n)
}

fn url_ok(text: &str) -> bool {
    match url::Url::parse(text) {
        Ok(u) => !matches!(u.scheme(), "http" | "https") || u.host().is_some(),
        Err(_) => false,
    }
}

/// `local@domain`: a non-empty local part of printable ASCII without spaces, and a domain of
/// at least two dot-separated labels of letters, digits and hyphens.
fn email_ok(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'@' | b'"' | b'(' | b')' | b',' | b';' | b'<' | b'>' | b'[' | b']' | b'\\'
                )
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_takes_its_form_and_refuses_others() {
        let cases: &[(Kind, &[&str], &[&str])] = &[
            (
                Kind::Number,
                &["0", "-12.5", "3e2", "1E-3"],
                &["", "+1", "inf", "NaN", "0x10", "1,5", "1e999"],
            ),
            (
                Kind::Integer,
                &["0", "-42", "9223372036854775807"],
                &["1.0", "+1", "9223372036854775808", ""],
            ),
            (Kind::Boolean, &["true", "false"], &["True", "1", ""]),
            (
                Kind::Date,
                &["2026-12-04", "2024-02-29"],
                &["2026-13-01", "2023-02-29", "2026-1-4", "20261204"],
            ),
            (
                Kind::Datetime,
                &["2026-12-04T08:00:00+08:00", "2026-12-04T00:00:00Z"],
                &["2026-12-04", "2026-12-04 08:00:00"],
            ),
            (
                Kind::Url,
                &["https://a.example/x?y=1", "urn:isbn:0451450523"],
                &["a.example", "https://", "/path"],
            ),
            (
                Kind::Email,
                &["qa@gearbox.example.cn", "a.b+c@x.io"],
                &["a@b", "@x.io", "a b@x.io", "a@-x.io", "a@x..io"],
            ),
            (Kind::Reference, &["88.118.8/GBX-1"], &["GBX-1", "/x", ""]),
            (Kind::Gs1, &["4006381333931"], &["4006381333932", "abc"]),
            (Kind::Json, &["{\"a\":1}", "[1,2]", "3"], &["{a:1}", ""]),
        ];
        for (kind, good, bad) in cases {
            for t in *good {
                assert!(kind.accept(t).is_ok(), "{kind:?} should take {t:?}");
            }
            for t in *bad {
                assert!(kind.accept(t).is_err(), "{kind:?} should refuse {t:?}");
            }
        }
        assert_eq!(Kind::Integer.accept("-42"), Ok(Some(-42.0)));
        assert_eq!(Kind::Number.accept("2.5"), Ok(Some(2.5)));
    }
}
