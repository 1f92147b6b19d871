//! IPv4 (RFC 791): options skipped by IHL, fragments recognised.

use std::net::Ipv4Addr;

use super::{Result, WireError, checksum};

pub const PROTO_TCP: u8 = 6;

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    pub const HEADER_LEN: usize = 20;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

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
        let len = buf.as_ref().len();
        if len < field::HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let p = Ipv4Packet { buf };
        if p.buf.as_ref()[field::VER_IHL] >> 4 != 4 {
            return Err(WireError::BadIpVersion);
        }
        let hl = p.header_len();
        if hl < field::HEADER_LEN || hl > len {
            return Err(WireError::BadIhl);
        }
        let tl = usize::from(p.total_len());
        if tl < hl {
            return Err(WireError::BadLength);
        }
        if tl > len {
            return Err(WireError::Truncated);
        }
        Ok(p)
    }
    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = self.buf.as_ref();
        u16::from_be_bytes([b[r.start], b[r.start + 1]])
    }
    pub fn version(&self) -> u8 {
        self.buf.as_ref()[field::VER_IHL] >> 4
    }
    pub fn header_len(&self) -> usize {
        usize::from(self.buf.as_ref()[field::VER_IHL] & 0x0f) * 4
    }
    pub fn total_len(&self) -> u16 {
        self.be16(field::LENGTH)
    }
    pub fn dscp_ecn(&self) -> u8 {
        self.buf.as_ref()[field::DSCP_ECN]
    }
    pub fn ident(&self) -> u16 {
        self.be16(field::IDENT)
    }
    pub fn dont_frag(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_DF != 0
    }
    pub fn more_frags(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_MF != 0
    }
    /// In 8-byte units, as on the wire.
    pub fn frag_offset(&self) -> u16 {
        self.be16(field::FLG_OFF) & OFFSET_MASK
    }
    pub fn ttl(&self) -> u8 {
        self.buf.as_ref()[field::TTL]
    }
    pub fn protocol(&self) -> u8 {
        self.buf.as_ref()[field::PROTOCOL]
    }
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }
    pub fn src(&self) -> Ipv4Addr {
        let b = &self.buf.as_ref()[field::SRC];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn dst(&self) -> Ipv4Addr {
        let b = &self.buf.as_ref()[field::DST];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::ipv4_header(&self.buf.as_ref()[..self.header_len()]) == 0
    }
    /// Bytes between the header and total length.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, tl) = (self.header_len(), usize::from(self.total_len()));
        &mut self.buf.as_mut()[hl..tl]
    }
    fn set_be16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buf.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_total_len(&mut self, v: u16) {
        self.set_be16(field::LENGTH, v);
    }
    pub fn set_ident(&mut self, v: u16) {
        self.set_be16(field::IDENT, v);
    }
    pub fn set_ttl(&mut self, v: u8) {
        self.buf.as_mut()[field::TTL] = v;
    }
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.buf.as_mut()[field::DST].copy_from_slice(&a.octets());
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.set_be16(field::CHECKSUM, v);
    }
    /// Recomputes the header checksum over `header_len()` bytes.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::ipv4_header(&self.buf.as_ref()[..self.header_len()]);
        self.set_checksum(c);
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
    /// (The checksum is checked first: a corrupt header is reported as such.)
    pub fn parse<T: AsRef<[u8]>>(pkt: &Ipv4Packet<T>, verify: bool) -> Result<Ipv4Repr> {
        if verify && !pkt.verify_checksum() {
            return Err(WireError::BadChecksum);
        }
        if pkt.more_frags() || pkt.frag_offset() != 0 {
            return Err(WireError::Fragment);
        }
        // new_checked guarantees header_len <= total_len, so this cannot fail.
        let payload_len = pkt
            .total_len()
            .checked_sub(pkt.header_len() as u16)
            .ok_or(WireError::BadLength)?;
        Ok(Ipv4Repr {
            src: pkt.src(),
            dst: pkt.dst(),
            protocol: pkt.protocol(),
            payload_len,
            ttl: pkt.ttl(),
            ident: pkt.ident(),
            dont_frag: pkt.dont_frag(),
            dscp_ecn: pkt.dscp_ecn(),
        })
    }
    /// Always 20.
    pub fn buffer_len(&self) -> usize {
        20
    }
    /// Writes the 20-byte header including its checksum. `payload_len` must be at most
    /// 65515 (the total length saturates otherwise).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut Ipv4Packet<T>) {
        let b = pkt.buf.as_mut();
        b[field::VER_IHL] = 0x45;
        b[field::DSCP_ECN] = self.dscp_ecn;
        let tl = self.payload_len.saturating_add(field::HEADER_LEN as u16);
        b[field::LENGTH].copy_from_slice(&tl.to_be_bytes());
        b[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        let flags = if self.dont_frag { FLAG_DF } else { 0 };
        b[field::FLG_OFF].copy_from_slice(&flags.to_be_bytes());
        b[field::TTL] = self.ttl;
        b[field::PROTOCOL] = self.protocol;
        b[field::CHECKSUM].copy_from_slice(&[0, 0]);
        b[field::SRC].copy_from_slice(&self.src.octets());
        b[field::DST].copy_from_slice(&self.dst.octets());
        let c = checksum::ipv4_header(&b[..field::HEADER_LEN]);
        b[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}
