//! Values written in the Handle.Net REST JSON form (SPEC §4). Every REST answer is written
//! here, cached or not, so this is written by hand into one buffer: the fixed parts of a
//! value are copied whole and a string is escaped only when it holds a character JSON
//! must escape. The bytes are those serde_json writes for the same structure (key order,
//! escapes, numbers), which the golden tests below hold it to.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Serialize;
use time::OffsetDateTime;

use crate::{AdminRef, HandleValue, Permissions, SiteInfo, Ttl, VList};

/// `{"responseCode":1,"handle":…,"values":[…]}` for `values`.
pub(crate) fn record(handle: &str, values: &[HandleValue]) -> Vec<u8> {
    // Sized up front so that the answer is written without growing its buffer: the fixed
    // keys of a value take ~110 bytes, base64 data grows by a third.
    let guess = 48
        + handle.len()
        + values
            .iter()
            .map(|v| 120 + v.type_name.len() + v.data.len() * 4 / 3)
            .sum::<usize>();
    let mut out = Vec::with_capacity(guess);
    out.extend_from_slice(b"{\"responseCode\":1,\"handle\":");
    string(&mut out, handle);
    out.extend_from_slice(b",\"values\":");
    array(&mut out, values);
    out.push(b'}');
    out
}

/// `[value, …]`.
pub(crate) fn array<'a>(out: &mut Vec<u8>, values: impl IntoIterator<Item = &'a HandleValue>) {
    out.push(b'[');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        value(out, v);
    }
    out.push(b']');
}

/// One value: index, type, data, ttlType (when absolute), ttl, timestamp, permissions
/// (when not the default) and references (when there are any).
pub(crate) fn value(out: &mut Vec<u8>, v: &HandleValue) {
    out.extend_from_slice(b"{\"index\":");
    number(out, v.index);
    out.extend_from_slice(b",\"type\":");
    string(out, &v.type_name);
    out.extend_from_slice(b",\"data\":");
    data(out, v);
    let ttl = match v.ttl {
        Ttl::Relative(t) => t,
        Ttl::Absolute(t) => {
            out.extend_from_slice(b",\"ttlType\":1");
            t
        }
    };
    out.extend_from_slice(b",\"ttl\":");
    number(out, ttl);
    out.extend_from_slice(b",\"timestamp\":\"");
    out.extend_from_slice(&Time20::of(v.timestamp).0);
    out.push(b'"');
    if v.permissions != Permissions::DEFAULT {
        out.extend_from_slice(b",\"permissions\":");
        string(out, &v.permissions.to_rest());
    }
    if !v.references.is_empty() {
        out.extend_from_slice(b",\"references\":");
        serde(out, &v.references);
    }
    out.push(b'}');
}

/// The `data` object of a value, in the format its type calls for. A structured type is
/// rendered structurally only when its payload re-encodes to the exact same bytes; anything
/// else falls back to `string` (UTF-8 without NUL, which JSONB cannot store) or `base64`,
/// so nothing is lost.
pub(crate) fn data(out: &mut Vec<u8>, v: &HandleValue) {
    let d = &v.data;
    let structured = match v.type_name.as_str() {
        "HS_ADMIN" => match AdminRef::decode(d) {
            Ok(a) if a.encode() == *d => {
                tagged(out, "admin", |out| {
                    out.extend_from_slice(b"{\"handle\":");
                    string(out, &a.handle);
                    out.extend_from_slice(b",\"index\":");
                    number(out, a.index);
                    out.extend_from_slice(b",\"permissions\":\"");
                    out.extend_from_slice(a.perms.to_bit_string().as_bytes());
                    out.extend_from_slice(b"\"}");
                });
                true
            }
            _ => false,
        },
        "HS_VLIST" => match VList::decode(d) {
            Ok(l) if l.encode() == *d => {
                tagged(out, "vlist", |out| serde(out, &l.0));
                true
            }
            _ => false,
        },
        "HS_SITE" | "HS_SITE.PREFIX" => match SiteInfo::decode(d) {
            Ok(s) if s.encode() == *d => {
                tagged(out, "site", |out| serde(out, &s.to_json()));
                true
            }
            _ => false,
        },
        "HS_PUBKEY" => {
            tagged(out, "key", |out| base64(out, d));
            true
        }
        _ => false,
    };
    if !structured {
        match std::str::from_utf8(d) {
            Ok(s) if !s.contains('\0') => tagged(out, "string", |out| string(out, s)),
            _ => tagged(out, "base64", |out| base64(out, d)),
        }
    }
}

/// `{"format":"<format>","value":<what write writes>}`.
fn tagged(out: &mut Vec<u8>, format: &str, write: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"{\"format\":\"");
    out.extend_from_slice(format.as_bytes());
    out.extend_from_slice(b"\",\"value\":");
    write(out);
    out.push(b'}');
}

/// A JSON string: copied whole unless it holds a character JSON escapes (a control
/// character, `"` or `\`); those go through serde_json's escaping.
fn string(out: &mut Vec<u8>, s: &str) {
    // Without an early exit, so that the compiler checks many bytes at a time.
    let escape = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !escape {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde(out, s);
    }
}

/// Base64 of `bytes`, quoted (its alphabet needs no escaping).
fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(B64.encode(bytes).as_bytes());
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// What serde_json writes for `x` (the rarely rendered structured parts).
fn serde(out: &mut Vec<u8>, x: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, x).expect("serialising plain data cannot fail");
}

/// RFC 3339 UTC, whole seconds: `2001-11-21T16:21:35Z`, as its 20 ASCII bytes.
#[derive(Clone, Copy)]
pub(crate) struct Time20(pub(crate) [u8; 20]);

impl Time20 {
    /// The last result is remembered per thread: the values of a record, and the records
    /// of a batch, mostly share one timestamp.
    pub(crate) fn of(unix: u32) -> Self {
        thread_local! {
            static LAST: std::cell::Cell<Option<(u32, Time20)>> =
                const { std::cell::Cell::new(None) };
        }
        LAST.with(|last| match last.get() {
            Some((at, t)) if at == unix => t,
            _ => {
                let t = Self::compute(unix);
                last.set(Some((unix, t)));
                t
            }
        })
    }

    fn compute(unix: u32) -> Self {
        let t = OffsetDateTime::from_unix_timestamp(i64::from(unix))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut b = *b"0000-00-00T00:00:00Z";
        // A u32 of seconds ends in 2106: the year has four digits.
        let year = u32::try_from(t.year()).unwrap_or(0);
        let two = |b: &mut [u8], n: u32| {
            b[0] = b'0' + (n / 10 % 10) as u8;
            b[1] = b'0' + (n % 10) as u8;
        };
        two(&mut b[0..2], year / 100);
        two(&mut b[2..4], year);
        two(&mut b[5..7], u32::from(u8::from(t.month())));
        two(&mut b[8..10], u32::from(t.day()));
        two(&mut b[11..13], u32::from(t.hour()));
        two(&mut b[14..16], u32::from(t.minute()));
        two(&mut b[17..19], u32::from(t.second()));
        Self(b)
    }

    /// The time as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;

    use super::*;
    use crate::json::ValueIn;
    use crate::ValueRef;

    /// Values of every shape: escapes, binary data, absolute ttl, references, permissions,
    /// each structured type (valid and not), the largest timestamp.
    fn fixture() -> Vec<HandleValue> {
        let mut a = HandleValue::text(1, "URL", "https://example.com/a?b=\"c\"\\d\n\u{1}é/");
        a.permissions = Permissions::from_rest("1100").unwrap();
        a.timestamp = 1_006_359_695;
        let mut b = HandleValue::bytes(2, "BIN", vec![0xff, 0, 0x80]);
        b.ttl = Ttl::Absolute(2_000_000_000);
        b.references = vec![ValueRef {
            handle: "88.118/x\"y".into(),
            index: 1,
        }];
        let c = HandleValue::admin(100, &AdminRef::new("0.NA/88.118.8", 300));
        let d = HandleValue::bytes(101, "HS_ADMIN", vec![1, 2, 3]);
        let vlist = VList(vec![ValueRef {
            handle: "0.NA/88.118".into(),
            index: 300,
        }]);
        let e = HandleValue::bytes(102, "HS_VLIST", vlist.encode());
        let mut f = HandleValue::bytes(103, "HS_PUBKEY", vec![0, 1, 2, 3]);
        f.ttl = Ttl::Relative(0);
        f.timestamp = u32::MAX;
        let site = r#"{"index":1,"type":"HS_SITE","data":{"format":"site","value":{"version":1,"protocolVersion":"2.10","serialNumber":1,"primarySite":true,"multiPrimary":false,"attributes":[{"name":"desc","value":"d"}],"servers":[{"serverId":1,"address":"127.0.0.1","publicKey":{"format":"base64","value":""},"interfaces":[{"query":true,"admin":true,"protocol":"TCP","port":2641}]}]}}}"#;
        let g = serde_json::from_str::<ValueIn>(site)
            .unwrap()
            .into_value()
            .unwrap();
        let h = HandleValue::text(7, "ty\tpe\u{0}", "nul\u{0}inside");
        vec![a, b, c, d, e, f, g, h]
    }

    /// What the serde-derived renderer this module replaced wrote for [`fixture`] (taken from
    /// it before it was removed).
    const GOLDEN: &str = r##"{"responseCode":1,"handle":"88.118.8/GBX-2026-000123","values":[{"index":1,"type":"URL","data":{"format":"string","value":"https://example.com/a?b=\"c\"\\d\n\u0001é/"},"ttl":86400,"timestamp":"2001-11-21T16:21:35Z","permissions":"1100"},{"index":2,"type":"BIN","data":{"format":"base64","value":"/wCA"},"ttlType":1,"ttl":2000000000,"timestamp":"1970-01-01T00:00:00Z","references":[{"handle":"88.118/x\"y","index":1}]},{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.118.8","index":300,"permissions":"011111110011"}},"ttl":86400,"timestamp":"1970-01-01T00:00:00Z"},{"index":101,"type":"HS_ADMIN","data":{"format":"string","value":"\u0001\u0002\u0003"},"ttl":86400,"timestamp":"1970-01-01T00:00:00Z"},{"index":102,"type":"HS_VLIST","data":{"format":"vlist","value":[{"handle":"0.NA/88.118","index":300}]},"ttl":86400,"timestamp":"1970-01-01T00:00:00Z"},{"index":103,"type":"HS_PUBKEY","data":{"format":"key","value":"AAECAw=="},"ttl":0,"timestamp":"2106-02-07T06:28:15Z"},{"index":1,"type":"HS_SITE","data":{"format":"site","value":{"version":1,"protocolVersion":"2.10","serialNumber":1,"primarySite":true,"multiPrimary":false,"attributes":[{"name":"desc","value":"d"}],"servers":[{"serverId":1,"address":"127.0.0.1","publicKey":{"format":"base64","value":""},"interfaces":[{"query":true,"admin":true,"protocol":"TCP","port":2641}]}]}},"ttl":86400,"timestamp":"1970-01-01T00:00:00Z"},{"index":7,"type":"ty\tpe\u0000","data":{"format":"base64","value":"bnVsAGluc2lkZQ=="},"ttl":86400,"timestamp":"1970-01-01T00:00:00Z"}]}"##;

    #[test]
    fn records_are_written_as_before() {
        let got = record("88.118.8/GBX-2026-000123", &fixture());
        assert_eq!(String::from_utf8(got).unwrap(), GOLDEN);
        let empty = record("88.118.8/\"odd\\", &[]);
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            r#"{"responseCode":1,"handle":"88.118.8/\"odd\\","values":[]}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "",
            "\u{7f}del",
            "tab\there",
            "quote\"",
            "back\\slash",
            "é中",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn the_first_time_of_a_thread_is_computed() {
        // Any number may come first, the largest included (a sentinel once stood for "none").
        for ts in [u32::MAX, 0] {
            let t = std::thread::spawn(move || Time20::of(ts)).join().unwrap();
            let want = OffsetDateTime::from_unix_timestamp(i64::from(ts)).unwrap();
            assert_eq!(t.as_str(), want.format(&Rfc3339).unwrap());
        }
    }

    proptest! {
        #[test]
        fn times_are_rfc_3339_whole_seconds(ts in any::<u32>()) {
            let t = OffsetDateTime::from_unix_timestamp(i64::from(ts)).unwrap();
            let want = t.format(&Rfc3339).unwrap();
            let (first, again) = (Time20::of(ts), Time20::of(ts));
            prop_assert_eq!(first.as_str(), want.as_str());
            // The second call took the remembered answer.
            prop_assert_eq!(again.as_str(), want.as_str());
        }

        #[test]
        fn numbers_and_strings_match_serde_json(n in any::<u32>(), s in any::<String>()) {
            let mut out = Vec::new();
            number(&mut out, n);
            prop_assert_eq!(&out, &serde_json::to_vec(&n).unwrap());
            out.clear();
            string(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_vec(&s).unwrap());
        }
    }
}
