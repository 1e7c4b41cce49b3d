//! The import line formats (a JSON Lines line, a CSV row under the full header) and stored
//! client sketches: malformed input is refused with a message, never a panic; a stored
//! sketch that reads back writes back the same bytes.
#![no_main]

use idnode_core::hll::Sketch;
use idnode_core::import::{jsonl_item, CsvColumns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = jsonl_item(1, text);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let cols = CsvColumns::of(["handle", "index", "type", "data", "format", "permissions", "ttl"])
                    .expect("the full header");
                let row: Vec<&str> = text.split(',').collect();
                let _ = cols.value(&row);
            }
        }
        _ => {
            if let Some(s) = Sketch::from_bytes(rest) {
                assert_eq!(s.to_bytes(), rest);
                let _ = s.estimate();
            }
        }
    }
});
