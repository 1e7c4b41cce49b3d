//! GS1 keys: the mod-10 check digit of GTIN-8/12/13/14, GLN, SSCC and the other fixed-length
//! numeric keys (GS1 General Specifications §7.9).

/// Lengths of the numeric GS1 keys that end in a check digit: GTIN-8, GTIN-12 (UPC), GTIN-13 /
/// GLN, GTIN-14, GSIN (17), SSCC (18).
const KEY_LENGTHS: [usize; 6] = [8, 12, 13, 14, 17, 18];

/// True when `key` is all digits, of a GS1 key length, and its last digit is the check digit
/// of the others.
pub fn gs1_check_digit_ok(key: &str) -> bool {
    // ASCII first: a key of the right byte length may end inside a multi-byte character.
    if !key.is_ascii() || !KEY_LENGTHS.contains(&key.len()) {
        return false;
    }
    let (body, check) = key.split_at(key.len() - 1);
    gs1_check_digit(body).is_some_and(|d| check.as_bytes() == [b'0' + d])
}

/// The check digit of the digits `body` (weights 3 and 1 alternating from the right), or
/// `None` when `body` is not all digits.
pub fn gs1_check_digit(body: &str) -> Option<u8> {
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    Some(((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multibyte_character_at_the_end_is_no_key() {
        // 11 digits and a combining caron: 13 bytes, a GTIN-13's length (found by the
        // template fuzz target; it panicked splitting inside the character).
        assert!(!gs1_check_digit_ok("40063813339\u{30c}"));
    }

    #[test]
    fn published_keys_pass_and_one_digit_off_fails() {
        // GTIN-13 and GTIN-12 examples of the GS1 General Specifications, an SSCC, a GTIN-8.
        for key in [
            "4006381333931",
            "036000291452",
            "106141411234567897",
            "96385074",
        ] {
            assert!(gs1_check_digit_ok(key), "{key}");
            let mut off = key.as_bytes().to_vec();
            let last = off.len() - 1;
            off[last] = b'0' + (off[last] - b'0' + 1) % 10;
            assert!(
                !gs1_check_digit_ok(std::str::from_utf8(&off).unwrap()),
                "{key}"
            );
        }
        for bad in ["", "123", "40063813339x1", "40063813339311"] {
            assert!(!gs1_check_digit_ok(bad), "{bad}");
        }
    }
}
