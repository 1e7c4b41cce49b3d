//! RFC 5734 framing: every EPP document is preceded by a 4-byte big-endian length that
//! counts itself and the document.

use crate::EppError;

/// Length of the frame header.
pub const HEADER_LEN: usize = 4;

/// The document `xml` as one frame.
pub fn encode_frame(xml: &str) -> Vec<u8> {
    let total = (xml.len() + HEADER_LEN) as u32;
    let mut out = Vec::with_capacity(xml.len() + HEADER_LEN);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(xml.as_bytes());
    out
}

/// The length of the document following `header`, refusing frames over `max` bytes
/// (header included) before anything is read, and frames too short to hold a document.
pub fn body_len(header: [u8; HEADER_LEN], max: usize) -> Result<usize, EppError> {
    let total = u32::from_be_bytes(header) as usize;
    if total <= HEADER_LEN || total > max {
        return Err(EppError::FrameSize {
            len: total as u64,
            max,
        });
    }
    Ok(total - HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_limits() {
        let f = encode_frame("<epp/>");
        assert_eq!(&f[..4], &[0, 0, 0, 10]);
        assert_eq!(body_len([0, 0, 0, 10], 100), Ok(6));
        assert!(body_len([0, 0, 0, 4], 100).is_err());
        assert!(body_len([0, 0, 0, 3], 100).is_err());
        assert!(body_len([0xff, 0, 0, 0], 1 << 20).is_err());
    }
}
