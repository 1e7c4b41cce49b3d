//! Checking a template definition, and that a version keeps the items it builds on.

use std::collections::HashSet;

use crate::{
    Kind, Rules, Template, TemplateError, FIRST_ITEM_INDEX, MAX_ENUM_VALUES, MAX_ITEMS,
    MAX_PATTERN_LEN, MAX_VERSION_LEN,
};

/// Longest item name and value type (SNMS: 128).
const MAX_NAME_LEN: usize = 128;
/// Compiled size limit of one pattern (the regex crate refuses larger ones).
pub(crate) const PATTERN_SIZE_LIMIT: usize = 1 << 20;

impl Template {
    /// This version changed by `update` the SNMS v5 way: the header is `update`'s; each of
    /// its items whose `idIndex` and `idType` match an item here replaces that item, any
    /// other is added; items it leaves out stay as they are (items are never deleted, only
    /// disabled). `extends` is kept.
    #[must_use]
    pub fn amended(&self, update: Self) -> Self {
        let mut items = self.items.clone();
        for item in update.items {
            let same = items.iter_mut().find(|i| {
                item.id_index.is_some() && i.id_index == item.id_index && i.id_type == item.id_type
            });
            match same {
                Some(existing) => *existing = item,
                None => items.push(item),
            }
        }
        Self {
            extends: self.extends.clone(),
            items,
            ..update
        }
    }

    /// Checks the definition, listing every problem, and gives items without an index the
    /// next free ones from 2000 in their order.
    pub fn validate(&mut self) -> Result<(), TemplateError> {
        let mut problems = Vec::new();
        self.check_header(&mut problems);
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            problems.push(format!("a template has 1 to {MAX_ITEMS} items"));
        }
        let taken: HashSet<u32> = self.items.iter().filter_map(|i| i.id_index).collect();
        let mut next = FIRST_ITEM_INDEX;
        for item in &mut self.items {
            if item.id_index.is_none() {
                while taken.contains(&next) {
                    next += 1;
                }
                item.id_index = Some(next);
                next += 1;
            }
        }
        let (mut indexes, mut types) = (HashSet::new(), HashSet::new());
        for item in &self.items {
            let at = format!("item {:?}", item.id_type);
            let index = item.id_index.unwrap_or_default();
            if index < FIRST_ITEM_INDEX {
                problems.push(format!("{at}: idIndex {index} is below {FIRST_ITEM_INDEX}"));
            }
            if !indexes.insert(index) {
                problems.push(format!("{at}: idIndex {index} is used twice"));
            }
            if !types.insert(item.id_type.as_str()) {
                problems.push(format!("{at}: idType is used twice"));
            }
            if !text_ok(&item.name) {
                problems.push(format!("{at}: name must be 1 to {MAX_NAME_LEN} characters"));
            }
            if !text_ok(&item.id_type)
                || item.id_type.starts_with("HS_")
                || item.id_type == crate::TEMPLATE_TYPE
            {
                problems.push(format!(
                    "{at}: idType must be 1 to {MAX_NAME_LEN} characters and not a reserved type (HS_…, TEMPLATE)"
                ));
            }
            check_rules(&item.metadata, &at, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TemplateError::Invalid(problems))
        }
    }

    fn check_header(&self, problems: &mut Vec<String>) {
        if self.prefix.is_empty() || self.prefix.len() > 64 || self.prefix.contains('/') {
            problems.push("prefix must be a prefix of at most 64 characters".into());
        }
        if self.version.is_empty()
            || self.version.chars().count() > MAX_VERSION_LEN
            || self.version.chars().any(|c| c.is_control() || c == '/')
        {
            problems.push(format!(
                "version must be 1 to {MAX_VERSION_LEN} printable characters"
            ));
        }
        let c = self.industry_category.as_bytes();
        if !(c.len() == 1 && (b'A'..=b'T').contains(&c[0])) {
            problems.push("industryCategory must be a GB/T 4754 category letter A–T".into());
        }
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(&self.industry_specific, 2) {
            problems.push("industrySpecific must be 2 digits".into());
        }
        if !(digits(&self.industry_trade, 3)
            && self.industry_trade.starts_with(&self.industry_specific))
        {
            problems.push("industryTrade must be 3 digits starting with industrySpecific".into());
        }
        if !(digits(&self.industry_subclass, 4)
            && self.industry_subclass.starts_with(&self.industry_trade))
        {
            problems.push("industrySubclass must be 4 digits starting with industryTrade".into());
        }
        if !matches!(self.object_type, 1 | 2) {
            problems.push("type must be 1 (active identifier carrier) or 2 (other)".into());
        }
    }

    /// Checks that this version keeps every item of `base` (the version it extends): same
    /// index, value type and kind. Items may be disabled, never removed.
    pub fn check_extends(&self, base: &Self) -> Result<(), TemplateError> {
        let problems: Vec<String> = base
            .items
            .iter()
            .filter_map(|old| {
                let index = old.id_index?;
                match self.item(index) {
                    None => Some(format!(
                        "item {:?} (index {index}) of version {} is missing: items are disabled, never removed",
                        old.id_type, base.version
                    )),
                    Some(new) if new.id_type != old.id_type || new.metadata.kind != old.metadata.kind => {
                        Some(format!(
                            "item at index {index} must keep idType {:?} and type {} of version {}",
                            old.id_type,
                            old.metadata.kind.name(),
                            base.version
                        ))
                    }
                    Some(_) => None,
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TemplateError::Invalid(problems))
        }
    }
}

fn text_ok(s: &str) -> bool {
    let n = s.chars().count();
    (1..=MAX_NAME_LEN).contains(&n) && !s.chars().any(char::is_control)
}

fn check_rules(r: &Rules, at: &str, problems: &mut Vec<String>) {
    if let (Some(min), Some(max)) = (r.min_length, r.max_length) {
        if min > max {
            problems.push(format!("{at}: minLength {min} exceeds maxLength {max}"));
        }
    }
    if let Some(p) = &r.pattern {
        if p.len() > MAX_PATTERN_LEN {
            problems.push(format!("{at}: pattern longer than {MAX_PATTERN_LEN} bytes"));
        } else if let Err(e) = compile(p) {
            problems.push(format!("{at}: pattern does not compile: {e}"));
        }
    }
    if (r.minimum.is_some() || r.maximum.is_some()) && !r.kind.is_numeric() {
        problems.push(format!(
            "{at}: minimum/maximum apply to number and integer items only"
        ));
    }
    if r.minimum.is_some_and(|v| !v.is_finite()) || r.maximum.is_some_and(|v| !v.is_finite()) {
        problems.push(format!("{at}: minimum/maximum must be finite"));
    }
    if let (Some(min), Some(max)) = (r.minimum, r.maximum) {
        if min > max {
            problems.push(format!("{at}: minimum {min} exceeds maximum {max}"));
        }
    }
    match (r.kind == Kind::Enum, r.values.is_empty()) {
        (true, true) => problems.push(format!("{at}: an enum item lists its values")),
        (false, false) => problems.push(format!("{at}: values apply to enum items only")),
        _ if r.values.len() > MAX_ENUM_VALUES => {
            problems.push(format!("{at}: at most {MAX_ENUM_VALUES} values"));
        }
        _ => {}
    }
    if !r.prefixes.is_empty() && r.kind != Kind::Reference {
        problems.push(format!("{at}: prefixes apply to reference items only"));
    }
    for p in &r.prefixes {
        if p.is_empty() || p.len() > 64 || p.contains('/') {
            problems.push(format!("{at}: {p:?} is not a prefix"));
        }
    }
}

/// Compiles an item's pattern under the size limit (linear-time matching, no backtracking).
pub(crate) fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
}
