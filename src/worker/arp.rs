//! Answers ARP requests and IPv6 Neighbor Solicitations (`ndp.rs`) for emulated source
//! addresses (ones the kernel does not own; the XDP program steers those requests to us).
//! Everything else ARP and ICMPv6 stays with the kernel.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ndp;

use crate::wire::{
    ArpOp, ArpPacket, ArpRepr, EtherType, EthernetFrame, MacAddr, WireError, headers,
};

pub struct ArpResponder {
    pub mac: MacAddr,
    pub addrs: Vec<Ipv4Addr>,
    /// Emulated IPv6 addresses, ascending (binary search: a /64's thousands of sources).
    pub addrs6: Vec<Ipv6Addr>,
}

/// What happened to an ARP frame.
#[derive(Debug, PartialEq, Eq)]
pub enum ArpVerdict {
    /// A reply of this many bytes was written.
    Replied(usize),
    /// A Neighbor Advertisement of this many bytes was written.
    RepliedNd(usize),
    /// Not a request for one of our emulated addresses.
    Ignored,
    Malformed(WireError),
}

impl ArpResponder {
    /// Is `frame` ARP (EtherType 0x0806 behind up to two VLAN tags)? A cheap look at the
    /// link layer, so that other frames never take a TX buffer.
    pub fn is_arp(frame: &[u8]) -> bool {
        headers::link(frame).is_ok_and(|l| l.ethertype == EtherType::ARP)
    }

    /// Might `frame` be for us: ARP, or (with emulated IPv6 addresses) IPv6?
    pub fn wants(&self, frame: &[u8]) -> bool {
        headers::link(frame).is_ok_and(|l| {
            l.ethertype == EtherType::ARP
                || (l.ethertype == EtherType::IPV6 && !self.addrs6.is_empty())
        })
    }

    /// A Neighbor Solicitation for one of `addrs6`: the advertisement.
    fn handle_ns(&self, frame: &[u8], l3: usize, out: &mut [u8]) -> ArpVerdict {
        match ndp::parse_ns(frame) {
            Ok(Some(ns)) if self.addrs6.binary_search(&ns.target).is_ok() => {
                match ndp::write_na(frame, l3, &ns, self.mac, out) {
                    Some(n) => ArpVerdict::RepliedNd(n),
                    None => ArpVerdict::Malformed(WireError::Truncated),
                }
            }
            Ok(_) => ArpVerdict::Ignored,
            Err(e) => ArpVerdict::Malformed(e),
        }
    }

    /// Handles `frame` (any EtherType); writes a reply into `out` when it is a request for
    /// one of `addrs`. The reply carries the request's VLAN tags (one or two) unchanged.
    pub fn handle(&self, frame: &[u8], out: &mut [u8]) -> ArpVerdict {
        let link = match headers::link(frame) {
            Ok(l) => l,
            Err(e) => return ArpVerdict::Malformed(e),
        };
        if link.ethertype == EtherType::IPV6 && !self.addrs6.is_empty() {
            return self.handle_ns(frame, link.l3, out);
        }
        if link.ethertype != EtherType::ARP {
            return ArpVerdict::Ignored;
        }
        let req = match ArpPacket::new_checked(&frame[link.l3..]).and_then(|p| ArpRepr::parse(&p)) {
            Ok(r) => r,
            Err(e) => return ArpVerdict::Malformed(e),
        };
        if req.op != ArpOp::Request || !self.addrs.contains(&req.target_ip) {
            return ArpVerdict::Ignored;
        }
        let reply = ArpRepr {
            op: ArpOp::Reply,
            sender_mac: self.mac,
            sender_ip: req.target_ip,
            target_mac: req.sender_mac,
            target_ip: req.sender_ip,
        };
        let len = link.l3 + reply.buffer_len();
        if out.len() < len {
            return ArpVerdict::Malformed(WireError::Truncated);
        }
        // The link header as received (tags included), addressed back to the sender.
        out[..link.l3].copy_from_slice(&frame[..link.l3]);
        let mut f = EthernetFrame::new_unchecked(&mut out[..len]);
        f.set_dst(req.sender_mac);
        f.set_src(self.mac);
        reply.emit(&mut ArpPacket::new_unchecked(&mut out[link.l3..len]));
        ArpVerdict::Replied(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::EthernetRepr;

    fn request(target: Ipv4Addr) -> Vec<u8> {
        let eth = EthernetRepr {
            dst: MacAddr::BROADCAST,
            src: MacAddr([2, 0, 0, 0, 0, 2]),
            vlan: None,
            ethertype: EtherType::ARP,
        };
        let arp = ArpRepr {
            op: ArpOp::Request,
            sender_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            sender_ip: Ipv4Addr::new(198, 18, 0, 2),
            target_mac: MacAddr::ZERO,
            target_ip: target,
        };
        let mut buf = vec![0u8; 42];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut f);
        arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
        buf
    }

    #[test]
    fn answers_only_for_emulated_addresses() {
        let r = ArpResponder {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            addrs: vec![Ipv4Addr::new(198, 18, 1, 7)],
            addrs6: Vec::new(),
        };
        let mut out = [0u8; 64];
        assert_eq!(
            r.handle(&request(Ipv4Addr::new(198, 18, 0, 1)), &mut out),
            ArpVerdict::Ignored
        );
        let ArpVerdict::Replied(n) = r.handle(&request(Ipv4Addr::new(198, 18, 1, 7)), &mut out)
        else {
            panic!("no reply");
        };
        let f = EthernetFrame::new_checked(&out[..n]).unwrap();
        assert_eq!(f.dst(), MacAddr([2, 0, 0, 0, 0, 2]));
        let a = ArpRepr::parse(&ArpPacket::new_checked(f.payload()).unwrap()).unwrap();
        assert_eq!(a.op, ArpOp::Reply);
        assert_eq!(a.sender_ip, Ipv4Addr::new(198, 18, 1, 7));
        assert_eq!(a.sender_mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(a.target_ip, Ipv4Addr::new(198, 18, 0, 2));
        assert!(matches!(
            r.handle(&[0u8; 5], &mut out),
            ArpVerdict::Malformed(_)
        ));
    }

    #[test]
    fn reply_keeps_both_qinq_tags() {
        let r = ArpResponder {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            addrs: vec![Ipv4Addr::new(198, 18, 1, 7)],
            addrs6: Vec::new(),
        };
        let plain = request(Ipv4Addr::new(198, 18, 1, 7));
        let mut qinq = plain[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 5]);
        qinq.extend_from_slice(&plain[12..]);
        assert!(ArpResponder::is_arp(&qinq));
        let mut out = [0u8; 64];
        let ArpVerdict::Replied(n) = r.handle(&qinq, &mut out) else {
            panic!("no reply to a double-tagged request");
        };
        assert_eq!(n, 22 + 28);
        assert_eq!(
            &out[12..22],
            &qinq[12..22],
            "tags and EtherType as received"
        );
        assert_eq!(&out[0..6], &[2, 0, 0, 0, 0, 2]);
        assert_eq!(&out[6..12], &[2, 0, 0, 0, 0, 1]);
        let a = ArpRepr::parse(&ArpPacket::new_checked(&out[22..n]).unwrap()).unwrap();
        assert_eq!(
            (a.op, a.target_ip),
            (ArpOp::Reply, Ipv4Addr::new(198, 18, 0, 2))
        );
    }
}

#[cfg(test)]
mod ndp_tests {
    use super::*;

    #[test]
    fn answers_solicitations_for_emulated_ipv6_addresses_only() {
        let emu: Ipv6Addr = "2001:2:0:1::7".parse().unwrap();
        let peer: Ipv6Addr = "2001:2::2".parse().unwrap();
        let r = ArpResponder {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            addrs: Vec::new(),
            addrs6: vec!["2001:2:0:1::1".parse().unwrap(), emu],
        };
        let mut out = [0u8; 128];
        let f = ndp::tests::ns(peer, emu);
        assert!(r.wants(&f));
        assert_eq!(r.handle(&f, &mut out), ArpVerdict::RepliedNd(86));
        let other = ndp::tests::ns(peer, "2001:2:0:1::8".parse().unwrap());
        assert_eq!(r.handle(&other, &mut out), ArpVerdict::Ignored);
        let none = ArpResponder {
            addrs6: Vec::new(),
            ..r
        };
        assert!(
            !none.wants(&f),
            "without emulated IPv6 addresses IPv6 is the engine's"
        );
    }
}
