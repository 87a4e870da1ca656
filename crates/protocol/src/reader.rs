//! A bounds-checked big-endian cursor over a byte slice. Every read returns an error instead of
//! panicking when the input is short, which is what lets the decoders take arbitrary bytes.

use crate::error::{ProtocolError, Result};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let have = self.remaining();
        let end = self.pos.checked_add(n).filter(|_| n <= have);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(ProtocolError::Truncated { what, need: n, have }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let slice = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn i16(&mut self, what: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// Reads a non-negative length field; a negative value is an error, not a huge `usize`.
    pub(crate) fn len_i32(&mut self, what: &'static str) -> Result<usize> {
        let len = self.i32(what)?;
        usize::try_from(len).map_err(|_| ProtocolError::InvalidLength { what, len: len.into() })
    }

    pub(crate) fn len_i16(&mut self, what: &'static str) -> Result<usize> {
        let len = self.i16(what)?;
        usize::try_from(len).map_err(|_| ProtocolError::InvalidLength { what, len: len.into() })
    }
}

/// Reads a big-endian i32 at `at`, or `None` if the slice is too short.
pub(crate) fn i32_at(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(bytes);
    Some(i32::from_be_bytes(a))
}

/// Overwrites 8 bytes at `at` with `value`; false if the slice is too short.
pub(crate) fn put_i64_at(buf: &mut [u8], at: usize, value: i64) -> bool {
    match at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        Some(dst) => {
            dst.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}
