//! Metadata templates: what an enterprise declares its identifiers carry, and the check of an
//! identifier's values against it (no I/O).
//!
//! A template belongs to a prefix and is named by a version (`88.118.8` + `1.0.0`). Its items
//! say which value index holds what: `{name, idType, idIndex ≥ 2000, required, state,
//! metadata}`, the SNMS shape; beyond SNMS's string-only items, `metadata.type` is one of
//! [`Kind`] and may carry rules (length, pattern, range, listed values, reference prefixes,
//! uniqueness). An identifier names its template version in its value at
//! [`TEMPLATE_INDEX`] (type `TEMPLATE`).
//!
//! [`Template::validate`] checks a definition (and, with [`Template::extends`], that a new
//! version keeps every item of the one it builds on); [`Compiled::check`] checks one
//! identifier's values and reports every violation at once, leaving what needs the store
//! (references that must exist, values that must be unique) as [`Lookup`]s for the caller.

mod check;
mod define;
mod kind;
mod snms;

use serde::{Deserialize, Serialize};

pub use check::{Checked, Compiled, Lookup, LookupKind, Rule, Violation};
pub use idnode_core::gs1::{gs1_check_digit, gs1_check_digit_ok};
pub use kind::Kind;
pub use snms::{snms_handle, snms_values};

/// Value index naming an identifier's template version (SNMS).
pub const TEMPLATE_INDEX: u32 = 1001;
/// Value type at [`TEMPLATE_INDEX`].
pub const TEMPLATE_TYPE: &str = "TEMPLATE";
/// Lowest index a template item may use (SNMS).
pub const FIRST_ITEM_INDEX: u32 = 2000;
/// Most items one template may declare.
pub const MAX_ITEMS: usize = 500;
/// Longest version name (SNMS: 128).
pub const MAX_VERSION_LEN: usize = 128;
/// Longest pattern accepted in an item's rules.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Most listed values of an enum item.
pub const MAX_ENUM_VALUES: usize = 1000;

/// Why a template definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The definition breaks a rule; every problem found is listed.
    #[error("invalid template: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// A template version, in the SNMS JSON shape (plus `extends`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// Owning prefix (an enterprise's, or the node's for node-wide industry templates).
    pub prefix: String,
    /// Version name, unique within the prefix.
    pub version: String,
    /// GB/T 4754 门类 (category), a letter `A`–`T`.
    pub industry_category: String,
    /// 大类 (specific), 2 digits, e.g. `01`.
    pub industry_specific: String,
    /// 中类 (trade), 3 digits extending the specific code, e.g. `011`.
    pub industry_trade: String,
    /// 小类 (subclass), 4 digits extending the trade code, e.g. `0111`.
    pub industry_subclass: String,
    /// Metadata object type: 1 active identifier carrier (主动标识载体), 2 other.
    #[serde(rename = "type")]
    pub object_type: u8,
    /// Free description.
    #[serde(default)]
    pub description: String,
    /// The version of the same prefix this one builds on (it keeps all of that one's items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The node-wide industry template this version was adopted from (`88.118/gear-std-1`),
    /// set by the node when an enterprise adopts one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<String>,
    /// The items.
    pub items: Vec<Item>,
}

/// Whether an item takes values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    /// Values are accepted (and required ones demanded).
    #[default]
    Enabled,
    /// Kept for identifiers that have it; new values are refused.
    Disabled,
}

/// One item of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Item {
    /// Display name (Chinese in SNMS).
    pub name: String,
    /// The value type an identifier uses for it (SNMS `idType`).
    pub id_type: String,
    /// The value index (≥ 2000); assigned in order from 2000 when a definition omits it.
    #[serde(default)]
    pub id_index: Option<u32>,
    /// Whether every identifier of the template must carry it.
    #[serde(default)]
    pub required: bool,
    /// Enabled or disabled.
    #[serde(default)]
    pub state: ItemState,
    /// The value's kind and rules.
    pub metadata: Rules,
}

/// What an item's value must be.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rules {
    /// The kind (SNMS: `string`).
    #[serde(rename = "type", default)]
    pub kind: Kind,
    /// Fewest characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Most characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A regular expression the value must match (unanchored unless written with `^…$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Smallest number (number and integer kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Largest number (number and integer kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// The allowed values (enum kind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Prefixes a referenced identifier must be under (reference kind; empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// No two identifiers under the prefix may carry the same value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
}

impl Template {
    /// Parses a definition from JSON (the SNMS body), without validating it.
    pub fn from_json(body: &[u8]) -> Result<Self, TemplateError> {
        serde_json::from_slice(body).map_err(|e| TemplateError::Invalid(vec![e.to_string()]))
    }

    /// The item at `index`, if any.
    pub fn item(&self, index: u32) -> Option<&Item> {
        self.items.iter().find(|i| i.id_index == Some(index))
    }
}

#[cfg(test)]
mod tests;
