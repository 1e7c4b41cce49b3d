//! Handle values (RFC 3651 §3): index, type, data, ttl, timestamp, permissions, references.

use crate::{AdminRef, CoreError, SiteInfo, VList, ValueRef};

/// Default time to live of a value, in seconds.
pub const DEFAULT_TTL: u32 = 86_400;
/// Longest value type name, in characters (SNMS limit).
pub const MAX_TYPE_CHARS: usize = 128;
/// Largest data payload of one value, in bytes.
pub const MAX_DATA_BYTES: usize = 65_536;
/// Most values one handle may hold (the protocol's per-message limit).
pub const MAX_VALUES: usize = 2_048;

/// Largest value index: the protocol field is 32 bits, but Java clients (CNRI's, the
/// national SDK) hold it in a signed `int`.
pub const MAX_INDEX: u32 = i32::MAX as u32;

/// Time to live of a cached value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// Seconds from retrieval.
    Relative(u32),
    /// Unix time after which the value is stale.
    Absolute(u32),
}

impl Default for Ttl {
    fn default() -> Self {
        Self::Relative(DEFAULT_TTL)
    }
}

/// Value permissions: admin read 0x8, admin write 0x4, public read 0x2, public write 0x1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    /// Administrators may read.
    pub const ADMIN_READ: u8 = 0x8;
    /// Administrators may write.
    pub const ADMIN_WRITE: u8 = 0x4;
    /// Anyone may read.
    pub const PUBLIC_READ: u8 = 0x2;
    /// Anyone may write.
    pub const PUBLIC_WRITE: u8 = 0x1;
    /// `1110`: admins read and write, the public reads.
    pub const DEFAULT: Self = Self(0xE);
    /// `0100`: nobody reads, admins write (used for secret keys).
    pub const SECRET: Self = Self(0x4);

    /// From the low four bits.
    pub fn from_bits(b: u8) -> Self {
        Self(b & 0xF)
    }
    /// The four bits.
    pub fn bits(self) -> u8 {
        self.0
    }
    /// Anyone may read the value.
    pub fn public_read(self) -> bool {
        self.0 & Self::PUBLIC_READ != 0
    }
    /// Administrators may read the value.
    pub fn admin_read(self) -> bool {
        self.0 & Self::ADMIN_READ != 0
    }
    /// The REST form: four characters, admin read first.
    pub fn to_rest(self) -> String {
        (0..4)
            .rev()
            .map(|b| if self.0 & (1 << b) != 0 { '1' } else { '0' })
            .collect()
    }
    /// Parses the REST form.
    pub fn from_rest(s: &str) -> Result<Self, CoreError> {
        if s.len() != 4 {
            return Err(CoreError::value(
                "permissions must be 4 characters of 0 and 1",
            ));
        }
        let mut v = 0u8;
        for c in s.chars() {
            v = v << 1
                | match c {
                    '0' => 0,
                    '1' => 1,
                    _ => return Err(CoreError::value("permissions must be 0s and 1s")),
                };
        }
        Ok(Self(v))
    }
}

impl Default for Permissions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One value of a handle record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleValue {
    /// Unique (per handle) positive index.
    pub index: u32,
    /// Type name, e.g. `URL`, `HS_ADMIN`, `productName`.
    pub type_name: String,
    /// Raw data bytes; structured types hold their binary encoding.
    pub data: Vec<u8>,
    /// Time to live.
    pub ttl: Ttl,
    /// Unix seconds of the last change.
    pub timestamp: u32,
    /// Who may read and write.
    pub permissions: Permissions,
    /// References to other values.
    pub references: Vec<ValueRef>,
}

impl HandleValue {
    /// A public string value with default ttl and permissions.
    pub fn text(index: u32, type_name: &str, data: &str) -> Self {
        Self::bytes(index, type_name, data.as_bytes().to_vec())
    }

    /// A value with default ttl and permissions.
    pub fn bytes(index: u32, type_name: &str, data: Vec<u8>) -> Self {
        Self {
            index,
            type_name: type_name.to_owned(),
            data,
            ttl: Ttl::default(),
            timestamp: 0,
            permissions: Permissions::DEFAULT,
            references: Vec::new(),
        }
    }

    /// An `HS_ADMIN` value.
    pub fn admin(index: u32, admin: &AdminRef) -> Self {
        Self::bytes(index, "HS_ADMIN", admin.encode())
    }

    /// True when the value's type equals `t`, or `t` ends with `.` and the value's type is
    /// one of its subtypes (`URL.` matches `URL.mobile`).
    pub fn type_matches(&self, t: &str) -> bool {
        if t.ends_with('.') {
            self.type_name.starts_with(t)
        } else {
            self.type_name == t
        }
    }

    /// True for secret-key values, which are never returned to anyone.
    pub fn is_secret(&self) -> bool {
        self.type_name == "HS_SECKEY"
    }

    /// Checks the value's own constraints (type, size, structured payloads).
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.index == 0 {
            return Err(CoreError::value("value index must be positive"));
        }
        if self.index > MAX_INDEX {
            return Err(CoreError::value(format!(
                "value index {} exceeds {MAX_INDEX} (Java clients read it as negative)",
                self.index
            )));
        }
        let t = &self.type_name;
        // Type names are ASCII nearly always: counted and checked byte by byte then.
        let (chars, control) = if t.is_ascii() {
            (t.len(), t.bytes().any(|b| b.is_ascii_control()))
        } else {
            (t.chars().count(), t.chars().any(char::is_control))
        };
        if chars > MAX_TYPE_CHARS {
            return Err(CoreError::value(format!(
                "value type longer than {MAX_TYPE_CHARS} characters"
            )));
        }
        if control {
            return Err(CoreError::value("value type contains a control character"));
        }
        if self.data.len() > MAX_DATA_BYTES {
            return Err(CoreError::value(format!(
                "value {} data exceeds {MAX_DATA_BYTES} bytes",
                self.index
            )));
        }
        let structured = match self.type_name.as_str() {
            "HS_ADMIN" => AdminRef::decode(&self.data).map(drop),
            "HS_VLIST" => VList::decode(&self.data).map(drop),
            "HS_SITE" | "HS_SITE.PREFIX" => SiteInfo::decode(&self.data).map(drop),
            _ => Ok(()),
        };
        structured.map_err(|e| {
            CoreError::value(format!("value {} ({}): {e}", self.index, self.type_name))
        })
    }
}

/// Checks a whole record: each value valid, indexes unique, count within limits.
pub fn validate_record(values: &[HandleValue]) -> Result<(), CoreError> {
    values.iter().try_for_each(HandleValue::validate)?;
    validate_record_shape(values)
}

/// Checks a record of values each already valid (as [`crate::json::ValueIn::into_value`]
/// makes them): indexes unique, count within limits.
pub fn validate_record_shape(values: &[HandleValue]) -> Result<(), CoreError> {
    if values.len() > MAX_VALUES {
        return Err(CoreError::value(format!(
            "a handle may hold at most {MAX_VALUES} values"
        )));
    }
    // Records are mostly a handful of values: a scan of the ones before beats hashing;
    // long ones (up to MAX_VALUES) use a set.
    let mut seen = std::collections::HashSet::new();
    for (i, v) in values.iter().enumerate() {
        let twice = if values.len() <= 16 {
            values[..i].iter().any(|w| w.index == v.index)
        } else {
            !seen.insert(v.index)
        };
        if twice {
            return Err(CoreError::value(format!(
                "duplicate value index {}",
                v.index
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_index_is_refused_in_short_and_long_records() {
        let v = |index| HandleValue::text(index, "URL", "https://a.example");
        for n in [2u32, 16, 17, 300] {
            let mut values: Vec<_> = (1..=n).map(v).collect();
            assert!(validate_record(&values).is_ok(), "{n}");
            values.push(v(n / 2 + 1));
            let e = validate_record(&values).unwrap_err().to_string();
            assert!(
                e.contains(&format!("duplicate value index {}", n / 2 + 1)),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn permission_strings() {
        assert_eq!(Permissions::DEFAULT.to_rest(), "1110");
        assert_eq!(Permissions::from_rest("1100").unwrap().bits(), 0xC);
        assert!(!Permissions::from_rest("1100").unwrap().public_read());
        assert!(Permissions::from_rest("11x0").is_err());
        assert!(Permissions::from_rest("111").is_err());
    }

    #[test]
    fn type_matching() {
        let v = HandleValue::text(1, "HS_SITE.PREFIX", "");
        assert!(v.type_matches("HS_SITE."));
        assert!(v.type_matches("HS_SITE.PREFIX"));
        assert!(!v.type_matches("HS_SITE"));
        let w = HandleValue::text(1, "URL", "");
        assert!(w.type_matches("URL"));
        assert!(!w.type_matches("URL."));
        assert!(!w.type_matches("UR."));
    }

    #[test]
    fn record_validation() {
        let a = HandleValue::text(1, "URL", "x");
        assert!(validate_record(&[a.clone(), a.clone()]).is_err());
        assert!(validate_record(&[HandleValue::text(0, "URL", "x")]).is_err());
        assert!(validate_record(&[HandleValue::bytes(100, "HS_ADMIN", vec![1, 2])]).is_err());
        assert!(validate_record(&[HandleValue::text(MAX_INDEX, "URL", "x")]).is_ok());
        assert!(validate_record(&[HandleValue::text(MAX_INDEX + 1, "URL", "x")]).is_err());
        assert!(validate_record(&[a]).is_ok());
    }
}
