//! The cache's warm-start snapshot: the decoder never panics, on raw bytes (refused by the
//! checksum) or on bytes given a valid checksum (every field then reaches the entry checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = idnode_resolver::snapshot_header(data);
    let _ = idnode_resolver::snapshot_entries(data, "88.118");
    let mut framed = data.to_vec();
    framed.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    if let Ok(h) = idnode_resolver::snapshot_header(&framed) {
        if let Ok(n) = idnode_resolver::snapshot_entries(&framed, &h.node_prefix) {
            assert!(n <= h.entries as usize);
        }
    }
});
