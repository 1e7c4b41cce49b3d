//! The Handle.Net REST JSON form of values (SPEC §4), used by the HTTP front end and as the
//! storage form of a record.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use crate::data_in::DataIn;
use crate::{AdminRef, CoreError, HandleValue, Permissions, SiteInfo, Ttl, VList, ValueRef};

/// A value as clients send it; `data` is decoded according to its `format`.
#[derive(Debug, Deserialize)]
pub struct ValueIn {
    /// Index.
    #[serde(deserialize_with = "crate::data_in::lenient_u32")]
    pub index: u32,
    /// Type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `{"format": …, "value": …}` or a bare string.
    pub data: DataIn,
    /// Seconds (relative) or unix time (absolute, with `ttlType: 1`).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// 0 relative (default), 1 absolute.
    #[serde(default, rename = "ttlType")]
    pub ttl_type: Option<u8>,
    /// RFC 3339 time; kept when loading stored records, replaced by the server on writes.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Four characters of 0/1, admin read first.
    #[serde(default)]
    pub permissions: Option<String>,
    /// References to other values.
    #[serde(default)]
    pub references: Vec<ValueRef>,
}

impl ValueIn {
    /// Converts to a [`HandleValue`], decoding and validating the data.
    pub fn into_value(self) -> Result<HandleValue, CoreError> {
        let data = self.data.decode()?;
        let ttl = match self.ttl_type.unwrap_or(0) {
            0 => Ttl::Relative(self.ttl.unwrap_or(crate::DEFAULT_TTL)),
            1 => Ttl::Absolute(self.ttl.unwrap_or(0)),
            t => return Err(CoreError::value(format!("ttlType {t} is neither 0 nor 1"))),
        };
        let timestamp = match &self.timestamp {
            Some(t) => parse_time(t)?,
            None => 0,
        };
        let permissions = match &self.permissions {
            Some(p) => Permissions::from_rest(p)?,
            None => Permissions::DEFAULT,
        };
        let v = HandleValue {
            index: self.index,
            type_name: self.type_name,
            data,
            ttl,
            timestamp,
            permissions,
            references: self.references,
        };
        v.validate()?;
        Ok(v)
    }
}

/// The `data` of a value as it is rendered: borrowed where possible, so serialising a
/// record allocates little.
enum DataOut<'a> {
    String(&'a str),
    Base64(String),
    Admin(AdminRef),
    VList(VList),
    Site(Box<SiteInfo>),
    Key(String),
}

impl<'a> DataOut<'a> {
    /// Picks the format a value's type calls for. A structured type is rendered
    /// structurally only when its payload re-encodes to the exact same bytes; anything else
    /// falls back to `string` (UTF-8 without NUL, which JSONB cannot store) or `base64`, so
    /// nothing is lost.
    fn of(v: &'a HandleValue) -> Self {
        let d = &v.data;
        let structured = match v.type_name.as_str() {
            "HS_ADMIN" => AdminRef::decode(d)
                .ok()
                .filter(|a| a.encode() == *d)
                .map(Self::Admin),
            "HS_VLIST" => VList::decode(d)
                .ok()
                .filter(|l| l.encode() == *d)
                .map(Self::VList),
            "HS_SITE" | "HS_SITE.PREFIX" => SiteInfo::decode(d)
                .ok()
                .filter(|s| s.encode() == *d)
                .map(|s| Self::Site(Box::new(s))),
            "HS_PUBKEY" => Some(Self::Key(B64.encode(d))),
            _ => None,
        };
        structured.unwrap_or_else(|| match std::str::from_utf8(d) {
            Ok(s) if !s.contains('\0') => Self::String(s),
            _ => Self::Base64(B64.encode(d)),
        })
    }
}

impl Serialize for DataOut<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct AdminOut<'a> {
            handle: &'a str,
            index: u32,
            permissions: String,
        }
        let mut st = ser.serialize_struct("data", 2)?;
        match self {
            Self::String(s) => {
                st.serialize_field("format", "string")?;
                st.serialize_field("value", s)?;
            }
            Self::Base64(s) => {
                st.serialize_field("format", "base64")?;
                st.serialize_field("value", s)?;
            }
            Self::Key(s) => {
                st.serialize_field("format", "key")?;
                st.serialize_field("value", s)?;
            }
            Self::Admin(a) => {
                st.serialize_field("format", "admin")?;
                st.serialize_field(
                    "value",
                    &AdminOut {
                        handle: &a.handle,
                        index: a.index,
                        permissions: a.perms.to_bit_string(),
                    },
                )?;
            }
            Self::VList(l) => {
                st.serialize_field("format", "vlist")?;
                st.serialize_field("value", &l.0)?;
            }
            Self::Site(s) => {
                st.serialize_field("format", "site")?;
                st.serialize_field("value", &s.to_json())?;
            }
        }
        st.end()
    }
}

/// The `data` object of a value, in the format its type calls for (see [`render_record`]).
pub fn render_data(v: &HandleValue) -> Value {
    serde_json::to_value(DataOut::of(v)).expect("plain data serialises")
}

#[derive(Serialize)]
struct ValueOut<'a> {
    index: u32,
    #[serde(rename = "type")]
    type_name: &'a str,
    data: DataOut<'a>,
    #[serde(rename = "ttlType", skip_serializing_if = "is_zero")]
    ttl_type: u8,
    ttl: u32,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    references: &'a [ValueRef],
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

fn value_out(v: &HandleValue) -> ValueOut<'_> {
    let (ttl_type, ttl) = match v.ttl {
        Ttl::Relative(t) => (0, t),
        Ttl::Absolute(t) => (1, t),
    };
    ValueOut {
        index: v.index,
        type_name: &v.type_name,
        data: DataOut::of(v),
        ttl_type,
        ttl,
        timestamp: format_time(v.timestamp),
        permissions: (v.permissions != Permissions::DEFAULT).then(|| v.permissions.to_rest()),
        references: &v.references,
    }
}

/// One value in the REST JSON form.
pub fn value_to_json(v: &HandleValue) -> Value {
    serde_json::to_value(value_out(v)).expect("plain data serialises")
}

/// Serialises values as a JSON array (the storage form of a record).
pub fn values_to_json<'a>(values: impl IntoIterator<Item = &'a HandleValue>) -> String {
    let out: Vec<ValueOut<'_>> = values.into_iter().map(value_out).collect();
    serde_json::to_string(&out).expect("serialising plain data cannot fail")
}

/// Parses a JSON array of values (stored records, or client input).
pub fn values_from_json(text: &str) -> Result<Vec<HandleValue>, CoreError> {
    let vs: Vec<ValueIn> =
        serde_json::from_str(text).map_err(|e| CoreError::value(format!("values: {e}")))?;
    vs.into_iter().map(ValueIn::into_value).collect()
}

/// A successful resolution response body: `{"responseCode":1,"handle":…,"values":[…]}`.
pub fn render_record<'a>(
    handle: &str,
    values: impl IntoIterator<Item = &'a HandleValue>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Record<'a> {
        #[serde(rename = "responseCode")]
        response_code: u32,
        handle: &'a str,
        values: Vec<ValueOut<'a>>,
    }
    let r = Record {
        response_code: 1,
        handle,
        values: values.into_iter().map(value_out).collect(),
    };
    serde_json::to_vec(&r).expect("serialising plain data cannot fail")
}

/// RFC 3339 UTC, whole seconds: `2001-11-21T16:21:35Z`. The last result is remembered per
/// thread: the values of a batch share one timestamp.
pub fn format_time(unix: u32) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(u32, String)> = const { std::cell::RefCell::new((u32::MAX, String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != unix {
            *last = (unix, format_time_uncached(unix));
        }
        last.1.clone()
    })
}

fn format_time_uncached(unix: u32) -> String {
    let t =
        OffsetDateTime::from_unix_timestamp(i64::from(unix)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an RFC 3339 time into unix seconds (clamped to the u32 range).
pub fn parse_time(s: &str) -> Result<u32, CoreError> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| CoreError::value(format!("timestamp '{s}' is not RFC 3339")))?;
    Ok(t.unix_timestamp().clamp(0, i64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::AdminPerms;

    fn parse_one(j: &str) -> Result<HandleValue, CoreError> {
        serde_json::from_str::<ValueIn>(j)
            .map_err(|e| CoreError::value(e.to_string()))?
            .into_value()
    }

    #[test]
    fn every_format_parses() {
        let s = parse_one(r#"{"index":1,"type":"URL","data":"https://x"}"#).unwrap();
        assert_eq!(s.data, b"https://x");
        let s =
            parse_one(r#"{"index":1,"type":"URL","data":{"format":"string","value":"https://x"}}"#)
                .unwrap();
        assert_eq!(s.data, b"https://x");
        let b = parse_one(r#"{"index":2,"type":"BIN","data":{"format":"base64","value":"AAEC"}}"#)
            .unwrap();
        assert_eq!(b.data, [0, 1, 2]);
        let h = parse_one(r#"{"index":2,"type":"BIN","data":{"format":"hex","value":"00ff"}}"#)
            .unwrap();
        assert_eq!(h.data, [0, 255]);
        let a = parse_one(r#"{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.118","index":300,"permissions":"011111110011"}}}"#).unwrap();
        assert_eq!(AdminRef::decode(&a.data).unwrap().perms, AdminPerms(0x7F3));
        // pyhandle sends indexes as strings.
        let p = parse_one(r#"{"index":"100","type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/88.118","index":"200","permissions":"011111110011"}}}"#).unwrap();
        assert_eq!(
            (p.index, AdminRef::decode(&p.data).unwrap().index),
            (100, 200)
        );
        assert!(parse_one(r#"{"index":"x1","type":"URL","data":"u"}"#).is_err());
        let l = parse_one(r#"{"index":200,"type":"HS_VLIST","data":{"format":"vlist","value":[{"handle":"0.NA/88.118","index":300}]}}"#).unwrap();
        assert_eq!(VList::decode(&l.data).unwrap().0.len(), 1);
        let site = r#"{"index":1,"type":"HS_SITE","data":{"format":"site","value":{"version":1,"protocolVersion":"2.10","serialNumber":1,"primarySite":true,"multiPrimary":false,"attributes":[{"name":"desc","value":"d"}],"servers":[{"serverId":1,"address":"127.0.0.1","publicKey":{"format":"base64","value":""},"interfaces":[{"query":true,"admin":true,"protocol":"TCP","port":2641}]}]}}}"#;
        let st = parse_one(site).unwrap();
        assert_eq!(
            SiteInfo::decode(&st.data).unwrap().servers[0].interfaces[0].port,
            2641
        );
        let k =
            parse_one(r#"{"index":300,"type":"HS_PUBKEY","data":{"format":"key","value":"AAEC"}}"#)
                .unwrap();
        assert_eq!(k.data, [0, 1, 2]);
    }

    #[test]
    fn bad_formats_are_clear_errors() {
        for bad in [
            r#"{"index":1,"type":"URL","data":{"format":"nope","value":"x"}}"#,
            r#"{"index":1,"type":"URL","data":{"format":"base64","value":"!!"}}"#,
            r#"{"index":1,"type":"URL","data":{"format":"hex","value":"0"}}"#,
            r#"{"index":1,"type":"URL","data":{"format":"string"}}"#,
            r#"{"index":1,"type":"URL","data":12}"#,
            r#"{"index":1,"type":"URL","data":"x","permissions":"11"}"#,
            r#"{"index":1,"type":"URL","data":"x","ttlType":3}"#,
            r#"{"index":100,"type":"HS_ADMIN","data":"not admin bytes"}"#,
            r#"{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"x","index":1,"permissions":"2"}}}"#,
        ] {
            assert!(parse_one(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn render_round_trips_through_storage_form() {
        let mut vals = vec![
            HandleValue::text(1, "URL", "https://example.com/a"),
            HandleValue::bytes(2, "BIN", vec![0xff, 0, 0x80]),
            HandleValue::admin(100, &AdminRef::new("0.NA/88.118.8", 300)),
            HandleValue::bytes(101, "HS_ADMIN", vec![1, 2, 3]),
        ];
        vals[0].permissions = Permissions::from_rest("1100").unwrap();
        vals[0].timestamp = 1_006_359_695;
        vals[1].ttl = Ttl::Absolute(2_000_000_000);
        vals[1].references = vec![ValueRef {
            handle: "88.118/x".into(),
            index: 1,
        }];
        let text = values_to_json(&vals);
        assert!(text.contains(r#""timestamp":"2001-11-21T16:21:35Z""#));
        assert!(text.contains(r#""format":"admin""#));
        let back = values_from_json(&text);
        // index 101 holds bytes that are not a valid HS_ADMIN: rendered as base64, but
        // re-parsing validates HS_ADMIN and refuses it.
        assert!(back.is_err());
        vals.pop();
        let back = values_from_json(&values_to_json(&vals)).unwrap();
        assert_eq!(back, vals);
    }

    proptest! {
        #[test]
        fn storage_form_round_trip(
            idx in 1u32..10_000,
            ty in "[A-Za-z_.]{1,20}",
            data in proptest::collection::vec(any::<u8>(), 0..64),
            perms in 0u8..16,
            ts in any::<u32>(),
            abs: bool,
            ttl: u32,
        ) {
            prop_assume!(!ty.starts_with("HS_"));
            let v = HandleValue {
                index: idx,
                type_name: ty,
                data,
                ttl: if abs { Ttl::Absolute(ttl) } else { Ttl::Relative(ttl) },
                timestamp: ts,
                permissions: Permissions::from_bits(perms),
                references: vec![],
            };
            let back = values_from_json(&values_to_json([&v])).unwrap();
            prop_assert_eq!(back, vec![v]);
        }
    }
}
