//! The one header reader: where each header of a received frame starts and ends.
//!
//! Ethernet II with up to two VLAN tags (802.1Q 0x8100 and 802.1ad 0x88a8, in any order),
//! IPv4 (IHL with options, total length, fragments), IPv6 (fixed header, extension headers
//! walked to the upper layer), ARP, and the TCP header's bounds. No checksums and no option
//! contents: those belong to the layers (`TcpFrame::parse`), which build on this reader.
//!
//! Users: `TcpFrame::parse` (the engine's slow path), the engine's fast path (link layer),
//! worker routing (`tcp::owner_of`), the ARP responder, and the Rust model of the XDP
//! program (`xsk::SteerConfig::verdict`). `bpf/parsing.h` is its C twin: both accept the
//! same frames (`tests/steer_verdicts.rs` runs one set of crafted frames through both).

use super::ethernet::EtherType;
use super::ipv4::PROTO_TCP;
use super::{Result, WireError};

/// VLAN tags read in front of the EtherType (802.1Q, or 802.1ad outer + 802.1Q inner).
pub const MAX_VLAN_TAGS: usize = 2;
/// IPv6 extension headers walked before giving up (`Ipv6ExtHeader`).
pub const MAX_IPV6_EXT: usize = 4;

/// 802.1ad service tag (QinQ outer).
pub const TPID_8021AD: u16 = 0x88a8;

const ETH_LEN: usize = 14;
const TAG_LEN: usize = 4;
const IPV4_MIN: usize = 20;
const IPV6_LEN: usize = 40;
const TCP_MIN: usize = 20;

/// IPv6 next-header values (IANA "Assigned Internet Protocol Numbers").
mod nh {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const EXPERIMENT1: u8 = 253;
    pub const EXPERIMENT2: u8 = 254;
}

#[inline(always)]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn is_tag(tpid: u16) -> bool {
    tpid == EtherType::VLAN || tpid == TPID_8021AD
}

/// The link layer: tags and the EtherType after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// TCIs, outermost first; `tags[..n_tags]` are valid.
    pub tags: [u16; MAX_VLAN_TAGS],
    pub n_tags: u8,
    /// The EtherType after the tags.
    pub ethertype: u16,
    /// Offset of the network header (14, 18 or 22).
    pub l3: usize,
}

impl Link {
    /// The innermost tag (the one a single-tag peer uses), if any.
    pub fn vlan(&self) -> Option<u16> {
        self.n_tags
            .checked_sub(1)
            .map(|i| self.tags[usize::from(i)])
    }
}

/// Ethernet + up to two tags. `Truncated` when a header is cut short; a third tag is
/// `UnknownEtherType` (the EtherType after two tags is a TPID).
#[inline(always)]
pub fn link(frame: &[u8]) -> Result<Link> {
    let mut ethertype = be16(frame, 12).ok_or(WireError::Truncated)?;
    let mut l = Link {
        tags: [0; MAX_VLAN_TAGS],
        n_tags: 0,
        ethertype,
        l3: ETH_LEN,
    };
    // The common untagged case costs one compare.
    if !is_tag(ethertype) {
        return Ok(l);
    }
    for slot in 0..MAX_VLAN_TAGS {
        if !is_tag(ethertype) {
            break;
        }
        let tci = be16(frame, l.l3).ok_or(WireError::Truncated)?;
        ethertype = be16(frame, l.l3 + 2).ok_or(WireError::Truncated)?;
        l.tags[slot] = tci;
        l.n_tags += 1;
        l.l3 += TAG_LEN;
    }
    l.ethertype = ethertype;
    Ok(l)
}

/// Bounds of an IPv4 header (offsets relative to the network header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip4 {
    pub header_len: usize,
    /// Total length (header + payload); bytes past it are Ethernet padding.
    pub total_len: usize,
    pub protocol: u8,
    /// MF set or a non-zero offset.
    pub fragment: bool,
}

/// IPv4 at the start of `l3`: `Truncated` (< 20 bytes, or total length past the buffer),
/// `BadIpVersion`, `BadIhl` (< 5 or past the buffer), `BadLength` (total < header).
#[inline]
pub fn ipv4(l3: &[u8]) -> Result<Ip4> {
    if l3.len() < IPV4_MIN {
        return Err(WireError::Truncated);
    }
    if l3[0] >> 4 != 4 {
        return Err(WireError::BadIpVersion);
    }
    let header_len = usize::from(l3[0] & 0x0f) * 4;
    if header_len < IPV4_MIN || header_len > l3.len() {
        return Err(WireError::BadIhl);
    }
    let total_len = usize::from(u16::from_be_bytes([l3[2], l3[3]]));
    if total_len < header_len {
        return Err(WireError::BadLength);
    }
    if total_len > l3.len() {
        return Err(WireError::Truncated);
    }
    Ok(Ip4 {
        header_len,
        total_len,
        protocol: l3[9],
        fragment: u16::from_be_bytes([l3[6], l3[7]]) & 0x3fff != 0,
    })
}

/// Bounds of an IPv6 packet after its extension headers (offsets relative to the network
/// header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip6 {
    /// The upper-layer protocol (the last next-header value).
    pub protocol: u8,
    /// Where the upper-layer header starts (40 without extension headers).
    pub upper: usize,
    /// 40 + payload length.
    pub end: usize,
}

/// IPv6 at the start of `l3`, walking hop-by-hop, routing (segments left 0 only: otherwise
/// we are not the final destination), destination options, AH and the other RFC 8200
/// style headers. `Truncated` (< 40), `BadIpVersion`, `BadLength` (payload length past the
/// buffer, or an extension header past the payload), `Fragment` (a fragment header:
/// reassembly is the kernel's), `Ipv6ExtHeader` (routing with segments left, or more than
/// `MAX_IPV6_EXT` headers). ESP (50) and no-next-header (59) end the walk as upper layers.
#[inline]
pub fn ipv6(l3: &[u8]) -> Result<Ip6> {
    if l3.len() < IPV6_LEN {
        return Err(WireError::Truncated);
    }
    if l3[0] >> 4 != 6 {
        return Err(WireError::BadIpVersion);
    }
    let end = IPV6_LEN + usize::from(u16::from_be_bytes([l3[4], l3[5]]));
    if end > l3.len() {
        return Err(WireError::BadLength);
    }
    let (mut protocol, mut at) = (l3[6], IPV6_LEN);
    for _ in 0..MAX_IPV6_EXT {
        if protocol == nh::FRAGMENT {
            return Err(WireError::Fragment);
        }
        let Some(unit) = ext_unit(protocol) else {
            return Ok(Ip6 {
                protocol,
                upper: at,
                end,
            });
        };
        // Every extension header is at least 8 bytes: next header, length, 6 more.
        let h = l3.get(at..at + 8).filter(|_| at + 8 <= end);
        let h = h.ok_or(WireError::BadLength)?;
        if protocol == nh::ROUTING && h[3] != 0 {
            return Err(WireError::Ipv6ExtHeader);
        }
        // AH counts 4-byte units minus 2 (RFC 4302); the others 8-byte units minus 1.
        let len = if unit == 4 {
            (usize::from(h[1]) + 2) * 4
        } else {
            (usize::from(h[1]) + 1) * 8
        };
        protocol = h[0];
        at += len;
        if at > end {
            return Err(WireError::BadLength);
        }
    }
    match protocol {
        nh::FRAGMENT => Err(WireError::Fragment),
        p if ext_unit(p).is_some() => Err(WireError::Ipv6ExtHeader),
        _ => Ok(Ip6 {
            protocol,
            upper: at,
            end,
        }),
    }
}

/// The length unit of an extension header we walk (AH 4, the RFC 8200 format 8), or None
/// for an upper layer (and for the fragment header, which the caller checks first).
fn ext_unit(next_header: u8) -> Option<usize> {
    match next_header {
        nh::AH => Some(4),
        nh::HOP_BY_HOP
        | nh::ROUTING
        | nh::DEST_OPTS
        | nh::MOBILITY
        | nh::HIP
        | nh::SHIM6
        | nh::EXPERIMENT1
        | nh::EXPERIMENT2 => Some(8),
        _ => None,
    }
}

/// The TCP header length of `seg` (a whole segment): `Truncated` (< 20 bytes),
/// `BadDataOffset` (data offset < 5 or past the segment).
#[inline]
pub fn tcp_header_len(seg: &[u8]) -> Result<usize> {
    if seg.len() < TCP_MIN {
        return Err(WireError::Truncated);
    }
    let hl = usize::from(seg[12] >> 4) * 4;
    if hl < TCP_MIN || hl > seg.len() {
        return Err(WireError::BadDataOffset);
    }
    Ok(hl)
}

/// What the network layer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// A TCP segment: `frame[seg.0..seg.1]`, its header `tcp_header_len` long.
    Tcp4 {
        ip: Ip4,
        seg: (usize, usize),
        tcp_header_len: usize,
    },
    Tcp6 {
        ip: Ip6,
        seg: (usize, usize),
        tcp_header_len: usize,
    },
    /// ARP: the packet starts at `link.l3` (its contents are `ArpPacket`'s to check).
    Arp,
}

/// A frame's headers, found by `read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers {
    pub link: Link,
    pub net: Net,
}

impl Headers {
    /// The TCP segment's range in the frame and its header length, when it is TCP.
    pub fn tcp(&self) -> Option<(usize, usize, usize)> {
        match self.net {
            Net::Tcp4 {
                seg,
                tcp_header_len,
                ..
            }
            | Net::Tcp6 {
                seg,
                tcp_header_len,
                ..
            } => Some((seg.0, seg.1, tcp_header_len)),
            Net::Arp => None,
        }
    }
}

/// Reads a whole frame: link, IPv4/IPv6 to a TCP segment with sane bounds, or ARP. Every
/// other frame is an `Err` naming why (`UnknownEtherType`, `Fragment`, `NotTcp`, ...).
#[inline]
pub fn read(frame: &[u8]) -> Result<Headers> {
    let link = link(frame)?;
    let l3 = &frame[link.l3.min(frame.len())..];
    let net = match link.ethertype {
        EtherType::IPV4 => {
            let ip = ipv4(l3)?;
            if ip.fragment {
                return Err(WireError::Fragment);
            }
            if ip.protocol != PROTO_TCP {
                return Err(WireError::NotTcp);
            }
            let seg = (link.l3 + ip.header_len, link.l3 + ip.total_len);
            let tcp_header_len = tcp_header_len(&frame[seg.0..seg.1])?;
            Net::Tcp4 {
                ip,
                seg,
                tcp_header_len,
            }
        }
        EtherType::IPV6 => {
            let ip = ipv6(l3)?;
            if ip.protocol != PROTO_TCP {
                return Err(WireError::NotTcp);
            }
            let seg = (link.l3 + ip.upper, link.l3 + ip.end);
            let tcp_header_len = tcp_header_len(&frame[seg.0..seg.1])?;
            Net::Tcp6 {
                ip,
                seg,
                tcp_header_len,
            }
        }
        EtherType::ARP => Net::Arp,
        _ => return Err(WireError::UnknownEtherType),
    };
    Ok(Headers { link, net })
}

/// (source port, destination port) of a TCP frame `read` accepts.
#[inline]
pub fn tcp_ports(frame: &[u8]) -> Option<(u16, u16)> {
    let (start, _, _) = read(frame).ok()?.tcp()?;
    Some((be16(frame, start)?, be16(frame, start + 2)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        for (tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    #[test]
    fn link_tags() {
        let l = link(&eth(&[], 0x0800)).unwrap();
        assert_eq!(
            (l.n_tags, l.ethertype, l.l3, l.vlan()),
            (0, 0x0800, 14, None)
        );
        let l = link(&eth(&[(0x8100, 7)], 0x0806)).unwrap();
        assert_eq!(
            (l.n_tags, l.ethertype, l.l3, l.vlan()),
            (1, 0x0806, 18, Some(7))
        );
        let l = link(&eth(&[(0x88a8, 9), (0x8100, 7)], 0x86dd)).unwrap();
        assert_eq!(
            (l.tags, l.ethertype, l.l3, l.vlan()),
            ([9, 7], 0x86dd, 22, Some(7))
        );
        // A third tag: the EtherType after two is a TPID, which nobody reads.
        let f = eth(&[(0x88a8, 1), (0x8100, 2), (0x8100, 3)], 0x0800);
        assert_eq!(link(&f).unwrap().ethertype, 0x8100);
        assert_eq!(read(&f), Err(WireError::UnknownEtherType));
        let f = eth(&[(0x88a8, 9), (0x8100, 7)], 0x0800);
        for n in 0..f.len() {
            assert_eq!(link(&f[..n]), Err(WireError::Truncated), "{n}");
        }
    }

    fn v6(nexthdr: u8, ext: &[u8], upper: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((ext.len() + upper.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[nexthdr, 64]);
        p.extend_from_slice(&[0; 32]);
        p.extend_from_slice(ext);
        p.extend_from_slice(upper);
        p
    }

    #[test]
    fn ipv6_extension_walk() {
        let tcp = [0u8; 20];
        let ip = ipv6(&v6(6, &[], &tcp)).unwrap();
        assert_eq!((ip.protocol, ip.upper, ip.end), (6, 40, 60));
        // Hop-by-hop (8 bytes) then destination options (16 bytes) then TCP.
        let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0];
        ext.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let ip = ipv6(&v6(0, &ext, &tcp)).unwrap();
        assert_eq!((ip.protocol, ip.upper), (6, 64));
        // AH: length in 4-byte units minus 2 (len 1 = 12 bytes).
        let ah = [6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(ipv6(&v6(51, &ah, &tcp)).unwrap().upper, 52);
        // Routing with segments left: not the final destination.
        let rt = [6, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(ipv6(&v6(43, &rt, &tcp)), Err(WireError::Ipv6ExtHeader));
        let rt = [6, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(ipv6(&v6(43, &rt, &tcp)).unwrap().upper, 48);
        let frag = [6, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(ipv6(&v6(44, &frag, &tcp)), Err(WireError::Fragment));
        // Five hop-by-hop headers: one more than we walk.
        let mut many = Vec::new();
        for _ in 0..MAX_IPV6_EXT + 1 {
            many.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(ipv6(&v6(0, &many, &tcp)), Err(WireError::Ipv6ExtHeader));
        // A header whose length runs past the payload.
        let long = [6, 3, 0, 0, 0, 0, 0, 0];
        assert_eq!(ipv6(&v6(0, &long, &tcp)), Err(WireError::BadLength));
        assert_eq!(ipv6(&v6(0, &[6, 0, 0], &[])), Err(WireError::BadLength));
    }

    #[test]
    fn ipv4_bounds() {
        let mut p = vec![0x46, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0];
        p.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2, 1, 1, 1, 0]);
        p.extend_from_slice(&[0; 20]);
        let ip = ipv4(&p).unwrap();
        assert_eq!((ip.header_len, ip.total_len, ip.fragment), (24, 44, false));
        p[6] = 0x20;
        assert!(ipv4(&p).unwrap().fragment);
        assert_eq!(ipv4(&p[..43]), Err(WireError::Truncated));
        p[0] = 0x44;
        assert_eq!(ipv4(&p), Err(WireError::BadIhl));
        p[0] = 0x55;
        assert_eq!(ipv4(&p), Err(WireError::BadIpVersion));
    }
}
