//! Whole frames: Ethernet (+VLAN tags) / IPv4|IPv6 / TCP, parsed and emitted in one call.
//! This is what the engine uses on the packet path.

use super::ipv4::PROTO_TCP;
use super::{
    EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, Result,
    TcpPacket, TcpRepr, WireError, checksum, headers,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Verify the IPv4 header and TCP checksums (`BadChecksum` when wrong).
    Verify,
    /// Skip verification (e.g. the NIC already did it).
    Trust,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpRepr {
    V4(Ipv4Repr),
    V6(Ipv6Repr),
}

/// A parsed TCP frame; `tcp.payload` borrows from the frame (zero-copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFrame<'a> {
    pub eth: EthernetRepr,
    pub ip: IpRepr,
    pub tcp: TcpRepr<'a>,
}

impl<'a> TcpFrame<'a> {
    /// Ethernet (up to two VLAN tags) -> IPv4 | IPv6 (extension headers walked) -> TCP,
    /// with the bounds from the one header reader (`wire::headers`). Errors:
    /// `UnknownEtherType` (incl. ARP), `NotTcp`, `Fragment`, `Ipv6ExtHeader`, and every
    /// length/option/checksum error of the layers. `eth.vlan` is the innermost tag.
    pub fn parse(frame: &'a [u8], mode: ChecksumMode) -> Result<TcpFrame<'a>> {
        let verify = mode == ChecksumMode::Verify;
        let link = headers::link(frame)?;
        let eth_view = EthernetFrame::new_unchecked(frame);
        let eth = EthernetRepr {
            dst: eth_view.dst(),
            src: eth_view.src(),
            vlan: link.vlan(),
            ethertype: link.ethertype,
        };
        let l3 = frame.get(link.l3..).ok_or(WireError::Truncated)?;
        let (ip, segment, pseudo) = match link.ethertype {
            EtherType::IPV4 => {
                let bounds = headers::ipv4(l3)?;
                let pkt = Ipv4Packet::new_unchecked(l3);
                // The checksum first: a corrupt header is reported as such.
                let ip = Ipv4Repr::parse(&pkt, verify)?;
                if ip.protocol != PROTO_TCP {
                    return Err(WireError::NotTcp);
                }
                let seg = &l3[bounds.header_len..bounds.total_len];
                let pseudo = checksum::pseudo_ipv4(ip.src, ip.dst, PROTO_TCP, seg.len() as u32);
                (IpRepr::V4(ip), seg, pseudo)
            }
            EtherType::IPV6 => {
                let bounds = headers::ipv6(l3)?;
                if bounds.protocol != PROTO_TCP {
                    return Err(WireError::NotTcp);
                }
                let pkt = Ipv6Packet::new_unchecked(l3);
                let seg = &l3[bounds.upper..bounds.end];
                let ip = Ipv6Repr {
                    src: pkt.src(),
                    dst: pkt.dst(),
                    next_header: PROTO_TCP,
                    payload_len: seg.len() as u16,
                    hop_limit: pkt.hop_limit(),
                    traffic_class: pkt.traffic_class(),
                    flow_label: pkt.flow_label(),
                };
                let pseudo = checksum::pseudo_ipv6(&ip.src, &ip.dst, PROTO_TCP, seg.len() as u32);
                (IpRepr::V6(ip), seg, pseudo)
            }
            _ => return Err(WireError::UnknownEtherType),
        };
        let tcp = TcpRepr::parse_segment(segment)?;
        if verify && checksum::transport(pseudo, segment) != 0 {
            return Err(WireError::BadChecksum);
        }
        Ok(TcpFrame { eth, ip, tcp })
    }
    fn ip_header_len(&self) -> usize {
        match self.ip {
            IpRepr::V4(ref r) => r.buffer_len(),
            IpRepr::V6(ref r) => r.buffer_len(),
        }
    }
    /// Total frame length `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.eth.buffer_len() + self.ip_header_len() + self.tcp.buffer_len()
    }
    /// Writes the whole frame into `buf[..buffer_len()]`, computing the IP payload length /
    /// total length from `tcp`, the IPv4 header checksum and the TCP checksum. The
    /// `payload_len` in `ip` is ignored. Returns the length; `Truncated` if `buf` is short.
    ///
    /// Also ignored (written as what a TCP frame needs): `eth.ethertype` (IPv4/IPv6 from
    /// `ip`) and the IP protocol / next header (6). `BadLength` if the segment does not fit
    /// the IP length field.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let total = self.buffer_len();
        let buf = buf.get_mut(..total).ok_or(WireError::Truncated)?;
        let (eh, ih) = (self.eth.buffer_len(), self.ip_header_len());
        let seg_len = self.tcp.buffer_len();
        // IPv4 total length covers the header too; IPv6 payload length only the segment.
        let length_field = match self.ip {
            IpRepr::V4(_) => ih + seg_len,
            IpRepr::V6(_) => seg_len,
        };
        if length_field > usize::from(u16::MAX) {
            return Err(WireError::BadLength);
        }
        let payload_len = seg_len as u16;
        let (eth_buf, rest) = buf.split_at_mut(eh);
        let (ip_buf, seg_buf) = rest.split_at_mut(ih);
        let (ethertype, pseudo) = match self.ip {
            IpRepr::V4(r) => {
                let r = Ipv4Repr {
                    payload_len,
                    protocol: PROTO_TCP,
                    ..r
                };
                r.emit(&mut Ipv4Packet::new_unchecked(ip_buf));
                let pseudo = checksum::pseudo_ipv4(r.src, r.dst, PROTO_TCP, seg_len as u32);
                (EtherType::IPV4, pseudo)
            }
            IpRepr::V6(r) => {
                let r = Ipv6Repr {
                    payload_len,
                    next_header: PROTO_TCP,
                    ..r
                };
                r.emit(&mut Ipv6Packet::new_unchecked(ip_buf));
                let pseudo = checksum::pseudo_ipv6(&r.src, &r.dst, PROTO_TCP, seg_len as u32);
                (EtherType::IPV6, pseudo)
            }
        };
        let eth = EthernetRepr {
            ethertype,
            ..self.eth
        };
        eth.emit(&mut EthernetFrame::new_unchecked(eth_buf));
        self.tcp.emit(&mut TcpPacket::new_unchecked(&mut *seg_buf));
        let sum = checksum::transport(pseudo, seg_buf);
        TcpPacket::new_unchecked(seg_buf).set_checksum(sum);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MacAddr, SeqNum, TcpFlags, TcpOptions};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn tcp(payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNum(0xfffffff0),
            ack: SeqNum(7),
            flags: TcpFlags(TcpFlags::PSH | TcpFlags::ACK),
            window: 502,
            urgent: 0,
            options: TcpOptions {
                timestamps: Some((5, 6)),
                ..TcpOptions::default()
            },
            payload,
        }
    }

    fn eth(vlan: Option<u16>) -> EthernetRepr {
        EthernetRepr {
            dst: MacAddr([2, 0, 0, 0, 0, 2]),
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            vlan,
            ethertype: 0,
        }
    }

    #[test]
    fn roundtrip_v4_and_v6() {
        let v4 = IpRepr::V4(Ipv4Repr {
            src: Ipv4Addr::new(198, 18, 0, 1),
            dst: Ipv4Addr::new(198, 18, 0, 2),
            protocol: PROTO_TCP,
            payload_len: 0,
            ttl: 64,
            ident: 0x1234,
            dont_frag: true,
            dscp_ecn: 0,
        });
        let v6 = IpRepr::V6(Ipv6Repr {
            src: "2001:2::1".parse::<Ipv6Addr>().unwrap(),
            dst: "2001:2::2".parse::<Ipv6Addr>().unwrap(),
            next_header: PROTO_TCP,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0xabcde,
        });
        for (ip, vlan) in [(v4, None), (v4, Some(5)), (v6, None), (v6, Some(0xe00a))] {
            let f = TcpFrame {
                eth: eth(vlan),
                ip,
                tcp: tcp(b"hello"),
            };
            let mut buf = [0u8; 200];
            let n = f.emit(&mut buf).unwrap();
            assert_eq!(n, f.buffer_len());
            let p = TcpFrame::parse(&buf[..n], ChecksumMode::Verify).unwrap();
            assert_eq!(p.tcp, f.tcp);
            assert_eq!(p.eth.vlan, vlan);
            assert_eq!(f.emit(&mut buf[..n - 1]), Err(WireError::Truncated));
            let mut bad = buf;
            bad[n - 1] ^= 1;
            assert_eq!(
                TcpFrame::parse(&bad[..n], ChecksumMode::Verify),
                Err(WireError::BadChecksum)
            );
            assert!(TcpFrame::parse(&bad[..n], ChecksumMode::Trust).is_ok());
        }
    }
}
