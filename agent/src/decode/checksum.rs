//! The Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers.

use std::net::IpAddr;

/// One's-complement sum of `data` added to `acc`, not yet folded.
pub fn sum(acc: u32, data: &[u8]) -> u32 {
    // Four bytes at a time in native order into a wide accumulator, with
    // no carry to propagate (a frame holds far fewer than 2^32 words), so
    // the loop vectorises. The one's-complement sum is the same whatever
    // the word size and byte order, once folded and put back in network
    // order (RFC 1071, 2.A and 2.B).
    let mut words = data.chunks_exact(4);
    let wide: u64 = words
        .by_ref()
        .map(|c| u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
        .sum();
    let mut acc = acc + u32::from(u16::from_be(fold64(wide) as u16));
    let mut rest = words.remainder().chunks_exact(2);
    for c in &mut rest {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = rest.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds a 64-bit one's-complement sum to 16 bits (kept in a u32 so more
/// can be added).
fn fold64(mut w: u64) -> u32 {
    while w > 0xffff {
        w = (w & 0xffff) + (w >> 16);
    }
    w as u32
}

pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Sum of the pseudo-header for a transport segment of `len` bytes.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u32 {
    let mut acc = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(acc, &s.octets());
            acc = sum(acc, &d.octets());
            acc += u32::from(proto) + (len & 0xffff);
        }
        _ => {
            acc = sum(acc, &octets16(src));
            acc = sum(acc, &octets16(dst));
            acc += (len >> 16) + (len & 0xffff) + u32::from(proto);
        }
    }
    acc
}

fn octets16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    }
}

/// Whether `segment` (checksum field included) verifies under the pseudo-header.
pub fn transport_ok(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> bool {
    let acc = pseudo_header(src, dst, proto, segment.len() as u32);
    fold(sum(acc, segment)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_sum_equals_word_sum() {
        let mixed: Vec<u8> = (0..1001u32).map(|i| (i * 7919 % 251) as u8).collect();
        let ones = vec![0xffu8; 1001];
        let lens = (0..=40).chain([64, 999, 1000, 1001]);
        for (data, len) in lens.flat_map(|l| [(&mixed, l), (&ones, l)]) {
            let d = &data[..len];
            let mut words = 0u32;
            for c in d.chunks(2) {
                words += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
            }
            assert_eq!(fold(sum(0, d)), fold(words), "length {len}");
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example bytes.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
    }
}
