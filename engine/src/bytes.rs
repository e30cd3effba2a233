//! Readers of fixed-width integers at an offset of a byte slice, for every
//! decoder and parser: `None` past the end (or when the offset overflows).
//! The L2-L4 decoders turn `None` into their `Truncated` error.

#[inline]
pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[inline]
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[inline]
pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[inline]
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_stop_at_the_end() {
        assert_eq!(be16(&[1, 2, 3], 1), Some(0x0203));
        assert_eq!(be16(&[1, 2, 3], 2), None);
        assert_eq!(le32(&[1, 0, 0, 0], 0), Some(1));
        assert_eq!(be32(&[1, 0, 0], 0), None);
        assert_eq!(le16(&[], usize::MAX), None);
        assert_eq!(be32(&[0, 0, 1, 2], usize::MAX - 1), None);
    }
}
