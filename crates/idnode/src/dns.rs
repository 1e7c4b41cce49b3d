//! Wiring of the DNS front end: `[dns]` settings into a [`DnsService`], sockets bound.

use std::sync::Arc;

use anyhow::Context as _;
use idnode_dns::name::Name;
use idnode_dns::{DnsConfig, DnsService, NaptrMapping};
use idnode_resolver::Resolver;

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
