//! Bounds-checked big-endian cursor and writers.

use crate::ProtoError;

/// A cursor over a byte slice that never reads past its end.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        if n > self.remaining() {
            return Err(ProtoError::Truncated("field runs past the end"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProtoError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ProtoError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProtoError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u32 length and that many bytes.
    pub(crate) fn blob(&mut self) -> Result<&'a [u8], ProtoError> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    /// A u32 length and that many bytes of UTF-8.
    pub(crate) fn str(&mut self) -> Result<&'a str, ProtoError> {
        std::str::from_utf8(self.blob()?).map_err(|_| ProtoError::malformed("string is not UTF-8"))
    }

    /// A u32 element count, checked against the bytes left (each element ≥ `min` bytes).
    pub(crate) fn count(&mut self, min: usize) -> Result<usize, ProtoError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min.max(1)) > self.remaining() {
            return Err(ProtoError::Truncated("element count exceeds the data"));
        }
        Ok(n)
    }

    /// The bytes left, without consuming them.
    pub(crate) fn rest_peek(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn finish(&self) -> Result<(), ProtoError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(ProtoError::malformed("trailing bytes after the body"))
        }
    }
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a u32 length and the bytes. Lengths beyond u32 cannot occur: messages are capped
/// far below that.
pub(crate) fn put_blob(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}
