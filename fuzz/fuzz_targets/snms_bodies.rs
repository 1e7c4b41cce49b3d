//! SNMS bodies: any bytes as an SNMS template body and as an SNMS identifier body. Parsing
//! and mapping never panic; a template that maps and validates answers back in SNMS form and
//! maps again to itself.
#![no_main]

use idnode_template::{snms_handle, snms_values, Template};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = snms_handle(&body);
    if let Ok(values) = snms_values(body.clone()) {
        assert_eq!(values[0].index, idnode_template::TEMPLATE_INDEX);
    }
    let Ok(mut t) = Template::from_snms(body) else {
        return;
    };
    if t.validate().is_ok() {
        let again = Template::from_snms(t.to_snms()).expect("its own SNMS form maps back");
        assert_eq!(again, t);
    }
});
