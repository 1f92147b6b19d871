//! IPv6 (RFC 8200): fixed header only; extension headers are recognised and refused.

use std::net::Ipv6Addr;

use super::{Result, WireError};

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const HEADER_LEN: usize = 40;
}

/// Next-header values that are extension headers (RFC 8200 §4, IANA "IPv6 Extension
/// Header Types"): hop-by-hop, routing, fragment, ESP, AH, destination options, mobility,
/// HIP, shim6, experimental.
pub fn is_ext_header(next_header: u8) -> bool {
    matches!(
        next_header,
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254
    )
}

/// Zero-copy view of an IPv6 packet.
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub fn new_unchecked(buf: T) -> Self {
        Ipv6Packet { buf }
    }
    /// Checks: >= 40 bytes (`Truncated`), version 6 (`BadIpVersion`), 40 + payload length
    /// <= buffer (`BadLength`). Trailing bytes are allowed and ignored.
    pub fn new_checked(buf: T) -> Result<Self> {
        let len = buf.as_ref().len();
        if len < field::HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let p = Ipv6Packet { buf };
        if p.buf.as_ref()[0] >> 4 != 6 {
            return Err(WireError::BadIpVersion);
        }
        if field::HEADER_LEN + usize::from(p.payload_len()) > len {
            return Err(WireError::BadLength);
        }
        Ok(p)
    }
    fn word0(&self) -> u32 {
        let b = &self.buf.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }
    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        let b = self.buf.as_ref();
        u16::from_be_bytes([b[field::LENGTH.start], b[field::LENGTH.start + 1]])
    }
    pub fn next_header(&self) -> u8 {
        self.buf.as_ref()[field::NXT_HDR]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[field::HOP_LIMIT]
    }
    pub fn src(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[field::SRC])
    }
    pub fn dst(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[field::DST])
    }
    pub fn payload(&self) -> &[u8] {
        let end = field::HEADER_LEN + usize::from(self.payload_len());
        &self.buf.as_ref()[field::HEADER_LEN..end]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = field::HEADER_LEN + usize::from(self.payload_len());
        &mut self.buf.as_mut()[field::HEADER_LEN..end]
    }
    pub fn set_payload_len(&mut self, v: u16) {
        self.buf.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buf.as_mut()[field::HOP_LIMIT] = v;
    }
    pub fn set_src(&mut self, a: &Ipv6Addr) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    pub fn set_dst(&mut self, a: &Ipv6Addr) {
        self.buf.as_mut()[field::DST].copy_from_slice(&a.octets());
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
        if is_ext_header(pkt.next_header()) {
            return Err(WireError::Ipv6ExtHeader);
        }
        Ok(Ipv6Repr {
            src: pkt.src(),
            dst: pkt.dst(),
            next_header: pkt.next_header(),
            payload_len: pkt.payload_len(),
            hop_limit: pkt.hop_limit(),
            traffic_class: pkt.traffic_class(),
            flow_label: pkt.flow_label(),
        })
    }
    /// Always 40.
    pub fn buffer_len(&self) -> usize {
        40
    }
    /// Writes the 40-byte header; `flow_label` is masked to its 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut Ipv6Packet<T>) {
        let b = pkt.buf.as_mut();
        let w0 =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        b[field::VER_TC_FLOW].copy_from_slice(&w0.to_be_bytes());
        b[field::LENGTH].copy_from_slice(&self.payload_len.to_be_bytes());
        b[field::NXT_HDR] = self.next_header;
        b[field::HOP_LIMIT] = self.hop_limit;
        b[field::SRC].copy_from_slice(&self.src.octets());
        b[field::DST].copy_from_slice(&self.dst.octets());
    }
}
