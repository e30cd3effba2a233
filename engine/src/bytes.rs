//! Readers of fixed-width integers at an offset of a byte slice, for every
//! decoder and parser: `None` past the end (or when the offset overflows);
//! and [`Error`], the one reason every parser gives for bytes that are not
//! its message.

/// Why bytes are not a message: the error of every decoder and parser in
/// the engine, from the Ethernet header to a protocol's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes end before a header or the length it declares (on a
    /// stream: a message may start here and need more bytes).
    Truncated,
    /// No such message: the field `what`, at byte `at` of the bytes the
    /// parser was given, has an impossible value.
    Malformed { what: &'static str, at: usize },
}

impl Error {
    /// A [`Error::Malformed`] for the field `what` at byte `at`.
    #[inline]
    pub const fn malformed(what: &'static str, at: usize) -> Error {
        Error::Malformed { what, at }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Truncated => f.write_str("truncated"),
            Error::Malformed { what, at } => write!(f, "malformed {what} at byte {at}"),
        }
    }
}

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

    #[test]
    fn errors_name_what_and_where() {
        assert_eq!(
            Error::malformed("length", 2).to_string(),
            "malformed length at byte 2"
        );
        assert_eq!(Error::Truncated.to_string(), "truncated");
    }
}
