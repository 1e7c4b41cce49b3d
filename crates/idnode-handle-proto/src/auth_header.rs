//! `Authorization: Handle …` (the Handle.Net REST API's scheme): its parameters, and the
//! challenge answer they stand for, in the encoding the Handle protocol's CHALLENGE_RESPONSE
//! uses, so both are checked by the same code. No I/O.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::answer as keys;

/// The parameters of `Authorization: Handle …` (RFC 7235 auth-params).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HandleAuth {
    /// `sessionId`.
    pub session_id: Option<String>,
    /// `version` (only \"0\" is known).
    pub version: Option<String>,
    /// `id`: `index:handle` of the identity proved.
    pub id: Option<String>,
    /// `type`: `HS_PUBKEY` or `HS_SECKEY`.
    pub kind: Option<String>,
    /// `cnonce`: the client's nonce, base64.
    pub cnonce: Option<String>,
    /// `alg`: the hash or MAC algorithm.
    pub alg: Option<String>,
    /// `signature`: base64.
    pub signature: Option<String>,
    /// `salt` (PBKDF2 answers), base64.
    pub salt: Option<String>,
    /// `iterations` (PBKDF2 answers).
    pub iterations: Option<String>,
    /// `length` (PBKDF2 answers): key bits.
    pub length: Option<String>,
}

impl HandleAuth {
    /// Parses the header value after the `Handle` scheme; `None` when it is not well formed.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.trim_start();
        let (scheme, mut rest) =
            rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
        if !scheme.eq_ignore_ascii_case("Handle") {
            return None;
        }
        let mut a = Self::default();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            if rest.is_empty() {
                return Some(a);
            }
            let eq = rest.find('=')?;
            let key = rest[..eq].trim();
            rest = rest[eq + 1..].trim_start();
            let value;
            if let Some(q) = rest.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let end = loop {
                    match chars.next()? {
                        (i, '"') => break i,
                        (_, '\\') => v.push(chars.next()?.1),
                        (_, c) => v.push(c),
                    }
                };
                value = v;
                rest = &q[end + 1..];
            } else {
                let end = rest
                    .find(|c: char| c == ',' || c.is_whitespace())
                    .unwrap_or(rest.len());
                value = rest[..end].to_owned();
                rest = &rest[end..];
            }
            let slot = match key.to_ascii_lowercase().as_str() {
                "sessionid" => &mut a.session_id,
                "version" => &mut a.version,
                "id" => &mut a.id,
                "type" => &mut a.kind,
                "cnonce" => &mut a.cnonce,
                "alg" => &mut a.alg,
                "signature" => &mut a.signature,
                "salt" => &mut a.salt,
                "iterations" => &mut a.iterations,
                "length" => &mut a.length,
                _ => continue,
            };
            *slot = Some(value);
        }
    }

    /// Whether the header carries a proof of identity (not just a session id).
    pub fn is_authenticating(&self) -> bool {
        self.id.is_some() || self.signature.is_some() || self.cnonce.is_some()
    }
}

/// The encoded challenge answer a header's `type`, `alg` and `signature` stand for (as CNRI
/// builds it): `HS_PUBKEY` → the hash name and the signature as strings; `HS_SECKEY` → the
/// algorithm code, then the MAC (PBKDF2 with its salt, iterations and key length).
pub fn answer_bytes(a: &HandleAuth) -> Result<(String, Vec<u8>), String> {
    let kind = a.kind.as_deref().ok_or("missing type")?;
    let alg = a.alg.as_deref().ok_or("missing alg")?;
    let sig = STANDARD
        .decode(a.signature.as_deref().ok_or("missing signature")?)
        .map_err(|_| "signature is not base64")?;
    let norm: String = alg
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let blob = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    };
    let mut out = Vec::new();
    match kind {
        "HS_PUBKEY" => {
            let name: &[u8] = match norm.as_str() {
                "SHA256" | "SHA2" => b"SHA-256",
                "SHA1" | "SHA" => b"SHA1",
                "SM3" => b"SM3",
                _ => return Err(format!("unknown alg {alg}")),
            };
            blob(&mut out, name);
            blob(&mut out, &sig);
        }
        "HS_SECKEY" => {
            let code: u8 = match norm.as_str() {
                "SHA1" | "SHA" => keys::KEYED_SHA1,
                "SHA256" | "SHA2" => keys::KEYED_SHA256,
                "HMACSHA1" => keys::HMAC_SHA1,
                "HMACSHA256" => keys::HMAC_SHA256,
                "PBKDF2HMACSHA1" | "PBKDF2WITHHMACSHA1" => keys::PBKDF2_HMAC_SHA1,
                _ => return Err(format!("unknown alg {alg}")),
            };
            out.push(code);
            if code == keys::PBKDF2_HMAC_SHA1 {
                let salt = STANDARD
                    .decode(a.salt.as_deref().ok_or("missing salt")?)
                    .map_err(|_| "salt is not base64")?;
                let num = |v: &Option<String>, what: &str| {
                    v.as_deref()
                        .and_then(|s| s.parse::<u32>().ok())
                        .ok_or(format!("missing or bad {what}"))
                };
                blob(&mut out, &salt);
                out.extend_from_slice(&num(&a.iterations, "iterations")?.to_be_bytes());
                out.extend_from_slice(&num(&a.length, "length")?.to_be_bytes());
                blob(&mut out, &sig);
            } else {
                out.extend_from_slice(&sig);
            }
        }
        other => return Err(format!("unknown type {other}")),
    }
    Ok((kind.to_owned(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_authorization_headers_parse() {
        let a = HandleAuth::parse(
            r#"Handle sessionId="abc", id="300:0.NA/88.118.8", type="HS_PUBKEY", cnonce="Y24=", alg="SHA256", signature="c2ln""#,
        )
        .unwrap();
        assert_eq!(a.session_id.as_deref(), Some("abc"));
        assert_eq!(a.id.as_deref(), Some("300:0.NA/88.118.8"));
        assert!(a.is_authenticating());
        let b = HandleAuth::parse(r#"handle sessionId=abc,version="0""#).unwrap();
        assert_eq!(b.session_id.as_deref(), Some("abc"));
        assert!(!b.is_authenticating());
        let q = HandleAuth::parse(r#"Handle id="a\"b""#).unwrap();
        assert_eq!(q.id.as_deref(), Some("a\"b"));
        assert!(HandleAuth::parse("Basic abc").is_none());
        assert!(HandleAuth::parse(r#"Handle id="unterminated"#).is_none());
        assert!(HandleAuth::parse("Handle novalue").is_none());
    }

    #[test]
    fn answers_are_encoded_as_cnri_does() {
        let mut a = HandleAuth {
            kind: Some("HS_SECKEY".into()),
            alg: Some("HMAC-SHA256".into()),
            signature: Some(STANDARD.encode([1, 2, 3])),
            ..HandleAuth::default()
        };
        assert_eq!(answer_bytes(&a).unwrap().1, vec![0x13, 1, 2, 3]);
        a.kind = Some("HS_PUBKEY".into());
        a.alg = Some("SHA256".into());
        let (_, b) = answer_bytes(&a).unwrap();
        assert_eq!(&b[..11], b"\0\0\0\x07SHA-256");
        a.alg = Some("MD2".into());
        assert!(answer_bytes(&a).is_err());
    }
}
