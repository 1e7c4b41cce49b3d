//! The storage encodings of a record's values (type names spelled out or numbered by a
//! dictionary) and of a batch's created names: the decoders never panic, and whatever
//! decodes encodes to bytes that decode to the same values.
#![no_main]

use idnode_core::packed::{pack_with, pack_names, unpack_names, unpack_with};
use libfuzzer_sys::fuzz_target;

/// A dictionary of four type names, `T0` to `T3`.
fn name(id: u32) -> Option<String> {
    (id < 4).then(|| format!("T{id}"))
}

fn id(name: &str) -> Option<u32> {
    (0..4).find(|i| format!("T{i}") == name)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = unpack_with(data, name) {
        assert_eq!(unpack_with(&pack_with(&values, id), name).unwrap(), values);
        assert_eq!(unpack_with(&pack_with(&values, |_| None), name).unwrap(), values);
    }
    if let Ok(names) = unpack_names(data) {
        let again = pack_names(names.iter().map(String::as_str));
        assert_eq!(unpack_names(&again).unwrap(), names);
    }
});
