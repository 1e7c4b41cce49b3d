//! The storage encodings of a record's values and of a batch's created names: the decoder never panics, and whatever decodes
//! encodes to bytes that decode to the same values.
#![no_main]

use idnode_core::packed::{pack, pack_names, unpack, unpack_names};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = unpack(data) {
        assert_eq!(unpack(&pack(&values)).unwrap(), values);
    }
    if let Ok(names) = unpack_names(data) {
        let again = pack_names(names.iter().map(String::as_str));
        assert_eq!(unpack_names(&again).unwrap(), names);
    }
});
