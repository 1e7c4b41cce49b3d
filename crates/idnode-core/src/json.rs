//! The Handle.Net REST JSON form of values (SPEC §4), used by the HTTP front end and as the
//! storage form of a record.

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use crate::data_in::DataIn;
use crate::{CoreError, HandleValue, Permissions, Ttl, ValueRef};

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

/// The `data` object of a value, in the format its type calls for (see [`render_record`]).
pub fn render_data(v: &HandleValue) -> Value {
    let mut out = Vec::new();
    crate::render::data(&mut out, v);
    serde_json::from_slice(&out).expect("the renderer writes JSON")
}

/// One value in the REST JSON form.
pub fn value_to_json(v: &HandleValue) -> Value {
    let mut out = Vec::new();
    crate::render::value(&mut out, v);
    serde_json::from_slice(&out).expect("the renderer writes JSON")
}

/// Serialises values as a JSON array (the storage form of a record).
pub fn values_to_json<'a>(values: impl IntoIterator<Item = &'a HandleValue>) -> String {
    let mut out = Vec::new();
    crate::render::array(&mut out, values);
    String::from_utf8(out).expect("the renderer writes UTF-8")
}

/// Parses a JSON array of values (stored records, or client input).
pub fn values_from_json(text: &str) -> Result<Vec<HandleValue>, CoreError> {
    let vs: Vec<ValueIn> =
        serde_json::from_str(text).map_err(|e| CoreError::value(format!("values: {e}")))?;
    vs.into_iter().map(ValueIn::into_value).collect()
}

/// A successful resolution response body: `{"responseCode":1,"handle":…,"values":[…]}`.
pub fn render_record(handle: &str, values: &[HandleValue]) -> Vec<u8> {
    crate::render::record(handle, values)
}

/// RFC 3339 UTC, whole seconds: `2001-11-21T16:21:35Z`.
pub fn format_time(unix: u32) -> String {
    crate::render::Time20::of(unix).as_str().to_owned()
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
    use crate::{AdminPerms, AdminRef, SiteInfo, VList};

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
