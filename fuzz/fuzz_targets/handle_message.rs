//! Binary Handle protocol messages as a server receives them (TCP stream or UDP packets):
//! the decoders never panic, and every request that decodes re-encodes to a body that decodes
//! to the same request. (Not to the same bytes: bits a field does not use, such as unknown
//! permission bits of a value, are ignored on decoding as CNRI's server ignores them.)
#![no_main]

use idnode_handle_proto::udp::Assembly;
use idnode_handle_proto::{Credential, Envelope, Message, Request, Response, ENVELOPE_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(env) = Envelope::decode(data) else {
        return;
    };
    let rest = &data[ENVELOPE_LEN..];
    if env.truncated {
        let mut a = Assembly::new(env);
        for chunk in rest.chunks(ENVELOPE_LEN + 492) {
            if let Ok(e) = Envelope::decode(chunk) {
                let _ = a.add(&e, &chunk[ENVELOPE_LEN..]);
            }
        }
    }
    let n = (env.message_length as usize).min(rest.len());
    let Ok(m) = Message::parse(env, &rest[..n]) else {
        return;
    };
    if let Some(c) = m.credential {
        let _ = Credential::decode(c);
    }
    let _ = Response::decode(&m);
    if let Ok(r) = Request::decode(m.header.op_code, m.body) {
        let again = r.encode();
        assert_eq!(Request::decode(m.header.op_code, &again).as_ref(), Ok(&r));
    }
});
