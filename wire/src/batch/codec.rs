//! The encoding's primitives: LEB128 varints, zigzag for signed numbers,
//! length-prefixed strings, and a bounds-checked reader whose every error
//! names the item and the offset.

use super::DecodeError;

pub(crate) fn put_varint(o: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        o.push((v as u8) | 0x80);
        v >>= 7;
    }
    o.push(v as u8);
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_zigzag(o: &mut Vec<u8>, v: i64) {
    put_varint(o, zigzag(v));
}

pub(crate) fn put_str(o: &mut Vec<u8>, s: &str) {
    put_varint(o, s.len() as u64);
    o.extend_from_slice(s.as_bytes());
}

pub(crate) fn take_array<const N: usize>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<[u8; N], DecodeError> {
    let s = r.take(N, what)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// A bounds-checked cursor; every error names the item and the offset.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn truncated(&self, what: &'static str) -> DecodeError {
        DecodeError::Truncated { what, at: self.pos }
    }

    pub(crate) fn invalid_err(&self, what: String) -> DecodeError {
        DecodeError::Invalid { what, at: self.pos }
    }

    pub(crate) fn invalid<T>(&self, what: String) -> Result<T, DecodeError> {
        Err(self.invalid_err(what))
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.truncated(what))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8(what)?;
            if i == 9 && b > 1 {
                return self.invalid(format!("{what}: varint over 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.invalid(format!("{what}: varint over 64 bits"))
    }

    pub(crate) fn zigzag(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.varint(what)?))
    }

    /// A length that must fit in the rest of the buffer and under `max`.
    pub(crate) fn len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.len_unchecked(what, max)?;
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(n)
    }

    /// A count or a length of something stored elsewhere, under `max`.
    pub(crate) fn len_unchecked(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(DecodeError::TooLarge {
                what,
                len: usize::try_from(n).unwrap_or(usize::MAX),
                max,
            }),
        }
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub(crate) fn string(&mut self, what: &'static str, max: usize) -> Result<String, DecodeError> {
        let n = self.len(what, max)?;
        let at = self.pos;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError::Invalid {
            what: format!("{what}: not UTF-8"),
            at,
        })
    }
}
