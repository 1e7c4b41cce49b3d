//! Gathers the facts a DNS answer needs from the resolver's caches or the store, and runs
//! the [`Responder`] over them.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use idnode_core::Identifier;
use idnode_ratelimit::ClientLimiter;
use idnode_resolver::{Entry, Meter, Outcome, ResolveError, Resolver, View};

use crate::answer::{txt_form, Facts, Prepared, Responder, Step, Transport};
use crate::name::Name;
use crate::{DnsConfig, DnsError};

/// The DNS service shared by the UDP and TCP listeners.
pub struct DnsService {
    responder: Responder,
    resolver: Arc<Resolver>,
    meter: Meter,
    /// Responses per second per client address over UDP (None: unlimited).
    rrl: Option<ClientLimiter>,
    slipped: metrics::Counter,
}

impl DnsService {
    /// A service answering for `config.zone` from `resolver`.
    pub fn new(config: DnsConfig, resolver: Arc<Resolver>) -> Self {
        let rrl = NonZeroU32::new(config.responses_per_second)
            .map(|n| ClientLimiter::per_second(n.get()));
        Self {
            responder: Responder::new(config),
            resolver,
            meter: Meter::new("dns"),
            rrl,
            slipped: metrics::counter!("idnode_dns_rrl_slipped_total"),
        }
    }

    /// The zone answered for.
    pub fn zone(&self) -> &Name {
        &self.responder.config().zone
    }

    /// Whether a UDP response to `peer` is within its response rate; when it is not, the
    /// caller sends [`crate::slip`] instead (counted in `idnode_dns_rrl_slipped_total`).
    pub fn within_rate(&self, peer: IpAddr) -> bool {
        match &self.rrl {
            Some(l) if !l.allow(peer) => {
                self.slipped.increment(1);
                false
            }
            _ => true,
        }
    }

    /// Parses a query; answers at once what needs no facts ([`Responder::prepare`]).
    pub fn prepare(&self, bytes: &[u8], transport: Transport) -> Step {
        self.responder.prepare(bytes, transport)
    }

    /// Builds the response from the facts ([`Responder::respond`]) for `peer`, counting
    /// identifier look-ups in `idnode_resolutions_total{frontend="dns"}` and the statistics
    /// of their prefix.
    pub fn respond(&self, p: &Prepared, facts: &Facts, peer: IpAddr) -> Vec<u8> {
        if let Some(id) = p.needs().1 {
            let outcome = if facts.found() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            };
            self.meter
                .record(self.resolver.tally(), id.prefix(), outcome, Some(peer));
        }
        self.responder.respond(p, facts)
    }

    /// SERVFAIL for a query whose facts could not be read.
    pub fn servfail(&self, p: &Prepared) -> Vec<u8> {
        self.responder.servfail(p)
    }

    /// Answers `bytes` from `peer` completely, waiting for the store when the caches do not
    /// know.
    pub async fn answer(&self, bytes: &[u8], transport: Transport, peer: IpAddr) -> Vec<u8> {
        match self.prepare(bytes, transport) {
            Step::Done(out) => out,
            Step::Needs(p) => {
                let facts = match self.cached_facts(&p) {
                    Some(f) => f,
                    None => match self.facts(&p).await {
                        Ok(f) => f,
                        Err(e) => {
                            tracing::warn!("dns: {e}");
                            return self.servfail(&p);
                        }
                    },
                };
                self.respond(&p, &facts, peer)
            }
        }
    }

    /// The facts, if the caches hold them all.
    pub fn cached_facts(&self, p: &Prepared) -> Option<Facts> {
        let (prefix, identifier) = p.needs();
        let prefix_exists = match prefix {
            Some(pre) => self.resolver.prefix_name_known(pre)?,
            None => false,
        };
        let entry = match identifier {
            None => None,
            Some(id) => self.resolver.cached_any_case(id, View::Public)?,
        };
        Some(self.with_forms(p, Facts::new(entry, prefix_exists)))
    }

    /// `facts` with the entry's TXT form when the query may use it.
    fn with_forms(&self, p: &Prepared, facts: Facts) -> Facts {
        let txt = match facts.entry() {
            Some(e) if p.asks_txt() => txt_form(&e.values()),
            _ => None,
        };
        facts.with_txt(txt)
    }

    /// The facts, read from the store where the caches do not know.
    pub async fn facts(&self, p: &Prepared) -> Result<Facts, DnsError> {
        let (prefix, identifier) = p.needs();
        let prefix_exists = match prefix {
            None => false,
            Some(pre) => self.resolver.prefix_name_exists(pre).await?,
        };
        let entry = match identifier {
            None => None,
            Some(id) => self.entry(id).await?,
        };
        Ok(self.with_forms(p, Facts::new(entry, prefix_exists)))
    }

    async fn entry(&self, id: &Identifier) -> Result<Option<Arc<Entry>>, DnsError> {
        match self.resolver.resolve_any_case(id, View::Public).await {
            Ok(e) => Ok(Some(e)),
            Err(ResolveError::NotFound | ResolveError::NotResponsible(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
