//! Escrow deposits and reports as the escrow intake receives them: verification and report
//! parsing never panic on any bytes, and whatever verifies counts consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = idnode_escrow::verify_deposit(data, i64::MAX / 2) {
        assert!(!s.meta.prefix.is_empty());
        assert!(!s.meta.id.is_empty() && s.meta.id.len() <= 13);
    }
    let _ = idnode_escrow::parse_report(data);
    if let Ok(name) = std::str::from_utf8(data) {
        if let Ok(f) = idnode_escrow::parse_file_name(name) {
            assert_eq!(idnode_escrow::parse_file_name(&f.name()).unwrap(), f);
        }
    }
});
