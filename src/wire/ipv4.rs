//! IPv4 (RFC 791): options skipped by IHL, fragments recognised.

use std::net::Ipv4Addr;

use super::Result;

pub const PROTO_TCP: u8 = 6;

/// Zero-copy view of an IPv4 packet.
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub fn new_unchecked(buf: T) -> Self {
        Ipv4Packet { buf }
    }
    /// Checks: >= 20 bytes, version 4 (`BadIpVersion`), IHL >= 5 and within the buffer
    /// (`BadIhl`), header_len <= total length <= buffer (`BadLength`/`Truncated`).
    /// Trailing bytes past total length (Ethernet padding) are allowed and ignored.
    pub fn new_checked(buf: T) -> Result<Self> {
        todo!()
    }
    pub fn header_len(&self) -> usize {
        todo!()
    }
    pub fn total_len(&self) -> u16 {
        todo!()
    }
    pub fn dscp_ecn(&self) -> u8 {
        todo!()
    }
    pub fn ident(&self) -> u16 {
        todo!()
    }
    pub fn dont_frag(&self) -> bool {
        todo!()
    }
    pub fn more_frags(&self) -> bool {
        todo!()
    }
    pub fn frag_offset(&self) -> u16 {
        todo!()
    }
    pub fn ttl(&self) -> u8 {
        todo!()
    }
    pub fn protocol(&self) -> u8 {
        todo!()
    }
    pub fn checksum(&self) -> u16 {
        todo!()
    }
    pub fn src(&self) -> Ipv4Addr {
        todo!()
    }
    pub fn dst(&self) -> Ipv4Addr {
        todo!()
    }
    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        todo!()
    }
    /// Bytes between the header and total length.
    pub fn payload(&self) -> &[u8] {
        todo!()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        todo!()
    }
}

/// IPv4 header fields we keep. Emitted headers have IHL 5 (no options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    /// Bytes after the header.
    pub payload_len: u16,
    pub ttl: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub dscp_ecn: u8,
}

impl Ipv4Repr {
    /// `Fragment` for MF or a non-zero offset; `BadChecksum` when `verify` and it fails.
    pub fn parse<T: AsRef<[u8]>>(pkt: &Ipv4Packet<T>, verify: bool) -> Result<Ipv4Repr> {
        todo!()
    }
    /// Always 20.
    pub fn buffer_len(&self) -> usize {
        20
    }
    /// Writes the 20-byte header including its checksum.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut Ipv4Packet<T>) {
        todo!()
    }
}
