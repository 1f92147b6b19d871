//! TCP header and options (RFC 9293, RFC 7323, RFC 2018).

use super::{Result, SeqNum};

/// TCP control bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    #[inline]
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

/// Options we understand; unknown options are skipped by length on parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr)
    pub timestamps: Option<(u32, u32)>,
}

impl TcpOptions {
    /// Encoded length, padded to a multiple of 4, in the layout `emit` writes.
    pub fn buffer_len(&self) -> usize {
        todo!()
    }
    /// Parses the options area (bytes 20..data_offset*4). `BadOptionLen` for a length of 0/1,
    /// past the area, or wrong for a known kind (MSS 4, WS 3, SACK-perm 2, TS 10).
    pub fn parse(area: &[u8]) -> Result<TcpOptions> {
        todo!()
    }
    /// Writes options in Linux's order (`tcp_options_write`): MSS; then SACK-perm + TS as
    /// `04 02 08 0a ..` when both, `01 01 08 0a ..` for TS alone, `01 01 04 02` for SACK-perm
    /// alone; then `01 03 03 ws`. `buf.len()` must be `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) {
        todo!()
    }
}

/// Zero-copy view of a TCP segment.
pub struct TcpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub fn new_unchecked(buf: T) -> Self {
        TcpPacket { buf }
    }
    /// Checks >= 20 bytes and 20 <= data offset * 4 <= len (`BadDataOffset`).
    pub fn new_checked(buf: T) -> Result<Self> {
        todo!()
    }
    pub fn src_port(&self) -> u16 {
        todo!()
    }
    pub fn dst_port(&self) -> u16 {
        todo!()
    }
    pub fn seq(&self) -> SeqNum {
        todo!()
    }
    pub fn ack(&self) -> SeqNum {
        todo!()
    }
    pub fn header_len(&self) -> usize {
        todo!()
    }
    pub fn flags(&self) -> TcpFlags {
        todo!()
    }
    pub fn window(&self) -> u16 {
        todo!()
    }
    pub fn checksum(&self) -> u16 {
        todo!()
    }
    pub fn urgent(&self) -> u16 {
        todo!()
    }
    pub fn options(&self) -> &[u8] {
        todo!()
    }
    pub fn payload(&self) -> &[u8] {
        todo!()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    pub fn set_checksum(&mut self, value: u16) {
        todo!()
    }
}

/// A TCP segment's fields. `ack` is the raw field: meaningful when `flags.ack()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parses header, options and payload. Checksum is not checked here (see `TcpFrame`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(pkt: &'a TcpPacket<&'a T>) -> Result<TcpRepr<'a>> {
        todo!()
    }
    /// Header (with options) plus payload.
    pub fn buffer_len(&self) -> usize {
        todo!()
    }
    pub fn header_len(&self) -> usize {
        todo!()
    }
    /// Writes header, options and payload with the checksum field set to 0
    /// (the caller fills it from the pseudo-header: see `TcpFrame::emit`).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut TcpPacket<T>) {
        todo!()
    }
}
