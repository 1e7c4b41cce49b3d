//! The `data` of a value as clients send it, read in one pass: a bare string, or
//! `{"format": …, "value": …}` read field by field (no intermediate JSON object: building one
//! per value was a tenth of a bulk create's time), then decoded into the value's bytes.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::site::SiteJson;
use crate::{AdminPerms, AdminRef, CoreError, SiteInfo, VList, ValueRef};

/// A value's `data` as sent.
#[derive(Debug)]
pub enum DataIn {
    /// A bare string: its UTF-8 bytes.
    Bare(String),
    /// `{format, value}` (format `string` when absent; other members ignored).
    Formatted {
        /// The `format` member.
        format: Option<String>,
        /// The `value` member.
        value: Option<Value>,
    },
}

impl<'de> Deserialize<'de> for DataIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = DataIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("data: a string or {format, value}")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<DataIn, E> {
        Ok(DataIn::Bare(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<DataIn, E> {
        Ok(DataIn::Bare(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataIn, A::Error> {
        let (mut format, mut value) = (None, None);
        while let Some(key) = map.next_key::<Member>()? {
            match key {
                Member::Format if format.is_some() => {
                    return Err(de::Error::duplicate_field("format"))
                }
                Member::Value if value.is_some() => {
                    return Err(de::Error::duplicate_field("value"))
                }
                Member::Format => format = Some(map.next_value::<String>()?),
                Member::Value => value = Some(map.next_value::<Value>()?),
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(DataIn::Formatted { format, value })
    }
}

/// A member of a `data` object.
enum Member {
    Format,
    Value,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Member, E> {
                Ok(match s {
                    "format" => Member::Format,
                    "value" => Member::Value,
                    _ => Member::Other,
                })
            }
        }
        d.deserialize_identifier(Name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminJson {
    handle: String,
    #[serde(deserialize_with = "lenient_u32")]
    index: u32,
    permissions: String,
}

impl DataIn {
    /// The value's bytes: a bare string's own buffer, or the `value` in its `format`
    /// (a `string` value's own buffer, structured formats read from the value in place).
    pub fn decode(self) -> Result<Vec<u8>, CoreError> {
        let (format, value) = match self {
            Self::Bare(s) => return Ok(s.into_bytes()),
            Self::Formatted { format, value } => (format, value),
        };
        let format = format.as_deref().unwrap_or("string");
        let value = value.ok_or_else(|| CoreError::value("data has no value"))?;
        let text = |value: Value| match value {
            Value::String(s) => Ok(s),
            _ => Err(CoreError::value(format!(
                "{format} data value must be a string"
            ))),
        };
        match format {
            "string" => Ok(text(value)?.into_bytes()),
            "base64" | "key" => B64
                .decode(text(value)?)
                .map_err(|_| CoreError::value(format!("{format} data is not valid base64"))),
            "hex" => {
                hex::decode(text(value)?).map_err(|_| CoreError::value("hex data is not valid hex"))
            }
            "admin" => {
                let a = AdminJson::deserialize(&value)
                    .map_err(|e| CoreError::value(format!("admin data: {e}")))?;
                Ok(AdminRef {
                    handle: a.handle,
                    index: a.index,
                    perms: AdminPerms::from_bit_string(&a.permissions)?,
                }
                .encode())
            }
            "vlist" => {
                let refs = Vec::<ValueRef>::deserialize(&value)
                    .map_err(|e| CoreError::value(format!("vlist data: {e}")))?;
                Ok(VList(refs).encode())
            }
            "site" => {
                let s = SiteJson::deserialize(&value)
                    .map_err(|e| CoreError::value(format!("site data: {e}")))?;
                Ok(SiteInfo::from_json(&s)?.encode())
            }
            f => Err(CoreError::value(format!("unknown data format '{f}'"))),
        }
    }
}

/// Accepts a number or a string of digits: Handle clients (pyhandle among them) send
/// indexes both ways.
pub(crate) fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    struct Index;
    impl Visitor<'_> for Index {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an index: a number or a string of digits")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u32, E> {
            u32::try_from(n).map_err(|_| E::custom(format!("{n} is not an index")))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u32, E> {
            u32::try_from(n).map_err(|_| E::custom(format!("{n} is not an index")))
        }
        fn visit_str<E: de::Error>(self, t: &str) -> Result<u32, E> {
            t.trim()
                .parse()
                .map_err(|_| E::custom(format!("'{t}' is not an index")))
        }
    }
    d.deserialize_any(Index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> Result<Vec<u8>, String> {
        let d: DataIn = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let bytes = d.decode().map_err(|e| e.to_string());
        // The same through a JSON tree (single writes and imports read values that way).
        let tree: DataIn = serde_json::from_value(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(tree.decode().map_err(|e| e.to_string()), bytes, "{json}");
        bytes
    }

    #[test]
    fn reads_every_form_of_data() {
        assert_eq!(data(r#""bare""#).unwrap(), b"bare");
        assert_eq!(data(r#"{"format":"string","value":"s"}"#).unwrap(), b"s");
        assert_eq!(data(r#"{"value":"s","format":"string"}"#).unwrap(), b"s");
        assert_eq!(data(r#"{"value":"no format"}"#).unwrap(), b"no format");
        assert_eq!(
            data(r#"{"format":"hex","value":"00ff"}"#).unwrap(),
            [0, 255]
        );
        assert_eq!(
            data(r#"{"format":"base64","value":"AP8="}"#).unwrap(),
            [0, 255]
        );
        assert_eq!(
            data(r#"{"format":"string","value":"x","extra":[1,{"a":2}]}"#).unwrap(),
            b"x"
        );
        let admin = data(
            r#"{"value":{"handle":"0.NA/88.118","index":"200","permissions":"011111110011"},"format":"admin"}"#,
        )
        .unwrap();
        assert_eq!(AdminRef::decode(&admin).unwrap().index, 200);
    }

    #[test]
    fn refuses_what_is_not_data() {
        for (json, why) in [
            ("5", "a string or {format, value}"),
            ("[]", "a string or {format, value}"),
            (r#"{"format":"string"}"#, "data has no value"),
            (r#"{"format":"string","value":5}"#, "must be a string"),
            (r#"{"format":"hex","value":"zz"}"#, "not valid hex"),
            (r#"{"format":"nope","value":"x"}"#, "unknown data format"),
            (
                r#"{"format":"string","value":"a","value":"b"}"#,
                "duplicate",
            ),
            (r#"{"format":5,"value":"a"}"#, "invalid type"),
        ] {
            let e = data(json).unwrap_err();
            assert!(e.contains(why), "{json}: {e}");
        }
    }

    #[test]
    fn indexes_are_numbers_or_digits() {
        #[derive(Deserialize)]
        struct I {
            #[serde(deserialize_with = "lenient_u32")]
            i: u32,
        }
        let i = |j: &str| serde_json::from_str::<I>(j).map(|v| v.i);
        assert_eq!(i(r#"{"i":7}"#).unwrap(), 7);
        assert_eq!(i(r#"{"i":" 8 "}"#).unwrap(), 8);
        assert!(i(r#"{"i":-1}"#).is_err());
        assert!(i(r#"{"i":4294967296}"#).is_err());
        assert!(i(r#"{"i":"x"}"#).is_err());
        assert!(i(r#"{"i":1.5}"#).is_err());
    }
}
