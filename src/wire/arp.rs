//! ARP for IPv4 over Ethernet (RFC 826): requests and replies.

use std::net::Ipv4Addr;

use super::{MacAddr, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

/// Zero-copy view of a 28-byte Ethernet/IPv4 ARP packet (the Ethernet payload).
pub struct ArpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    pub fn new_unchecked(buf: T) -> Self {
        ArpPacket { buf }
    }
    /// Checks length 28 and htype 1 / ptype 0x0800 / hlen 6 / plen 4 (else `BadArp`).
    pub fn new_checked(buf: T) -> Result<Self> {
        todo!()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: ArpOp,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// `BadArp` for an op other than 1 or 2.
    pub fn parse<T: AsRef<[u8]>>(pkt: &ArpPacket<T>) -> Result<ArpRepr> {
        todo!()
    }
    /// Always 28.
    pub fn buffer_len(&self) -> usize {
        28
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut ArpPacket<T>) {
        todo!()
    }
}
