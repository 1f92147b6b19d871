//! Specialised frame reader and writer for the packet path.
//!
//! - [`write`] produces exactly the bytes of `TcpFrame::emit` for the frames the engine
//!   sends (IPv4, IHL 5, ident 0, DF, DSCP 0), with fixed offsets and a header checksum from
//!   the field values instead of a pass over the header.
//! - [`parse`] reads the common case (IPv4 with IHL 5, no fragment, behind up to two VLAN
//!   tags) with the bounds of `wire::headers` and falls back to `TcpFrame::parse` for everything else, so every error (and
//!   every unusual frame) is the wire layer's verdict.
//!
//! Both are checked against the wire layer by property tests (`tests/fastpath.rs`).

use crate::wire::{
    ChecksumMode, EtherType, IpRepr, MacAddr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpRepr,
    checksum, headers, ipv4::PROTO_TCP,
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

/// Parses `frame` (fast path, else the wire layer). IPv6 is `UnsupportedIpv6`. The engine
/// calls `fast` and `parse_slow` itself; tests compare this against the wire layer.
#[cfg(test)]
#[inline]
pub(crate) fn parse(frame: &[u8], mode: ChecksumMode) -> Result<Rx<'_>, DropReason> {
    if let Some(rx) = fast(frame, mode == ChecksumMode::Verify) {
        return Ok(rx);
    }
    parse_slow(frame, mode)
}

/// The wire-layer path for frames `fast` does not take.
#[cold]
pub(crate) fn parse_slow(frame: &[u8], mode: ChecksumMode) -> Result<Rx<'_>, DropReason> {
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

/// Same verdict as `checksum::ipv4_header(h) == 0` for a 20-byte header: the folded
/// one's-complement sum (of a non-zero header) is 0xffff.
#[inline(always)]
fn ipv4_header_ok(h: &[u8]) -> bool {
    let mut acc = 0u64;
    for i in 0..5 {
        acc += be32(h, 4 * i) as u64;
    }
    acc = (acc >> 32) + (acc & 0xffff_ffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc == 0xffff
}

/// Same verdict as `checksum::transport(pseudo, seg) == 0`. A segment of whole 32-bit words
/// (every segment without an odd-sized payload) is summed inline, pseudo-header included,
/// with one fold at the end, as `ipv4_header_ok` does; others take `checksum::transport`.
#[inline(always)]
fn tcp_checksum_ok(src: u32, dst: u32, seg: &[u8]) -> bool {
    let (words, []) = seg.as_chunks::<4>() else {
        let pseudo = checksum::pseudo_ipv4(src.into(), dst.into(), PROTO_TCP, seg.len() as u32);
        return checksum::transport(pseudo, seg) == 0;
    };
    let mut acc = src as u64 + dst as u64 + PROTO_TCP as u64 + seg.len() as u64;
    for w in words {
        acc += u32::from_be_bytes(*w) as u64;
    }
    acc = (acc >> 32) + (acc & 0xffff_ffff);
    acc = (acc >> 32) + (acc & 0xffff_ffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc = (acc >> 16) + (acc & 0xffff);
    acc == 0xffff
}

#[inline(always)]
pub(crate) fn fast(frame: &[u8], verify: bool) -> Option<Rx<'_>> {
    if frame.len() < 54 {
        return None;
    }
    // The header reader's bounds; the specialisation is IHL 5 (a fixed-size checksum).
    let link = headers::link(frame).ok()?;
    if link.ethertype != EtherType::IPV4 {
        return None;
    }
    let off = link.l3;
    let l3 = &frame[off..];
    let bounds = headers::ipv4(l3).ok()?;
    if bounds.header_len != 20 || bounds.fragment || bounds.protocol != PROTO_TCP {
        return None;
    }
    let ip = &l3[..20];
    if verify && !ipv4_header_ok(ip) {
        return None;
    }
    let src = be32(ip, 12);
    let dst = be32(ip, 16);
    let seg = &l3[20..bounds.total_len];
    let hl = headers::tcp_header_len(seg).ok()?;
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
    if verify && !tcp_checksum_ok(src, dst, seg) {
        return None;
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

/// Writes the frame into `buf`; `None` if `buf` is shorter than the frame or than the
/// fixed header area (Ethernet + 60 bytes; `Transmit` buffers are `MAX_FRAME`).
#[inline(always)]
pub(crate) fn write(buf: &mut [u8], h: &Hdr, k: &Key, s: &Out<'_>) -> Option<usize> {
    let eh = if h.vlan.is_some() { 18 } else { 14 };
    // All five words, unused ones zero: fixed-length loops unroll, and the zeros add nothing
    // to the checksum and land where the payload (written after) or nothing goes.
    let (words, nw) = s.options.words();
    let ol = nw * 4;
    let tl = 20 + ol + s.payload.len();
    let total = eh + 20 + tl;
    if buf.len() < total.max(eh + 60) {
        return None;
    }
    let (eth, rest) = buf.split_at_mut(eh);
    eth[0..6].copy_from_slice(&h.dst.0);
    eth[6..12].copy_from_slice(&h.src.0);
    if let Some(tci) = h.vlan {
        eth[12..18].copy_from_slice(&[0x81, 0, (tci >> 8) as u8, tci as u8, 0x08, 0]);
    } else {
        eth[12..14].copy_from_slice(&[0x08, 0]);
    }
    let (src, dst) = (k.local_ip, k.remote_ip);
    let w32 = |v: u32| (v >> 16) + (v & 0xffff);
    let ip_total = (20 + tl) as u32;
    let ttl_proto = (h.ttl as u32) << 8 | PROTO_TCP as u32;
    let ip_csum = !checksum::fold(0x4500 + ip_total + 0x4000 + ttl_proto + w32(src) + w32(dst));
    let doff_flags = ((20 + ol) as u32 / 4) << 12 | s.flags as u32;
    // TCP checksum from the field values (reading back the bytes just written would stall
    // on store forwarding): pseudo-header + header words + options + payload.
    let mut acc = w32(src) + w32(dst) + PROTO_TCP as u32 + tl as u32;
    acc += k.local_port as u32 + k.remote_port as u32 + w32(s.seq.0) + w32(s.ack.0);
    acc += doff_flags + s.window as u32 + sum_options(&words);
    if !s.payload.is_empty() {
        acc += checksum::sum(s.payload);
    }
    let tcp_csum = !checksum::fold(acc);
    {
        let f: &mut [u8; 60] = (&mut rest[..60]).try_into().ok()?;
        f[0..4].copy_from_slice(&(0x4500_0000 | ip_total).to_be_bytes());
        f[4..8].copy_from_slice(&0x0000_4000u32.to_be_bytes());
        f[8..12].copy_from_slice(&(ttl_proto << 16 | ip_csum as u32).to_be_bytes());
        f[12..16].copy_from_slice(&src.to_be_bytes());
        f[16..20].copy_from_slice(&dst.to_be_bytes());
        f[20..24]
            .copy_from_slice(&((k.local_port as u32) << 16 | k.remote_port as u32).to_be_bytes());
        f[24..28].copy_from_slice(&s.seq.0.to_be_bytes());
        f[28..32].copy_from_slice(&s.ack.0.to_be_bytes());
        f[32..36].copy_from_slice(&(doff_flags << 16 | s.window as u32).to_be_bytes());
        f[36..40].copy_from_slice(&((tcp_csum as u32) << 16).to_be_bytes());
        let opts: &mut [u8; 20] = (&mut f[40..60]).try_into().ok()?;
        write_options(opts, &words);
    }
    if !s.payload.is_empty() {
        rest[40 + ol..40 + ol + s.payload.len()].copy_from_slice(s.payload);
    }
    Some(total)
}

/// One's-complement sum (unfolded) of the option words.
#[inline(always)]
fn sum_options(words: &[u32; 5]) -> u32 {
    words.iter().map(|w| (w >> 16) + (w & 0xffff)).sum()
}

/// The option words, big-endian, into the options area.
#[inline(always)]
fn write_options(b: &mut [u8; 20], words: &[u32; 5]) {
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
}
