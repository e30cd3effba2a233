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

/// Short data (headers, small segments) and what a block sum leaves:
/// eight bytes at a time into a 64-bit one's-complement sum (the carry out
/// of the top added back in).
fn sum_words(acc: u32, data: &[u8]) -> u32 {
    let mut wide = 0u64;
    let mut add = |w: u64| {
        let (s, carry) = wide.overflowing_add(w);
        wide = s + u64::from(carry);
    };
    let mut words = data.chunks_exact(8);
    for w in words.by_ref() {
        add(u64::from_ne_bytes([
            w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
        ]));
    }
    // The tail as the native-order 16-bit words it holds; 8, 4 and 2 are
    // even, so each piece starts on a word.
    let mut tail = words.remainder();
    if let [a, b, c, d, rest @ ..] = tail {
        add(u64::from(u32::from_ne_bytes([*a, *b, *c, *d])));
        tail = rest;
    }
    if let [a, b, rest @ ..] = tail {
        add(u64::from(u16::from_ne_bytes([*a, *b])));
        tail = rest;
    }
    if let [last] = tail {
        // A lone last byte is the high half of a network-order word.
        add(u64::from(u16::from_ne_bytes([*last, 0])));
    }
    acc + u32::from(u16::from_be(fold64(wide) as u16))
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
/// Halves added with the carry out of the top added back in keep the value
/// modulo 0xffff and never turn a nonzero sum into zero, which is what
/// folding 16 bits at a time until nothing is left above them gives, in
/// two steps instead of a loop.
fn fold64(w: u64) -> u32 {
    let (s, carry) = (w as u32).overflowing_add((w >> 32) as u32);
    u32::from(fold(s + u32::from(carry)))
}

pub fn fold(acc: u32) -> u16 {
    let (s, carry) = (acc as u16).overflowing_add((acc >> 16) as u16);
    s + u16::from(carry)
}

/// Sum of the pseudo-header for a transport segment of `len` bytes.
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u32 {
    // Addresses as integers: their 16-bit words are the network-order ones.
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let (s, d) = (u32::from(s), u32::from(d));
            (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + u32::from(proto) + (len & 0xffff)
        }
        _ => {
            let words = |a: u128| {
                let (s, carry) = ((a >> 64) as u64).overflowing_add(a as u64);
                fold64(s + u64::from(carry))
            };
            words(v6_word(src))
                + words(v6_word(dst))
                + (len >> 16)
                + (len & 0xffff)
                + u32::from(proto)
        }
    }
}

fn v6_word(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(v.to_ipv6_mapped()),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// Whether an IP header (checksum field included) verifies. The common
/// 20-byte one is five 32-bit words added into 64 bits, where no carry is
/// lost: the general sum's loop and tail are most of its cost otherwise.
pub fn header_ok(header: &[u8]) -> bool {
    // 0xffff is the same in either byte order.
    let Ok(h) = <&[u8; 20]>::try_from(header) else {
        return fold(sum(0, header)) == 0xffff;
    };
    let wide: u64 = h
        .chunks_exact(4)
        .map(|w| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .sum();
    fold(fold64(wide)) == 0xffff
}

/// Whether `segment` (checksum field included) verifies under the pseudo-header.
#[inline(always)]
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
            let words = word_sum(d);
            assert_eq!(fold(sum(0, d)), fold(words), "length {len}");
            assert_eq!(fold(sum_lanes(0, d)), fold(words), "length {len}, no AVX2");
        }
    }

    /// The one's-complement sum of `data` as network-order 16-bit words.
    fn word_sum(data: &[u8]) -> u32 {
        data.chunks(2)
            .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
            .sum()
    }

    #[test]
    fn pseudo_header_is_the_sum_of_its_bytes() {
        let v4 = |a: [u8; 4]| IpAddr::from(a);
        let v6 = |a: [u8; 16]| IpAddr::from(a);
        let (a4, b4) = ([192, 168, 255, 254], [10, 255, 0, 1]);
        let (a6, b6) = (
            [0xfe; 16],
            [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 1],
        );
        let mut bytes4 = [a4, b4].concat();
        bytes4.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(
            fold(pseudo_header(v4(a4), v4(b4), 6, 1500)),
            fold(word_sum(&bytes4))
        );
        let mut bytes6 = [a6, b6].concat();
        bytes6.extend_from_slice(&[0, 1, 0x00, 0x10, 0, 0, 0, 17]);
        assert_eq!(
            fold(pseudo_header(v6(a6), v6(b6), 17, 65_552)),
            fold(word_sum(&bytes6))
        );
    }

    #[test]
    fn folds_as_sixteen_bits_at_a_time() {
        let by_sixteen = |mut w: u64| {
            while w > 0xffff {
                w = (w & 0xffff) + (w >> 16);
            }
            w
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [
            0,
            1,
            0xfffe,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            u64::MAX,
        ];
        for w in edges.into_iter().chain((0..10_000).map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            x >> (x % 48)
        })) {
            assert_eq!(u64::from(fold64(w)), by_sixteen(w), "{w:#x}");
            let v = w as u32;
            assert_eq!(u64::from(fold(v)), by_sixteen(u64::from(v)), "{v:#x}");
        }
    }

    #[test]
    fn header_check_agrees_with_the_word_sum() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in [20usize, 20, 20, 24, 60, 19] {
            for _ in 0..2_000 {
                let mut h: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                assert_eq!(header_ok(&h), fold(word_sum(&h)) == 0xffff);
                // With its checksum filled in it verifies; with one bit
                // flipped it does not.
                if len >= 12 {
                    h[10..12].fill(0);
                    let c = !fold(word_sum(&h));
                    h[10..12].copy_from_slice(&c.to_be_bytes());
                    assert!(header_ok(&h), "{h:02x?}");
                    h[len - 1] ^= 0x10;
                    assert!(!header_ok(&h), "{h:02x?}");
                }
            }
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example bytes.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
    }
}
