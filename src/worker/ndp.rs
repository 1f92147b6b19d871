//! Neighbor Advertisements (RFC 4861 4.4, 7.2.4) for emulated IPv6 source addresses: the
//! kernel does not own them, so it would never answer a Neighbor Solicitation for them; the
//! XDP program steers exactly those solicitations to us. Every other ICMPv6 message (router
//! advertisements, MLD, echo, solicitations for the kernel's own addresses) stays with the
//! kernel.

use std::net::Ipv6Addr;

use crate::wire::{EtherType, MacAddr, WireError, checksum, headers};

const ICMPV6: u8 = 58;
const NS: u8 = 135;
const NA: u8 = 136;
/// Source / target link-layer address options.
const OPT_SLLA: u8 = 1;
const OPT_TLLA: u8 = 2;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// What a solicitation asks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Solicitation {
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
    /// Who to answer at: the source link-layer option, else the frame's source MAC.
    pub reply_mac: MacAddr,
}

/// The Neighbor Solicitation in `frame` (IPv6 behind up to two VLAN tags), validated as RFC
/// 4861 7.1.1 asks (hop limit 255, code 0, ICMP length >= 24, checksum, options well formed);
/// `Ok(None)`: an IPv6 frame that is not one.
pub(crate) fn parse_ns(frame: &[u8]) -> Result<Option<Solicitation>, WireError> {
    let link = headers::link(frame)?;
    if link.ethertype != EtherType::IPV6 {
        return Ok(None);
    }
    let l3 = &frame[link.l3..];
    let b = headers::ipv6(l3)?;
    if b.protocol != ICMPV6 || b.upper != 40 {
        return Ok(None); // NDP carries no extension headers in practice; the kernel's then
    }
    let icmp = &l3[40..b.end];
    if icmp.first() != Some(&NS) {
        return Ok(None);
    }
    if icmp.len() < 24 || icmp[1] != 0 || l3[7] != 255 {
        return Err(WireError::BadLength);
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[8..24]).map_err(|_| WireError::Truncated)?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[24..40]).map_err(|_| WireError::Truncated)?);
    let pseudo = checksum::pseudo_ipv6(&src, &dst, ICMPV6, icmp.len() as u32);
    if checksum::transport(pseudo, icmp) != 0 {
        return Err(WireError::BadChecksum);
    }
    let target =
        Ipv6Addr::from(<[u8; 16]>::try_from(&icmp[8..24]).map_err(|_| WireError::Truncated)?);
    let mut reply_mac = MacAddr(frame[6..12].try_into().map_err(|_| WireError::Truncated)?);
    let mut opts = &icmp[24..];
    while !opts.is_empty() {
        let len = usize::from(*opts.get(1).ok_or(WireError::BadOptionLen)?) * 8;
        if len == 0 || len > opts.len() {
            return Err(WireError::BadOptionLen);
        }
        if opts[0] == OPT_SLLA && len == 8 {
            if src.is_unspecified() {
                return Err(WireError::BadOptionLen); // RFC 4861 7.1.1: not with ::
            }
            reply_mac = MacAddr(opts[2..8].try_into().map_err(|_| WireError::Truncated)?);
        }
        opts = &opts[len..];
    }
    Ok(Some(Solicitation {
        src,
        target,
        reply_mac,
    }))
}

/// Writes the advertisement answering `ns` for our `mac` into `out` with the link header of
/// `frame` (its VLAN tags); the frame's length, or `None` if `out` is too short.
pub(crate) fn write_na(
    frame: &[u8],
    l3: usize,
    ns: &Solicitation,
    mac: MacAddr,
    out: &mut [u8],
) -> Option<usize> {
    let len = l3 + 40 + 32;
    if out.len() < len || frame.len() < l3 {
        return None;
    }
    // DAD (source ::): to all nodes, not solicited (RFC 4861 7.2.4).
    let (dst, eth_dst, solicited) = if ns.src.is_unspecified() {
        (ALL_NODES, MacAddr([0x33, 0x33, 0, 0, 0, 1]), 0)
    } else {
        (ns.src, ns.reply_mac, 0x40)
    };
    out[..l3].copy_from_slice(&frame[..l3]);
    out[0..6].copy_from_slice(&eth_dst.0);
    out[6..12].copy_from_slice(&mac.0);
    let ip = &mut out[l3..len];
    ip[0..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 32, ICMPV6, 255]);
    ip[8..24].copy_from_slice(&ns.target.octets());
    ip[24..40].copy_from_slice(&dst.octets());
    let icmp = &mut ip[40..72];
    icmp[..8].copy_from_slice(&[NA, 0, 0, 0, solicited | 0x20, 0, 0, 0]);
    icmp[8..24].copy_from_slice(&ns.target.octets());
    icmp[24..26].copy_from_slice(&[OPT_TLLA, 1]);
    icmp[26..32].copy_from_slice(&mac.0);
    let pseudo = checksum::pseudo_ipv6(&ns.target, &dst, ICMPV6, 32);
    let c = checksum::transport(pseudo, icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    Some(len)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Neighbor Solicitation from `src` (MAC 02::2) for `target`, to its solicited-node
    /// multicast address, with a source link-layer option.
    pub fn ns(src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        let t = target.octets();
        let dst = Ipv6Addr::new(
            0xff02,
            0,
            0,
            0,
            0,
            1,
            0xff00 | t[13] as u16,
            u16::from_be_bytes([t[14], t[15]]),
        );
        let mut f = vec![0u8; 14 + 40 + 32];
        f[0..6].copy_from_slice(&[0x33, 0x33, 0xff, t[13], t[14], t[15]]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14..22].copy_from_slice(&[0x60, 0, 0, 0, 0, 32, ICMPV6, 255]);
        f[22..38].copy_from_slice(&src.octets());
        f[38..54].copy_from_slice(&dst.octets());
        let icmp = &mut f[54..86];
        icmp[0] = NS;
        icmp[8..24].copy_from_slice(&t);
        icmp[24..32].copy_from_slice(&[OPT_SLLA, 1, 2, 0, 0, 0, 0, 2]);
        let c = checksum::transport(checksum::pseudo_ipv6(&src, &dst, ICMPV6, 32), icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        f
    }

    const PEER: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);
    const EMU: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 1, 0, 0, 0, 7);

    #[test]
    fn answers_a_solicitation_with_a_valid_advertisement() {
        let f = ns(PEER, EMU);
        let s = parse_ns(&f).unwrap().unwrap();
        assert_eq!(
            (s.src, s.target, s.reply_mac),
            (PEER, EMU, MacAddr([2, 0, 0, 0, 0, 2]))
        );
        let mut out = [0u8; 128];
        let me = MacAddr([2, 0, 0, 0, 0, 1]);
        let n = write_na(&f, 14, &s, me, &mut out).unwrap();
        assert_eq!(n, 86);
        assert_eq!(out[0..6], [2, 0, 0, 0, 0, 2]);
        let ip = &out[14..n];
        assert_eq!(&ip[8..24], &EMU.octets());
        assert_eq!(&ip[24..40], &PEER.octets());
        assert_eq!((ip[40], ip[44]), (NA, 0x60), "solicited + override");
        let pseudo = checksum::pseudo_ipv6(&EMU, &PEER, ICMPV6, 32);
        assert_eq!(checksum::transport(pseudo, &ip[40..72]), 0, "checksum");
        assert_eq!(&ip[66..72], &me.0);
    }

    #[test]
    fn rejects_what_rfc_4861_says_to_drop() {
        let good = ns(PEER, EMU);
        let mut hop = good.clone();
        hop[21] = 64;
        assert!(parse_ns(&hop).is_err(), "hop limit != 255");
        let mut sum = good.clone();
        sum[60] ^= 1;
        assert_eq!(parse_ns(&sum), Err(WireError::BadChecksum));
        for n in 0..good.len() {
            let _ = parse_ns(&good[..n]); // no panic at any truncation
        }
        // Not a solicitation: ignored, not malformed.
        let mut other = good.clone();
        other[54] = 128;
        assert_eq!(parse_ns(&other), Ok(None));
    }
}
