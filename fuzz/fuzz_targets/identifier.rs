//! Identifier parsing: never panics; a parsed identifier re-parses to itself.
#![no_main]

use idnode_core::Identifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = Identifier::parse(text) {
        let again = Identifier::parse(id.as_str()).expect("a normalised identifier re-parses");
        assert_eq!(again, id);
        assert!(id.as_str().chars().count() <= idnode_core::MAX_HANDLE_CHARS);
    }
});
