//! Binary HS_ADMIN, HS_VLIST and HS_SITE payloads: decoders never panic, and whatever
//! decodes re-encodes to something that decodes to the same value.
#![no_main]

use idnode_core::{AdminRef, SiteInfo, VList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = AdminRef::decode(data) {
        assert_eq!(AdminRef::decode(&a.encode()).unwrap(), a);
    }
    if let Ok(l) = VList::decode(data) {
        assert_eq!(VList::decode(&l.encode()).unwrap(), l);
    }
    if let Ok(s) = SiteInfo::decode(data) {
        assert_eq!(SiteInfo::decode(&s.encode()).unwrap(), s);
        let j = s.to_json();
        if let Ok(from_json) = SiteInfo::from_json(&j) {
            assert_eq!(from_json.servers.len(), s.servers.len());
        }
    }
});
