//! Wiring of the DNS front end: `[dns]` settings into a [`DnsService`], sockets bound.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use idnode_dns::name::Name;
use idnode_dns::{DnsConfig, DnsService, NaptrMapping};
use idnode_resolver::Resolver;
use tokio::net::{TcpListener, UdpSocket};

use crate::config::DnsSection;

fn fqdn(s: &str) -> anyhow::Result<Name> {
    let mut n = Name::from_ascii(s).with_context(|| format!("'{s}' is not a DNS name"))?;
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}

/// The DNS service for `c`, publishing the Handle and HTTP ports in SRV records.
pub(crate) fn service(
    c: &DnsSection,
    resolver: Arc<Resolver>,
    handle_port: u16,
    http_port: u16,
) -> anyhow::Result<DnsService> {
    let zone = fqdn(&c.zone)?;
    let under = |label: &str| -> anyhow::Result<Name> {
        Ok(Name::from_ascii(label)?.append_domain(&zone)?)
    };
    let nameservers = if c.nameservers.is_empty() {
        vec![under("ns")?]
    } else {
        c.nameservers
            .iter()
            .map(|n| fqdn(n))
            .collect::<Result<_, _>>()?
    };
    let hostmaster = match &c.hostmaster {
        Some(h) => fqdn(h)?,
        None => under("hostmaster")?,
    };
    let target = match &c.target {
        Some(t) => fqdn(t)?,
        None => nameservers[0].clone(),
    };
    let delegations = c
        .delegation
        .iter()
        .map(|d| {
            let prefix = idnode_core::normalize_prefix(&d.prefix)?;
            let ns = d
                .nameservers
                .iter()
                .map(|n| fqdn(n))
                .collect::<Result<_, _>>()?;
            Ok((prefix, ns))
        })
        .collect::<anyhow::Result<_>>()?;
    let serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(1));
    Ok(DnsService::new(
        DnsConfig {
            zone,
            nameservers,
            hostmaster,
            serial,
            ttl: c.ttl,
            negative_ttl: c.negative_ttl,
            target,
            handle_port,
            http_port,
            delegations,
            responses_per_second: c.responses_per_second,
            naptr: c
                .naptr
                .iter()
                .map(|n| {
                    Ok(NaptrMapping {
                        prefix: n
                            .prefix
                            .as_deref()
                            .map(idnode_core::normalize_prefix)
                            .transpose()?,
                        order: n.order,
                        preference: n.preference,
                        services: n.services.clone(),
                        template: n.template.clone(),
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        },
        resolver,
    ))
}

/// Binds the DNS UDP socket and a TCP listener on the same port (with port 0, the port the
/// UDP socket got).
pub(crate) async fn bind(addr: SocketAddr) -> anyhow::Result<(SocketAddr, UdpSocket, TcpListener)> {
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding DNS UDP on {addr}"))?;
        let bound = udp.local_addr()?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((bound, udp, tcp)),
            Err(e) if addr.port() != 0 => {
                return Err(e).with_context(|| format!("binding DNS TCP on {bound}"))
            }
            Err(_) => continue,
        }
    }
    bail!("no port free for both DNS UDP and TCP on {}", addr.ip())
}
