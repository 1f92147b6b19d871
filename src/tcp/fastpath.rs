//! Specialised frame reader and writer for the packet path.
//!
//! - [`write`] produces exactly the bytes of `TcpFrame::emit` for the frames the engine
//!   sends (IPv4, IHL 5, ident 0, DF, DSCP 0), with fixed offsets and a header checksum from
//!   the field values instead of a pass over the header.
//! - [`v4_to_v6`] turns such a frame into IPv6 (no extension headers, traffic class and flow
//!   label 0), so that IPv6 shares the one writer.
//! - [`parse`] reads the common case (IPv4 with IHL 5, no fragment; [`fast6`]: IPv6 without
//!   extension headers; behind up to two VLAN tags) with the bounds of `wire::headers` and
//!   falls back to `TcpFrame::parse` for everything else, so every error (and every unusual
//!   frame, e.g. an IPv6 extension-header chain) is the wire layer's verdict.
//!
//! Both are checked against the wire layer by property tests (`tests/fastpath.rs`).

use crate::wire::{
    ChecksumMode, EtherType, IpRepr, MacAddr, SeqNum, TcpFlags, TcpFrame, TcpOptions, TcpRepr,
    checksum, headers, ipv4::PROTO_TCP,
};

use super::stats::DropReason;
use super::table::Key;

/// What the engine needs of a received IPv4 TCP frame (or of an IPv6 one, its addresses
/// as handles: `Engine::segment6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rx<'a> {
    pub src: u32,
    pub dst: u32,
    pub tcp: TcpRepr<'a>,
}

/// A received IPv6 TCP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rx6<'a> {
    pub src: u128,
    pub dst: u128,
    pub tcp: TcpRepr<'a>,
}

/// A frame the wire layer parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    V4(Rx<'a>),
    V6(Rx6<'a>),
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

/// Parses `frame` (fast paths, else the wire layer). The engine calls `fast`, `fast6` and
/// `parse_slow` itself; tests compare this against the wire layer.
#[cfg(test)]
#[inline]
pub(crate) fn parse(frame: &[u8], mode: ChecksumMode) -> Result<Parsed<'_>, DropReason> {
    let verify = mode == ChecksumMode::Verify;
    if let Some(rx) = fast(frame, verify) {
        return Ok(Parsed::V4(rx));
    }
    if let Some(rx) = fast6(frame, verify) {
        return Ok(Parsed::V6(rx));
    }
    parse_slow(frame, mode)
}

/// The wire-layer path for frames `fast` and `fast6` do not take. An IPv4 address in
/// 0.0.0.0/8 (never on the wire; the engine's IPv6 handles live there) is `NotOurs`.
#[cold]
pub(crate) fn parse_slow(frame: &[u8], mode: ChecksumMode) -> Result<Parsed<'_>, DropReason> {
    let f = TcpFrame::parse(frame, mode)?;
    match f.ip {
        IpRepr::V4(ip) if ip.dst.octets()[0] == 0 => Err(DropReason::NotOurs),
        IpRepr::V4(ip) => Ok(Parsed::V4(Rx {
            src: u32::from(ip.src),
            dst: u32::from(ip.dst),
            tcp: f.tcp,
        })),
        IpRepr::V6(ip) => Ok(Parsed::V6(Rx6 {
            src: u128::from(ip.src),
            dst: u128::from(ip.dst),
            tcp: f.tcp,
        })),
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

/// Same verdict as `checksum::transport(pseudo, seg) == 0` (`pseudo`: an unfolded
/// pseudo-header sum below 2^32). A segment of whole 32-bit words (every segment without an
/// odd-sized payload) is summed inline, with one fold at the end, as `ipv4_header_ok` does;
/// others take `checksum::transport`.
#[inline(always)]
fn transport_ok(pseudo: u32, seg: &[u8]) -> bool {
    let (words, []) = seg.as_chunks::<4>() else {
        return checksum::transport(pseudo, seg) == 0;
    };
    let mut acc = pseudo as u64;
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
    if dst >> 24 == 0 {
        return None; // 0.0.0.0/8: the wire layer's `NotOurs`
    }
    let seg = &l3[20..bounds.total_len];
    let pseudo = || checksum::pseudo_ipv4(src.into(), dst.into(), PROTO_TCP, seg.len() as u32);
    let tcp = tcp_fast(seg, verify, pseudo)?;
    Some(Rx { src, dst, tcp })
}

/// IPv6 without extension headers (the wire layer walks chains), behind up to two VLAN tags.
#[inline]
pub(crate) fn fast6(frame: &[u8], verify: bool) -> Option<Rx6<'_>> {
    let link = headers::link(frame).ok()?;
    if link.ethertype != EtherType::IPV6 {
        return None;
    }
    let l3 = &frame[link.l3..];
    let bounds = headers::ipv6(l3).ok()?;
    if bounds.upper != 40 || bounds.protocol != PROTO_TCP {
        return None;
    }
    let src = u128::from_be_bytes(l3[8..24].try_into().ok()?);
    let dst = u128::from_be_bytes(l3[24..40].try_into().ok()?);
    let seg = &l3[40..bounds.end];
    let pseudo = || pseudo6(src, dst, seg.len() as u32);
    let tcp = tcp_fast(seg, verify, pseudo)?;
    Some(Rx6 { src, dst, tcp })
}

/// Unfolded IPv6 pseudo-header sum (as `checksum::pseudo_ipv6`) from the address values.
#[inline(always)]
fn pseudo6(src: u128, dst: u128, len: u32) -> u32 {
    w128(src) + w128(dst) + (len >> 16) + (len & 0xffff) + PROTO_TCP as u32
}

/// The one's-complement sum of a 128-bit value's 16-bit words, unfolded (< 2^17).
#[inline(always)]
fn w128(a: u128) -> u32 {
    let s = (a >> 96) as u32 as u64 + (a >> 64) as u32 as u64 + (a >> 32) as u32 as u64;
    let s = s + a as u32 as u64;
    let s = (s >> 32) + (s & 0xffff_ffff);
    let s = ((s >> 32) + (s & 0xffff_ffff)) as u32;
    (s >> 16) + (s & 0xffff)
}

/// The TCP part of the fast readers: `pseudo` gives the pseudo-header sum when verifying.
#[inline(always)]
fn tcp_fast(seg: &[u8], verify: bool, pseudo: impl FnOnce() -> u32) -> Option<TcpRepr<'_>> {
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
    if verify && !transport_ok(pseudo(), seg) {
        return None;
    }
    Some(TcpRepr {
        src_port: be16(seg, 0),
        dst_port: be16(seg, 2),
        seq: SeqNum(be32(seg, 4)),
        ack: SeqNum(be32(seg, 8)),
        flags: TcpFlags(seg[13]),
        window: be16(seg, 14),
        urgent: be16(seg, 18),
        options,
        payload: &seg[hl..],
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

/// [`write`] for IPv6: `k`'s ports with the addresses `src` (ours) and `dst`; hop limit
/// `h.ttl`; traffic class and flow label 0. `None` if `buf` is too short.
#[cfg(test)]
pub(crate) fn write6(
    buf: &mut [u8],
    h: &Hdr,
    src: u128,
    dst: u128,
    k: &Key,
    s: &Out<'_>,
) -> Option<usize> {
    let n = write(buf, h, k, s)?;
    v4_to_v6(buf, n, h.vlan.is_some(), h.ttl, src, dst, k)
}

/// Turns the IPv4 frame `write` made of `k` (`n` bytes in `buf`) into the IPv6 frame with
/// addresses `src` and `dst`: the segment moves 20 bytes on, the header becomes IPv6, and
/// the TCP checksum trades the IPv4 pseudo-header addresses (`k`'s) for the IPv6 ones (RFC
/// 1624 arithmetic). `None` if `buf` has no room for the 20 more bytes.
#[inline]
pub(crate) fn v4_to_v6(
    buf: &mut [u8],
    n: usize,
    vlan: bool,
    ttl: u8,
    src: u128,
    dst: u128,
    k: &Key,
) -> Option<usize> {
    let eh = if vlan { 18 } else { 14 };
    let total = n + 20;
    if buf.len() < total || n < eh + 40 {
        return None;
    }
    buf.copy_within(eh + 20..n, eh + 40);
    buf[eh - 2..eh].copy_from_slice(&[0x86, 0xdd]);
    let tl = (n - eh - 20) as u32;
    let ip = &mut buf[eh..eh + 40];
    ip[0..4].copy_from_slice(&0x6000_0000u32.to_be_bytes());
    ip[4..8].copy_from_slice(&(tl << 16 | (PROTO_TCP as u32) << 8 | ttl as u32).to_be_bytes());
    ip[8..24].copy_from_slice(&src.to_be_bytes());
    ip[24..40].copy_from_slice(&dst.to_be_bytes());
    let at = eh + 40 + 16;
    let old = u16::from_be_bytes([buf[at], buf[at + 1]]);
    let w32 = |v: u32| (v >> 16) + (v & 0xffff);
    let gone = checksum::fold(w32(k.local_ip) + w32(k.remote_ip));
    let acc = (!old) as u32 + w128(src) + w128(dst) + (!gone) as u32;
    buf[at..at + 2].copy_from_slice(&(!checksum::fold(acc)).to_be_bytes());
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
