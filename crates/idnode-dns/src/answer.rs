//! DNS messages in and out, free of I/O: one query in, one response out.
//!
//! [`Responder::prepare`] parses a query and either answers at once (errors, names outside
//! the zone, the apex) or says which facts it needs: an identifier's public values and
//! whether a prefix exists. Given those [`Facts`], [`Responder::respond`] builds the
//! response. Gathering the facts is the service's job (`service.rs`).

use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{NAPTR, NS, NULL, SOA, SRV, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use idnode_core::{is_under, HandleValue, Identifier, Ttl};
use idnode_resolver::Entry;

use crate::name::{self, Owner};

mod wire;
pub use wire::slip;
pub(crate) use wire::txt_form;
use wire::{formerr, question_bytes, txt_strings};

/// The URI resource record type (RFC 7553), which hickory-proto does not model.
const URI: u16 = 256;
/// Largest UDP response this server sends when the client's EDNS allows it (RFC 9715's
/// recommendation, avoiding fragmentation).
pub const MAX_UDP_PAYLOAD: u16 = 1232;
/// Largest UDP response without EDNS.
const PLAIN_UDP_PAYLOAD: usize = 512;

/// DNS front-end settings.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// The zone identifiers are published under (`id.example.`).
    pub zone: Name,
    /// Name servers of the zone (NS at the apex; the first is the SOA MNAME).
    pub nameservers: Vec<Name>,
    /// The SOA RNAME (`hostmaster.id.example.`).
    pub hostmaster: Name,
    /// The SOA serial.
    pub serial: u32,
    /// TTL of SOA, NS and SRV records, seconds.
    pub ttl: u32,
    /// TTL of negative answers (SOA MINIMUM), seconds.
    pub negative_ttl: u32,
    /// The host SRV records point at (this node).
    pub target: Name,
    /// The Handle protocol port (SRV `_handle._tcp`, `_handle._udp`).
    pub handle_port: u16,
    /// The HTTP port (SRV `_http._tcp`).
    pub http_port: u16,
    /// Prefixes served by another node, and that node's name servers (NS delegation).
    pub delegations: Vec<(String, Vec<Name>)>,
    /// UDP responses per second per client address before answers slip to TC=1 (0: no
    /// limit).
    pub responses_per_second: u32,
    /// Service mappings published as NAPTR records (RFC 3403) at identifier names.
    pub naptr: Vec<NaptrMapping>,
}

/// A service an identifier can be resolved with, published as a terminal NAPTR record
/// (flags `U`) whose regexp rewrites the query to `template` with `{handle}` replaced by the
/// identifier: e.g. services `x-idnode+http`, template
/// `https://node.example/api/handles/{handle}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NaptrMapping {
    /// Only identifiers under this prefix (None: all).
    pub prefix: Option<String>,
    /// NAPTR ORDER.
    pub order: u16,
    /// NAPTR PREFERENCE.
    pub preference: u16,
    /// NAPTR SERVICES.
    pub services: String,
    /// The URI, `{handle}` standing for the identifier.
    pub template: String,
}

/// The transport a query came over (it bounds the response size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 octets, or the client's EDNS payload up to [`MAX_UDP_PAYLOAD`].
    Udp,
    /// TCP: 65,535 octets.
    Tcp,
}

/// A query understood and waiting for its facts.
#[derive(Debug)]
pub struct Prepared {
    request: Message,
    query: Query,
    owner: Owner,
    transport: Transport,
    /// The question as it came (name in the client's case), when it is the plain
    /// uncompressed form the fast path can copy.
    question: Option<Vec<u8>>,
}

impl Prepared {
    /// Whether the fast path may answer it from the entry's TXT form ([`txt_form`]).
    pub fn asks_txt(&self) -> bool {
        matches!(self.query.query_type(), RecordType::TXT) && self.question.is_some()
    }

    /// The prefix a query's facts are about, and the identifier.
    pub fn needs(&self) -> (Option<&str>, Option<&Identifier>) {
        match &self.owner {
            Owner::Apex => (None, None),
            Owner::Service { prefix, .. } => (Some(prefix), None),
            Owner::Leaf { identifier, prefix } => (prefix.as_deref(), identifier.as_ref()),
        }
    }
}

/// What the store says about the names a query asks for.
#[derive(Debug, Default)]
pub struct Facts {
    /// The identifier's public values, when it exists.
    entry: Option<Arc<Entry>>,
    /// Whether the prefix the name spells exists (is allocated here or lies above one).
    prefix_exists: bool,
    /// The entry's TXT form ([`txt_form`]), for the fast path.
    txt: Option<Vec<u8>>,
}

impl Facts {
    /// The identifier's public values (None: no such identifier) and whether the prefix
    /// the name spells exists.
    pub fn new(entry: Option<Arc<Entry>>, prefix_exists: bool) -> Self {
        Self {
            entry,
            prefix_exists,
            txt: None,
        }
    }

    /// The same facts with the entry's TXT form ([`txt_form`]), which lets the commonest
    /// answer skip building records.
    #[must_use]
    pub fn with_txt(mut self, txt: Option<Vec<u8>>) -> Self {
        self.txt = txt;
        self
    }

    /// The identifier's entry, if it exists.
    pub fn entry(&self) -> Option<&Arc<Entry>> {
        self.entry.as_ref()
    }

    /// Whether the identifier exists.
    pub fn found(&self) -> bool {
        self.entry.is_some()
    }
}

/// The outcome of [`DnsService::prepare`].
#[derive(Debug)]
pub enum Step {
    /// The response is ready (possibly empty: nothing to send).
    Done(Vec<u8>),
    /// Facts are needed first.
    Needs(Box<Prepared>),
}

/// Builds responses for one zone.
#[derive(Debug)]
pub struct Responder {
    config: DnsConfig,
}

fn ttl_of(v: &HandleValue, now: u32) -> u32 {
    match v.ttl {
        Ttl::Relative(t) => t,
        Ttl::Absolute(t) => t.saturating_sub(now),
    }
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// RFC 7553 URI RDATA: priority, weight, target.
fn uri_rdata(priority: u16, target: &[u8]) -> RData {
    let mut b = Vec::with_capacity(4 + target.len());
    b.extend_from_slice(&priority.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(target);
    RData::Unknown {
        code: RecordType::Unknown(URI),
        rdata: NULL::with(b),
    }
}

fn is_url(v: &HandleValue) -> bool {
    v.type_name.eq_ignore_ascii_case("URL") || v.type_name.to_ascii_uppercase().starts_with("URL.")
}

impl Responder {
    /// A responder for `config.zone` (names compared in lower case).
    pub fn new(config: DnsConfig) -> Self {
        Self {
            config: DnsConfig {
                zone: config.zone.to_lowercase(),
                ..config
            },
        }
    }

    /// The settings answered with.
    pub fn config(&self) -> &DnsConfig {
        &self.config
    }

    /// Parses a query; answers at once what needs no facts.
    pub fn prepare(&self, bytes: &[u8], transport: Transport) -> Step {
        let Ok(request) = Message::from_vec(bytes) else {
            return Step::Done(formerr(bytes));
        };
        if request.metadata.message_type != MessageType::Query {
            return Step::Done(Vec::new());
        }
        if request.metadata.op_code != OpCode::Query {
            return Step::Done(self.error(&request, ResponseCode::NotImp));
        }
        if request.queries.len() != 1 {
            return Step::Done(self.error(&request, ResponseCode::FormErr));
        }
        if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            return Step::Done(self.error(&request, ResponseCode::BADVERS));
        }
        let query = request.queries[0].clone();
        if query.query_class() != DNSClass::IN {
            return Step::Done(self.error(&request, ResponseCode::Refused));
        }
        let qname = query.name();
        if !self.config.zone.zone_of(qname) {
            return Step::Done(self.error(&request, ResponseCode::Refused));
        }
        let below = usize::from(qname.num_labels() - self.config.zone.num_labels());
        let labels: Option<Vec<&str>> = qname
            .iter()
            .take(below)
            .map(|l| std::str::from_utf8(l).ok())
            .collect();
        let Some(Ok(owner)) = labels.map(|l| name::parse(&l)) else {
            let p = Prepared {
                request,
                query,
                owner: Owner::Leaf {
                    identifier: None,
                    prefix: None,
                },
                transport,
                question: None,
            };
            return Step::Done(self.respond(&p, &Facts::default()));
        };
        let p = Prepared {
            request,
            query,
            owner,
            transport,
            question: question_bytes(bytes),
        };
        if matches!(p.owner, Owner::Apex) {
            return Step::Done(self.respond(&p, &Facts::default()));
        }
        Step::Needs(Box::new(p))
    }

    fn soa(&self) -> Record {
        let c = &self.config;
        let mname = c
            .nameservers
            .first()
            .cloned()
            .unwrap_or_else(|| c.zone.clone());
        Record::from_rdata(
            c.zone.clone(),
            c.ttl,
            RData::SOA(SOA::new(
                mname,
                c.hostmaster.clone(),
                c.serial,
                3600,
                600,
                604_800,
                c.negative_ttl,
            )),
        )
    }

    /// The SOA as the authority of a negative answer (its TTL capped by MINIMUM).
    fn negative_soa(&self) -> Record {
        let mut r = self.soa();
        r.ttl = self.config.ttl.min(self.config.negative_ttl);
        r
    }

    fn prefix_name(&self, prefix: &str) -> Option<Name> {
        let labels = name::prefix_labels(prefix)?;
        Name::from_labels(labels)
            .ok()?
            .append_domain(&self.config.zone)
            .ok()
    }

    /// The delegation covering `prefix`, if another node serves it.
    fn delegation(&self, prefix: &str) -> Option<(&str, &[Name])> {
        self.config
            .delegations
            .iter()
            .find(|(d, _)| is_under(prefix, d))
            .map(|(d, ns)| (d.as_str(), ns.as_slice()))
    }

    /// Builds the response to a prepared query from its facts.
    pub fn respond(&self, p: &Prepared, facts: &Facts) -> Vec<u8> {
        match self.txt_fast(p, facts) {
            Some(out) => out,
            None => self.respond_general(p, facts),
        }
    }

    /// [`Responder::respond`] record by record, for every case.
    fn respond_general(&self, p: &Prepared, facts: &Facts) -> Vec<u8> {
        let mut m = Message::response(p.request.metadata.id, OpCode::Query);
        m.metadata.recursion_desired = p.request.metadata.recursion_desired;
        m.metadata.checking_disabled = p.request.metadata.checking_disabled;
        m.add_query(p.query.clone());
        let qname = p.query.name().clone();
        let qtype = p.query.query_type();
        let c = &self.config;
        // A delegated prefix (of the name, the service or the identifier) is a referral.
        let covering = match &p.owner {
            Owner::Apex => None,
            Owner::Service { prefix, .. } => Some(prefix.as_str()),
            Owner::Leaf { identifier, prefix } => prefix
                .as_deref()
                .filter(|pre| self.delegation(pre).is_some())
                .or(identifier.as_ref().map(Identifier::prefix)),
        };
        if let Some((d, ns)) = covering.and_then(|pre| self.delegation(pre)) {
            if let Some(cut) = self.prefix_name(d) {
                for n in ns {
                    m.add_authority(Record::from_rdata(
                        cut.clone(),
                        c.ttl,
                        RData::NS(NS(n.clone())),
                    ));
                }
                return self.finish(p, m);
            }
        }
        m.metadata.authoritative = true;
        let mut exists = true;
        match &p.owner {
            Owner::Apex => match qtype {
                RecordType::SOA => {
                    m.add_answer(self.soa());
                }
                RecordType::NS | RecordType::ANY => {
                    for n in &c.nameservers {
                        m.add_answer(Record::from_rdata(
                            qname.clone(),
                            c.ttl,
                            RData::NS(NS(n.clone())),
                        ));
                    }
                    if qtype == RecordType::ANY {
                        m.add_answer(self.soa());
                    }
                }
                _ => {}
            },
            Owner::Service { service, proto, .. } => {
                let port = match (service.as_str(), proto.as_str()) {
                    ("_handle", "_tcp" | "_udp") => Some(c.handle_port),
                    ("_http", "_tcp") => Some(c.http_port),
                    _ => None,
                };
                match port {
                    Some(port) if facts.prefix_exists => {
                        if matches!(qtype, RecordType::SRV | RecordType::ANY) {
                            m.add_answer(Record::from_rdata(
                                qname.clone(),
                                c.ttl,
                                RData::SRV(SRV::new(0, 0, port, c.target.clone())),
                            ));
                        }
                    }
                    _ => exists = false,
                }
            }
            Owner::Leaf { .. } => match &facts.entry {
                Some(entry) => self.add_leaf(&mut m, &qname, qtype, entry),
                None => exists = facts.prefix_exists,
            },
        }
        if !exists {
            m.metadata.response_code = ResponseCode::NXDomain;
        }
        if m.answers.is_empty() {
            m.add_authority(self.negative_soa());
        }
        self.finish(p, m)
    }

    /// The records of an identifier: TXT (one per public value), URI (its URLs), NAPTR (the
    /// configured service mappings).
    fn add_leaf(&self, m: &mut Message, qname: &Name, qtype: RecordType, entry: &Entry) {
        let c = &self.config;
        let now = now();
        let txt = matches!(qtype, RecordType::TXT | RecordType::ANY);
        let uri = qtype == RecordType::Unknown(URI);
        if qtype == RecordType::NAPTR {
            let handle: &str = &entry.handle;
            for n in &c.naptr {
                if n.prefix
                    .as_deref()
                    .is_some_and(|pre| !is_under(handle.split('/').next().unwrap_or(""), pre))
                {
                    continue;
                }
                // `!` delimits the regexp; one in the URI would end it early.
                let uri = n.template.replace("{handle}", handle).replace('!', "%21");
                m.add_answer(Record::from_rdata(
                    qname.clone(),
                    c.ttl,
                    RData::NAPTR(NAPTR::new(
                        n.order,
                        n.preference,
                        b"U".to_vec().into_boxed_slice(),
                        n.services.as_bytes().into(),
                        format!("!^.*$!{uri}!").into_bytes().into_boxed_slice(),
                        Name::root(),
                    )),
                ));
            }
        }
        for v in &entry.values() {
            if txt {
                m.add_answer(Record::from_rdata(
                    qname.clone(),
                    ttl_of(v, now),
                    RData::TXT(TXT::new(txt_strings(v))),
                ));
            } else if uri && is_url(v) {
                m.add_answer(Record::from_rdata(
                    qname.clone(),
                    ttl_of(v, now),
                    uri_rdata(u16::try_from(v.index).unwrap_or(u16::MAX), &v.data),
                ));
            }
        }
    }

    /// Adds EDNS, serialises, and truncates to what the transport allows.
    fn finish(&self, p: &Prepared, mut m: Message) -> Vec<u8> {
        let limit = match (p.transport, &p.request.edns) {
            (Transport::Tcp, _) => usize::from(u16::MAX),
            (Transport::Udp, Some(e)) => usize::from(e.max_payload().clamp(512, MAX_UDP_PAYLOAD)),
            (Transport::Udp, None) => PLAIN_UDP_PAYLOAD,
        };
        if p.request.edns.is_some() {
            let mut e = Edns::new();
            e.set_max_payload(MAX_UDP_PAYLOAD);
            m.set_edns(e);
        }
        match m.to_vec() {
            Ok(b) if b.len() <= limit => b,
            Ok(_) => {
                let mut t = m.truncate();
                t.metadata.truncation = true;
                t.to_vec().unwrap_or_default()
            }
            Err(e) => {
                tracing::warn!("dns: cannot encode a response: {e}");
                self.error(&p.request, ResponseCode::ServFail)
            }
        }
    }

    /// SERVFAIL for a query whose facts could not be read.
    pub fn servfail(&self, p: &Prepared) -> Vec<u8> {
        self.error(&p.request, ResponseCode::ServFail)
    }

    fn error(&self, request: &Message, code: ResponseCode) -> Vec<u8> {
        let mut m = Message::error_msg(request.metadata.id, request.metadata.op_code, code);
        m.metadata.recursion_desired = request.metadata.recursion_desired;
        // Echo the question only when there is one: echoing many (a FORMERR for 33
        // questions, found by fuzzing) could exceed what the transport allows.
        if request.queries.len() == 1 {
            m.add_queries(request.queries.iter().cloned());
        }
        if request.edns.is_some() {
            let mut e = Edns::new();
            e.set_max_payload(MAX_UDP_PAYLOAD);
            if code == ResponseCode::BADVERS {
                e.set_rcode_high(code.high());
            }
            m.set_edns(e);
        }
        m.to_vec().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responder() -> Responder {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        Responder::new(DnsConfig {
            zone: n("id.test."),
            nameservers: vec![n("ns.id.test.")],
            hostmaster: n("hostmaster.id.test."),
            serial: 7,
            ttl: 3600,
            negative_ttl: 60,
            target: n("ns.id.test."),
            handle_port: 2641,
            http_port: 8000,
            delegations: vec![("88.118.9".into(), vec![n("ns1.valve.example.")])],
            responses_per_second: 0,
            naptr: Vec::new(),
        })
    }

    #[test]
    fn the_fast_txt_answer_is_byte_for_byte_the_general_one() {
        use idnode_core::HandleValue;
        use idnode_resolver::View;
        let r = responder();
        let mut long = HandleValue::text(3, "NOTE", &"x".repeat(600));
        long.ttl = Ttl::Relative(60);
        let values = vec![
            HandleValue::text(1, "URL", "https://gearbox.example/GBX-1"),
            HandleValue::bytes(2, "BLOB", vec![0, 255, 16]),
            long,
        ];
        let entry = Arc::new(Entry::build("88.118.8/GBX-1", &values, View::Public));
        for (name, edns, rd, tcp) in [
            ("GBX-1.8.118.88.id.test.", None, false, true),
            ("gbx-1.8.118.88.ID.test.", Some(1232), true, false),
            ("GBX-1.8.118.88.id.test.", Some(4096), false, true),
        ] {
            let mut q = Message::query();
            q.add_query(Query::query(
                Name::from_ascii(name).unwrap(),
                RecordType::TXT,
            ));
            q.metadata.recursion_desired = rd;
            if let Some(size) = edns {
                let mut e = Edns::new();
                e.set_max_payload(size);
                q.set_edns(e);
            }
            let transport = if tcp { Transport::Tcp } else { Transport::Udp };
            let Step::Needs(p) = r.prepare(&q.to_vec().unwrap(), transport) else {
                panic!("an identifier needs facts")
            };
            let txt = txt_form(&entry.values());
            let facts = Facts::new(Some(entry.clone()), false).with_txt(txt);
            let fast = r.txt_fast(&p, &facts).expect("the fast path applies");
            assert_eq!(fast, r.respond_general(&p, &facts), "{name}");
        }
        // Too big for 512 octets: the fast path steps aside and the general one truncates.
        let mut q = Message::query();
        q.add_query(Query::query(
            Name::from_ascii("GBX-1.8.118.88.id.test.").unwrap(),
            RecordType::TXT,
        ));
        let Step::Needs(p) = r.prepare(&q.to_vec().unwrap(), Transport::Udp) else {
            panic!()
        };
        let txt = txt_form(&entry.values());
        let facts = Facts::new(Some(entry), false).with_txt(txt);
        assert_eq!(r.txt_fast(&p, &facts), None);
        assert!(
            Message::from_vec(&r.respond(&p, &facts))
                .unwrap()
                .metadata
                .truncation
        );
    }

    #[test]
    fn formerr_for_many_questions_fits_a_datagram() {
        let mut q = Message::query();
        for i in 0..33 {
            let name = format!("{}.{i}.id.test.", "x".repeat(60));
            q.add_query(Query::query(
                Name::from_ascii(&name).unwrap(),
                RecordType::TXT,
            ));
        }
        let Step::Done(out) = responder().prepare(&q.to_vec().unwrap(), Transport::Udp) else {
            panic!("answered at once")
        };
        assert!(out.len() <= 512, "{}", out.len());
        let m = Message::from_vec(&out).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    }

    #[test]
    fn a_slip_keeps_id_and_question_and_sets_tc() {
        let mut q = Message::query();
        q.add_query(Query::query(
            Name::from_ascii("a.id.test.").unwrap(),
            RecordType::TXT,
        ));
        q.metadata.recursion_desired = true;
        let mut e = Edns::new();
        e.set_max_payload(1232);
        q.set_edns(e);
        let bytes = q.to_vec().unwrap();
        let m = Message::from_vec(&slip(&bytes).unwrap()).unwrap();
        assert_eq!(m.metadata.id, q.metadata.id);
        assert_eq!(m.metadata.message_type, MessageType::Response);
        assert!(m.metadata.truncation && m.metadata.recursion_desired);
        assert_eq!(m.queries, q.queries);
        assert!(m.answers.is_empty() && m.additionals.is_empty() && m.edns.is_none());
        assert_eq!(slip(&bytes[..20]), None);
        assert_eq!(slip(&[0; 5]), None);
    }
}
