//! Change notifications heard from other instances (PostgreSQL NOTIFY payloads): anything
//! on the channel is read without a panic, and a change that reads back is sent again as
//! payloads that read back to the same handles.
#![no_main]

use idnode_store::Change;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((instance, change)) = Change::parse(text) else {
        return;
    };
    for p in change.payloads(instance) {
        assert!(p.len() <= idnode_store::change::MAX_PAYLOAD);
        let (again, _) = Change::parse(&p).expect("a sent payload reads back");
        assert_eq!(again, instance);
    }
});
