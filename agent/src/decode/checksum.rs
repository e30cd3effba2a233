//! The Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers.

use std::net::IpAddr;

/// One's-complement sum of `data` added to `acc`, not yet folded.
pub fn sum(acc: u32, data: &[u8]) -> u32 {
    if data.len() < BLOCK {
        return sum_words(acc, data);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just found to have AVX2.
        return unsafe { sum_avx2(acc, data) };
    }
    sum_lanes(acc, data)
}

/// Short data (headers, small segments): word by word.
fn sum_words(mut acc: u32, data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(2);
    for w in words.by_ref() {
        acc += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// [`sum_lanes`] compiled for AVX2: twice the lanes per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_avx2(acc: u32, data: &[u8]) -> u32 {
    sum_lanes(acc, data)
}

/// Bytes summed per block: 16-bit words into as many 32-bit lanes.
const BLOCK: usize = 64;

#[inline(always)]
fn sum_lanes(acc: u32, data: &[u8]) -> u32 {
    // Native-order 16-bit words into 32-bit lanes, one lane per word of a
    // block, so the loop is plain vector adds. A lane gains at most 0xffff
    // per block: no carry is lost below 2^16 blocks (4 MiB, far more than a
    // frame). The one's-complement sum is the same whatever the byte order,
    // once folded and put back in network order (RFC 1071, 2.A and 2.B).
    let mut lanes = [0u32; BLOCK / 2];
    let mut blocks = data.chunks_exact(BLOCK);
    for b in blocks.by_ref() {
        for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(2)) {
            *lane += u32::from(u16::from_ne_bytes([w[0], w[1]]));
        }
    }
    let wide: u64 = lanes.iter().map(|&l| u64::from(l)).sum();
    sum_words(
        acc + u32::from(u16::from_be(fold64(wide) as u16)),
        blocks.remainder(),
    )
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
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = u32::from(proto) + (len & 0xffff);
            sum_words(sum_words(acc, &s.octets()), &d.octets())
        }
        _ => {
            let acc = u32::from(proto) + (len >> 16) + (len & 0xffff);
            sum_words(sum_words(acc, &octets16(src)), &octets16(dst))
        }
    }
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
        let lens = (0..=40).chain([63, 64, 65, 127, 128, 129, 999, 1000, 1001]);
        for (data, len) in lens.flat_map(|l| [(&mixed, l), (&ones, l)]) {
            let d = &data[..len];
            let mut words = 0u32;
            for c in d.chunks(2) {
                words += u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0));
            }
            assert_eq!(fold(sum(0, d)), fold(words), "length {len}");
            assert_eq!(fold(sum_lanes(0, d)), fold(words), "length {len}, no AVX2");
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example bytes.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
    }
}
