//! Zero-copy packet views and small `Repr` values with symmetric `parse`/`emit`.
//!
//! Contract for every view type (`EthernetFrame`, `ArpPacket`, `Ipv4Packet`, `Ipv6Packet`,
//! `TcpPacket`):
//! - `new_checked(buf)` validates every length the accessors rely on; afterwards no accessor
//!   can panic. Use it on untrusted input (every received frame).
//! - `new_unchecked(buf)` does no validation; use it only when emitting into a buffer you sized
//!   with `buffer_len()`.
//! - Getters live on `T: AsRef<[u8]>`, setters on `T: AsRef<[u8]> + AsMut<[u8]>`.
//!
//! Every `Repr` has `parse(&view) -> Result<Repr, WireError>`, `emit(&self, &mut view)` and
//! `buffer_len(&self)`. Malformed input is an `Err(WireError)`, never a panic.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod headers;
pub mod ipv4;
pub mod ipv6;
pub mod seq;
pub mod tcp;

pub use arp::{ArpOp, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddr};
pub use frame::{ChecksumMode, IpRepr, TcpFrame};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use seq::SeqNum;
pub use tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};

/// Why a buffer was not accepted. Unit variants only: nothing allocates on the packet path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireError {
    /// The buffer is shorter than a header or a length field says.
    Truncated,
    /// EtherType is neither IPv4, IPv6 nor ARP (after at most two VLAN tags).
    UnknownEtherType,
    /// ARP that is not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4) or op not 1/2.
    BadArp,
    /// IP version nibble does not match the EtherType.
    BadIpVersion,
    /// IPv4 IHL < 5 or header longer than the packet.
    BadIhl,
    /// IPv4 total length smaller than the header, or IPv6 payload length past the buffer.
    BadLength,
    /// IPv4 fragment (MF set or offset != 0), or an IPv6 fragment header.
    Fragment,
    /// IPv6 extension headers we do not walk past: a routing header with segments left, or
    /// more than `headers::MAX_IPV6_EXT` of them (`Ipv6Repr::parse` refuses any).
    Ipv6ExtHeader,
    /// IP payload is not TCP.
    NotTcp,
    /// TCP data offset < 5 or past the segment.
    BadDataOffset,
    /// A TCP option's length is 0/1, past the header, or wrong for its kind.
    BadOptionLen,
    /// Header or TCP checksum wrong (checked only when asked to).
    BadChecksum,
}

impl WireError {
    /// Stable snake_case name, used for counters and output keys.
    pub fn as_str(self) -> &'static str {
        match self {
            WireError::Truncated => "truncated",
            WireError::UnknownEtherType => "unknown_ethertype",
            WireError::BadArp => "bad_arp",
            WireError::BadIpVersion => "bad_ip_version",
            WireError::BadIhl => "bad_ihl",
            WireError::BadLength => "bad_length",
            WireError::Fragment => "fragment",
            WireError::Ipv6ExtHeader => "ipv6_ext_header",
            WireError::NotTcp => "not_tcp",
            WireError::BadDataOffset => "bad_data_offset",
            WireError::BadOptionLen => "bad_option_len",
            WireError::BadChecksum => "bad_checksum",
        }
    }
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for WireError {}

pub type Result<T> = core::result::Result<T, WireError>;
