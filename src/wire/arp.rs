//! ARP for IPv4 over Ethernet (RFC 826): requests and replies.

use std::net::Ipv4Addr;

use super::{EtherType, MacAddr, Result, WireError};

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
    pub const LEN: usize = 28;
}

const HTYPE_ETHERNET: u16 = 1;
const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;

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
    /// Shorter is `Truncated`; longer (Ethernet padding) is allowed and ignored.
    pub fn new_checked(buf: T) -> Result<Self> {
        let b = buf.as_ref();
        if b.len() < field::LEN {
            return Err(WireError::Truncated);
        }
        let p = ArpPacket { buf };
        if p.htype() != HTYPE_ETHERNET
            || p.ptype() != EtherType::IPV4
            || p.hlen() != 6
            || p.plen() != 4
        {
            return Err(WireError::BadArp);
        }
        Ok(p)
    }
    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = self.buf.as_ref();
        u16::from_be_bytes([b[r.start], b[r.start + 1]])
    }
    fn mac(&self, r: core::ops::Range<usize>) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buf.as_ref()[r]);
        MacAddr(m)
    }
    fn ip(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.buf.as_ref()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn htype(&self) -> u16 {
        self.be16(field::HTYPE)
    }
    pub fn ptype(&self) -> u16 {
        self.be16(field::PTYPE)
    }
    pub fn hlen(&self) -> u8 {
        self.buf.as_ref()[field::HLEN]
    }
    pub fn plen(&self) -> u8 {
        self.buf.as_ref()[field::PLEN]
    }
    /// Raw operation code (1 request, 2 reply).
    pub fn oper(&self) -> u16 {
        self.be16(field::OPER)
    }
    pub fn sender_mac(&self) -> MacAddr {
        self.mac(field::SHA)
    }
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.ip(field::SPA)
    }
    pub fn target_mac(&self) -> MacAddr {
        self.mac(field::THA)
    }
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip(field::TPA)
    }
    pub fn into_inner(self) -> T {
        self.buf
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
        let op = match pkt.oper() {
            OP_REQUEST => ArpOp::Request,
            OP_REPLY => ArpOp::Reply,
            _ => return Err(WireError::BadArp),
        };
        Ok(ArpRepr {
            op,
            sender_mac: pkt.sender_mac(),
            sender_ip: pkt.sender_ip(),
            target_mac: pkt.target_mac(),
            target_ip: pkt.target_ip(),
        })
    }
    /// Always 28.
    pub fn buffer_len(&self) -> usize {
        28
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut ArpPacket<T>) {
        let b = pkt.buf.as_mut();
        b[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&EtherType::IPV4.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        let op = match self.op {
            ArpOp::Request => OP_REQUEST,
            ArpOp::Reply => OP_REPLY,
        };
        b[field::OPER].copy_from_slice(&op.to_be_bytes());
        b[field::SHA].copy_from_slice(&self.sender_mac.0);
        b[field::SPA].copy_from_slice(&self.sender_ip.octets());
        b[field::THA].copy_from_slice(&self.target_mac.0);
        b[field::TPA].copy_from_slice(&self.target_ip.octets());
    }
}
