//! GS1 identifiers in their URI forms: EPC URIs (`urn:epc:id:…`), EPC class and pattern URIs
//! (`urn:epc:class:lgtin:…`, `urn:epc:idpat:…`) and GS1 Digital Link URIs on any domain, each
//! brought to one **constrained canonical Digital Link URI** (`https://id.gs1.org/…`, no query
//! string, only the finest level of identification), as GS1 Tag Data Standard 2.x and the
//! CBV 2.0 event hash ID define it. Two spellings of one identifier have the same canonical
//! form, so they find the same events.

use idnode_core::gs1::gs1_check_digit;

/// The canonical domain of GS1 Digital Link URIs.
pub const GS1_DOMAIN: &str = "https://id.gs1.org";

/// `digits` followed by their GS1 check digit.
fn with_check(mut digits: String) -> Option<String> {
    let d = gs1_check_digit(&digits)?;
    digits.push(char::from(b'0' + d));
    Some(digits)
}

/// Characters an EPC URI component may hold besides `%`-escapes (TDS "GS3A3").
fn epc_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!')(*+,.:;=_-".contains(c)
}

/// A serial-like EPC component of 1 to `max` characters (escapes count as one).
fn component(s: &str, max: usize) -> Option<&str> {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
        } else if !epc_char(c) {
            return None;
        }
        n += 1;
    }
    (1..=max).contains(&n).then_some(s)
}

/// Percent-encodes what a Digital Link path segment may not carry bare.
fn dl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '!' | '(' | ')' | '*' | '+' | ',' | ':' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Company prefix and reference of `total` digits together (6 to 12 digits of prefix).
fn key(cp: &str, reference: &str, total: usize) -> Option<String> {
    let ok = (6..=12).contains(&cp.len())
        && digits(cp)
        && (reference.is_empty() || digits(reference))
        && cp.len() + reference.len() == total;
    ok.then(|| format!("{cp}{reference}"))
}

/// `key` with its check digit.
fn checked(cp: &str, reference: &str, total: usize) -> Option<String> {
    with_check(key(cp, reference, total)?)
}

/// The GTIN-14 of a company prefix and an indicator-plus-item reference.
fn gtin(cp: &str, item: &str) -> Option<String> {
    let (indicator, rest) = item.split_at_checked(1)?;
    key(cp, item, 13)?;
    with_check(format!("{indicator}{cp}{rest}"))
}

/// The GRAI key (a leading zero, company prefix, asset type, check digit).
fn grai(cp: &str, asset: &str) -> Option<String> {
    with_check(format!("0{}", key(cp, asset, 12)?))
}

/// The canonical Digital Link URI of an EPC URI, EPC class URI or EPC pattern URI.
fn from_epc_urn(uri: &str) -> Option<String> {
    let (scheme, body) = if let Some(b) = uri.strip_prefix("urn:epc:id:") {
        b.split_once(':')?
    } else if let Some(b) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let [cp, item, lot] = parts(b)?;
        let lot = component(lot, 20)?;
        return Some(format!(
            "{GS1_DOMAIN}/01/{}/10/{}",
            gtin(cp, item)?,
            dl_escape(lot)
        ));
    } else if let Some(b) = uri.strip_prefix("urn:epc:idpat:") {
        return from_pattern(b);
    } else {
        return None;
    };
    match scheme {
        "sgtin" | "sscc" | "itip" | "upui" => trade_item(scheme, body),
        _ => other_key(scheme, body),
    }
}

/// `https://id.gs1.org/{ai}/{key}`.
fn dl(ai: &str, mut key: String) -> Option<String> {
    key.insert_str(0, &format!("{GS1_DOMAIN}/{ai}/"));
    Some(key)
}

/// EPC URIs of trade items and logistic units: SGTIN, SSCC, ITIP, UPUI.
fn trade_item(scheme: &str, body: &str) -> Option<String> {
    let p = dl;
    match scheme {
        "sgtin" => {
            let [cp, item, serial] = parts(body)?;
            let serial = dl_escape(component(serial, 20)?);
            p("01", format!("{}/21/{serial}", gtin(cp, item)?))
        }
        "sscc" => {
            let [cp, serial] = parts(body)?;
            let (ext, rest) = serial.split_at_checked(1)?;
            key(cp, serial, 17)?;
            p("00", with_check(format!("{ext}{cp}{rest}"))?)
        }
        "itip" => {
            let [cp, item, piece, total, serial] = parts(body)?;
            let ok = piece.len() == 2 && total.len() == 2 && digits(piece) && digits(total);
            let g = gtin(cp, item).filter(|_| ok)?;
            let serial = dl_escape(component(serial, 20)?);
            p("8006", format!("{g}{piece}{total}/21/{serial}"))
        }
        "upui" => {
            let [cp, item, tpx] = parts(body)?;
            let tpx = dl_escape(component(tpx, 28)?);
            p("01", format!("{}/235/{tpx}", gtin(cp, item)?))
        }
        _ => None,
    }
}

/// EPC URIs of locations, parties, assets, documents, services and consignments.
fn other_key(scheme: &str, body: &str) -> Option<String> {
    let p = dl;
    match scheme {
        "sgln" => {
            let [cp, loc, ext] = parts(body)?;
            let gln = checked(cp, loc, 12)?;
            match component(ext, 20)? {
                "0" => p("414", gln),
                ext => p("414", format!("{gln}/254/{}", dl_escape(ext))),
            }
        }
        "grai" => {
            let [cp, asset, serial] = parts(body)?;
            let k = grai(cp, asset)?;
            p("8003", format!("{k}{}", dl_escape(component(serial, 16)?)))
        }
        "giai" => {
            let [cp, asset] = parts(body)?;
            let cp = key(cp, "", cp.len())?;
            let max = 30 - cp.len();
            p("8004", format!("{cp}{}", dl_escape(component(asset, max)?)))
        }
        "gsrn" | "gsrnp" => {
            let [cp, service] = parts(body)?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            p(ai, checked(cp, service, 17)?)
        }
        "gdti" | "sgcn" => {
            let [cp, doc, serial] = parts(body)?;
            let (ai, max) = if scheme == "gdti" {
                ("253", 17)
            } else {
                ("255", 12)
            };
            let serial = component(serial, max)?;
            if scheme == "sgcn" && !digits(serial) {
                return None;
            }
            p(
                ai,
                format!("{}{}", checked(cp, doc, 12)?, dl_escape(serial)),
            )
        }
        "pgln" => {
            let [cp, party] = parts(body)?;
            p("417", checked(cp, party, 12)?)
        }
        "gsin" => {
            let [cp, shipper] = parts(body)?;
            p("402", checked(cp, shipper, 16)?)
        }
        "ginc" => {
            let [cp, consignment] = parts(body)?;
            let cp = key(cp, "", cp.len())?;
            let max = 30 - cp.len();
            p(
                "401",
                format!("{cp}{}", dl_escape(component(consignment, max)?)),
            )
        }
        "cpi" => {
            let (head, serial) = body.rsplit_once('.')?;
            let (cp, part) = head.split_once('.')?;
            let cp = key(cp, "", cp.len())?;
            let part = component(part, 30 - cp.len())?;
            if !digits(serial) || serial.len() > 12 {
                return None;
            }
            p(
                "8010",
                format!("{}/8011/{serial}", dl_escape(&format!("{cp}{part}"))),
            )
        }
        _ => None,
    }
}

/// The canonical Digital Link URI of an EPC pattern URI (a class: everything but the last
/// component, which is `*`).
fn from_pattern(body: &str) -> Option<String> {
    let (scheme, rest) = body.split_once(':')?;
    let rest = rest.strip_suffix(".*")?;
    let p = dl;
    match scheme {
        "sgtin" | "upui" => {
            let [cp, item] = parts(rest)?;
            p("01", gtin(cp, item)?)
        }
        "grai" => {
            let [cp, asset] = parts(rest)?;
            p("8003", grai(cp, asset)?)
        }
        "gdti" | "sgcn" => {
            let [cp, doc] = parts(rest)?;
            p(
                if scheme == "gdti" { "253" } else { "255" },
                checked(cp, doc, 12)?,
            )
        }
        "cpi" => {
            let [cp, part] = parts(rest)?;
            let cp = key(cp, "", cp.len())?;
            let part = component(part, 30 - cp.len())?;
            p("8010", dl_escape(&format!("{cp}{part}")))
        }
        "itip" => {
            let [cp, item, piece, total] = parts(rest)?;
            let ok = piece.len() == 2 && total.len() == 2 && digits(piece) && digits(total);
            p(
                "8006",
                format!("{}{piece}{total}", gtin(cp, item).filter(|_| ok)?),
            )
        }
        _ => None,
    }
}

/// `body` split at its first `N - 1` dots into exactly `N` parts (a part may be empty, as
/// the reference of a 12-digit company prefix is; the last keeps any further dots).
fn parts<const N: usize>(body: &str) -> Option<[&str; N]> {
    let mut it = body.splitn(N, '.');
    let out: [Option<&str>; N] = std::array::from_fn(|_| it.next());
    if out.iter().any(Option::is_none) {
        return None;
    }
    Some(out.map(Option::unwrap_or_default))
}

/// Primary key AIs of a Digital Link URI, with their short names.
const PRIMARY: [(&str, &str); 14] = [
    ("01", "gtin"),
    ("8006", "itip"),
    ("8010", "cpid"),
    ("414", "gln"),
    ("417", "party"),
    ("8017", "gsrnp"),
    ("8018", "gsrn"),
    ("255", "gcn"),
    ("00", "sscc"),
    ("253", "gdti"),
    ("401", "ginc"),
    ("402", "gsin"),
    ("8003", "grai"),
    ("8004", "giai"),
];

/// Key qualifiers, with their short names.
const QUALIFIERS: [(&str, &str); 6] = [
    ("22", "cpv"),
    ("10", "lot"),
    ("21", "ser"),
    ("235", "tpx"),
    ("254", "glnx"),
    ("8011", "cpsn"),
];

fn ai_number<'a>(table: &[(&'a str, &'a str)], s: &str) -> Option<&'a str> {
    table
        .iter()
        .find(|(n, name)| *n == s || *name == s)
        .map(|(n, _)| *n)
}

/// The constrained canonical form of a Digital Link URI on any domain: the primary key and
/// the finest qualifier that identifies an instance or a class (`01` with `21`, `10` or
/// `235`; `414` with `254`; `8006` with `21` or `10`; `8010` with `8011`), no query string,
/// GTINs as 14 digits.
fn from_digital_link(uri: &str) -> Option<String> {
    let rest = after_scheme(uri)?;
    let path = rest.split(['?', '#']).next()?;
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let start = (0..segments.len().saturating_sub(1))
        .find(|&i| ai_number(&PRIMARY, segments[i]).is_some() && key_like(segments[i + 1]))?;
    let primary = ai_number(&PRIMARY, segments[start])?;
    if !segments[start + 1..].iter().all(|s| dl_value(s)) {
        return None;
    }
    let mut value = segments[start + 1].to_owned();
    if !value.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if primary == "01" {
        if !digits(&value) || ![8, 12, 13, 14].contains(&value.len()) {
            return None;
        }
        value = format!("{value:0>14}");
    }
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    let mut i = start + 2;
    while i + 1 < segments.len() {
        qualifiers.push((ai_number(&QUALIFIERS, segments[i])?, segments[i + 1]));
        i += 2;
    }
    let find = |ai: &str| qualifiers.iter().find(|(a, _)| *a == ai).map(|(_, v)| *v);
    let finest: &[&str] = match primary {
        "01" => &["21", "235", "10"],
        "8006" => &["21", "10"],
        "414" => &["254"],
        "8010" => &["8011"],
        _ => &[],
    };
    let mut out = format!("{GS1_DOMAIN}/{primary}/{value}");
    if let Some((ai, v)) = finest.iter().find_map(|ai| find(ai).map(|v| (ai, v))) {
        out.push_str(&format!("/{ai}/{v}"));
    }
    Some(out)
}

/// What follows `https://` or `http://` in a URL.
pub(crate) fn after_scheme(url: &str) -> Option<&str> {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
}

/// A Digital Link path value: GS1's 82-character set (percent-escapes included), nothing
/// else (no controls, spaces, braces or non-ASCII).
fn dl_value(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c))
}

/// A primary key value starts with four digits (GS1 company prefix first digits).
fn key_like(s: &str) -> bool {
    s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
}

/// The constrained canonical GS1 Digital Link URI of a GS1 identifier in any of its URI
/// forms, or None for anything else (not a GS1 identifier, or malformed).
pub fn canonical_gs1(uri: &str) -> Option<String> {
    let uri = uri.trim();
    if uri.starts_with("urn:epc:") {
        from_epc_urn(uri)
    } else {
        from_digital_link(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_uris_become_canonical_digital_links() {
        let cases = [
            (
                "urn:epc:id:sgtin:0614141.107346.2017",
                "https://id.gs1.org/01/10614141073464/21/2017",
            ),
            (
                "urn:epc:id:sscc:0614141.1234567890",
                "https://id.gs1.org/00/106141412345678908",
            ),
            (
                "urn:epc:id:sgln:0614141.07346.0",
                "https://id.gs1.org/414/0614141073467",
            ),
            (
                "urn:epc:id:sgln:0614141.07346.1234",
                "https://id.gs1.org/414/0614141073467/254/1234",
            ),
            (
                "urn:epc:class:lgtin:4012345.012345.998877",
                "https://id.gs1.org/01/04012345123456/10/998877",
            ),
            (
                "urn:epc:idpat:sgtin:4012345.098765.*",
                "https://id.gs1.org/01/04012345987652",
            ),
            (
                "urn:epc:id:pgln:0614141.00001",
                "https://id.gs1.org/417/0614141000012",
            ),
            (
                "urn:epc:id:giai:0614141.12345400",
                "https://id.gs1.org/8004/061414112345400",
            ),
        ];
        for (epc, dl) in cases {
            assert_eq!(canonical_gs1(epc).as_deref(), Some(dl), "{epc}");
        }
    }

    #[test]
    fn digital_links_are_constrained_to_one_form() {
        let same = [
            "https://id.gs1.org/01/10614141073464/21/2017",
            "https://example.com/some/path/01/10614141073464/21/2017?linkType=all",
            "https://example.com/gtin/10614141073464/cpv/A/ser/2017",
            "https://id.gs1.org/01/10614141073464/10/LOT1/21/2017",
        ];
        for uri in same {
            assert_eq!(
                canonical_gs1(uri).as_deref(),
                Some("https://id.gs1.org/01/10614141073464/21/2017"),
                "{uri}"
            );
        }
        assert_eq!(
            canonical_gs1("https://id.gs1.org/01/9520123456788").as_deref(),
            Some("https://id.gs1.org/01/09520123456788")
        );
    }

    #[test]
    fn other_uris_and_malformed_epcs_have_no_gs1_form() {
        for s in [
            "hdl:88.118.8/GBX-1",
            "https://node.example/88.118.8/GBX-1",
            "urn:epc:id:sgtin:0614141.107346",
            "urn:epc:id:sgtin:06141.1073469.1",
            "urn:epc:id:sgtin:0614141.107346.bad/serial",
            "urn:epc:id:nope:1.2.3",
            "",
            // Characters outside GS1's set in a Digital Link value (found by the fuzzer: a
            // carriage return before a fragment was kept, then trimmed on the next pass).
            "https://e/gsin/11414.se{\r#\0",
            "https://id.gs1.org/01/09506000134352/21/a b",
            "https://id.gs1.org/01/09506000134352/21/序",
        ] {
            assert_eq!(canonical_gs1(s), None, "{s}");
        }
    }
}
