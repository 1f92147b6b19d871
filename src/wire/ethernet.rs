//! Ethernet II. Received frames may carry up to two VLAN tags (`headers::link` reads them);
//! `EthernetRepr` keeps the innermost one and emits at most one 802.1Q tag.

use super::{Result, WireError};

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const TCI: Range<usize> = 14..16;
    pub const INNER_ETHERTYPE: Range<usize> = 16..18;
    pub const HEADER_LEN: usize = 14;
    pub const VLAN_HEADER_LEN: usize = 18;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Reads 6 bytes; `None` when `b` is not exactly 6 long.
    pub fn from_bytes(b: &[u8]) -> Option<MacAddr> {
        let a: [u8; 6] = b.try_into().ok()?;
        Some(MacAddr(a))
    }
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// Group bit (includes broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl core::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl core::str::FromStr for MacAddr {
    type Err = WireError;
    /// "aa:bb:cc:dd:ee:ff" (exactly six groups of two hex digits, either case). Any other
    /// text is `BadLength` (`WireError` has no dedicated variant for text input).
    fn from_str(s: &str) -> Result<MacAddr> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in out.iter_mut() {
            let part = parts.next().ok_or(WireError::BadLength)?;
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(WireError::BadLength);
            }
            *b = u8::from_str_radix(part, 16).map_err(|_| WireError::BadLength)?;
        }
        if parts.next().is_some() {
            return Err(WireError::BadLength);
        }
        Ok(MacAddr(out))
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

#[inline]
fn be16(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    u16::from_be_bytes([b[r.start], b[r.start + 1]])
}

/// Zero-copy view of an Ethernet II frame (header + payload).
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    pub fn new_unchecked(buf: T) -> Self {
        EthernetFrame { buf }
    }
    /// Checks the Ethernet header and its VLAN tags (`headers::link`).
    pub fn new_checked(buf: T) -> Result<Self> {
        super::headers::link(buf.as_ref())?;
        Ok(EthernetFrame { buf })
    }
    fn link(&self) -> super::headers::Link {
        // new_checked read it once; a frame made with new_unchecked and too short for its
        // own tags reads as untagged here (its accessors are the caller's to size).
        super::headers::link(self.buf.as_ref()).unwrap_or(super::headers::Link {
            tags: [0; super::headers::MAX_VLAN_TAGS],
            n_tags: 0,
            ethertype: be16(self.buf.as_ref(), field::ETHERTYPE),
            l3: field::HEADER_LEN,
        })
    }
    pub fn dst(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buf.as_ref()[field::DST]);
        MacAddr(m)
    }
    pub fn src(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buf.as_ref()[field::SRC]);
        MacAddr(m)
    }
    /// The innermost VLAN TCI, when tagged.
    pub fn vlan(&self) -> Option<u16> {
        self.link().vlan()
    }
    /// The EtherType after any VLAN tags.
    pub fn ethertype(&self) -> u16 {
        self.link().ethertype
    }
    /// 14, 18 or 22.
    pub fn header_len(&self) -> usize {
        self.link().l3
    }
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buf.as_mut()[hl..]
    }
    pub fn set_dst(&mut self, mac: MacAddr) {
        self.buf.as_mut()[field::DST].copy_from_slice(&mac.0);
    }
    pub fn set_src(&mut self, mac: MacAddr) {
        self.buf.as_mut()[field::SRC].copy_from_slice(&mac.0);
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
        Ok(EthernetRepr {
            dst: frame.dst(),
            src: frame.src(),
            vlan: frame.vlan(),
            ethertype: frame.ethertype(),
        })
    }
    /// Header length: 14, or 18 with a VLAN tag.
    pub fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            field::VLAN_HEADER_LEN
        } else {
            field::HEADER_LEN
        }
    }
    /// Writes the header into the first `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        let b = frame.buf.as_mut();
        b[field::DST].copy_from_slice(&self.dst.0);
        b[field::SRC].copy_from_slice(&self.src.0);
        match self.vlan {
            Some(tci) => {
                b[field::ETHERTYPE].copy_from_slice(&EtherType::VLAN.to_be_bytes());
                b[field::TCI].copy_from_slice(&tci.to_be_bytes());
                b[field::INNER_ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
            }
            None => b[field::ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_from_str() {
        let m: MacAddr = "aa:BB:0c:dd:ee:0f".parse().unwrap();
        assert_eq!(m, MacAddr([0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f]));
        assert_eq!(m.to_string(), "aa:bb:0c:dd:ee:0f");
        for bad in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "a:bb:cc:dd:ee:ff",
            "aa:bb:cc:dd:ee:fg",
            "+a:bb:cc:dd:ee:ff",
            "aa-bb-cc-dd-ee-ff",
            "aa:bb:cc:dd:ee:ff:",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn vlan_roundtrip() {
        let repr = EthernetRepr {
            dst: MacAddr::BROADCAST,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            vlan: Some(0x2064),
            ethertype: EtherType::IPV4,
        };
        let mut buf = [0xa5u8; 20];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        let f = EthernetFrame::new_checked(&buf[..]).unwrap();
        assert_eq!(f.header_len(), 18);
        assert_eq!(f.payload().len(), 2);
        assert_eq!(EthernetRepr::parse(&f).unwrap(), repr);
        assert_eq!(
            EthernetFrame::new_checked(&buf[..17]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            EthernetFrame::new_checked(&buf[..13]).err(),
            Some(WireError::Truncated)
        );
    }
}
