//! Ethernet II with at most one 802.1Q tag.

use super::{Result, WireError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);
}

impl core::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl core::str::FromStr for MacAddr {
    type Err = WireError;
    /// "aa:bb:cc:dd:ee:ff"
    fn from_str(s: &str) -> Result<MacAddr> {
        todo!("{s}")
    }
}

/// EtherType values we know.
pub struct EtherType;
impl EtherType {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
}

/// Zero-copy view of an Ethernet II frame (header + payload).
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    pub fn new_unchecked(buf: T) -> Self {
        EthernetFrame { buf }
    }
    /// Checks 14 bytes (18 when the outer EtherType is 802.1Q).
    pub fn new_checked(buf: T) -> Result<Self> {
        todo!()
    }
    pub fn dst(&self) -> MacAddr {
        todo!()
    }
    pub fn src(&self) -> MacAddr {
        todo!()
    }
    /// VLAN TCI when one 802.1Q tag is present.
    pub fn vlan(&self) -> Option<u16> {
        todo!()
    }
    /// The EtherType after any VLAN tag.
    pub fn ethertype(&self) -> u16 {
        todo!()
    }
    /// 14 or 18.
    pub fn header_len(&self) -> usize {
        todo!()
    }
    pub fn payload(&self) -> &[u8] {
        todo!()
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        todo!()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// 802.1Q TCI (PCP/DEI/VID) when tagged.
    pub vlan: Option<u16>,
    pub ethertype: u16,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        todo!()
    }
    /// Header length: 14, or 18 with a VLAN tag.
    pub fn buffer_len(&self) -> usize {
        todo!()
    }
    /// Writes the header into the first `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        todo!()
    }
}
