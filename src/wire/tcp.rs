//! TCP header and options (RFC 9293, RFC 7323, RFC 2018).

use super::{Result, SeqNum, WireError};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    /// Data offset (high nibble) and reserved bits.
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const HEADER_LEN: usize = 20;
}

/// Option kinds (IANA "TCP Option Kind Numbers").
pub mod opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
}

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
    pub fn psh(self) -> bool {
        self.has(Self::PSH)
    }
}

/// tcpdump-like: `S`, `S.`, `F.`, `R`, `P.` ... (`U`, `E`, `W` for URG/ECE/CWR; `.` = ACK).
impl core::fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const NAMES: [(u8, char); 8] = [
            (TcpFlags::SYN, 'S'),
            (TcpFlags::FIN, 'F'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::ACK, '.'),
        ];
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (bit, c) in NAMES {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
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
    /// The options as the 32-bit words `emit` writes, in Linux's order (`tcp_options_write`):
    /// MSS; then SACK-perm + TS as `04 02 08 0a ..` when both, `01 01 08 0a ..` for TS alone,
    /// `01 01 04 02` for SACK-perm alone; then `01 03 03 ws`. The one definition of our
    /// layout: `emit`, the engine's fast writer and its checksum all read it.
    #[inline(always)]
    pub fn words(&self) -> ([u32; 5], usize) {
        let mut w = [0u32; 5];
        let mut n = 0;
        if let Some(mss) = self.mss {
            w[n] = 0x0204_0000 | mss as u32;
            n += 1;
        }
        if let Some((val, ecr)) = self.timestamps {
            w[n] = if self.sack_permitted {
                0x0402_080a
            } else {
                0x0101_080a
            };
            w[n + 1] = val;
            w[n + 2] = ecr;
            n += 3;
        } else if self.sack_permitted {
            w[n] = 0x0101_0402;
            n += 1;
        }
        if let Some(ws) = self.wscale {
            w[n] = 0x0103_0300 | ws as u32;
            n += 1;
        }
        (w, n)
    }

    /// Encoded length, padded to a multiple of 4, in the layout `emit` writes.
    #[inline(always)]
    pub fn buffer_len(&self) -> usize {
        self.words().1 * 4
    }
    /// Parses the options area (bytes 20..data_offset*4). `BadOptionLen` for a length of 0/1,
    /// past the area, or wrong for a known kind (MSS 4, WS 3, SACK-perm 2, TS 10).
    /// EOL stops parsing; NOP is skipped; SACK blocks and unknown kinds are skipped by
    /// length. A repeated option overwrites the earlier one.
    pub fn parse(area: &[u8]) -> Result<TcpOptions> {
        let mut o = TcpOptions::default();
        let mut rest = area;
        while let Some((&kind, after_kind)) = rest.split_first() {
            match kind {
                opt::EOL => break,
                opt::NOP => {
                    rest = after_kind;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*after_kind.first().ok_or(WireError::BadOptionLen)?);
            if len < 2 || len > rest.len() {
                return Err(WireError::BadOptionLen);
            }
            let (this, next) = rest.split_at(len);
            let body = &this[2..];
            let want = match kind {
                opt::MSS => 4,
                opt::WSCALE => 3,
                opt::SACK_PERM => 2,
                opt::TIMESTAMP => 10,
                _ => len,
            };
            if len != want {
                return Err(WireError::BadOptionLen);
            }
            match (kind, body) {
                (opt::MSS, &[a, b]) => o.mss = Some(u16::from_be_bytes([a, b])),
                (opt::WSCALE, &[s]) => o.wscale = Some(s),
                (opt::SACK_PERM, &[]) => o.sack_permitted = true,
                (opt::TIMESTAMP, &[a0, a1, a2, a3, b0, b1, b2, b3]) => {
                    o.timestamps = Some((
                        u32::from_be_bytes([a0, a1, a2, a3]),
                        u32::from_be_bytes([b0, b1, b2, b3]),
                    ))
                }
                // SACK blocks (kind 5) and unknown kinds: skipped.
                _ => {}
            }
            rest = next;
        }
        Ok(o)
    }
    /// Writes the options (`words`, big-endian). `buf.len()` must be `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) {
        let (w, n) = self.words();
        for (i, word) in w[..n].iter().enumerate() {
            buf[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
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
    /// Checks >= 20 bytes (`Truncated`) and 20 <= data offset * 4 <= len (`BadDataOffset`).
    pub fn new_checked(buf: T) -> Result<Self> {
        let len = buf.as_ref().len();
        if len < field::HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let p = TcpPacket { buf };
        let hl = p.header_len();
        if hl < field::HEADER_LEN || hl > len {
            return Err(WireError::BadDataOffset);
        }
        Ok(p)
    }
    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = self.buf.as_ref();
        u16::from_be_bytes([b[r.start], b[r.start + 1]])
    }
    fn be32(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buf.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }
    pub fn seq(&self) -> SeqNum {
        SeqNum(self.be32(field::SEQ))
    }
    pub fn ack(&self) -> SeqNum {
        SeqNum(self.be32(field::ACK))
    }
    pub fn header_len(&self) -> usize {
        usize::from(self.buf.as_ref()[field::DATA_OFF] >> 4) * 4
    }
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buf.as_ref()[field::FLAGS])
    }
    pub fn window(&self) -> u16 {
        self.be16(field::WINDOW)
    }
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }
    pub fn urgent(&self) -> u16 {
        self.be16(field::URGENT)
    }
    pub fn options(&self) -> &[u8] {
        &self.buf.as_ref()[field::HEADER_LEN..self.header_len()]
    }
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buf.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }
    pub fn set_src_port(&mut self, v: u16) {
        self.set_be16(field::SRC_PORT, v);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        self.set_be16(field::DST_PORT, v);
    }
    pub fn set_seq(&mut self, v: SeqNum) {
        self.buf.as_mut()[field::SEQ].copy_from_slice(&v.0.to_be_bytes());
    }
    pub fn set_ack(&mut self, v: SeqNum) {
        self.buf.as_mut()[field::ACK].copy_from_slice(&v.0.to_be_bytes());
    }
    pub fn set_flags(&mut self, v: TcpFlags) {
        self.buf.as_mut()[field::FLAGS] = v.0;
    }
    pub fn set_window(&mut self, v: u16) {
        self.set_be16(field::WINDOW, v);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buf.as_mut()[hl..]
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
        Self::parse_segment(pkt.buf.as_ref())
    }
    /// Like `parse`, straight from the segment bytes (validates like `TcpPacket::new_checked`).
    pub fn parse_segment(seg: &'a [u8]) -> Result<TcpRepr<'a>> {
        let pkt = TcpPacket::new_checked(seg)?;
        let hl = pkt.header_len();
        let options = TcpOptions::parse(
            seg.get(field::HEADER_LEN..hl)
                .ok_or(WireError::BadDataOffset)?,
        )?;
        Ok(TcpRepr {
            src_port: pkt.src_port(),
            dst_port: pkt.dst_port(),
            seq: pkt.seq(),
            ack: pkt.ack(),
            flags: pkt.flags(),
            window: pkt.window(),
            urgent: pkt.urgent(),
            options,
            payload: seg.get(hl..).ok_or(WireError::BadDataOffset)?,
        })
    }
    /// Header (with options) plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }
    pub fn header_len(&self) -> usize {
        field::HEADER_LEN + self.options.buffer_len()
    }
    /// Writes header, options and payload with the checksum field set to 0
    /// (the caller fills it from the pseudo-header: see `TcpFrame::emit`).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, pkt: &mut TcpPacket<T>) {
        let hl = self.header_len();
        let b = pkt.buf.as_mut();
        b[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        b[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        b[field::SEQ].copy_from_slice(&self.seq.0.to_be_bytes());
        b[field::ACK].copy_from_slice(&self.ack.0.to_be_bytes());
        b[field::DATA_OFF] = ((hl / 4) as u8) << 4;
        b[field::FLAGS] = self.flags.0;
        b[field::WINDOW].copy_from_slice(&self.window.to_be_bytes());
        b[field::CHECKSUM].copy_from_slice(&[0, 0]);
        b[field::URGENT].copy_from_slice(&self.urgent.to_be_bytes());
        self.options.emit(&mut b[field::HEADER_LEN..hl]);
        b[hl..hl + self.payload.len()].copy_from_slice(self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_linux_layouts() {
        let syn = TcpOptions {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 2)),
        };
        let mut b = [0u8; 20];
        assert_eq!(syn.buffer_len(), 20);
        syn.emit(&mut b);
        assert_eq!(
            b,
            [
                2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7
            ]
        );
        assert_eq!(TcpOptions::parse(&b), Ok(syn));
        let sack_only = TcpOptions {
            sack_permitted: true,
            ..TcpOptions::default()
        };
        let mut b = [0u8; 4];
        sack_only.emit(&mut b);
        assert_eq!(b, [1, 1, 4, 2]);
        assert_eq!(TcpOptions::parse(&b), Ok(sack_only));
    }

    #[test]
    fn options_errors() {
        assert_eq!(
            TcpOptions::parse(&[2, 0, 0, 0]),
            Err(WireError::BadOptionLen)
        );
        assert_eq!(
            TcpOptions::parse(&[9, 1, 0, 0]),
            Err(WireError::BadOptionLen)
        );
        assert_eq!(
            TcpOptions::parse(&[1, 1, 1, 2]),
            Err(WireError::BadOptionLen)
        );
        assert_eq!(
            TcpOptions::parse(&[2, 5, 0, 0]),
            Err(WireError::BadOptionLen)
        );
        assert_eq!(
            TcpOptions::parse(&[2, 3, 0, 0]),
            Err(WireError::BadOptionLen)
        );
        // unknown kind skipped by length, EOL stops (garbage after it ignored)
        assert_eq!(
            TcpOptions::parse(&[30, 3, 0, 3, 3, 9, 0, 2, 1]),
            Ok(TcpOptions {
                wscale: Some(9),
                ..TcpOptions::default()
            })
        );
    }

    #[test]
    fn flags_display() {
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(), "S.");
        assert_eq!(
            TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(),
            "FP."
        );
        assert_eq!(TcpFlags(0).to_string(), "none");
    }
}
