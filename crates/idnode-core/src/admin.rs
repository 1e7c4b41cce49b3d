//! `HS_ADMIN` and `HS_VLIST` payloads and the admin permission bits.

use serde::{Deserialize, Serialize};

use crate::wire::{put_blob, put_u32, Reader};
use crate::CoreError;

/// The 12 `HS_ADMIN` permission bits (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdminPerms(pub u16);

impl AdminPerms {
    /// May create handles under the prefix.
    pub const ADD_HANDLE: u16 = 0x1;
    /// May delete the handle.
    pub const DELETE_HANDLE: u16 = 0x2;
    /// May create prefixes.
    pub const ADD_NA: u16 = 0x4;
    /// May delete prefixes.
    pub const DELETE_NA: u16 = 0x8;
    /// May modify non-admin values.
    pub const MODIFY_VALUE: u16 = 0x10;
    /// May remove non-admin values.
    pub const REMOVE_VALUE: u16 = 0x20;
    /// May add non-admin values.
    pub const ADD_VALUE: u16 = 0x40;
    /// May modify admin values.
    pub const MODIFY_ADMIN: u16 = 0x80;
    /// May remove admin values.
    pub const REMOVE_ADMIN: u16 = 0x100;
    /// May add admin values.
    pub const ADD_ADMIN: u16 = 0x200;
    /// May read values without public read permission.
    pub const READ_VALUE: u16 = 0x400;
    /// May list the handles under a prefix.
    pub const LIST_HANDLES: u16 = 0x800;
    /// All twelve bits.
    pub const ALL: Self = Self(0xFFF);
    /// The usual grant for a handle's own administrator: `011111110011` (0x7F3).
    pub const DEFAULT: Self = Self(0x7F3);

    /// True when every bit of `bits` is granted.
    pub fn allows(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// The 12-character bit string, most significant bit first.
    pub fn to_bit_string(self) -> String {
        (0..12)
            .rev()
            .map(|b| if self.0 & (1 << b) != 0 { '1' } else { '0' })
            .collect()
    }

    /// Parses a bit string of up to 12 characters, most significant bit first.
    pub fn from_bit_string(s: &str) -> Result<Self, CoreError> {
        if s.is_empty() || s.len() > 12 {
            return Err(CoreError::value("admin permissions must be 1 to 12 bits"));
        }
        let mut v = 0u16;
        for c in s.chars() {
            v = (v << 1)
                | match c {
                    '0' => 0,
                    '1' => 1,
                    _ => return Err(CoreError::value("admin permissions must be 0s and 1s")),
                };
        }
        Ok(Self(v))
    }
}

/// A reference to one value of a handle (`index:handle`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueRef {
    /// The referenced handle.
    pub handle: String,
    /// The referenced value's index.
    #[serde(deserialize_with = "crate::data_in::lenient_u32")]
    pub index: u32,
}

/// An `HS_ADMIN` value: who administers a handle, with which rights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRef {
    /// The admin identity's handle.
    pub handle: String,
    /// The index of the identity's key value (or of an `HS_VLIST` group).
    pub index: u32,
    /// What the admin may do.
    pub perms: AdminPerms,
}

impl AdminRef {
    /// The key at `index` of `handle`, with the default permissions.
    pub fn new(handle: impl Into<String>, index: u32) -> Self {
        Self {
            handle: handle.into(),
            index,
            perms: AdminPerms::DEFAULT,
        }
    }

    /// Binary form: u16 permissions, handle str, u32 index.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.handle.len());
        out.extend_from_slice(&self.perms.0.to_be_bytes());
        put_blob(&mut out, self.handle.as_bytes());
        put_u32(&mut out, self.index);
        out
    }

    /// Parses the binary form; rejects trailing bytes.
    pub fn decode(data: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(data);
        let perms = AdminPerms(r.u16()?);
        let handle = r.str()?.to_owned();
        let index = r.u32()?;
        r.finish()?;
        Ok(Self {
            handle,
            index,
            perms,
        })
    }
}

/// An `HS_VLIST` value: a group of admin references.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VList(pub Vec<ValueRef>);

impl VList {
    /// Binary form: u32 count, then (handle str, u32 index) each.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, self.0.len() as u32);
        for r in &self.0 {
            put_blob(&mut out, r.handle.as_bytes());
            put_u32(&mut out, r.index);
        }
        out
    }

    /// Parses the binary form; rejects trailing bytes.
    pub fn decode(data: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader::new(data);
        let n = r.count(8)?;
        let mut refs = Vec::with_capacity(n);
        for _ in 0..n {
            let handle = r.str()?.to_owned();
            let index = r.u32()?;
            refs.push(ValueRef { handle, index });
        }
        r.finish()?;
        Ok(Self(refs))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bit_strings() {
        assert_eq!(AdminPerms(0x7F3).to_bit_string(), "011111110011");
        assert_eq!(
            AdminPerms::from_bit_string("011111110011").unwrap(),
            AdminPerms(0x7F3)
        );
        assert_eq!(
            AdminPerms::from_bit_string("111111111111").unwrap(),
            AdminPerms::ALL
        );
        assert!(AdminPerms::from_bit_string("0111111100112").is_err());
        assert!(AdminPerms::from_bit_string("01x").is_err());
        assert!(AdminPerms::DEFAULT.allows(AdminPerms::ADD_HANDLE | AdminPerms::READ_VALUE));
        assert!(!AdminPerms::DEFAULT.allows(AdminPerms::ADD_NA));
    }

    proptest! {
        #[test]
        fn admin_round_trip(p in 0u16..0x1000, h in "\\PC{0,40}", i: u32) {
            let a = AdminRef { handle: h, index: i, perms: AdminPerms(p) };
            prop_assert_eq!(AdminRef::decode(&a.encode()).unwrap(), a.clone());
            prop_assert_eq!(AdminPerms::from_bit_string(&a.perms.to_bit_string()).unwrap(), a.perms);
        }

        #[test]
        fn vlist_round_trip(v in proptest::collection::vec(("\\PC{0,20}", any::<u32>()), 0..8)) {
            let l = VList(v.into_iter().map(|(handle, index)| ValueRef { handle, index }).collect());
            prop_assert_eq!(VList::decode(&l.encode()).unwrap(), l);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = AdminRef::decode(&b);
            let _ = VList::decode(&b);
        }
    }
}
