//! The Internet checksum (RFC 1071), pseudo-headers, and incremental update (RFC 1624).

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words (odd byte padded), unfolded.
///
/// Hot path: 4 bytes at a time, read in native byte order, into a `u64` (no carries to
/// propagate, so the loop vectorises; it cannot overflow below 16 GiB). The one's-complement
/// sum is byte-order independent (RFC 1071 §2(B)), so the folded native-order sum is
/// byte-swapped once at the end. The result is at most 0xffff, so callers can add a few of
/// them (and pseudo-header sums) without overflow.
pub fn sum(data: &[u8]) -> u32 {
    let (words, tail) = data.as_chunks::<4>();
    let mut acc: u64 = 0;
    for w in words {
        acc += u64::from(u32::from_ne_bytes(*w));
    }
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let native = fold(acc as u32);
    let mut acc = u32::from(u16::from_be_bytes(native.to_ne_bytes()));
    let (pairs, tail) = tail.as_chunks::<2>();
    if let Some(p) = pairs.first() {
        acc += u32::from(u16::from_be_bytes(*p));
    }
    if let Some(&b) = tail.first() {
        acc += u32::from(b) << 8;
    }
    u32::from(fold(acc))
}

/// Folds a 32-bit accumulator to 16 bits (without the final inversion).
#[inline]
pub fn fold(acc: u32) -> u16 {
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

/// The checksum to store in an IPv4 header (`header` with its checksum field zeroed,
/// or over the whole header: then a correct header yields 0).
pub fn ipv4_header(header: &[u8]) -> u16 {
    !fold(sum(header))
}

/// Unfolded pseudo-header sum for IPv4 (src, dst, zero, protocol, length).
pub fn pseudo_ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u32) -> u32 {
    let s = src.to_bits();
    let d = dst.to_bits();
    let acc = u64::from(s >> 16)
        + u64::from(s & 0xffff)
        + u64::from(d >> 16)
        + u64::from(d & 0xffff)
        + u64::from(protocol)
        + u64::from(len >> 16)
        + u64::from(len & 0xffff);
    u32::from(fold(acc as u32))
}

/// Unfolded pseudo-header sum for IPv6 (src, dst, upper-layer length, next header).
pub fn pseudo_ipv6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> u32 {
    let mut acc: u32 = 0;
    for w in src.segments().iter().chain(dst.segments().iter()) {
        acc += u32::from(*w);
    }
    acc += (len >> 16) + (len & 0xffff) + u32::from(next_header);
    u32::from(fold(acc))
}

/// Checksum to store in a TCP header: `!fold(pseudo + sum(segment))`, where `segment` has
/// its checksum field zeroed. Over a segment with a correct checksum it yields 0.
pub fn transport(pseudo: u32, segment: &[u8]) -> u16 {
    let acc = u64::from(pseudo) + u64::from(sum(segment));
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    !fold(acc as u32)
}

/// RFC 1624 eqn. 3: new checksum after a 16-bit field changed from `old` to `new`.
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    let acc = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the textbook per-word loop.
    fn slow_sum(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u32::from(b));
            acc += hi | lo;
        }
        fold(acc)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            fold(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
    }

    #[test]
    fn sum_matches_reference_for_all_lengths() {
        let mut data = [0u8; 300];
        crate::rng::SplitMix64(0x9e37_79b9_7f4a_7c15).fill(&mut data);
        for len in 0..data.len() {
            assert_eq!(fold(sum(&data[..len])), slow_sum(&data[..len]), "len {len}");
        }
        let ones = [0xffu8; 64];
        for len in 0..ones.len() {
            assert_eq!(
                fold(sum(&ones[..len])),
                slow_sum(&ones[..len]),
                "ones len {len}"
            );
        }
    }

    #[test]
    fn ipv4_header_example() {
        // A well-known header: checksum b861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header(&h), 0xb861);
        h[10] = 0xb8;
        h[11] = 0x61;
        assert_eq!(ipv4_header(&h), 0);
    }

    #[test]
    fn update_matches_recompute() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc6, 0x12,
            0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
        ];
        let c = ipv4_header(&h);
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1; // TTL decrement
        let new = u16::from_be_bytes([h[8], h[9]]);
        assert_eq!(update(c, old, new), ipv4_header(&h));
    }
}
