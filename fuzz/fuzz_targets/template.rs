//! Template definitions and the values checked against them. Input: u16 definition length,
//! a JSON definition, then values as `index(u32) type-length(u8) type data-length(u16) data`.
//! Parsing, validating, compiling and checking never panic; a definition that validates
//! serialises and parses back to itself.
#![no_main]

use idnode_core::HandleValue;
use idnode_template::{Compiled, Template};
use libfuzzer_sys::fuzz_target;

fn values(mut rest: &[u8]) -> Vec<HandleValue> {
    let mut out = Vec::new();
    while rest.len() >= 5 && out.len() < 64 {
        let index = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let tl = usize::from(rest[4]).min(rest.len() - 5);
        let type_name = String::from_utf8_lossy(&rest[5..5 + tl]).into_owned();
        rest = &rest[5 + tl..];
        if rest.len() < 2 {
            break;
        }
        let dl = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        out.push(HandleValue::bytes(index, &type_name, rest[2..2 + dl].to_vec()));
        rest = &rest[2 + dl..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
    let (definition, rest) = data[2..].split_at(n);
    let Ok(t) = Template::from_json(definition) else {
        return;
    };
    let Ok(c) = Compiled::new(t) else {
        return;
    };
    let json = serde_json::to_vec(c.template()).expect("serialises");
    let again = Compiled::new(Template::from_json(&json).expect("parses back")).expect("validates again");
    assert_eq!(again.template(), c.template());
    let checked = c.check(&values(rest));
    for l in &checked.lookups {
        let _ = l.violation();
    }
});
