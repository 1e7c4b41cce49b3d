//! Handle values on the wire (RFC 3652 §2.2.4 / SPEC §5): index, timestamp, ttl type, ttl,
//! permissions, type, data, references.

use idnode_core::{HandleValue, Permissions, Ttl, ValueRef};

use crate::{ProtoError, MAX_VALUES};
use idnode_core::wire::{put_blob, put_u32, Reader};

/// Encoded length of one value.
pub fn value_len(v: &HandleValue) -> usize {
    4 + 4
        + 1
        + 4
        + 1
        + 4
        + v.type_name.len()
        + 4
        + v.data.len()
        + 4
        + v.references
            .iter()
            .map(|r| 8 + r.handle.len())
            .sum::<usize>()
}

/// Appends one value.
pub fn encode_value(out: &mut Vec<u8>, v: &HandleValue) {
    out.reserve(value_len(v));
    put_u32(out, v.index);
    put_u32(out, v.timestamp);
    let (kind, ttl) = match v.ttl {
        Ttl::Relative(s) => (0, s),
        Ttl::Absolute(t) => (1, t),
    };
    out.push(kind);
    put_u32(out, ttl);
    out.push(v.permissions.bits());
    put_blob(out, v.type_name.as_bytes());
    put_blob(out, &v.data);
    put_u32(out, v.references.len() as u32);
    for r in &v.references {
        put_blob(out, r.handle.as_bytes());
        put_u32(out, r.index);
    }
}

/// Appends a u32 count and the values.
pub fn encode_values<'a>(
    out: &mut Vec<u8>,
    values: impl ExactSizeIterator<Item = &'a HandleValue>,
) {
    put_u32(out, values.len() as u32);
    for v in values {
        encode_value(out, v);
    }
}

pub(crate) fn read_value(r: &mut Reader<'_>) -> Result<HandleValue, ProtoError> {
    let index = r.u32()?;
    let timestamp = r.u32()?;
    let ttl = match r.u8()? {
        0 => Ttl::Relative(r.u32()?),
        1 => Ttl::Absolute(r.u32()?),
        t => return Err(ProtoError::malformed(format!("unknown ttl type {t}"))),
    };
    let permissions = Permissions::from_bits(r.u8()?);
    let type_name = r.str()?.to_owned();
    let data = r.blob()?.to_vec();
    let n = r.count(8)?;
    let mut references = Vec::with_capacity(n);
    for _ in 0..n {
        let handle = r.str()?.to_owned();
        let index = r.u32()?;
        references.push(ValueRef { handle, index });
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

pub(crate) fn read_values(r: &mut Reader<'_>) -> Result<Vec<HandleValue>, ProtoError> {
    // The smallest value is 26 bytes.
    let n = r.count(26)?;
    if n > MAX_VALUES {
        return Err(ProtoError::malformed(format!(
            "{n} values exceed the limit of {MAX_VALUES}"
        )));
    }
    (0..n).map(|_| read_value(r)).collect()
}

/// Decodes exactly one value.
pub fn decode_value(buf: &[u8]) -> Result<HandleValue, ProtoError> {
    let mut r = Reader::new(buf);
    let v = read_value(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Decodes a u32 count and that many values, exactly filling `buf`.
pub fn decode_values(buf: &[u8]) -> Result<Vec<HandleValue>, ProtoError> {
    let mut r = Reader::new(buf);
    let v = read_values(&mut r)?;
    r.finish()?;
    Ok(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_value() -> impl Strategy<Value = HandleValue> {
        (
            1u32..5000,
            any::<u32>(),
            any::<bool>(),
            any::<u32>(),
            0u8..16,
            "[A-Za-z_.]{0,12}",
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(("[0-9./A-Z]{1,12}", any::<u32>()), 0..3),
        )
            .prop_map(
                |(index, timestamp, abs, ttl, perms, t, data, refs)| HandleValue {
                    index,
                    type_name: t,
                    data,
                    ttl: if abs {
                        Ttl::Absolute(ttl)
                    } else {
                        Ttl::Relative(ttl)
                    },
                    timestamp,
                    permissions: Permissions::from_bits(perms),
                    references: refs
                        .into_iter()
                        .map(|(handle, index)| ValueRef { handle, index })
                        .collect(),
                },
            )
    }

    proptest! {
        #[test]
        fn values_round_trip(values in proptest::collection::vec(arb_value(), 0..6)) {
            let mut out = Vec::new();
            encode_values(&mut out, values.iter());
            prop_assert_eq!(out.len(), 4 + values.iter().map(value_len).sum::<usize>());
            prop_assert_eq!(decode_values(&out).unwrap(), values);
        }

        #[test]
        fn value_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_values(&bytes);
            let _ = decode_value(&bytes);
        }
    }

    #[test]
    fn a_value_has_the_documented_layout() {
        let v = HandleValue::text(1, "URL", "x");
        let mut out = Vec::new();
        encode_value(&mut out, &v);
        assert_eq!(
            out,
            [
                0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x51, 0x80, 0x0E, 0, 0, 0, 3, b'U', b'R', b'L', 0,
                0, 0, 1, b'x', 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn unknown_ttl_types_and_huge_counts_are_refused() {
        let mut out = Vec::new();
        encode_value(&mut out, &HandleValue::text(1, "URL", "x"));
        out[8] = 7;
        assert!(decode_value(&out).is_err());
        assert!(decode_values(&[0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }
}
