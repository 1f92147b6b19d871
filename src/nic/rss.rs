//! Receive-side scaling: the Toeplitz hash, the indirection table (RETA) and the per-queue
//! source-port chooser.
//!
//! A NIC hashes the *received* packet's (src ip, dst ip, src port, dst port) with a secret key
//! (Toeplitz, as in Microsoft's RSS spec) and delivers it on queue `reta[hash % reta.len()]`.
//! Our client's SYN-ACKs arrive with src = target and dst = us, so the only input we choose is
//! our source port (their destination port). To make every SYN-ACK land on the queue of the
//! worker that sent the SYN, each worker opens connections only from ports in its
//! [`PortBitmap`] for that destination ([`Rss::port_bitmaps`]).
//!
//! Toeplitz is linear over GF(2) in the input bits: `hash(port) = hash(port 0) ^ (XOR of the
//! key windows of the port's set bits)`. [`PortHasher`] folds the 16 windows into two 256-entry
//! tables, so all 64k ports cost about 64k lookups and XORs.
//!
//! Key presets for `deploy/nic-setup --rss-key`: [`symmetric_key`] (hash(a->b) == hash(b->a))
//! and [`ports_only_key`] (`toeplitz-sport`: for IPv4 TCP the hash ignores the addresses, so one
//! bitmap per target port serves every source and destination address).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Microsoft's RSS verification key; also the default key of several drivers.
pub const MS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Key lengths NICs use: 40 bytes (mlx5, ixgbe, Microsoft) and 52 bytes (i40e, ice).
pub const KEY_LENS: [usize; 2] = [40, 52];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RssError {
    /// The key is not 40 or 52 bytes long.
    KeyLength(usize),
    /// A key string is not colon-separated hex bytes.
    KeySyntax(String),
    /// The indirection table has no entries.
    EmptyReta,
    /// Source and destination of a tuple are of different address families.
    MixedFamilies,
    /// `lo > hi` in a port range.
    EmptyRange { lo: u16, hi: u16 },
    /// The queue appears nowhere in the indirection table: nothing is ever delivered there.
    QueueNotInReta { queue: u16, queues: u16 },
}

impl fmt::Display for RssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RssError::KeyLength(n) => write!(
                f,
                "RSS key is {n} bytes; Toeplitz keys are 40 or 52 bytes (check `ethtool -x IF`)"
            ),
            RssError::KeySyntax(s) => {
                write!(
                    f,
                    "RSS key '{s}' is not colon-separated hex bytes (like 6d:5a:56:...)"
                )
            }
            RssError::EmptyReta => write!(
                f,
                "RSS indirection table is empty; set one with `ethtool -X IF equal N`"
            ),
            RssError::MixedFamilies => {
                write!(
                    f,
                    "RSS tuple mixes IPv4 and IPv6 addresses; use one family per tuple"
                )
            }
            RssError::EmptyRange { lo, hi } => write!(f, "port range {lo}-{hi} is empty"),
            RssError::QueueNotInReta { queue, queues } => write!(
                f,
                "queue {queue} is not in the RSS indirection table (queues 0..{queues} are): \
                 no reply would reach it; run `ethtool -X IF equal N` with N > {queue}"
            ),
        }
    }
}

impl std::error::Error for RssError {}

/// The 32 key bits starting at bit `bit` (most significant bit first); zero past the key's end.
fn key_window(key: &[u8], bit: usize) -> u32 {
    let byte = bit / 8;
    let w = (0..5).fold(0u64, |w, i| {
        (w << 8) | u64::from(key.get(byte + i).copied().unwrap_or(0))
    });
    (w >> (8 - bit % 8)) as u32
}

/// Toeplitz hash of `input` (Microsoft RSS). Key bits past the key's end count as zero: a key
/// covers inputs of up to `key.len() - 4` bytes (36 for a 40-byte key, IPv6 + ports).
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let mut hash = 0;
    for (i, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                hash ^= key_window(key, i * 8 + b);
            }
        }
    }
    hash
}

/// A received packet's RSS input, as the NIC sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
}

impl Tuple {
    /// The SYN-ACK our client receives for a SYN from `ours:our_port` to `target`.
    pub fn syn_ack(ours: IpAddr, our_port: u16, target: SocketAddr) -> Tuple {
        Tuple {
            src: target.ip(),
            dst: ours,
            src_port: target.port(),
            dst_port: our_port,
        }
    }

    /// The hash input: src ip, dst ip, src port, dst port, network byte order (12 bytes for
    /// IPv4, 36 for IPv6).
    pub fn input(&self) -> Result<Vec<u8>, RssError> {
        let mut v = Vec::with_capacity(36);
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                v.extend_from_slice(&s.octets());
                v.extend_from_slice(&d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                v.extend_from_slice(&s.octets());
                v.extend_from_slice(&d.octets());
            }
            _ => return Err(RssError::MixedFamilies),
        }
        v.extend_from_slice(&self.src_port.to_be_bytes());
        v.extend_from_slice(&self.dst_port.to_be_bytes());
        Ok(v)
    }
}

/// Toeplitz hash of a TCP tuple (the NIC's `tcp4`/`tcp6` hash with fields `sdfn`).
pub fn hash(key: &[u8], t: &Tuple) -> Result<u32, RssError> {
    Ok(toeplitz(key, &t.input()?))
}

/// RETA lookup: `reta[hash % reta.len()]`, or None for an empty table. Drivers index with the
/// low bits of the hash, which is the same thing for their power-of-two tables.
pub fn reta_queue(reta: &[u16], hash: u32) -> Option<u16> {
    reta.get(hash as usize % reta.len().max(1)).copied()
}

/// The table `ethtool -X IF equal N` sets: entry i is queue i % n.
pub fn equal_reta(size: usize, queues: u16) -> Vec<u16> {
    (0..size)
        .map(|i| (i % usize::from(queues.max(1))) as u16)
        .collect()
}

/// Checks a key's length.
pub fn check_key(key: &[u8]) -> Result<(), RssError> {
    if KEY_LENS.contains(&key.len()) {
        Ok(())
    } else {
        Err(RssError::KeyLength(key.len()))
    }
}

/// Parses `6d:5a:56:...` (the form `ethtool -x` prints and `ethtool -X hkey` takes).
pub fn parse_key(s: &str) -> Result<Vec<u8>, RssError> {
    let s = s.trim();
    let key = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok().filter(|_| b.len() == 2))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| RssError::KeySyntax(s.to_string()))?;
    check_key(&key)?;
    Ok(key)
}

/// Formats a key as `6d:5a:56:...`.
pub fn format_key(key: &[u8]) -> String {
    key.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `6d:5a` repeated: hash(a->b) == hash(b->a) for IPv4 and IPv6 (Woo and Park, 2012), so both
/// directions of a flow share a queue.
pub fn symmetric_key(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| if i % 2 == 0 { 0x6d } else { 0x5a })
        .collect()
}

/// `toeplitz-sport`: bytes 0-11 zero, then `6d:5a` repeated. With an IPv4 input an address bit
/// at position i (< 64) meets key bits i..i+31 (< 96), all zero, so the hash depends on the
/// two ports only: the queue of a SYN-ACK is a function of (target port, our port), the same
/// for every address. IPv6 hashes still include the addresses.
pub fn ports_only_key(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i < 12 {
                0
            } else if i % 2 == 0 {
                0x6d
            } else {
                0x5a
            }
        })
        .collect()
}

/// The key of a `deploy/nic-setup --rss-key` preset (`toeplitz-sport`, `symmetric`), or None.
pub fn preset_key(name: &str, len: usize) -> Option<Vec<u8>> {
    match name {
        "toeplitz-sport" => Some(ports_only_key(len)),
        "symmetric" => Some(symmetric_key(len)),
        _ => None,
    }
}

/// A NIC's Toeplitz key and indirection table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rss {
    key: Vec<u8>,
    reta: Vec<u16>,
}

impl Rss {
    /// Checks the key length (40 or 52) and that the table is not empty.
    pub fn new(key: Vec<u8>, reta: Vec<u16>) -> Result<Rss, RssError> {
        check_key(&key)?;
        if reta.is_empty() {
            return Err(RssError::EmptyReta);
        }
        Ok(Rss { key, reta })
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn reta(&self) -> &[u16] {
        &self.reta
    }

    /// One more than the highest queue in the table.
    pub fn queues(&self) -> u16 {
        self.reta.iter().max().map_or(0, |q| q + 1)
    }

    /// The queue a received packet with this tuple lands on.
    pub fn queue_of(&self, t: &Tuple) -> Result<u16, RssError> {
        let h = hash(&self.key, t)?;
        reta_queue(&self.reta, h).ok_or(RssError::EmptyReta)
    }

    /// The SYN-ACK hash of `ours:port` -> `target` as a function of `port`.
    pub fn port_hasher(&self, ours: IpAddr, target: SocketAddr) -> Result<PortHasher, RssError> {
        PortHasher::new(&self.key, ours, target)
    }

    /// Our source ports in `[lo, hi]` whose SYN-ACK from `target` lands on `queue`.
    pub fn port_bitmap(
        &self,
        ours: IpAddr,
        target: SocketAddr,
        queue: u16,
        lo: u16,
        hi: u16,
    ) -> Result<PortBitmap, RssError> {
        if !self.reta.contains(&queue) {
            return Err(RssError::QueueNotInReta {
                queue,
                queues: self.queues(),
            });
        }
        if lo > hi {
            return Err(RssError::EmptyRange { lo, hi });
        }
        let h = self.port_hasher(ours, target)?;
        let mut map = PortBitmap::new(lo, hi);
        for port in (lo..=hi).filter(|p| self.reta[h.hash(*p) as usize % self.reta.len()] == queue)
        {
            map.insert(port);
        }
        Ok(map)
    }

    /// For every queue 0..[`queues`](Rss::queues), our source ports in `[lo, hi]` whose
    /// SYN-ACK from `target` lands there: a partition of the range (index = queue).
    pub fn port_bitmaps(
        &self,
        ours: IpAddr,
        target: SocketAddr,
        lo: u16,
        hi: u16,
    ) -> Result<Vec<PortBitmap>, RssError> {
        if lo > hi {
            return Err(RssError::EmptyRange { lo, hi });
        }
        let h = self.port_hasher(ours, target)?;
        let mut maps = vec![PortBitmap::new(lo, hi); usize::from(self.queues())];
        for port in lo..=hi {
            let q = self.reta[h.hash(port) as usize % self.reta.len()];
            maps[usize::from(q)].insert(port);
        }
        Ok(maps)
    }
}

/// The Toeplitz hash of a SYN-ACK to `ours:port` from a fixed target, as a function of `port`:
/// `base ^ hi[port >> 8] ^ lo[port & 0xff]`.
#[derive(Clone, Debug)]
pub struct PortHasher {
    base: u32,
    hi: [u32; 256],
    lo: [u32; 256],
}

impl PortHasher {
    pub fn new(key: &[u8], ours: IpAddr, target: SocketAddr) -> Result<PortHasher, RssError> {
        check_key(key)?;
        let input = Tuple::syn_ack(ours, 0, target).input()?;
        let base = toeplitz(key, &input);
        // Our port is the last 16 bits of the input; bit j (MSB first) meets the key window
        // starting at the same bit position.
        let first = (input.len() - 2) * 8;
        let window = |j: usize| key_window(key, first + j);
        let table = |offset: usize| {
            let mut t = [0u32; 256];
            for (byte, slot) in t.iter_mut().enumerate() {
                *slot = (0..8)
                    .filter(|b| byte & (0x80 >> b) != 0)
                    .fold(0, |h, b| h ^ window(offset + b));
            }
            t
        };
        Ok(PortHasher {
            base,
            hi: table(0),
            lo: table(8),
        })
    }

    pub fn hash(&self, port: u16) -> u32 {
        self.base ^ self.hi[usize::from(port >> 8)] ^ self.lo[usize::from(port & 0xff)]
    }
}

/// A set of ports within `[lo, hi]`, one bit per port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortBitmap {
    lo: u16,
    hi: u16,
    words: Vec<u64>,
    len: usize,
}

impl PortBitmap {
    /// An empty set over `[lo, hi]` (`lo <= hi`).
    pub fn new(lo: u16, hi: u16) -> PortBitmap {
        let n = usize::from(hi.saturating_sub(lo)) + 1;
        PortBitmap {
            lo,
            hi,
            words: vec![0; n.div_ceil(64)],
            len: 0,
        }
    }

    /// The range the set lives in.
    pub fn range(&self) -> (u16, u16) {
        (self.lo, self.hi)
    }

    /// Adds `port`; ports outside the range are ignored.
    pub fn insert(&mut self, port: u16) {
        if let Some((w, bit)) = self.slot(port)
            && self.words[w] & bit == 0
        {
            self.words[w] |= bit;
            self.len += 1;
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.slot(port)
            .is_some_and(|(w, bit)| self.words[w] & bit != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ports in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(move |(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let b = rest.trailing_zeros();
                    rest &= rest - 1;
                    self.lo + (w * 64) as u16 + b as u16
                })
            })
        })
    }

    fn slot(&self, port: u16) -> Option<(usize, u64)> {
        (self.lo..=self.hi).contains(&port).then(|| {
            let i = usize::from(port - self.lo);
            (i / 64, 1u64 << (i % 64))
        })
    }
}

#[cfg(test)]
mod tests;
