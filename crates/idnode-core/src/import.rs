//! The import formats line by line, without I/O: shared by `idnode import` (which streams
//! files of any size) and the web console (which reads a small upload whole).
//!
//! JSON Lines: one `{"handle": "...", "values": [...]}` per line, values in the REST form.
//! CSV: a header `handle,index,type,data` with optional `format` (string, base64, hex,
//! admin, vlist, site), `permissions` and `ttl` columns; one row per value, rows of one
//! handle may be anywhere in the file.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::json::ValueIn;
use crate::HandleValue;

/// A handle read from an import, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportItem {
    /// The line it starts on.
    pub line: usize,
    /// The handle as written.
    pub handle: String,
    /// Its values.
    pub values: Vec<HandleValue>,
}

/// One JSON Lines line (`n` its number): `None` for a blank line, the message (starting
/// `line n:`) for a malformed one.
pub fn jsonl_item(n: usize, line: &str) -> Result<Option<ImportItem>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        handle: String,
        #[serde(default)]
        values: Vec<ValueIn>,
    }
    if line.trim().is_empty() {
        return Ok(None);
    }
    let parsed: Line = serde_json::from_str(line).map_err(|e| format!("line {n}: {e}"))?;
    let values = parsed
        .values
        .into_iter()
        .map(ValueIn::into_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("line {n}: {}: {e}", parsed.handle))?;
    Ok(Some(ImportItem {
        line: n,
        handle: parsed.handle,
        values,
    }))
}

/// The columns of a CSV import, by name.
#[derive(Debug, Clone)]
pub struct CsvColumns(HashMap<String, usize>);

impl CsvColumns {
    /// The columns a header names; the message of each required column missing.
    pub fn of<'a>(header: impl IntoIterator<Item = &'a str>) -> Result<Self, Vec<String>> {
        let cols: HashMap<String, usize> = header
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c.trim().to_owned(), i))
            .collect();
        let missing: Vec<String> = ["handle", "index", "type", "data"]
            .iter()
            .filter(|c| !cols.contains_key(**c))
            .map(|c| format!("line 1: the header has no '{c}' column"))
            .collect();
        if missing.is_empty() {
            Ok(Self(cols))
        } else {
            Err(missing)
        }
    }

    /// The field of `row` in column `name` ("" when absent).
    pub fn get<'r>(&self, row: &'r [&'r str], name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|i| row.get(*i))
            .copied()
            .unwrap_or("")
    }

    /// One CSV row (its fields) as a value, or what is wrong with it.
    pub fn value(&self, row: &[&str]) -> Result<HandleValue, String> {
        let get = |c: &str| self.get(row, c);
        let format = match get("format") {
            "" => "string",
            f => f,
        };
        let data = get("data");
        let value = match format {
            "admin" | "vlist" | "site" => serde_json::from_str::<Value>(data)
                .map_err(|e| format!("data of a structured format must be JSON: {e}"))?,
            _ => Value::String(data.to_owned()),
        };
        let index: u32 = get("index")
            .parse()
            .map_err(|_| "index must be a positive integer".to_owned())?;
        let mut v = json!({
            "index": index,
            "type": get("type"),
            "data": {"format": format, "value": value},
        });
        if !get("permissions").is_empty() {
            v["permissions"] = Value::String(get("permissions").to_owned());
        }
        if !get("ttl").is_empty() {
            let ttl: u32 = get("ttl")
                .parse()
                .map_err(|_| "ttl must be seconds".to_owned())?;
            v["ttl"] = json!(ttl);
        }
        serde_json::from_value::<ValueIn>(v)
            .map_err(|e| e.to_string())?
            .into_value()
            .map_err(|e| e.to_string())
    }
}

/// Adds `item` to `items`, joining the values of a handle met before (matched exactly).
pub fn group(items: &mut Vec<ImportItem>, at: &mut HashMap<String, usize>, item: ImportItem) {
    match at.get(&item.handle) {
        Some(&i) => items[i].values.extend(item.values),
        None => {
            at.insert(item.handle.clone(), items.len());
            items.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_values_or_say_what_is_wrong() {
        let cols = CsvColumns::of(["handle", "index", "type", "data", "format"]).unwrap();
        let v = cols
            .value(&["88.118.8/a", "2", "BIN", "AAE=", "base64"])
            .unwrap();
        assert_eq!((v.index, v.data.as_slice()), (2, &[0u8, 1][..]));
        let e = cols
            .value(&["88.118.8/a", "x", "URL", "u", ""])
            .unwrap_err();
        assert!(e.contains("index"), "{e}");
        assert!(cols
            .value(&["88.118.8/a", "1", "URL", "zz", "hex"])
            .is_err());
        let missing = CsvColumns::of(["handle", "type"]).unwrap_err();
        assert_eq!(missing.len(), 2, "{missing:?}");
    }

    #[test]
    fn jsonl_lines_name_their_line() {
        assert_eq!(jsonl_item(2, "  ").unwrap(), None);
        let e = jsonl_item(3, "not json").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let item = jsonl_item(
            4,
            r#"{"handle":"88.118.8/a","values":[{"index":1,"type":"URL","data":"u"}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((item.line, item.values.len()), (4, 1));
    }

    #[test]
    fn rows_of_one_handle_are_grouped_in_first_seen_order() {
        let (mut items, mut at) = (Vec::new(), HashMap::new());
        for (line, h) in [(2, "a"), (3, "b"), (4, "a")] {
            let values = vec![HandleValue::text(line as u32, "URL", "u")];
            group(
                &mut items,
                &mut at,
                ImportItem {
                    line,
                    handle: h.into(),
                    values,
                },
            );
        }
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].line, items[0].values.len()), (2, 2));
    }
}
