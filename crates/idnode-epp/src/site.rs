//! HS_SITE values ([`SiteInfo`]) as the identifier mapping's `siteInfo`, both ways.

use base64::Engine as _;
use idnode_core::{address_bytes, address_to_string, SiteInfo, SiteInterface, SiteServer};

use crate::{EppError, Interface, Server, Site};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn protocol(p: u8) -> &'static str {
    match p {
        0 => "udp",
        1 => "tcp",
        _ => "http",
    }
}

impl Site {
    /// The `siteInfo` of an HS_SITE value at `index`. Interfaces serving both queries and
    /// administration appear twice (`query`, `admin`); HTTPS is written as `http`, the only
    /// web protocol the mapping names.
    pub fn from_site_info(index: u32, s: &SiteInfo) -> Self {
        Self {
            index,
            protocol_version: format!("{}.{}", s.protocol.0, s.protocol.1),
            servers: s
                .servers
                .iter()
                .map(|srv| Server {
                    id: srv.id,
                    addrs: vec![address_to_string(&srv.address)],
                    key: (!srv.public_key.is_empty())
                        .then(|| ("rsa_pub_key".to_owned(), B64.encode(&srv.public_key))),
                    interfaces: srv
                        .interfaces
                        .iter()
                        .flat_map(|i| {
                            let kinds: &[&str] = match i.kind {
                                1 => &["admin"],
                                2 => &["query"],
                                _ => &["query", "admin"],
                            };
                            kinds.iter().map(move |k| Interface {
                                service: (*k).to_owned(),
                                protocol: protocol(i.protocol).to_owned(),
                                port: u16::try_from(i.port).unwrap_or(u16::MAX),
                            })
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The HS_SITE value this `siteInfo` describes (one server per `serviceInfo`, its first
    /// address; a query and an admin interface on the same protocol and port merge).
    pub fn to_site_info(&self) -> Result<SiteInfo, EppError> {
        let (major, minor) = self
            .protocol_version
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .unwrap_or((2, 10));
        let servers = self
            .servers
            .iter()
            .map(|srv| {
                let ip: std::net::IpAddr = srv
                    .addrs
                    .first()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| EppError::syntax("a serviceInfo needs an IP address"))?;
                let mut interfaces: Vec<SiteInterface> = Vec::new();
                for i in &srv.interfaces {
                    let kind = if i.service == "admin" { 1 } else { 2 };
                    let protocol = match i.protocol.as_str() {
                        "udp" => 0,
                        "tcp" => 1,
                        _ => 2,
                    };
                    let port = u32::from(i.port);
                    match interfaces
                        .iter_mut()
                        .find(|x| x.protocol == protocol && x.port == port)
                    {
                        Some(x) => x.kind |= kind,
                        None => interfaces.push(SiteInterface {
                            kind,
                            protocol,
                            port,
                        }),
                    }
                }
                Ok(SiteServer {
                    id: srv.id,
                    address: address_bytes(ip),
                    public_key: srv
                        .key
                        .as_ref()
                        .and_then(|(_, k)| B64.decode(k).ok())
                        .unwrap_or_default(),
                    interfaces,
                })
            })
            .collect::<Result<_, EppError>>()?;
        Ok(SiteInfo {
            protocol: (major, minor),
            ..SiteInfo::primary(servers)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_info_survives_the_mapping() {
        let info = SiteInfo::primary(vec![SiteServer {
            id: 1,
            address: address_bytes("192.0.2.7".parse().unwrap()),
            public_key: vec![1, 2, 3],
            interfaces: vec![
                SiteInterface::new(3, 1, 2641),
                SiteInterface::new(3, 0, 2641),
                SiteInterface::new(2, 2, 8000),
            ],
        }]);
        let site = Site::from_site_info(1, &info);
        assert_eq!(site.servers[0].addrs, ["192.0.2.7"]);
        assert_eq!(site.servers[0].interfaces.len(), 5);
        assert_eq!(site.to_site_info().unwrap(), info);
        let mut bad = site;
        bad.servers[0].addrs = vec!["not-an-ip".into()];
        assert!(bad.to_site_info().is_err());
    }
}
