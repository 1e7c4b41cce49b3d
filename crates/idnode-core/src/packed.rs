//! The storage encoding of a record's values: what the database keeps for every identifier,
//! so it is as small as the values allow. Lengths and indexes are LEB128 varints; the
//! timestamp is written once for the record and again only by values that differ from it;
//! ttl, permissions and references are written only when not the defaults. A record of five
//! short values takes ~170 bytes here against ~720 as REST JSON.
//!
//! Type names may be replaced by numbers from a dictionary the caller keeps (the store's
//! `value_types` table): a node uses few type names, and they are a quarter of a typical
//! record's bytes.
//!
//! ```text
//! record := 0x01 count:varint [base:u32be if count > 0] value*
//! value  := flags:u8 index:varint (type:bytes | type_id:varint if flags & 16) data:bytes
//!           [timestamp:varint  if flags & 1]
//!           [ttl_type:u8 ttl:varint  if flags & 2]
//!           [permissions:u8  if flags & 4]
//!           [refs:varint (handle:bytes index:varint)*  if flags & 8]
//! bytes  := len:varint byte*
//! ```

use crate::wire::{Reader, WireError};
use crate::{CoreError, HandleValue, Permissions, Ttl, ValueRef, DEFAULT_TTL};

/// The format's first byte.
const VERSION: u8 = 1;
const F_TIMESTAMP: u8 = 1;
const F_TTL: u8 = 2;
const F_PERMISSIONS: u8 = 4;
const F_REFERENCES: u8 = 8;
const F_TYPE_ID: u8 = 16;
/// How the error of a type number the dictionary does not hold begins (a caller may reload
/// its dictionary and try again).
pub const UNKNOWN_TYPE: &str = "packed values: unknown type number";
/// The least bytes one value takes (flags, index, two empty lengths).
const MIN_VALUE: usize = 4;

/// Encodes a record's values, type names spelled out.
pub fn pack<'a, I>(values: I) -> Vec<u8>
where
    I: IntoIterator<Item = &'a HandleValue>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    pack_with(values, |_| None)
}

/// Decodes a record that names no type by number.
pub fn unpack(bytes: &[u8]) -> Result<Vec<HandleValue>, CoreError> {
    unpack_with(bytes, |_| None)
}

/// Encodes a record's values, each type name that `type_id` numbers by its number.
pub fn pack_with<'a, I>(values: I, type_id: impl Fn(&str) -> Option<u32>) -> Vec<u8>
where
    I: IntoIterator<Item = &'a HandleValue>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    let values = values.into_iter();
    let guess: usize = values
        .clone()
        .map(|v| 8 + v.type_name.len() + v.data.len())
        .sum();
    let mut out = Vec::with_capacity(6 + guess);
    out.push(VERSION);
    put_varint(&mut out, values.len() as u32);
    let Some(first) = values.clone().next() else {
        return out;
    };
    let base = first.timestamp;
    out.extend_from_slice(&base.to_be_bytes());
    for v in values {
        value(&mut out, v, base, type_id(&v.type_name));
    }
    out
}

fn value(out: &mut Vec<u8>, v: &HandleValue, base: u32, type_id: Option<u32>) {
    let ttl = (v.ttl != Ttl::Relative(DEFAULT_TTL)).then_some(v.ttl);
    let flag = |set: bool, f: u8| if set { f } else { 0 };
    let flags = flag(v.timestamp != base, F_TIMESTAMP)
        | flag(ttl.is_some(), F_TTL)
        | flag(v.permissions != Permissions::DEFAULT, F_PERMISSIONS)
        | flag(!v.references.is_empty(), F_REFERENCES)
        | flag(type_id.is_some(), F_TYPE_ID);
    out.push(flags);
    put_varint(out, v.index);
    match type_id {
        Some(id) => put_varint(out, id),
        None => put_bytes(out, v.type_name.as_bytes()),
    }
    put_bytes(out, &v.data);
    if flags & F_TIMESTAMP != 0 {
        put_varint(out, v.timestamp);
    }
    match ttl {
        Some(Ttl::Relative(t)) => {
            out.push(0);
            put_varint(out, t);
        }
        Some(Ttl::Absolute(t)) => {
            out.push(1);
            put_varint(out, t);
        }
        None => {}
    }
    if flags & F_PERMISSIONS != 0 {
        out.push(v.permissions.bits());
    }
    if flags & F_REFERENCES != 0 {
        put_varint(out, v.references.len() as u32);
        for r in &v.references {
            put_bytes(out, r.handle.as_bytes());
            put_varint(out, r.index);
        }
    }
}

/// Decodes what [`pack_with`] wrote, type numbers named by `type_name` (a number it does
/// not know is an error); anything else is refused, never half-read.
pub fn unpack_with(
    bytes: &[u8],
    type_name: impl Fn(u32) -> Option<String>,
) -> Result<Vec<HandleValue>, CoreError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != VERSION {
        return Err(CoreError::value("packed values: unknown format"));
    }
    let n = count(&mut r, MIN_VALUE)?;
    let mut values = Vec::with_capacity(n);
    if n > 0 {
        let base = r.u32()?;
        for _ in 0..n {
            values.push(read_value(&mut r, base, &type_name)?);
        }
    }
    r.finish()?;
    Ok(values)
}

fn read_value(
    r: &mut Reader<'_>,
    base: u32,
    names: impl Fn(u32) -> Option<String>,
) -> Result<HandleValue, CoreError> {
    let flags = r.u8()?;
    if flags & !(F_TIMESTAMP | F_TTL | F_PERMISSIONS | F_REFERENCES | F_TYPE_ID) != 0 {
        return Err(CoreError::value("packed values: unknown flags"));
    }
    let index = varint(r)?;
    let type_name = if flags & F_TYPE_ID != 0 {
        let id = varint(r)?;
        names(id).ok_or_else(|| CoreError::value(format!("{UNKNOWN_TYPE} {id}")))?
    } else {
        text(r)?
    };
    let data = bytes(r)?.to_vec();
    let timestamp = if flags & F_TIMESTAMP != 0 {
        varint(r)?
    } else {
        base
    };
    let ttl = if flags & F_TTL != 0 {
        match r.u8()? {
            0 => Ttl::Relative(varint(r)?),
            1 => Ttl::Absolute(varint(r)?),
            _ => return Err(CoreError::value("packed values: unknown ttl type")),
        }
    } else {
        Ttl::Relative(DEFAULT_TTL)
    };
    let permissions = if flags & F_PERMISSIONS != 0 {
        let b = r.u8()?;
        if b > 0xF {
            return Err(CoreError::value("packed values: permissions out of range"));
        }
        Permissions::from_bits(b)
    } else {
        Permissions::DEFAULT
    };
    let mut references = Vec::new();
    if flags & F_REFERENCES != 0 {
        for _ in 0..count(r, 2)? {
            let handle = text(r)?;
            references.push(ValueRef {
                handle,
                index: varint(r)?,
            });
        }
    }
    Ok(HandleValue {
        index,
        type_name,
        data,
        ttl,
        timestamp,
        permissions,
        references,
    })
}

/// Encodes a list of names (the handles one batch created): the format byte, a varint
/// count, then each name as bytes.
pub fn pack_names<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + names.len() * 24);
    out.push(VERSION);
    put_varint(&mut out, names.len() as u32);
    for n in names {
        put_bytes(&mut out, n.as_bytes());
    }
    out
}

/// Decodes what [`pack_names`] wrote.
pub fn unpack_names(bytes: &[u8]) -> Result<Vec<String>, CoreError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != VERSION {
        return Err(CoreError::value("packed names: unknown format"));
    }
    let n = count(&mut r, 1)?;
    let names = (0..n).map(|_| text(&mut r)).collect::<Result<_, _>>()?;
    r.finish()?;
    Ok(names)
}

/// Appends `v` as an LEB128 varint (1 to 5 bytes).
fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// An LEB128 varint of at most 32 bits, in its shortest form.
fn varint(r: &mut Reader<'_>) -> Result<u32, WireError> {
    let mut v: u64 = 0;
    for k in 0..5 {
        let b = r.u8()?;
        v |= u64::from(b & 0x7F) << (7 * k);
        if b & 0x80 == 0 {
            if k > 0 && b == 0 {
                return Err(WireError::Malformed("varint not in its shortest form"));
            }
            return u32::try_from(v).map_err(|_| WireError::Malformed("varint exceeds 32 bits"));
        }
    }
    Err(WireError::Malformed("varint longer than 5 bytes"))
}

/// A varint element count, checked against the bytes left (each element ≥ `min` bytes).
fn count(r: &mut Reader<'_>, min: usize) -> Result<usize, WireError> {
    let n = varint(r)? as usize;
    if n.saturating_mul(min) > r.remaining() {
        return Err(WireError::Truncated("element count exceeds the data"));
    }
    Ok(n)
}

fn bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], WireError> {
    let n = varint(r)? as usize;
    r.bytes(n)
}

fn text(r: &mut Reader<'_>) -> Result<String, WireError> {
    let b = bytes(r)?;
    String::from_utf8(b.to_vec()).map_err(|_| WireError::Malformed("string is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<HandleValue> {
        let mut url = HandleValue::text(1, "URL", "https://trace.example.com/p/000000042");
        url.timestamp = 1_796_000_000;
        let mut name = HandleValue::text(2, "productName", "gearbox housing");
        name.timestamp = 1_796_000_000;
        let mut odd = HandleValue::bytes(300, "HS_SECKEY", vec![0, 1, 2, 255]);
        odd.timestamp = 1_796_000_123;
        odd.ttl = Ttl::Absolute(1_900_000_000);
        odd.permissions = Permissions::SECRET;
        odd.references = vec![
            ValueRef {
                handle: "0.NA/88.118".into(),
                index: 200,
            },
            ValueRef {
                handle: "88.118.8/Ünïcode".into(),
                index: u32::MAX,
            },
        ];
        let mut relative = HandleValue::text(u32::MAX, "DESC", "");
        relative.ttl = Ttl::Relative(0);
        vec![url, name, odd, relative]
    }

    #[test]
    fn round_trips_every_field() {
        for values in [sample(), Vec::new(), sample()[..1].to_vec()] {
            let packed = pack(&values);
            assert_eq!(unpack(&packed).unwrap(), values);
        }
    }

    #[test]
    fn numbered_types_round_trip_and_unknown_numbers_are_refused() {
        let values = sample();
        let dict = ["URL", "HS_SECKEY"];
        let id = |n: &str| dict.iter().position(|d| *d == n).map(|p| p as u32);
        let name = |i: u32| dict.get(i as usize).map(|d| (*d).to_owned());
        let packed = pack_with(&values, id);
        // "URL" and "HS_SECKEY" become one byte each.
        assert_eq!(packed.len() + 3 + 9, pack(&values).len());
        assert_eq!(unpack_with(&packed, name).unwrap(), values);
        let err = unpack(&packed).unwrap_err().to_string();
        assert!(err.contains(UNKNOWN_TYPE), "{err}");
    }

    #[test]
    fn defaults_cost_nothing() {
        let values = &sample()[..2];
        // Format, count, base timestamp, then per value 4 bytes of framing (flags, index and two
        // lengths) plus its text.
        let text: usize = values
            .iter()
            .map(|v| v.type_name.len() + v.data.len())
            .sum();
        assert_eq!(pack(values).len(), 1 + 1 + 4 + 2 * 4 + text);
    }

    #[test]
    fn refuses_every_truncation_and_trailing_bytes() {
        let packed = pack(&sample());
        for end in 0..packed.len() {
            assert!(unpack(&packed[..end]).is_err(), "prefix of {end} bytes");
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack(&longer).is_err());
    }

    #[test]
    fn refuses_malformed_fields() {
        // Unknown version, unknown flag, overlong and oversized varints, bad ttl type.
        assert!(unpack(&[2, 0]).is_err());
        assert!(unpack(&[1, 1, 0, 0, 0, 0, 0x10, 1, 0, 0]).is_err());
        assert!(unpack(&[1, 0x80, 0]).is_err());
        assert!(unpack(&[1, 1, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0, 0]).is_err());
        assert!(unpack(&[1, 1, 0, 0, 0, 0, F_TTL, 1, 0, 0, 7, 0]).is_err());
        // A count larger than the bytes could hold is refused before allocating.
        assert!(unpack(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).is_err());
        // Type names must be UTF-8.
        assert!(unpack(&[1, 1, 0, 0, 0, 0, 0, 1, 1, 0xFF, 0]).is_err());
    }

    #[test]
    fn names_round_trip_and_refuse_truncation() {
        let names = ["88.118.8/A", "88.118.8/Ünïcode", ""];
        let packed = pack_names(names.iter().copied());
        assert_eq!(unpack_names(&packed).unwrap(), names);
        for end in 0..packed.len() {
            assert!(
                unpack_names(&packed[..end]).is_err(),
                "prefix of {end} bytes"
            );
        }
        assert!(unpack_names(&[1, 1, 1, 0xFF]).is_err());
    }

    #[test]
    fn varints_use_their_shortest_form() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(varint(&mut r).unwrap(), v);
            assert!(r.finish().is_ok());
        }
    }
}
