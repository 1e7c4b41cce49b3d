//! The REST JSON value parser (client bodies and stored records): never panics, and what it
//! accepts survives the storage round trip unchanged.
#![no_main]

use idnode_core::json::{values_from_json, values_to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(values) = values_from_json(text) {
        let stored = values_to_json(&values);
        let back = values_from_json(&stored).expect("stored form re-parses");
        assert_eq!(back, values);
    }
});
