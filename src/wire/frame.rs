//! Whole frames: Ethernet (+VLAN) / IPv4|IPv6 / TCP, parsed and emitted in one call.
//! This is what the engine uses on the packet path.

use super::{EthernetRepr, Ipv4Repr, Ipv6Repr, Result, TcpRepr};

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
    /// Ethernet -> IP -> TCP. Errors: `UnknownEtherType` (incl. ARP), `NotTcp`, `Fragment`,
    /// `Ipv6ExtHeader`, and every length/option/checksum error of the layers.
    pub fn parse(frame: &'a [u8], mode: ChecksumMode) -> Result<TcpFrame<'a>> {
        todo!()
    }
    /// Total frame length `emit` writes.
    pub fn buffer_len(&self) -> usize {
        todo!()
    }
    /// Writes the whole frame into `buf[..buffer_len()]`, computing the IP payload length /
    /// total length from `tcp`, the IPv4 header checksum and the TCP checksum. The
    /// `payload_len` in `ip` is ignored. Returns the length; `Truncated` if `buf` is short.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        todo!()
    }
}
