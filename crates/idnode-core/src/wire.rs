//! Bounds-checked big-endian readers and writers for the Handle binary value encodings.

use crate::CoreError;

/// A cursor over a byte slice that never reads past its end.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], CoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| CoreError::value("truncated data"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CoreError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CoreError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CoreError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u32 length followed by that many bytes.
    pub(crate) fn blob(&mut self) -> Result<&'a [u8], CoreError> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    /// A u32 length followed by UTF-8.
    pub(crate) fn str(&mut self) -> Result<&'a str, CoreError> {
        std::str::from_utf8(self.blob()?).map_err(|_| CoreError::value("string is not UTF-8"))
    }

    /// A u32 element count, sanity-checked against the bytes left (each element ≥ `min` bytes).
    pub(crate) fn count(&mut self, min: usize) -> Result<usize, CoreError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min.max(1)) > self.buf.len() - self.pos {
            return Err(CoreError::value("element count exceeds data"));
        }
        Ok(n)
    }

    pub(crate) fn finish(&self) -> Result<(), CoreError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(CoreError::value("trailing bytes"))
        }
    }
}

/// Appends a u32 length and the bytes.
pub(crate) fn put_blob(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
