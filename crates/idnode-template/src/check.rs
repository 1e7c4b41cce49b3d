//! Checking one identifier's values against a compiled template.

use std::collections::HashMap;

use idnode_core::{is_under, HandleValue};
use serde::Serialize;

use crate::define::compile;
use crate::{ItemState, Kind, Template, TemplateError, FIRST_ITEM_INDEX};

/// Longest excerpt of a value quoted in a violation.
const QUOTE_CHARS: usize = 200;

/// Which rule a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Rule {
    /// A required item has no value.
    Required,
    /// A value for a disabled item.
    Disabled,
    /// A value at an index ≥ 2000 that the template does not declare.
    UnknownIndex,
    /// The value's type differs from the item's `idType`.
    Type,
    /// The value is not of the item's kind (number, date, URL …).
    Kind,
    /// Shorter than `minLength`.
    MinLength,
    /// Longer than `maxLength`.
    MaxLength,
    /// Does not match `pattern`.
    Pattern,
    /// Below `minimum`.
    Minimum,
    /// Above `maximum`.
    Maximum,
    /// Not one of the listed values.
    Enum,
    /// A reference outside the item's `prefixes`.
    Prefix,
    /// A reference to an identifier that is not registered (found by the caller).
    Reference,
    /// A value another identifier under the prefix already has (found by the caller).
    Unique,
    /// The template version named at index 1001 does not exist (found by the caller).
    Template,
}

/// One broken rule: which item, where, what rule, which value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The item's value type (`idType`), or the value's own type when no item matches.
    pub item: String,
    /// The value index.
    pub index: u32,
    /// The rule.
    pub rule: Rule,
    /// The value (its first 200 characters).
    pub value: String,
    /// What was expected, for people.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "index {} ({}): {}", self.index, self.item, self.message)
    }
}

/// What a lookup must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// The value names a registered identifier.
    Exists,
    /// No other identifier under the prefix has this value at this index.
    Unique,
}

/// A check that needs the store, left to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// What to check.
    pub kind: LookupKind,
    /// The value index.
    pub index: u32,
    /// The item's value type.
    pub item: String,
    /// The value text.
    pub value: String,
}

impl Lookup {
    /// The violation to report when the lookup fails.
    pub fn violation(&self) -> Violation {
        let (rule, message) = match self.kind {
            LookupKind::Exists => (Rule::Reference, "a registered identifier".to_owned()),
            LookupKind::Unique => (
                Rule::Unique,
                "a value no other identifier under the prefix has".to_owned(),
            ),
        };
        Violation {
            item: self.item.clone(),
            index: self.index,
            rule,
            value: quote(&self.value),
            message: format!("expected {message}"),
        }
    }
}

/// The outcome of [`Compiled::check`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Every rule broken by the values themselves.
    pub violations: Vec<Violation>,
    /// What the caller must still look up in the store.
    pub lookups: Vec<Lookup>,
}

/// A validated template with its patterns compiled, ready to check values.
#[derive(Debug, Clone)]
pub struct Compiled {
    template: Template,
    patterns: Vec<Option<regex::Regex>>,
    by_index: HashMap<u32, usize>,
}

impl Compiled {
    /// Validates `template` ([`Template::validate`]) and compiles its patterns.
    pub fn new(mut template: Template) -> Result<Self, TemplateError> {
        template.validate()?;
        let patterns = template
            .items
            .iter()
            .map(|i| i.metadata.pattern.as_deref().map(compile).transpose())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TemplateError::Invalid(vec![e.to_string()]))?;
        let by_index = template
            .items
            .iter()
            .enumerate()
            .filter_map(|(n, i)| Some((i.id_index?, n)))
            .collect();
        Ok(Self {
            template,
            patterns,
            by_index,
        })
    }

    /// The template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Checks one identifier's values: every violation, and the lookups left to the caller.
    /// Values below index 2000 (HS_ADMIN, URL, the TEMPLATE value …) are not the template's.
    pub fn check(&self, values: &[HandleValue]) -> Checked {
        let mut out = Checked::default();
        for v in values.iter().filter(|v| v.index >= FIRST_ITEM_INDEX) {
            let Some(&n) = self.by_index.get(&v.index) else {
                out.violations.push(violation(
                    &v.type_name,
                    v.index,
                    Rule::UnknownIndex,
                    &String::from_utf8_lossy(&v.data),
                    "no item of the template has this index".into(),
                ));
                continue;
            };
            self.check_value(n, v, &mut out);
        }
        for item in self
            .template
            .items
            .iter()
            .filter(|i| i.required && i.state == ItemState::Enabled)
        {
            let index = item.id_index.unwrap_or_default();
            if !values.iter().any(|v| v.index == index) {
                out.violations.push(violation(
                    &item.id_type,
                    index,
                    Rule::Required,
                    "",
                    format!("item {} ({}) is required", item.id_type, item.name),
                ));
            }
        }
        out
    }

    fn check_value(&self, n: usize, v: &HandleValue, out: &mut Checked) {
        let item = &self.template.items[n];
        let r = &item.metadata;
        let lossy = String::from_utf8_lossy(&v.data);
        let mut found = Vec::new();
        let mut broke = |rule, message: String| {
            found.push(violation(&item.id_type, v.index, rule, &lossy, message));
        };
        let early = if item.state == ItemState::Disabled {
            Some((Rule::Disabled, "the item is disabled".to_owned()))
        } else if v.type_name != item.id_type {
            Some((Rule::Type, format!("value type {}", item.id_type)))
        } else {
            None
        };
        let text = match (early, std::str::from_utf8(&v.data)) {
            (Some((rule, message)), _) => {
                return out.violations.push(violation(
                    &item.id_type,
                    v.index,
                    rule,
                    &lossy,
                    message,
                ))
            }
            (None, Err(_)) => {
                return out.violations.push(violation(
                    &item.id_type,
                    v.index,
                    Rule::Kind,
                    &lossy,
                    "expected UTF-8 text".into(),
                ))
            }
            (None, Ok(t)) => t,
        };
        let chars = text.chars().count();
        if let Some(min) = r.min_length.filter(|&m| chars < m as usize) {
            broke(Rule::MinLength, format!("at least {min} characters"));
        }
        if let Some(max) = r.max_length.filter(|&m| chars > m as usize) {
            broke(Rule::MaxLength, format!("at most {max} characters"));
        }
        if let Some(p) = &self.patterns[n] {
            if !p.is_match(text) {
                broke(Rule::Pattern, format!("a value matching {}", p.as_str()));
            }
        }
        match r.kind.accept(text) {
            Err(expected) => broke(Rule::Kind, expected.into()),
            Ok(number) => {
                if let (Some(x), Some(min)) = (number, r.minimum) {
                    if x < min {
                        broke(Rule::Minimum, format!("at least {min}"));
                    }
                }
                if let (Some(x), Some(max)) = (number, r.maximum) {
                    if x > max {
                        broke(Rule::Maximum, format!("at most {max}"));
                    }
                }
                if r.kind == Kind::Enum && !r.values.iter().any(|a| a == text) {
                    broke(Rule::Enum, format!("one of {}", r.values.join(", ")));
                }
                if r.kind == Kind::Reference {
                    let prefix = text.split_once('/').map_or(text, |(p, _)| p);
                    if !r.prefixes.is_empty() && !r.prefixes.iter().any(|p| is_under(prefix, p)) {
                        broke(
                            Rule::Prefix,
                            format!("an identifier under {}", r.prefixes.join(", ")),
                        );
                    } else {
                        out.lookups
                            .push(lookup(LookupKind::Exists, item, v.index, text));
                    }
                }
            }
        }
        if r.unique {
            out.lookups
                .push(lookup(LookupKind::Unique, item, v.index, text));
        }
        out.violations.extend(found);
    }
}

fn lookup(kind: LookupKind, item: &crate::Item, index: u32, text: &str) -> Lookup {
    Lookup {
        kind,
        index,
        item: item.id_type.clone(),
        value: text.to_owned(),
    }
}

fn violation(item: &str, index: u32, rule: Rule, value: &str, expected: String) -> Violation {
    Violation {
        item: item.to_owned(),
        index,
        rule,
        value: quote(value),
        message: if rule == Rule::Required || rule == Rule::Disabled || rule == Rule::UnknownIndex {
            expected
        } else {
            format!("expected {expected}")
        },
    }
}

fn quote(value: &str) -> String {
    value.chars().take(QUOTE_CHARS).collect()
}
