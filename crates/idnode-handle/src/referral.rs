//! Prefixes served elsewhere. Their sites come from static configuration, or from the
//! top-level node (`0.NA/<prefix>`, asked over the Handle protocol and cached for the TTL of
//! its values). A client gets a prefix referral (RC 303) with the sites, or, when it asked
//! for recursion, the answer of the site itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idnode_core::{HandleValue, Identifier, SiteInfo, Ttl};
use idnode_handle_proto::{encode_values, flags, rc, Body};
use moka::future::Cache;

use crate::client::{self, Answer};
use crate::dispatch::Wanted;
use crate::exchange::Exchange;
use crate::service::HandleService;

/// How long "the top-level node knows no site for this prefix" is remembered.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Bounds on how long a site from the top-level node is remembered.
const MIN_TTL: Duration = Duration::from_secs(5);
const MAX_TTL: Duration = Duration::from_secs(86_400);
/// Recursion stops at this many hops.
pub(crate) const MAX_RECURSION: u8 = 4;

/// The sites of a prefix served elsewhere.
#[derive(Debug)]
pub(crate) struct Known {
    /// The referral values, encoded (a count and `HS_SITE.PREFIX` values).
    pub(crate) encoded: Vec<u8>,
    /// The sites, for recursion.
    pub(crate) sites: Vec<SiteInfo>,
}

struct Cached {
    known: Option<Arc<Known>>,
    until: Instant,
}

/// Look-ups at the top-level node one client address may cause per second (cache hits and
/// configured referrals are free).
pub(crate) const UPSTREAM_LOOKUPS_PER_SECOND: u32 = 10;

/// What is known of a prefix served elsewhere.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Its sites.
    Known(Arc<Known>),
    /// No site is known.
    Unknown,
    /// The client asked the top-level node about too many prefixes this second.
    Limited,
}

/// Where the sites of other prefixes come from.
pub(crate) struct Referrals {
    fixed: Vec<(String, Arc<Known>)>,
    toplevel: Option<SocketAddr>,
    timeout: Duration,
    cache: Cache<String, Arc<Cached>>,
    per_client: idnode_ratelimit::ClientLimiter,
}

fn known(sites: Vec<SiteInfo>) -> Known {
    let values: Vec<HandleValue> = sites
        .iter()
        .zip(1..)
        .map(|(s, i)| HandleValue::bytes(i, "HS_SITE.PREFIX", s.encode()))
        .collect();
    let mut encoded = Vec::new();
    encode_values(&mut encoded, values.iter());
    Known { encoded, sites }
}

/// The address of the first server of `sites` with a TCP query interface.
pub(crate) fn tcp_server(sites: &[SiteInfo]) -> Option<SocketAddr> {
    sites.iter().flat_map(|s| &s.servers).find_map(|srv| {
        let i = srv
            .interfaces
            .iter()
            .find(|i| i.protocol == 1 && i.kind & 2 != 0)?;
        let a = srv.address;
        let ip = if a[..12].iter().all(|b| *b == 0) {
            IpAddr::V4(Ipv4Addr::new(a[12], a[13], a[14], a[15]))
        } else {
            IpAddr::V6(Ipv6Addr::from(a))
        };
        Some(SocketAddr::new(ip, u16::try_from(i.port).ok()?))
    })
}

fn ttl(values: &[HandleValue]) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    values
        .iter()
        .map(|v| match v.ttl {
            Ttl::Relative(s) => Duration::from_secs(u64::from(s)),
            Ttl::Absolute(t) => Duration::from_secs(u64::from(t).saturating_sub(now)),
        })
        .min()
        .unwrap_or(MIN_TTL)
        .clamp(MIN_TTL, MAX_TTL)
}

impl Referrals {
    pub(crate) fn new(
        fixed: &[(String, SiteInfo)],
        toplevel: Option<SocketAddr>,
        timeout: Duration,
    ) -> Self {
        Self {
            fixed: fixed
                .iter()
                .map(|(p, s)| (p.to_ascii_uppercase(), Arc::new(known(vec![s.clone()]))))
                .collect(),
            toplevel,
            timeout,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(MAX_TTL)
                .build(),
            per_client: idnode_ratelimit::ClientLimiter::per_second(UPSTREAM_LOOKUPS_PER_SECOND),
        }
    }

    /// The sites of `prefix` for a request from `peer`: configured (longest match), else the
    /// top-level node's (cached; a look-up there is charged to `peer`).
    pub(crate) async fn lookup(&self, prefix: &str, peer: IpAddr) -> Lookup {
        let found = |k: Option<Arc<Known>>| k.map_or(Lookup::Unknown, Lookup::Known);
        let fixed = self
            .fixed
            .iter()
            .filter(|(p, _)| idnode_core::is_under(prefix, p))
            .max_by_key(|(p, _)| p.len());
        if let Some((_, k)) = fixed {
            return Lookup::Known(k.clone());
        }
        let Some(toplevel) = self.toplevel else {
            return Lookup::Unknown;
        };
        let key = prefix.to_ascii_uppercase();
        if let Some(c) = self.cache.get(&key).await {
            if c.until > Instant::now() {
                return found(c.known.clone());
            }
        }
        if !self.per_client.allow(peer) {
            return Lookup::Limited;
        }
        let handle = format!("0.NA/{key}");
        let answer = client::resolve(toplevel, &handle, &[], &[], 0, 0, self.timeout).await;
        let (known, keep) = match answer {
            Ok(Answer { code, values, .. }) if code == rc::SUCCESS => {
                let sites: Vec<SiteInfo> = values
                    .iter()
                    .filter(|v| v.type_name == "HS_SITE" || v.type_name == "HS_SITE.PREFIX")
                    .filter_map(|v| SiteInfo::decode(&v.data).ok())
                    .collect();
                if sites.is_empty() {
                    (None, NEGATIVE_TTL)
                } else {
                    (Some(Arc::new(known(sites))), ttl(&values))
                }
            }
            Ok(_) => (None, NEGATIVE_TTL),
            Err(e) => {
                tracing::warn!(prefix = %key, error = %e, "the top-level node did not tell the site");
                return Lookup::Unknown;
            }
        };
        self.cache
            .insert(
                key,
                Arc::new(Cached {
                    known: known.clone(),
                    until: Instant::now() + keep,
                }),
            )
            .await;
        found(known)
    }

    /// Time allowed for each upstream exchange.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl HandleService {
    /// A handle under a prefix served elsewhere: with recursion asked (REC), the answer of
    /// the prefix's site; otherwise a prefix referral (303) with its sites; 301 when no site
    /// is known.
    pub(crate) async fn refer(
        &self,
        x: &mut Exchange<'_, '_>,
        handle: &str,
        id: &Identifier,
        wanted: &Wanted<'_>,
    ) {
        let m = x.m;
        let prefix = id.prefix();
        let known = match self.referrals.lookup(prefix, x.peer).await {
            Lookup::Known(k) => k,
            Lookup::Unknown => {
                return x.fail(
                    rc::SERVER_NOT_RESP,
                    &format!("this node is not responsible for prefix {prefix}"),
                )
            }
            Lookup::Limited => {
                return x.fail(
                    rc::SERVER_BUSY,
                    "too many look-ups of other prefixes from this address; retry later",
                )
            }
        };
        if !m.header.has(flags::REC) {
            return x.answer(
                rc::PREFIX_REFERRAL,
                &Body::Referral {
                    handle,
                    values: &known.encoded,
                },
            );
        }
        if m.header.recursion_count >= MAX_RECURSION {
            return x.fail(rc::RECURSION_COUNT_TOO_HIGH, "too many recursion hops");
        }
        let Some(site) = tcp_server(&known.sites) else {
            return x.fail(
                rc::SERVER_NOT_RESP,
                &format!("the site of {prefix} has no TCP query interface"),
            );
        };
        let flags = m.header.op_flags & (flags::PO | flags::CA);
        let answer = client::resolve(
            site,
            handle,
            wanted.indexes,
            wanted.types,
            flags,
            m.header.recursion_count + 1,
            self.referrals.timeout(),
        )
        .await;
        match answer {
            Ok(a) if a.code == rc::SUCCESS => {
                let mut values = Vec::new();
                encode_values(&mut values, a.values.iter());
                x.ok(&Body::Values {
                    handle,
                    values: &values,
                });
            }
            Ok(a) => x.fail(a.code, &a.message),
            Err(e) => x.fail(rc::SERVER_NOT_RESP, &e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_cannot_make_the_node_ask_about_unlimited_prefixes() {
        // Nothing listens there: every look-up fails (and is not cached), but is charged.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let r = Referrals::new(&[], Some(addr), Duration::from_millis(200));
        let peer: IpAddr = "192.0.2.9".parse().unwrap();
        let mut limited = 0;
        for k in 0..(UPSTREAM_LOOKUPS_PER_SECOND * 3 + 5) {
            if matches!(r.lookup(&format!("88.{k}"), peer).await, Lookup::Limited) {
                limited += 1;
            }
        }
        assert!(limited >= 1, "never limited");
        let other: IpAddr = "192.0.2.10".parse().unwrap();
        assert!(matches!(r.lookup("88.999", other).await, Lookup::Unknown));
    }
}
