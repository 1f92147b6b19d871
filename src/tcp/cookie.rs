//! SYN cookies (RFC 4987 style): the server's ISS carries everything it needs to rebuild the
//! connection from the final ACK, so a SYN costs no state.
//!
//! Bit layout of the 32-bit cookie (our ISS):
//!
//! ```text
//!  31    27 26 25 24   21 20   19   18                     0
//! +--------+-----+-------+----+----+------------------------+
//! | t (5)  | mss | ws(4) | SP | TS |   MAC (19 bits)        |
//! +--------+-----+-------+----+----+------------------------+
//! ```
//!
//! - `t`: `(now >> 36) & 31`, a counter ticking every 2^36 ns (~68.7 s); a cookie is valid
//!   during its tick and the next one (the current counter or the previous one).
//! - `mss`: index into [`MSS_TABLE`] (largest entry <= the peer's MSS; 536 without one).
//! - `ws`: the peer's window scale when negotiated, 15 when not.
//! - `SP`/`TS`: SACK-permitted / timestamps negotiated.
//! - MAC: low 19 bits of SipHash-2-4 (cookie key) over the 4-tuple (the addresses
//!   themselves for IPv6, not their handles), the peer's ISN and the upper 13 bits, so none
//!   of the encoded fields can be altered. A blind forgery succeeds
//!   with probability 2^-19 per attempt.

use crate::wire::TcpOptions;

use super::Nanos;
use super::isn::{SipKey, sip_words};

pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];
/// log2 of the cookie counter period in ns.
pub const PERIOD_SHIFT: u32 = 36;
const MAC_BITS: u32 = 19;
const MAC_MASK: u32 = (1 << MAC_BITS) - 1;
const NO_WS: u8 = 15;

/// What a cookie remembers of the SYN (already negotiated with our options).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CookieOpts {
    pub mss: u16,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

impl CookieOpts {
    /// The negotiated options of a SYN: `ours` are what we allow.
    #[inline]
    pub fn negotiate(peer: &TcpOptions, ours: &super::SynOptions) -> CookieOpts {
        CookieOpts {
            mss: peer.mss.unwrap_or(536),
            wscale: if ours.wscale.is_some() {
                peer.wscale.map(|w| w.min(14))
            } else {
                None
            },
            sack_permitted: peer.sack_permitted && ours.sack_permitted,
            timestamps: peer.timestamps.is_some() && ours.timestamps,
        }
    }

    /// The TCB's option bits (`Tcb::opts`): the one packing of negotiated options into a
    /// connection (the SYN-ACK's options are unpacked from them in `send_synack`).
    #[inline]
    pub fn tcb_bits(&self) -> u8 {
        use super::tcb::opt;
        let mut bits = 0u8;
        if self.timestamps {
            bits |= opt::TS;
        }
        if self.sack_permitted {
            bits |= opt::SACK;
        }
        if let Some(ws) = self.wscale {
            bits |= opt::WS | ws << opt::WS_SHIFT;
        }
        bits
    }

    fn bits(&self) -> u32 {
        let idx = MSS_TABLE.iter().rposition(|&m| m <= self.mss).unwrap_or(0) as u32;
        idx << 25
            | (self.wscale.unwrap_or(NO_WS) as u32 & 15) << 21
            | (self.sack_permitted as u32) << 20
            | (self.timestamps as u32) << 19
    }

    fn from_bits(c: u32) -> CookieOpts {
        let ws = ((c >> 21) & 15) as u8;
        CookieOpts {
            mss: MSS_TABLE[((c >> 25) & 3) as usize],
            wscale: (ws != NO_WS).then_some(ws),
            sack_permitted: c & (1 << 20) != 0,
            timestamps: c & (1 << 19) != 0,
        }
    }
}

#[inline]
fn counter(now: Nanos) -> u32 {
    ((now >> PERIOD_SHIFT) & 31) as u32
}

/// The MAC over the tuple's message words (`isn::key_words`, or `Addrs6::words`: at most 5).
#[inline]
fn mac(key: SipKey, t: &[u64], irs: u32, upper: u32) -> u32 {
    let mut m = [0u64; 6];
    let n = t.len().min(5);
    m[..n].copy_from_slice(&t[..n]);
    m[n] = (irs as u64) << 32 | upper as u64;
    sip_words(key, &m[..=n]) as u32 & MAC_MASK
}

/// The cookie (our ISS) for a SYN with sequence number `irs` on the tuple with words `t`.
pub fn encode(key: SipKey, t: &[u64], irs: u32, now: Nanos, o: &CookieOpts) -> u32 {
    let upper = counter(now) << 27 | o.bits();
    upper | mac(key, t, irs, upper)
}

/// Validates `cookie` (the ACK's ack - 1) for the ACK's tuple words `t` and `irs` (its seq - 1).
pub fn decode(key: SipKey, t: &[u64], irs: u32, cookie: u32, now: Nanos) -> Option<CookieOpts> {
    let upper = cookie & !MAC_MASK;
    let tick = cookie >> 27;
    let cur = counter(now);
    if tick != cur && tick != cur.wrapping_sub(1) & 31 {
        return None;
    }
    if mac(key, t, irs, upper) != cookie & MAC_MASK {
        return None;
    }
    Some(CookieOpts::from_bits(cookie))
}

#[cfg(test)]
mod tests {
    use super::super::isn::key_words;
    use super::super::table::Key;
    use super::*;

    const K: SipKey = SipKey(0x0123_4567, 0x89ab_cdef);
    const KEY: Key = Key {
        local_ip: 0x0a00_0001,
        remote_ip: 0x0a00_0002,
        local_port: 80,
        remote_port: 40000,
    };
    const T: &[u64] = &[0x0a00_0001_0a00_0002, 80 << 16 | 40000];

    #[test]
    fn words_are_the_keys() {
        assert_eq!(key_words(&KEY), T);
    }

    #[test]
    fn ipv6_words_bind_the_addresses() {
        let a = [1u64, 2, 3, 4, 80 << 16 | 40000];
        let b = [1u64, 2, 3, 5, 80 << 16 | 40000];
        let o = CookieOpts::default();
        let c = encode(K, &a, 1, 0, &o);
        assert_eq!(decode(K, &a, 1, c, 0), Some(CookieOpts { mss: 536, ..o }));
        assert_eq!(decode(K, &b, 1, c, 0), None);
    }

    #[test]
    fn roundtrip_and_expiry() {
        let o = CookieOpts {
            mss: 1460,
            wscale: Some(7),
            sack_permitted: true,
            timestamps: false,
        };
        let now = 5u64 << PERIOD_SHIFT;
        let c = encode(K, T, 1000, now, &o);
        assert_eq!(decode(K, T, 1000, c, now), Some(o));
        assert_eq!(decode(K, T, 1000, c, now + (1 << PERIOD_SHIFT)), Some(o));
        assert_eq!(decode(K, T, 1000, c, now + (2 << PERIOD_SHIFT)), None);
        assert_eq!(decode(K, T, 1001, c, now), None);
        let other = key_words(&Key {
            remote_port: 40001,
            ..KEY
        });
        assert_eq!(decode(K, &other, 1000, c, now), None);
        assert_eq!(decode(K, T, 1000, c ^ (1 << 20), now), None);
        assert_eq!(decode(SipKey(1, 1), T, 1000, c, now), None);
    }

    #[test]
    fn mss_rounds_down_and_no_options() {
        let o = CookieOpts {
            mss: 1400,
            wscale: None,
            sack_permitted: false,
            timestamps: true,
        };
        let c = encode(K, T, 7, 0, &o);
        let d = decode(K, T, 7, c, 0).unwrap();
        assert_eq!(d, CookieOpts { mss: 1300, ..o });
        let low = CookieOpts { mss: 100, ..o };
        assert_eq!(
            decode(K, T, 7, encode(K, T, 7, 0, &low), 0).unwrap().mss,
            536
        );
    }

    #[test]
    fn counter_wraps() {
        let o = CookieOpts::default();
        let now = 31u64 << PERIOD_SHIFT;
        let c = encode(K, T, 9, now, &o);
        assert!(decode(K, T, 9, c, now + (1 << PERIOD_SHIFT)).is_some()); // counter 0 accepts 31
    }
}
