//! DNS queries as the DNS front end receives them: parsing and answering never panic, every
//! response is a well-formed message that fits the transport, and a query is answered with
//! its own id.
#![no_main]

use std::sync::OnceLock;

use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use idnode_dns::{DnsConfig, Facts, Responder, Step, Transport, MAX_UDP_PAYLOAD};
use libfuzzer_sys::fuzz_target;

fn responder() -> &'static Responder {
    static R: OnceLock<Responder> = OnceLock::new();
    R.get_or_init(|| {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        Responder::new(DnsConfig {
            zone: n("id.test."),
            nameservers: vec![n("ns.id.test.")],
            hostmaster: n("hostmaster.id.test."),
            serial: 1,
            ttl: 3600,
            negative_ttl: 60,
            target: n("ns.id.test."),
            handle_port: 2641,
            http_port: 8000,
            delegations: vec![("88.118.9".into(), vec![n("ns1.valve.example.")])],
            responses_per_second: 0,
            naptr: Vec::new(),
        })
    })
}

fn check(query: &[u8], out: &[u8], transport: Transport) {
    if out.is_empty() {
        return;
    }
    if transport == Transport::Udp {
        assert!(out.len() <= usize::from(MAX_UDP_PAYLOAD));
    }
    assert_eq!(&out[..2], &query[..2], "answered with the query's id");
    if out.len() > 12 {
        Message::from_vec(out).expect("responses parse");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(out) = idnode_dns::slip(data) {
        assert!(out.len() <= data.len());
        Message::from_vec(&out).expect("a slip parses");
    }
    let r = responder();
    for transport in [Transport::Udp, Transport::Tcp] {
        match r.prepare(data, transport) {
            Step::Done(out) => check(data, &out, transport),
            Step::Needs(p) => {
                for exists in [false, true] {
                    let out = r.respond(&p, &Facts::new(None, exists));
                    check(data, &out, transport);
                }
            }
        }
    }
});
