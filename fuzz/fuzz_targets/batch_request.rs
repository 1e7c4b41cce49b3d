//! The REST batch body (`POST /api/v1/identifiers/batch`): read in one pass or, when a value
//! is malformed, item by item; never panics, and every value it gives is valid.
#![no_main]

use idnode_registry::BatchRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = BatchRequest::from_slice(data) else {
        return;
    };
    for item in req.operations {
        if let Some(Ok(values)) = item.values {
            for v in values {
                assert!(v.validate().is_ok(), "{v:?}");
            }
        }
    }
});
