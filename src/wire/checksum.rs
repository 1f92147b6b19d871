//! The Internet checksum (RFC 1071), pseudo-headers, and incremental update (RFC 1624).

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words (odd byte padded), unfolded.
pub fn sum(data: &[u8]) -> u32 {
    todo!()
}

/// Folds a 32-bit accumulator to 16 bits (without the final inversion).
pub fn fold(acc: u32) -> u16 {
    todo!()
}

/// The checksum to store in an IPv4 header (`header` with its checksum field zeroed,
/// or over the whole header: then a correct header yields 0).
pub fn ipv4_header(header: &[u8]) -> u16 {
    todo!()
}

/// Unfolded pseudo-header sum for IPv4 (src, dst, zero, protocol, length).
pub fn pseudo_ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u32) -> u32 {
    todo!()
}

/// Unfolded pseudo-header sum for IPv6 (src, dst, upper-layer length, next header).
pub fn pseudo_ipv6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, len: u32) -> u32 {
    todo!()
}

/// Checksum to store in a TCP header: `!fold(pseudo + sum(segment))`, where `segment` has
/// its checksum field zeroed. Over a segment with a correct checksum it yields 0.
pub fn transport(pseudo: u32, segment: &[u8]) -> u16 {
    todo!()
}

/// RFC 1624 eqn. 3: new checksum after a 16-bit field changed from `old` to `new`.
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    todo!()
}
