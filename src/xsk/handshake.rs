//! The handshake offload's configuration (`tw_hs`, `struct tw_hs_cfg` in bpf/shared.h): what
//! the XDP program needs to answer a server's handshake as the engine would (bpf/handshake.h).
//! All zero, as the map starts, is off.

use std::net::Ipv4Addr;

use aya::Ebpf;
use aya::maps::Array;

use super::error::SteerError;

const MAP_HS: &str = "tw_hs";
const HS_SERVER: u32 = 1;
const HS_VERIFY: u32 = 2;
const HS_DATA: u32 = 4;
const HS_CLIENT: u32 = 8;
const HS_NONE: u8 = 0xff;
/// `TW_MAX_LISTEN`.
const MAX_LISTEN: usize = 8;

/// The server offload's settings, taken from the engine's configuration so that XDP's
/// SYN-ACKs and cookies are the engine's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HsConfig {
    /// The engine's cookie SipHash key (`tcp::offload::cookie_key`).
    pub cookie_key: (u64, u64),
    /// CLOCK_MONOTONIC of the workers' clock zero: XDP's `now` is `ktime - epoch_ns`.
    pub epoch_ns: u64,
    /// Tests: a fixed `now` (worker clock) instead of the kernel clock; 0 = the clock.
    pub fixed_now: u64,
    /// Listeners (address, port); `0.0.0.0` = any of ours. At most 8.
    pub listen: Vec<(Ipv4Addr, u16)>,
    pub local_mac: [u8; 6],
    /// Our SYN-ACK options (the engine's `syn_options`).
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
    pub ttl: u8,
    /// Verify IP and TCP checksums (drop and count bad ones).
    pub verify: bool,
    /// The engine serves requests (`--response`): XDP answers only SYNs and final ACKs.
    pub data_phase: bool,
    /// The client half (bpf/handshake_client.h): SYN-ACKs to these source ports are checked
    /// against `tcp::offload::client_isn` and answered in XDP. `None`: off.
    pub client: Option<HsClient>,
}

/// The client offload's settings (`tw_hs_cfg.isn_k0..cport_hi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HsClient {
    /// The engine's ISN key (`tcp::offload::client_isn_key`).
    pub isn_key: (u64, u64),
    /// Our source ports, inclusive.
    pub ports: (u16, u16),
    /// `--offload check`: the worker count, and only the ports `tcp::offload::
    /// check_port_in_xdp` gives XDP (`tw_hs_cfg.cport_split`); the engine answers the rest.
    /// 0: every port in XDP.
    pub split: u16,
}

/// Mirror of `struct tw_hs_cfg`; layout pinned by a test here and `_Static_assert`s there.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawHsCfg {
    cookie_k0: u64,
    cookie_k1: u64,
    epoch_ns: u64,
    fixed_now: u64,
    listen_addr: [u32; MAX_LISTEN],
    listen_port: [u16; MAX_LISTEN],
    local_mac: [u8; 6],
    mss: u16,
    wscale: u8,
    sack: u8,
    ts: u8,
    ttl: u8,
    n_listen: u8,
    _pad: [u8; 3],
    flags: u32,
    _pad2: u32,
    isn_k0: u64,
    isn_k1: u64,
    cport_lo: u16,
    cport_hi: u16,
    cport_split: u16,
    _pad3: u16,
}

// Safety: `RawHsCfg` is `repr(C)`, integers and integer arrays only, with explicit padding
// (size and offsets pinned by `raw_hs_layout`): every byte is initialised and any bit
// pattern is valid.
unsafe impl aya::Pod for RawHsCfg {}

impl HsConfig {
    pub(crate) fn to_raw(&self) -> Result<RawHsCfg, SteerError> {
        if self.listen.len() > MAX_LISTEN {
            return Err(SteerError::new(
                "handshake offload configuration",
                None,
                Some(format!(
                    "{} listeners, the XDP program holds at most {MAX_LISTEN}",
                    self.listen.len()
                )),
                None,
            ));
        }
        let mut r = RawHsCfg {
            cookie_k0: self.cookie_key.0,
            cookie_k1: self.cookie_key.1,
            epoch_ns: self.epoch_ns,
            fixed_now: self.fixed_now,
            local_mac: self.local_mac,
            mss: self.mss.unwrap_or(0),
            wscale: self.wscale.unwrap_or(HS_NONE),
            sack: self.sack_permitted as u8,
            ts: self.timestamps as u8,
            ttl: self.ttl,
            n_listen: self.listen.len() as u8,
            flags: if self.listen.is_empty() { 0 } else { HS_SERVER }
                | if self.client.is_some() { HS_CLIENT } else { 0 }
                | if self.verify { HS_VERIFY } else { 0 }
                | if self.data_phase { HS_DATA } else { 0 },
            ..RawHsCfg::default()
        };
        if let Some(c) = self.client {
            (r.isn_k0, r.isn_k1) = c.isn_key;
            (r.cport_lo, r.cport_hi) = c.ports;
            r.cport_split = c.split;
        }
        for (i, (a, p)) in self.listen.iter().enumerate() {
            r.listen_addr[i] = u32::from(*a);
            r.listen_port[i] = *p;
        }
        Ok(r)
    }
}

/// Writes (or, with `None`, clears: offload off) the offload configuration.
pub(super) fn write_hs(ebpf: &mut Ebpf, h: Option<&HsConfig>) -> Result<(), SteerError> {
    let raw = match h {
        Some(h) => h.to_raw()?,
        None => RawHsCfg::default(),
    };
    let err = |what: &str, e: &dyn std::fmt::Display| {
        SteerError::new(
            format!("{what} map {MAP_HS}"),
            None,
            Some(e.to_string()),
            Some("the XDP object lacks the handshake offload: rebuild threeway".into()),
        )
    };
    let map = ebpf
        .map_mut(MAP_HS)
        .ok_or_else(|| err("opening", &"missing from steer.bpf.o"))?;
    let mut arr: Array<_, RawHsCfg> = Array::try_from(map).map_err(|e| err("opening", &e))?;
    arr.set(0, raw, 0).map_err(|e| err("writing", &e))
}

const MAP_MARKS: &str = "tw_hs_marks";

/// The error for `what` ("opening", "reading") failing on the client offload's map `map`.
fn client_map_err(map: &'static str) -> impl Fn(&str, &dyn std::fmt::Display) -> SteerError {
    move |what, e| {
        SteerError::new(
            format!("{what} map {map}"),
            None,
            Some(e.to_string()),
            Some("the XDP object lacks the client offload: rebuild threeway".into()),
        )
    }
}

/// The client offload's established mark of source `port` (`tw_hs_marks`, bpf/
/// handshake_client.h): the ack (ISS + 1) of the SYN-ACK XDP last answered there, 0 = none.
/// A syscall per read; the workers' path is to map the array (BPF_F_MMAPABLE).
pub(super) fn read_mark(ebpf: &Ebpf, port: u16) -> Result<u32, SteerError> {
    let err = client_map_err(MAP_MARKS);
    let map = ebpf
        .map(MAP_MARKS)
        .ok_or_else(|| err("opening", &"missing from steer.bpf.o"))?;
    let arr: Array<_, u32> = Array::try_from(map).map_err(|e| err("opening", &e))?;
    arr.get(&(port as u32), 0).map_err(|e| err("reading", &e))
}

const MAP_LAT: &str = "tw_hs_lat";

/// Mirror of `struct tw_lat` (bpf/handshake_client.h): one CPU's latency buckets.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawLat([u64; crate::tcp::offload::LAT_BUCKETS]);

// Safety: `RawLat` is `repr(C)` over a `u64` array: no padding, any bit pattern is valid.
unsafe impl aya::Pod for RawLat {}

/// The client offload's handshake latency buckets (`tw_hs_lat`, element `series`), summed
/// over CPUs: running totals since the program was loaded (`tcp::offload::lat_value` gives
/// each one's value). One syscall (the kernel copies every CPU's 31 KiB).
pub(super) fn read_latency(
    ebpf: &Ebpf,
    series: crate::tcp::offload::LatSeries,
) -> Result<Vec<u64>, SteerError> {
    use aya::maps::PerCpuArray;
    let err = client_map_err(MAP_LAT);
    let map = ebpf
        .map(MAP_LAT)
        .ok_or_else(|| err("opening", &"missing from steer.bpf.o"))?;
    let arr: PerCpuArray<_, RawLat> = PerCpuArray::try_from(map).map_err(|e| err("opening", &e))?;
    let per_cpu = arr
        .get(&(series as u32), 0)
        .map_err(|e| err("reading", &e))?;
    let mut sum = vec![0u64; crate::tcp::offload::LAT_BUCKETS];
    for cpu in per_cpu.iter() {
        for (s, v) in sum.iter_mut().zip(cpu.0.iter()) {
            *s += v;
        }
    }
    Ok(sum)
}

/// `tw_hs_marks` mapped into our memory: the workers read a port's mark with one load, no
/// syscall. Clones share the mapping.
#[derive(Clone)]
pub struct HsMarks {
    map: std::sync::Arc<super::mmap::Mmap>,
}

const MARKS: usize = 65536;
/// Bytes per element in the mapping: the kernel rounds an array's value size up to 8.
const MARK_STRIDE: usize = 8;

impl HsMarks {
    /// The mark of source `port` (see `read_mark`).
    #[inline]
    pub fn get(&self, port: u16) -> u32 {
        let base = self.map.as_ptr().cast::<std::sync::atomic::AtomicU32>();
        // Safety: the mapping is MARKS elements of MARK_STRIDE bytes (`map_marks`), page-
        // aligned, and lives as long as `self.map`; `port < MARKS`, and each element's value
        // is the u32 at its start; XDP writes them concurrently, so they are read as atomics.
        let w = unsafe { &*base.add(port as usize * (MARK_STRIDE / 4)) };
        w.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Maps `tw_hs_marks` read-only (BPF_F_MMAPABLE).
pub(super) fn map_marks(ebpf: &Ebpf) -> Result<HsMarks, SteerError> {
    use aya::maps::{Map, MapData};
    use std::os::fd::AsFd;
    let err = |what: &str, e: &dyn std::fmt::Display| {
        SteerError::new(
            format!("{what} map {MAP_MARKS}"),
            None,
            Some(e.to_string()),
            Some("the kernel must map BPF arrays (Linux >= 5.5); use --offload off".into()),
        )
    };
    let data: &MapData = match ebpf.map(MAP_MARKS) {
        Some(Map::Array(d)) => d,
        _ => return Err(err("opening", &"missing from steer.bpf.o")),
    };
    let len = MARKS * MARK_STRIDE;
    let m =
        super::mmap::Mmap::shared_read(data.fd().as_fd(), len).map_err(|e| err("mapping", &e))?;
    Ok(HsMarks {
        map: std::sync::Arc::new(m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn xsk_raw_hs_layout() {
        // Must match bpf/shared.h (its _Static_asserts pin the same numbers).
        assert_eq!(size_of::<RawHsCfg>(), 128);
        assert_eq!(offset_of!(RawHsCfg, isn_k0), 104);
        assert_eq!(offset_of!(RawHsCfg, cport_lo), 120);
        assert_eq!(offset_of!(RawHsCfg, epoch_ns), 16);
        assert_eq!(offset_of!(RawHsCfg, listen_addr), 32);
        assert_eq!(offset_of!(RawHsCfg, listen_port), 64);
        assert_eq!(offset_of!(RawHsCfg, local_mac), 80);
        assert_eq!(offset_of!(RawHsCfg, mss), 86);
        assert_eq!(offset_of!(RawHsCfg, wscale), 88);
        assert_eq!(offset_of!(RawHsCfg, ttl), 91);
        assert_eq!(offset_of!(RawHsCfg, n_listen), 92);
        assert_eq!(offset_of!(RawHsCfg, flags), 96);
    }

    #[test]
    fn xsk_hs_encoding() {
        let h = HsConfig {
            listen: vec![(Ipv4Addr::new(198, 18, 0, 2), 80)],
            wscale: None,
            verify: true,
            ..HsConfig::default()
        };
        let r = h.to_raw().unwrap();
        assert_eq!(r.listen_addr[0], 0xc612_0002, "host order");
        assert_eq!(
            (r.n_listen, r.wscale, r.flags),
            (1, HS_NONE, HS_SERVER | HS_VERIFY)
        );
        let many = HsConfig {
            listen: vec![(Ipv4Addr::UNSPECIFIED, 1); 9],
            ..HsConfig::default()
        };
        assert!(many.to_raw().is_err());
        let client = HsConfig {
            client: Some(HsClient {
                isn_key: (1, 2),
                ports: (40000, 40999),
                split: 0,
            }),
            ..HsConfig::default()
        };
        let r = client.to_raw().unwrap();
        assert_eq!(
            (r.flags, r.isn_k1, r.cport_hi),
            (HS_CLIENT, 2, 40999),
            "client only: no server flag"
        );
        let mut check = client.clone();
        check.client.as_mut().unwrap().split = 2;
        let r = check.to_raw().unwrap();
        assert_eq!((r.flags, r.cport_split), (HS_CLIENT, 2));
    }
}
