//! SipHash-2-4 (Aumasson & Bernstein), written for fixed inputs, and RFC 6528 ISNs.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)` where `M` is a clock
//! ticking every 4 µs (`now / 4000`) and `F` is SipHash-2-4 keyed with the engine secret.

use super::Nanos;
use super::table::Key;

/// A 128-bit SipHash key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipKey(pub u64, pub u64);

impl SipKey {
    pub fn from_bytes(b: &[u8; 16]) -> SipKey {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&b[..8]);
        k1.copy_from_slice(&b[8..]);
        SipKey(u64::from_le_bytes(k0), u64::from_le_bytes(k1))
    }

    /// A sub-key for another purpose (domain separation), derived with SipHash itself.
    pub fn derive(self, label: u64) -> SipKey {
        SipKey(sip_words(self, &[label, 1]), sip_words(self, &[label, 2]))
    }
}

struct State {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
}

impl State {
    #[inline(always)]
    fn new(k: SipKey) -> State {
        State {
            v0: k.0 ^ 0x736f_6d65_7073_6575,
            v1: k.1 ^ 0x646f_7261_6e64_6f6d,
            v2: k.0 ^ 0x6c79_6765_6e65_7261,
            v3: k.1 ^ 0x7465_6462_7974_6573,
        }
    }

    #[inline(always)]
    fn round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13) ^ self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16) ^ self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21) ^ self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17) ^ self.v2;
        self.v2 = self.v2.rotate_left(32);
    }

    #[inline(always)]
    fn compress(&mut self, m: u64) {
        self.v3 ^= m;
        self.round();
        self.round();
        self.v0 ^= m;
    }

    #[inline(always)]
    fn finish(mut self) -> u64 {
        self.v2 ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        self.v0 ^ self.v1 ^ self.v2 ^ self.v3
    }
}

/// SipHash-2-4 of the little-endian bytes of `words` (message length `8 * words.len()`).
#[inline]
pub fn sip_words(k: SipKey, words: &[u64]) -> u64 {
    let mut s = State::new(k);
    for &w in words {
        s.compress(w);
    }
    s.compress(((words.len() as u64 * 8) & 0xff) << 56);
    s.finish()
}

/// SipHash-2-4 of a 12-byte message: the little-endian bytes of `w0` then of `w1`
/// (two compressions: the tail block carries `w1` and the length).
#[inline]
pub fn sip_12(k: SipKey, w0: u64, w1: u32) -> u64 {
    let mut s = State::new(k);
    s.compress(w0);
    s.compress(w1 as u64 | 12 << 56);
    s.finish()
}

/// SipHash-2-4 of arbitrary bytes (reference form for the tests).
#[cfg(test)]
pub fn siphash24(k: SipKey, data: &[u8]) -> u64 {
    let mut s = State::new(k);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        s.compress(u64::from_le_bytes(w));
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    s.compress(u64::from_le_bytes(last));
    s.finish()
}

/// The two 64-bit message words for a connection tuple.
#[inline(always)]
pub fn key_words(k: &Key) -> [u64; 2] {
    [
        (k.local_ip as u64) << 32 | k.remote_ip as u64,
        (k.local_port as u64) << 16 | k.remote_port as u64,
    ]
}

/// RFC 6528 initial sequence number for the IPv4 key `k` at `now`.
#[inline]
pub fn isn(secret: SipKey, k: &Key, now: Nanos) -> u32 {
    let [w0, w1] = key_words(k);
    let f = sip_12(secret, w0, w1 as u32) as u32;
    f.wrapping_add((now / 4000) as u32)
}

/// RFC 6528 initial sequence number over a tuple's message words (an IPv6 key's addresses
/// and ports, `Addrs6::words`) at `now`.
#[inline]
pub fn isn_words(secret: SipKey, words: &[u64], now: Nanos) -> u32 {
    (sip_words(secret, words) as u32).wrapping_add((now / 4000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First entries of the reference vectors (vectors.h of the SipHash paper).
    #[test]
    fn siphash_reference_vectors() {
        let mut kb = [0u8; 16];
        for (i, b) in kb.iter_mut().enumerate() {
            *b = i as u8;
        }
        let k = SipKey::from_bytes(&kb);
        let msg: Vec<u8> = (0u8..16).collect();
        assert_eq!(siphash24(k, &msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(k, &msg[..1]), 0x74f8_39c5_93dc_67fd);
        assert_eq!(siphash24(k, &msg[..8]), 0x93f5_f579_9a93_2462);
        assert_eq!(siphash24(k, &msg[..15]), 0xa129_ca61_49be_45e5);
        let w0 = u64::from_le_bytes(msg[..8].try_into().unwrap());
        let w1 = u64::from_le_bytes(msg[8..16].try_into().unwrap());
        assert_eq!(sip_words(k, &[w0, w1]), siphash24(k, &msg));
        let w1 = u32::from_le_bytes(msg[8..12].try_into().unwrap());
        assert_eq!(sip_12(k, w0, w1), siphash24(k, &msg[..12]));
    }

    #[test]
    fn isn_depends_on_tuple_secret_and_clock() {
        let s = SipKey(1, 2);
        let k = Key {
            local_ip: 1,
            remote_ip: 2,
            local_port: 3,
            remote_port: 4,
        };
        let k2 = Key {
            remote_port: 5,
            ..k
        };
        assert_ne!(isn(s, &k, 0), isn(s, &k2, 0));
        assert_ne!(isn(s, &k, 0), isn(SipKey(1, 3), &k, 0));
        assert_eq!(isn(s, &k, 4000 * 10), isn(s, &k, 0).wrapping_add(10));
    }
}
