//! IPv6 (RFC 8200): fixed header only; extension headers are recognised and refused.

use std::net::Ipv6Addr;

use super::Result;

/// Zero-copy view of an IPv6 packet.
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub fn new_unchecked(buf: T) -> Self {
        Ipv6Packet { buf }
    }
    /// Checks: >= 40 bytes, version 6, 40 + payload length <= buffer.
    pub fn new_checked(buf: T) -> Result<Self> {
        todo!()
    }
    pub fn traffic_class(&self) -> u8 {
        todo!()
    }
    pub fn flow_label(&self) -> u32 {
        todo!()
    }
    pub fn payload_len(&self) -> u16 {
        todo!()
    }
    pub fn next_header(&self) -> u8 {
        todo!()
    }
    pub fn hop_limit(&self) -> u8 {
        todo!()
    }
    pub fn src(&self) -> Ipv6Addr {
        todo!()
    }
    pub fn dst(&self) -> Ipv6Addr {
        todo!()
    }
    pub fn payload(&self) -> &[u8] {
        todo!()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        todo!()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: u16,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// `Ipv6ExtHeader` when next header is 0, 43, 44, 50, 51, 60, 135, 139, 140 or 253/254.
    pub fn parse<T: AsRef<[u8]>>(pkt: &Ipv6Packet<T>) -> Result<Ipv6Repr> {
        todo!()
    }
    /// Always 40.
    pub fn buffer_len(&self) -> usize {
        40
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut Ipv6Packet<T>) {
        todo!()
    }
}
