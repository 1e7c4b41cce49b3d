//! Gathers the facts a DNS answer needs from the resolver's caches or the store, and runs
//! the [`Responder`] over them.

use std::collections::HashSet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use idnode_core::Identifier;
use idnode_ratelimit::ClientLimiter;
use idnode_resolver::{Entry, Meter, Outcome, ResolveError, Resolver, View};

use crate::answer::{Facts, Prepared, Responder, Step, Transport};
use crate::name::Name;
use crate::{DnsConfig, DnsError};

/// The DNS service shared by the UDP and TCP listeners.
pub struct DnsService {
    responder: Responder,
    resolver: Arc<Resolver>,
    /// The prefix names that exist.
    prefixes: PrefixSet,
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
            prefixes: PrefixSet::default(),
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

    /// Builds the response from the facts ([`Responder::respond`]), counting identifier
    /// look-ups in `idnode_resolutions_total{frontend="dns"}`.
    pub fn respond(&self, p: &Prepared, facts: &Facts) -> Vec<u8> {
        if p.needs().1.is_some() {
            self.meter.count(if facts.found() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            });
        }
        self.responder.respond(p, facts)
    }

    /// SERVFAIL for a query whose facts could not be read.
    pub fn servfail(&self, p: &Prepared) -> Vec<u8> {
        self.responder.servfail(p)
    }

    /// Answers `bytes` completely, waiting for the store when the caches do not know.
    pub async fn answer(&self, bytes: &[u8], transport: Transport) -> Vec<u8> {
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
                self.respond(&p, &facts)
            }
        }
    }

    /// The facts, if the caches hold them all.
    pub fn cached_facts(&self, p: &Prepared) -> Option<Facts> {
        let (prefix, identifier) = p.needs();
        let prefix_exists = match prefix {
            Some(pre) => self.prefixes.fresh()?.contains(pre),
            None => false,
        };
        let entry = match identifier {
            None => None,
            Some(id) => self.resolver.cached_any_case(id, View::Public)?,
        };
        Some(Facts::new(entry, prefix_exists))
    }

    /// The facts, read from the store where the caches do not know.
    pub async fn facts(&self, p: &Prepared) -> Result<Facts, DnsError> {
        let (prefix, identifier) = p.needs();
        let prefix_exists = match prefix {
            None => false,
            Some(pre) => match self.prefixes.fresh() {
                Some(set) => set.contains(pre),
                None => self.prefixes.refresh(&self.resolver).await?.contains(pre),
            },
        };
        let entry = match identifier {
            None => None,
            Some(id) => self.entry(id).await?,
        };
        Ok(Facts::new(entry, prefix_exists))
    }

    async fn entry(&self, id: &Identifier) -> Result<Option<Arc<Entry>>, DnsError> {
        match self.resolver.resolve_any_case(id, View::Public).await {
            Ok(e) => Ok(Some(e)),
            Err(ResolveError::NotFound | ResolveError::NotResponsible(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// How long the set of prefix names is trusted before it is read again.
const PREFIX_REFRESH: Duration = Duration::from_secs(5);

/// The prefix names that exist: every prefix allocated on this node or served by it, and
/// every name above one (`88`, the empty non-terminals a QNAME-minimising resolver walks
/// through). Small (one entry per prefix), read whole from the store every few seconds.
#[derive(Default)]
struct PrefixSet {
    state: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl PrefixSet {
    /// The set, unless it is missing or older than [`PREFIX_REFRESH`].
    fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        let guard = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, set) = guard.as_ref()?;
        (at.elapsed() < PREFIX_REFRESH).then(|| set.clone())
    }

    /// Reads the prefixes again.
    async fn refresh(&self, resolver: &Resolver) -> Result<Arc<HashSet<String>>, DnsError> {
        let mut set = HashSet::new();
        let allocated = resolver.store().list_prefixes(None).await?;
        let names = allocated
            .iter()
            .map(|p| p.prefix.as_str())
            .chain(resolver.served().iter().map(String::as_str));
        for p in names {
            let mut at = p.len();
            set.insert(p.to_owned());
            while let Some(dot) = p[..at].rfind('.') {
                set.insert(p[..dot].to_owned());
                at = dot;
            }
        }
        let set = Arc::new(set);
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), set.clone()));
        Ok(set)
    }
}
