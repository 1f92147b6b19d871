//! Specialised frame reader and writer for the packet path.
//!
//! - [`write`] produces exactly the bytes of `TcpFrame::emit` for the frames the engine
//!   sends (IPv4, IHL 5, ident 0, DF, DSCP 0), with fixed offsets and a header checksum from
//!   the field values instead of a pass over the header.
//! - [`parse`] reads the common case (IPv4 with IHL 5, optionally one VLAN tag, no fragment)
//!   directly and falls back to `TcpFrame::parse` for everything else, so every error (and
//!   every unusual frame) is the wire layer's verdict.
//!
//! Both are checked against the wire layer by property tests (`tests/fastpath.rs`).

use crate::wire::{
    ChecksumMode, IpRepr, MacAddr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpRepr, checksum,
    ipv4::PROTO_TCP,
};

use super::stats::DropReason;
use super::table::Key;

/// What the engine needs of a received IPv4 TCP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rx<'a> {
    pub src: u32,
    pub dst: u32,
    pub tcp: TcpRepr<'a>,
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The source MAC of a frame that parsed (at least 14 bytes).
#[inline]
pub(crate) fn src_mac(frame: &[u8]) -> MacAddr {
    let mut m = [0u8; 6];
    if let Some(s) = frame.get(6..12) {
        m.copy_from_slice(s);
    }
    MacAddr(m)
}

/// Parses `frame` (fast path, else the wire layer). IPv6 is `UnsupportedIpv6`.
#[inline]
pub(crate) fn parse(frame: &[u8], mode: ChecksumMode) -> Result<Rx<'_>, DropReason> {
    if let Some(rx) = fast(frame, mode == ChecksumMode::Verify) {
        return Ok(rx);
    }
    slow(frame, mode)
}

#[cold]
fn slow(frame: &[u8], mode: ChecksumMode) -> Result<Rx<'_>, DropReason> {
    let f = TcpFrame::parse(frame, mode)?;
    match f.ip {
        IpRepr::V4(ip) => Ok(Rx {
            src: u32::from(ip.src),
            dst: u32::from(ip.dst),
            tcp: f.tcp,
        }),
        IpRepr::V6(_) => Err(DropReason::UnsupportedIpv6),
    }
}

#[inline(always)]
pub(crate) fn fast(frame: &[u8], verify: bool) -> Option<Rx<'_>> {
    if frame.len() < 54 {
        return None;
    }
    let off = match be16(frame, 12) {
        0x0800 => 14,
        0x8100 if frame.len() >= 58 && be16(frame, 16) == 0x0800 => 18,
        _ => return None,
    };
    let ip = &frame[off..off + 20];
    let total = be16(ip, 2) as usize;
    if ip[0] != 0x45 || total < 40 || off + total > frame.len() {
        return None;
    }
    if be16(ip, 6) & 0x3fff != 0 || ip[9] != PROTO_TCP {
        return None;
    }
    if verify && checksum::ipv4_header(ip) != 0 {
        return None;
    }
    let src = be32(ip, 12);
    let dst = be32(ip, 16);
    let seg = &frame[off + 20..off + total];
    let hl = (seg[12] >> 4) as usize * 4;
    if hl < 20 || hl > seg.len() {
        return None;
    }
    let area = &seg[20..hl];
    let options = match area.len() {
        0 => TcpOptions::default(),
        12 if area[..4] == [1, 1, 8, 10] => TcpOptions {
            timestamps: Some((be32(area, 4), be32(area, 8))),
            ..TcpOptions::default()
        },
        // Linux SYN / SYN-ACK: MSS, SACK-permitted + TS, NOP + window scale.
        20 if area[..2] == [2, 4] && area[4..8] == [4, 2, 8, 10] && area[16..19] == [1, 3, 3] => {
            TcpOptions {
                mss: Some(be16(area, 2)),
                wscale: Some(area[19]),
                sack_permitted: true,
                timestamps: Some((be32(area, 8), be32(area, 12))),
            }
        }
        _ => TcpOptions::parse(area).ok()?,
    };
    if verify {
        let pseudo = checksum::pseudo_ipv4(src.into(), dst.into(), PROTO_TCP, seg.len() as u32);
        if checksum::transport(pseudo, seg) != 0 {
            return None;
        }
    }
    Some(Rx {
        src,
        dst,
        tcp: TcpRepr {
            src_port: be16(seg, 0),
            dst_port: be16(seg, 2),
            seq: SeqNum(be32(seg, 4)),
            ack: SeqNum(be32(seg, 8)),
            flags: TcpFlags(seg[13]),
            window: be16(seg, 14),
            urgent: be16(seg, 18),
            options,
            payload: &seg[hl..],
        },
    })
}

/// Link-layer and IP constants of our frames.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hdr {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub vlan: Option<u16>,
    pub ttl: u8,
}

/// One outgoing segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out<'a> {
    pub flags: u8,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub window: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

/// Writes the frame into `buf`; `None` if it does not fit.
#[inline]
pub(crate) fn write(buf: &mut [u8], h: &Hdr, k: &Key, s: &Out<'_>) -> Option<usize> {
    let eh = if h.vlan.is_some() { 18 } else { 14 };
    let ol = s.options.buffer_len();
    let tl = 20 + ol + s.payload.len();
    let total = eh + 20 + tl;
    let b = buf.get_mut(..total)?;
    b[0..6].copy_from_slice(&h.dst.0);
    b[6..12].copy_from_slice(&h.src.0);
    if let Some(tci) = h.vlan {
        b[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        b[14..16].copy_from_slice(&tci.to_be_bytes());
        b[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
    } else {
        b[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    }
    let ip_total = (20 + tl) as u32;
    let (src, dst) = (k.local_ip, k.remote_ip);
    let sum = 0x4500
        + ip_total
        + 0x4000
        + ((h.ttl as u32) << 8 | PROTO_TCP as u32)
        + (src >> 16)
        + (src & 0xffff)
        + (dst >> 16)
        + (dst & 0xffff);
    let ip_csum = !checksum::fold(sum);
    let ip = &mut b[eh..eh + 20];
    ip[0..4].copy_from_slice(&(0x4500_0000 | ip_total).to_be_bytes());
    ip[4..8].copy_from_slice(&0x0000_4000u32.to_be_bytes());
    ip[8] = h.ttl;
    ip[9] = PROTO_TCP;
    ip[10..12].copy_from_slice(&ip_csum.to_be_bytes());
    ip[12..16].copy_from_slice(&src.to_be_bytes());
    ip[16..20].copy_from_slice(&dst.to_be_bytes());
    let seg = &mut b[eh + 20..];
    seg[0..2].copy_from_slice(&k.local_port.to_be_bytes());
    seg[2..4].copy_from_slice(&k.remote_port.to_be_bytes());
    seg[4..8].copy_from_slice(&s.seq.0.to_be_bytes());
    seg[8..12].copy_from_slice(&s.ack.0.to_be_bytes());
    seg[12] = (((20 + ol) / 4) as u8) << 4;
    seg[13] = s.flags;
    seg[14..16].copy_from_slice(&s.window.to_be_bytes());
    write_options(&mut seg[20..20 + ol], &s.options);
    seg[20 + ol..].copy_from_slice(s.payload);
    // TCP checksum from the field values (reading back the bytes just written would stall
    // on store forwarding): pseudo-header + header words + options + payload.
    let w32 = |v: u32| (v >> 16) + (v & 0xffff);
    let mut acc = w32(src) + w32(dst) + PROTO_TCP as u32 + tl as u32;
    acc += k.local_port as u32 + k.remote_port as u32 + w32(s.seq.0) + w32(s.ack.0);
    acc += ((seg[12] as u32) << 8 | s.flags as u32) + s.window as u32;
    acc += sum_options(&s.options) + checksum::sum(s.payload);
    let csum = !checksum::fold(acc);
    seg[16..18].copy_from_slice(&csum.to_be_bytes());
    seg[18..20].fill(0); // urgent pointer
    Some(total)
}

/// One's-complement sum (unfolded) of the words `write_options` writes.
#[inline(always)]
fn sum_options(o: &TcpOptions) -> u32 {
    let mut acc = 0;
    if let Some(mss) = o.mss {
        acc += 0x0204 + mss as u32;
    }
    if let Some((val, ecr)) = o.timestamps {
        acc += if o.sack_permitted { 0x0402 } else { 0x0101 } + 0x080a;
        acc += (val >> 16) + (val & 0xffff) + (ecr >> 16) + (ecr & 0xffff);
    } else if o.sack_permitted {
        acc += 0x0101 + 0x0402;
    }
    if let Some(ws) = o.wscale {
        acc += 0x0103 + 0x0300 + ws as u32;
    }
    acc
}

/// The option layout of `TcpOptions::emit` (Linux order).
#[inline(always)]
fn write_options(b: &mut [u8], o: &TcpOptions) {
    let mut at = 0;
    if let Some(mss) = o.mss {
        let m = mss.to_be_bytes();
        b[0..4].copy_from_slice(&[2, 4, m[0], m[1]]);
        at = 4;
    }
    if let Some((val, ecr)) = o.timestamps {
        let head = if o.sack_permitted {
            [4, 2, 8, 10]
        } else {
            [1, 1, 8, 10]
        };
        b[at..at + 4].copy_from_slice(&head);
        b[at + 4..at + 8].copy_from_slice(&val.to_be_bytes());
        b[at + 8..at + 12].copy_from_slice(&ecr.to_be_bytes());
        at += 12;
    } else if o.sack_permitted {
        b[at..at + 4].copy_from_slice(&[1, 1, 4, 2]);
        at += 4;
    }
    if let Some(ws) = o.wscale {
        b[at..at + 4].copy_from_slice(&[1, 3, 3, ws]);
    }
}
