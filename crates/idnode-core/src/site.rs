//! `HS_SITE` payloads: where and how a prefix is served (RFC 3651 §3.2.2, SPEC §5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::wire::{put_blob, put_u32, Reader};
use crate::CoreError;

/// A decoded `HS_SITE` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    /// Data format version (1).
    pub version: u16,
    /// Protocol version spoken by the site (major, minor).
    pub protocol: (u8, u8),
    /// Serial number, bumped whenever the site changes.
    pub serial: u16,
    /// True for a primary (writable) site.
    pub primary: bool,
    /// True when several primaries replicate each other.
    pub multi_primary: bool,
    /// Hash option: 0 prefix, 1 suffix, 2 whole handle.
    pub hash_option: u8,
    /// Hash filter (unused by current servers, kept for round trips).
    pub hash_filter: Vec<u8>,
    /// Name/value attributes (e.g. `desc`).
    pub attributes: Vec<(String, String)>,
    /// The servers of the site.
    pub servers: Vec<SiteServer>,
}

/// One server of a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteServer {
    /// Server id within the site.
    pub id: u32,
    /// IPv6 form of the address (IPv4 right-aligned after 12 zero bytes).
    pub address: [u8; 16],
    /// The server's `HS_PUBKEY` bytes.
    pub public_key: Vec<u8>,
    /// The interfaces the server listens on.
    pub interfaces: Vec<SiteInterface>,
}

/// One listening interface of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteInterface {
    /// 1 admin, 2 query, 3 both.
    pub kind: u8,
    /// 0 UDP, 1 TCP, 2 HTTP, 3 HTTPS.
    pub protocol: u8,
    /// Port number.
    pub port: u32,
}

impl SiteInterface {
    /// An interface of `kind` (1 admin, 2 query, 3 both) speaking `protocol` (0 UDP, 1 TCP,
    /// 2 HTTP, 3 HTTPS) on `port`.
    pub const fn new(kind: u8, protocol: u8, port: u32) -> Self {
        Self {
            kind,
            protocol,
            port,
        }
    }
}

impl SiteInfo {
    /// A single primary site of `servers` speaking protocol 2.10 (serial 1, prefix hashing,
    /// no attributes).
    pub fn primary(servers: Vec<SiteServer>) -> Self {
        Self {
            version: 1,
            protocol: (2, 10),
            serial: 1,
            primary: true,
            multi_primary: false,
            hash_option: 0,
            hash_filter: Vec::new(),
            attributes: Vec::new(),
            servers,
        }
    }

    /// Binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.version.to_be_bytes());
        out.push(self.protocol.0);
        out.push(self.protocol.1);
        out.extend_from_slice(&self.serial.to_be_bytes());
        out.push(u8::from(self.primary) << 7 | u8::from(self.multi_primary) << 6);
        out.push(self.hash_option);
        put_blob(&mut out, &self.hash_filter);
        put_u32(&mut out, self.attributes.len() as u32);
        for (k, v) in &self.attributes {
            put_blob(&mut out, k.as_bytes());
            put_blob(&mut out, v.as_bytes());
        }
        put_u32(&mut out, self.servers.len() as u32);
        for s in &self.servers {
            put_u32(&mut out, s.id);
            out.extend_from_slice(&s.address);
            put_blob(&mut out, &s.public_key);
            put_u32(&mut out, s.interfaces.len() as u32);
            for i in &s.interfaces {
                out.push(i.kind);
                out.push(i.protocol);
                put_u32(&mut out, i.port);
            }
        }
        out
    }

    /// Parses the binary form; rejects trailing bytes.
    pub fn decode(data: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(data);
        let version = r.u16()?;
        let protocol = (r.u8()?, r.u8()?);
        let serial = r.u16()?;
        let mask = r.u8()?;
        let hash_option = r.u8()?;
        let hash_filter = r.blob()?.to_vec();
        let n = r.count(8)?;
        let mut attributes = Vec::with_capacity(n);
        for _ in 0..n {
            attributes.push((r.str()?.to_owned(), r.str()?.to_owned()));
        }
        let n = r.count(28)?;
        let mut servers = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.u32()?;
            let mut address = [0u8; 16];
            address.copy_from_slice(r.bytes(16)?);
            let public_key = r.blob()?.to_vec();
            let m = r.count(6)?;
            let mut interfaces = Vec::with_capacity(m);
            for _ in 0..m {
                interfaces.push(SiteInterface::new(r.u8()?, r.u8()?, r.u32()?));
            }
            servers.push(SiteServer {
                id,
                address,
                public_key,
                interfaces,
            });
        }
        r.finish()?;
        Ok(Self {
            version,
            protocol,
            serial,
            primary: mask & 0x80 != 0,
            multi_primary: mask & 0x40 != 0,
            hash_option,
            hash_filter,
            attributes,
            servers,
        })
    }

    /// The handle.net JSON form (`"format":"site"` value).
    pub fn to_json(&self) -> SiteJson {
        SiteJson {
            version: self.version,
            protocol_version: format!("{}.{}", self.protocol.0, self.protocol.1),
            serial_number: self.serial,
            primary_site: self.primary,
            multi_primary: self.multi_primary,
            hash_option: (self.hash_option != 0).then_some(self.hash_option),
            hash_filter: (!self.hash_filter.is_empty())
                .then(|| String::from_utf8_lossy(&self.hash_filter).into_owned()),
            attributes: self
                .attributes
                .iter()
                .map(|(name, value)| SiteAttribute {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            servers: self
                .servers
                .iter()
                .map(|s| SiteServerJson {
                    server_id: s.id,
                    address: address_to_string(&s.address),
                    public_key: KeyJson {
                        format: "base64".into(),
                        value: B64.encode(&s.public_key),
                    },
                    interfaces: s
                        .interfaces
                        .iter()
                        .map(|i| InterfaceJson {
                            query: i.kind & 2 != 0,
                            admin: i.kind & 1 != 0,
                            protocol: protocol_name(i.protocol),
                            port: i.port,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Builds a site from its JSON form.
    pub fn from_json(j: &SiteJson) -> Result<Self, CoreError> {
        let (maj, min) = j
            .protocol_version
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| CoreError::value("site protocolVersion must look like 2.10"))?;
        let mut servers = Vec::with_capacity(j.servers.len());
        for s in &j.servers {
            let ip: IpAddr = s
                .address
                .parse()
                .map_err(|_| CoreError::value(format!("bad server address '{}'", s.address)))?;
            let public_key = match s.public_key.format.as_str() {
                "base64" | "key" => B64
                    .decode(&s.public_key.value)
                    .map_err(|_| CoreError::value("server publicKey is not base64"))?,
                "hex" => hex::decode(&s.public_key.value)
                    .map_err(|_| CoreError::value("server publicKey is not hex"))?,
                f => return Err(CoreError::value(format!("publicKey format '{f}'"))),
            };
            let mut interfaces = Vec::with_capacity(s.interfaces.len());
            for i in &s.interfaces {
                interfaces.push(SiteInterface::new(
                    u8::from(i.admin) | u8::from(i.query) << 1,
                    protocol_code(&i.protocol)?,
                    i.port,
                ));
            }
            servers.push(SiteServer {
                id: s.server_id,
                address: address_bytes(ip),
                public_key,
                interfaces,
            });
        }
        Ok(Self {
            version: j.version,
            protocol: (maj, min),
            serial: j.serial_number,
            primary: j.primary_site,
            multi_primary: j.multi_primary,
            hash_option: j.hash_option.unwrap_or(0),
            hash_filter: j.hash_filter.clone().unwrap_or_default().into_bytes(),
            attributes: j
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
            servers,
        })
    }
}

/// IPv6 form of an address, IPv4 right-aligned after 12 zero bytes (Handle convention).
pub fn address_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut a = [0u8; 16];
            a[12..].copy_from_slice(&v4.octets());
            a
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The text form of a site address (IPv4 when it is right-aligned after 12 zero bytes).
pub fn address_to_string(a: &[u8; 16]) -> String {
    if a[..12].iter().all(|b| *b == 0) {
        Ipv4Addr::new(a[12], a[13], a[14], a[15]).to_string()
    } else {
        Ipv6Addr::from(*a).to_string()
    }
}

fn protocol_name(p: u8) -> String {
    match p {
        0 => "UDP".into(),
        1 => "TCP".into(),
        2 => "HTTP".into(),
        3 => "HTTPS".into(),
        n => n.to_string(),
    }
}

fn protocol_code(s: &str) -> Result<u8, CoreError> {
    match s.to_ascii_uppercase().as_str() {
        "UDP" => Ok(0),
        "TCP" => Ok(1),
        "HTTP" => Ok(2),
        "HTTPS" => Ok(3),
        other => other
            .parse()
            .map_err(|_| CoreError::value(format!("unknown interface protocol '{s}'"))),
    }
}

/// JSON form of an `HS_SITE` value, as handle.net writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteJson {
    /// Data format version.
    #[serde(default = "one")]
    pub version: u16,
    /// `major.minor`.
    pub protocol_version: String,
    /// Serial number.
    #[serde(default)]
    pub serial_number: u16,
    /// Primary site flag.
    #[serde(default)]
    pub primary_site: bool,
    /// Multi-primary flag.
    #[serde(default)]
    pub multi_primary: bool,
    /// Hash option (omitted when 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_option: Option<u8>,
    /// Hash filter (omitted when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_filter: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: Vec<SiteAttribute>,
    /// Servers.
    #[serde(default)]
    pub servers: Vec<SiteServerJson>,
}

fn one() -> u16 {
    1
}

/// A site attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteAttribute {
    /// Attribute name.
    pub name: String,
    /// Attribute value.
    pub value: String,
}

/// JSON form of one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteServerJson {
    /// Server id.
    pub server_id: u32,
    /// IPv4 or IPv6 address.
    pub address: String,
    /// Public key bytes.
    pub public_key: KeyJson,
    /// Interfaces.
    #[serde(default)]
    pub interfaces: Vec<InterfaceJson>,
}

/// A `{format, value}` pair carrying key bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyJson {
    /// `base64`, `key` or `hex`.
    pub format: String,
    /// Encoded bytes.
    pub value: String,
}

/// JSON form of one interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceJson {
    /// Answers queries.
    pub query: bool,
    /// Accepts administration.
    pub admin: bool,
    /// `UDP`, `TCP`, `HTTP` or `HTTPS`.
    pub protocol: String,
    /// Port.
    pub port: u32,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> SiteInfo {
        SiteInfo {
            version: 1,
            protocol: (2, 10),
            serial: 3,
            primary: true,
            multi_primary: false,
            hash_option: 0,
            hash_filter: vec![],
            attributes: vec![("desc".into(), "idnode".into())],
            servers: vec![SiteServer {
                id: 1,
                address: address_bytes("127.0.0.1".parse().unwrap()),
                public_key: vec![0, 0, 0, 3, b'R', b'S', b'A'],
                interfaces: vec![
                    SiteInterface::new(3, 1, 2641),
                    SiteInterface::new(2, 2, 8000),
                ],
            }],
        }
    }

    #[test]
    fn binary_and_json_round_trip() {
        let s = sample();
        assert_eq!(SiteInfo::decode(&s.encode()).unwrap(), s);
        let j = s.to_json();
        assert_eq!(j.servers[0].address, "127.0.0.1");
        assert_eq!(j.servers[0].interfaces[0].protocol, "TCP");
        assert_eq!(SiteInfo::from_json(&j).unwrap(), s);
        let text = serde_json::to_string(&j).unwrap();
        let back: SiteJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, j);
    }

    proptest! {
        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(s) = SiteInfo::decode(&b) {
                prop_assert_eq!(SiteInfo::decode(&s.encode()).unwrap(), s);
            }
        }
    }
}
