//! BER elements (ITU-T X.690) as ASN.1-encoded protocols carry them (IEC
//! 61850 GOOSE and MMS): identifier (with tag numbers above 30 in the
//! following bytes), definite length, contents. Pure functions over byte
//! slices; an indefinite length or one past the end is no element.

/// One element: its identifier and contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The class bits of the first byte (0x00 universal, 0x40 application,
    /// 0x80 context, 0xc0 private).
    pub class: u8,
    pub constructed: bool,
    pub tag: u32,
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// Whether this is the context-specific element `[tag]`.
    pub fn is_context(&self, tag: u32) -> bool {
        self.class == 0x80 && self.tag == tag
    }

    /// The contents as an unsigned integer (at most 8 bytes, a leading 0
    /// byte of a positive value allowed).
    pub fn unsigned(&self) -> Option<u64> {
        let v = match self.value {
            [0, rest @ ..] if !rest.is_empty() => rest,
            v => v,
        };
        (!v.is_empty() && v.len() <= 8).then(|| v.iter().fold(0u64, |a, &c| a << 8 | u64::from(c)))
    }

    /// The contents as a BOOLEAN (one byte, non-zero is true).
    pub fn boolean(&self) -> Option<bool> {
        match self.value {
            [b] => Some(*b != 0),
            _ => None,
        }
    }
}

/// The element at the start of `b` and the bytes after it.
pub fn tlv(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&id, mut rest) = b.split_first()?;
    let mut tag = u32::from(id & 0x1f);
    if tag == 0x1f {
        // High tag number: base-128 digits, the last without bit 8.
        tag = 0;
        for i in 0..4 {
            let (&d, r) = rest.split_first()?;
            rest = r;
            tag = tag << 7 | u32::from(d & 0x7f);
            if d & 0x80 == 0 {
                break;
            }
            if i == 3 {
                return None;
            }
        }
    }
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        (
            bytes.iter().fold(0usize, |a, &b| a << 8 | usize::from(b)),
            &rest[n..],
        )
    };
    let value = rest.get(..len)?;
    Some((
        Tlv {
            class: id & 0xc0,
            constructed: id & 0x20 != 0,
            tag,
            value,
        },
        &rest[len..],
    ))
}

/// The elements of `b` one after the other, up to the first that does not
/// parse.
pub fn elements(mut b: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let (t, rest) = tlv(b)?;
        b = rest;
        Some(t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_high_tag_forms() {
        let (t, rest) = tlv(&[0x80, 2, b'a', b'b', 9]).unwrap();
        assert_eq!(
            (t.class, t.constructed, t.tag, t.value),
            (0x80, false, 0, &b"ab"[..])
        );
        assert_eq!(rest, &[9]);
        // [72] constructed (fileOpen), long length form.
        let mut b = vec![0xbf, 0x48, 0x81, 3, 1, 2, 3];
        let (t, _) = tlv(&b).unwrap();
        assert_eq!((t.tag, t.constructed, t.value.len()), (72, true, 3));
        b.truncate(6);
        assert_eq!(tlv(&b), None);
        // Indefinite length is refused.
        assert_eq!(tlv(&[0x30, 0x80, 0, 0]), None);
        let (t, _) = tlv(&[0x85, 2, 0, 0xff]).unwrap();
        assert_eq!(t.unsigned(), Some(255));
        assert_eq!(elements(&[0x80, 0, 0x81, 1, 1, 0xff]).count(), 2);
    }
}
