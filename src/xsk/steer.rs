//! Loader for the XDP steering program (`bpf/steer.bpf.c`), built by `build.rs`.
//!
//! The program redirects TCP frames for our addresses and ports (and ARP for emulated
//! addresses) to the XSK bound on the receiving queue, drops them when none is bound, and
//! passes everything else to the kernel. It is attached through a bpf_link where the kernel
//! supports it (5.9+): the link dies with the process, so a crash leaves nothing attached.
//! (aya falls back to a netlink attach when `bpf_link_create` answers EINVAL; that one
//! outlives a SIGKILL. Dropping `Steer` detaches either.)

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;

use aya::Ebpf;
use aya::maps::lpm_trie::{Key as LpmKey, LpmTrie};
use aya::maps::{Array, PerCpuArray, XskMap};
use aya::programs::{ProgramError, Xdp, XdpMode};

use super::error::SteerError;
use super::handshake::HsConfig;
use super::iface;

mod probe;
pub use probe::{SteerProbe, XDP_ACTION_DROP, XDP_ACTION_PASS, XDP_ACTION_TX, XdpVerdict};

static STEER_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/steer.bpf.o"));

const PROG: &str = "tw_steer";
const MAP_XSKS: &str = "tw_xsks";
const MAP_CFG: &str = "tw_cfg";
const MAP_STATS: &str = "tw_stats";
const MAP_KPORTS: &str = "tw_kports";
const MAP_V4: &str = "tw_v4";
const MAP_V6: &str = "tw_v6";
/// `TW_ADDR_ENTRIES`, `TW_ADDR_TCP`, `TW_ADDR_NEIGH` (bpf/shared.h): entries of each trie.
pub const MAX_ADDR_ENTRIES: usize = 65536;
const ADDR_TCP: u32 = 1;
const ADDR_NEIGH: u32 = 2;
/// `TW_KPORT_WORDS` (bpf/shared.h): 64 ports per word.
const KPORT_WORDS: u32 = 1024;

/// Limits of `struct tw_steer_cfg` and `tw_xsks` (bpf/shared.h).
pub const MAX_LISTEN: usize = 8;
pub const MAX_QUEUES: u32 = 64;
const CFG_ENABLED: u32 = 1;
const CFG_RX_STAMP: u32 = 2;
const CFG_ARP: u32 = 4;

/// Mirror of `struct tw_steer_cfg` (bpf/shared.h); layout pinned by a test here and by
/// `_Static_assert`s there.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawSteerCfg {
    listen_ports: [u16; MAX_LISTEN],
    port_lo: u16,
    port_hi: u16,
    n_listen: u8,
    _pad0: [u8; 3],
    flags: u32,
    _pad: u32,
}

// Safety: `RawSteerCfg` is `repr(C)`, made only of integers and integer arrays, with no
// implicit padding (explicit `_pad`; size and offsets pinned by `raw_cfg_layout`), so every
// byte of it is initialised and every bit pattern is a valid value.
unsafe impl aya::Pod for RawSteerCfg {}

/// Counter indices of `enum tw_stat` (bpf/shared.h).
const STAT_REDIRECTED: u32 = 0;
const STAT_ARP_REDIRECTED: u32 = 1;
const STAT_NO_SOCKET: u32 = 2;
const STAT_PASSED: u32 = 3;
const STAT_PASSED_FRAG: u32 = 4;
const STAT_PASSED_SOCKET: u32 = 7;
const STAT_PARSE_ERROR: u32 = 5;
const STAT_DISABLED: u32 = 6;
const STAT_NO_META: u32 = 8;
const STAT_ND_REDIRECTED: u32 = 9;
/// `TW_STAT_HS_*`: the handshake offload's counters, in declaration order from 10.
const STAT_HS_FIRST: u32 = 10;

/// What the steering program treats as ours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SteerConfig {
    /// Our local IPv4 addresses (any number: an LPM trie; with `prefix_v4`, the kernel's
    /// own addresses inside it).
    pub addrs_v4: Vec<Ipv4Addr>,
    /// Our local IPv6 addresses (any number: an LPM trie; with `prefix_v6`, the kernel's
    /// own addresses inside it).
    pub addrs_v6: Vec<Ipv6Addr>,
    /// Emulated IPv6 addresses: TCP to them is ours, and so are Neighbor Solicitations
    /// for them.
    pub nd_v6: Vec<Ipv6Addr>,
    /// A whole IPv6 prefix of ours: TCP to it, and NS for it except for `addrs_v6`.
    pub prefix_v6: Option<(Ipv6Addr, u8)>,
    /// Our local TCP port range, inclusive (client source ports or server listen ports;
    /// one port: lo == hi). `port_lo == 0`: no range.
    pub port_lo: u16,
    pub port_hi: u16,
    /// Extra individual ports (at most 8).
    pub listen_ports: Vec<u16>,
    /// Emulated IPv4 addresses whose ARP (requests and replies) comes to us.
    pub arp_v4: Vec<Ipv4Addr>,
    /// A whole IPv4 prefix of ours (many source addresses): TCP to it is ours, and ARP for it
    /// too except for the addresses in `addrs_v4` (put the kernel's own addresses there).
    pub prefix_v4: Option<(Ipv4Addr, u8)>,
    /// Write each redirected frame's RX time into its XDP metadata (`struct tw_rx_meta`).
    pub rx_stamps: bool,
    /// Ports a kernel socket may hold on our addresses: frames to them are checked against
    /// the kernel's sockets (and passed to the kernel when one owns them); others are not.
    pub kernel_ports: Vec<u16>,
}

impl SteerConfig {
    pub(crate) fn to_raw(&self) -> Result<RawSteerCfg, SteerError> {
        let too_many = |what: &str, n: usize, max: usize| {
            SteerError::new(
                "steering configuration",
                None,
                Some(format!("{n} {what}, the XDP program holds at most {max}")),
                None,
            )
        };
        let n4 = self.v4_entries().len();
        if n4 > MAX_ADDR_ENTRIES {
            return Err(too_many(
                "IPv4 addresses and prefixes",
                n4,
                MAX_ADDR_ENTRIES,
            ));
        }
        let n6 = self.v6_entries().len();
        if n6 > MAX_ADDR_ENTRIES {
            return Err(too_many(
                "IPv6 addresses and prefixes",
                n6,
                MAX_ADDR_ENTRIES,
            ));
        }
        if self.listen_ports.len() > MAX_LISTEN {
            return Err(too_many(
                "listen ports",
                self.listen_ports.len(),
                MAX_LISTEN,
            ));
        }
        if self.port_lo > self.port_hi {
            return Err(SteerError::new(
                "steering configuration",
                None,
                Some(format!(
                    "port range {}..={} is reversed",
                    self.port_lo, self.port_hi
                )),
                None,
            ));
        }
        let arp = self.v4_entries().iter().any(|e| e.2 & ADDR_NEIGH != 0);
        let mut r = RawSteerCfg {
            listen_ports: [0; MAX_LISTEN],
            port_lo: self.port_lo,
            port_hi: self.port_hi,
            n_listen: self.listen_ports.len() as u8,
            _pad0: [0; 3],
            flags: CFG_ENABLED
                | if self.rx_stamps { CFG_RX_STAMP } else { 0 }
                | if arp { CFG_ARP } else { 0 },
            _pad: 0,
        };
        r.listen_ports[..self.listen_ports.len()].copy_from_slice(&self.listen_ports);
        Ok(r)
    }

    /// The `tw_v4` trie: (prefix length, address, `TW_ADDR_*` bits). TCP is ours for
    /// `addrs_v4` and the prefix; ARP for `arp_v4` and the prefix except `addrs_v4` (the
    /// kernel's own addresses inside it).
    pub(crate) fn v4_entries(&self) -> Vec<(u8, [u8; 4], u32)> {
        let mut e: std::collections::BTreeMap<(u8, [u8; 4]), u32> = Default::default();
        if let Some((net, len)) = self.prefix_v4 {
            let m = v4_mask(len);
            if m != 0 {
                let net = (u32::from(net) & m).to_be_bytes();
                e.insert((len.min(32), net), ADDR_TCP | ADDR_NEIGH);
            }
        }
        let listed: std::collections::HashSet<&Ipv4Addr> = self.addrs_v4.iter().collect();
        let emulated: std::collections::HashSet<&Ipv4Addr> = self.arp_v4.iter().collect();
        for a in self.addrs_v4.iter().chain(&self.arp_v4) {
            let tcp = listed.contains(a) || self.in_prefix(*a);
            let arp = (self.in_prefix(*a) && !listed.contains(a)) || emulated.contains(a);
            let f = if tcp { ADDR_TCP } else { 0 } | if arp { ADDR_NEIGH } else { 0 };
            e.insert((32, a.octets()), f);
        }
        e.into_iter().map(|((l, a), f)| (l, a, f)).collect()
    }

    /// The longest-prefix match of `a` in `v4_entries` (the program's `v4_flags`).
    fn v4_flags(&self, a: Ipv4Addr) -> u32 {
        let a = u32::from(a);
        self.v4_entries()
            .into_iter()
            .filter(|(len, net, _)| a & v4_mask(*len) == u32::from_be_bytes(*net))
            .max_by_key(|(len, _, _)| *len)
            .map_or(0, |(_, _, f)| f)
    }

    /// The `tw_v6` trie: (prefix length, address, `TW_ADDR_*` bits), one entry per prefix.
    pub(crate) fn v6_entries(&self) -> Vec<(u8, [u8; 16], u32)> {
        let mut e: std::collections::BTreeMap<(u8, [u8; 16]), u32> = Default::default();
        if let Some((net, len)) = self.prefix_v6 {
            let len = len.min(128);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len as u32)
            };
            let net = (u128::from(net) & mask).to_be_bytes();
            *e.entry((len, net)).or_default() |= ADDR_TCP | ADDR_NEIGH;
        }
        for a in &self.addrs_v6 {
            *e.entry((128, a.octets())).or_default() |= ADDR_TCP;
        }
        for a in &self.nd_v6 {
            *e.entry((128, a.octets())).or_default() |= ADDR_TCP | ADDR_NEIGH;
        }
        e.into_iter().map(|((l, a), f)| (l, a, f)).collect()
    }

    /// The longest-prefix match of `a` in `v6_entries` (the program's `v6_flags`).
    fn v6_flags(&self, a: [u8; 16]) -> u32 {
        let a = u128::from_be_bytes(a);
        self.v6_entries()
            .into_iter()
            .filter(|(len, net, _)| {
                let m = if *len == 0 {
                    0
                } else {
                    u128::MAX << (128 - *len as u32)
                };
                a & m == u128::from_be_bytes(*net)
            })
            .max_by_key(|(len, _, _)| *len)
            .map_or(0, |(_, _, f)| f)
    }
}

/// The netmask of a prefix length (0 for /0).
fn v4_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// Where the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAttachMode {
    /// In the driver (the one to use; veth supports it).
    Native,
    /// Generic (SKB) mode: slow, and off by one queue on veth; for diagnosis.
    Generic,
}

impl XdpAttachMode {
    fn name(self) -> &'static str {
        match self {
            XdpAttachMode::Native => "native",
            XdpAttachMode::Generic => "generic",
        }
    }
}

crate::counters! {
    /// Steering program counters, summed over CPUs.
    pub struct SteerCounters {
        /// TCP frames redirected to an XSK.
        pub redirected,
        /// ARP frames for emulated addresses redirected to an XSK.
        pub arp_redirected,
        /// Ours, but no XSK registered on the receiving queue: dropped.
        pub dropped_no_socket,
        /// Not ours: passed to the kernel.
        pub passed,
        /// IPv4 and IPv6 fragments for us: passed to the kernel (reassembly is its job).
        pub passed_fragments,
        /// Our address and port, but a kernel socket's (its connection, or a listener for a
        /// SYN): passed to the kernel.
        pub passed_kernel_socket,
        /// Truncated or malformed headers: passed.
        pub parse_errors,
        /// Frames seen while no configuration was set: passed.
        pub unconfigured,
        /// Redirected without an RX timestamp: the driver refused XDP metadata
        /// (`bpf_xdp_adjust_meta`), so the workers used their loop clock for those frames.
        pub no_rx_timestamp,
        /// Neighbor Solicitations for emulated IPv6 addresses redirected to an XSK.
        pub nd_redirected,
        /// --offload xdp (server): SYNs answered with a cookie SYN-ACK by XDP_TX.
        pub xdp_synacks,
        /// Final ACKs whose cookie XDP validated: accepted there, never seen by a worker.
        pub xdp_accepted,
        /// Peer FINs answered with FIN|ACK by XDP_TX.
        pub xdp_fins_answered,
        /// ACKs of XDP's FIN|ACK: connections closed in XDP.
        pub xdp_closed,
        /// Peer RSTs to a stateless connection (no request phase): dropped in XDP.
        pub xdp_rsts,
        /// IP or TCP checksum wrong: dropped in XDP.
        pub xdp_bad_checksum,
        /// ACKs whose cookie is not ours or has expired (or of a connection the engine took over):
        /// left to the engine, which counts `cookie_invalid` and resets where it holds nothing.
        pub xdp_bad_cookie,
        /// Answers the frame could not be resized for (left to the engine, or dropped).
        pub xdp_tx_errors,
        /// Segments with data or options XDP does not take: left to the engine.
        pub xdp_to_engine,
        /// Of `xdp_accepted`, while the engine serves requests (it accepts those
        /// connections again when their request arrives).
        pub xdp_accepted_data_phase,
        /// --offload xdp (client): SYN-ACKs with our ISN answered with ACK|FIN by XDP_TX.
        pub xdp_client_established,
        /// SYN-ACKs to our source ports whose ack is not our ISN + 1 (or without the
        /// timestamps that carry it): left to the engine.
        pub xdp_client_bad_synack,
        /// Peer FINs after our ACK|FIN answered with the last ACK by XDP_TX.
        pub xdp_client_fins_answered,
        /// Peer ACKs of our FIN: consumed.
        pub xdp_client_fins_acked,
        /// Peer FIN|PSHs with no data (threeway's XDP server, which keeps no state waiting
        /// for a last ACK): consumed, not answered.
        pub xdp_client_fins_stateless,
    }
}

/// The attached steering program. Dropping it detaches the program.
pub struct Steer {
    ebpf: Ebpf,
    ifname: String,
    mode: XdpAttachMode,
}

/// The errno behind an aya error, searching its source chain.
fn errno_of(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && let Some(n) = io.raw_os_error()
        {
            return Some(n);
        }
        if let Some(nl) = e.downcast_ref::<aya::sys::NetlinkError>()
            && let Some(n) = nl.raw_os_error()
        {
            return Some(n);
        }
        if let Some(ProgramError::LoadError { io_error, .. }) = e.downcast_ref::<ProgramError>() {
            return io_error.raw_os_error();
        }
        if let Some(ProgramError::SyscallError(s)) = e.downcast_ref::<ProgramError>() {
            return s.io_error.raw_os_error();
        }
        cur = e.source();
    }
    None
}

/// The error text with its sources, for the "why" part.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn steer_err(
    what: String,
    e: &(dyn std::error::Error + 'static),
    hint: Option<String>,
) -> SteerError {
    let errno = errno_of(e);
    let why = Some(chain_text(e));
    SteerError::new(what, errno.map(io::Error::from_raw_os_error), why, hint)
}

impl Steer {
    /// Loads the program, writes `cfg`, and attaches it to `ifname` (in the calling thread's
    /// network namespace).
    pub fn attach(
        ifname: &str,
        mode: XdpAttachMode,
        cfg: &SteerConfig,
    ) -> Result<Steer, SteerError> {
        cfg.to_raw()?;
        iface::index(ifname).map_err(|e| {
            SteerError::new(
                format!("XDP attach on {ifname}"),
                e.errno().map(io::Error::from_raw_os_error),
                Some("no such interface in this network namespace".into()),
                Some("check the name with `ip link`".into()),
            )
        })?;
        let mut steer = Steer {
            ebpf: load(cfg)?,
            ifname: ifname.into(),
            mode,
        };
        let prog = program(&mut steer.ebpf)?;
        let aya_mode = match mode {
            XdpAttachMode::Native => XdpMode::Driver,
            XdpAttachMode::Generic => XdpMode::Skb,
        };
        prog.attach(ifname, aya_mode).map_err(|e| {
            let what = format!("XDP attach on {ifname} in {} mode", mode.name());
            let hint = match errno_of(&e) {
                Some(libc::EBUSY) | Some(libc::EEXIST) => Some(format!(
                    "another XDP program is attached to {ifname}: `ip link set dev {ifname} xdp off`"
                )),
                Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) if mode == XdpAttachMode::Native => {
                    Some("the driver lacks native XDP; try --xdp-mode generic".into())
                }
                Some(libc::ENOSPC) => Some(
                    "veth: this end has fewer RX queues than its peer has TX queues; \
                     create the pair with equal numtxqueues/numrxqueues"
                        .into(),
                ),
                Some(libc::E2BIG) | Some(libc::ERANGE) => {
                    Some("the MTU is too large for XDP on this driver; lower it (1500) or try --xdp-mode generic".into())
                }
                Some(libc::EPERM) => Some("run as root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)".into()),
                _ => None,
            };
            steer_err(what, &e, hint)
        })?;
        Ok(steer)
    }

    /// Puts `xsk_fd` (an `Xsk` bound on this interface and `queue`) in the XSKMAP.
    pub fn register(&mut self, queue: u32, xsk_fd: RawFd) -> Result<(), SteerError> {
        let what = format!(
            "registering the AF_XDP socket of {} queue {queue}",
            self.ifname
        );
        if queue >= MAX_QUEUES {
            return Err(SteerError::new(
                what,
                None,
                Some(format!("the XDP program supports queues 0..{MAX_QUEUES}")),
                None,
            ));
        }
        let map = self
            .ebpf
            .map_mut(MAP_XSKS)
            .ok_or_else(|| missing(MAP_XSKS))?;
        let mut xsks = XskMap::try_from(map).map_err(|e| steer_err(what.clone(), &e, None))?;
        xsks.set(queue, xsk_fd, 0)
            .map_err(|e| steer_err(what, &e, None))
    }

    /// Removes the socket of `queue` (its frames are then dropped until one is registered).
    pub fn unregister(&mut self, queue: u32) -> Result<(), SteerError> {
        let what = format!("unregistering {} queue {queue}", self.ifname);
        let map = self
            .ebpf
            .map_mut(MAP_XSKS)
            .ok_or_else(|| missing(MAP_XSKS))?;
        let mut xsks = XskMap::try_from(map).map_err(|e| steer_err(what.clone(), &e, None))?;
        xsks.unset(queue).map_err(|e| steer_err(what, &e, None))
    }

    /// Rewrites the configuration map (no reload, no detach).
    pub fn configure(&mut self, cfg: &SteerConfig) -> Result<(), SteerError> {
        let raw = cfg.to_raw()?;
        write_addrs(&mut self.ebpf, cfg)?;
        write_cfg(&mut self.ebpf, &raw)?;
        write_kernel_ports(&mut self.ebpf, &cfg.kernel_ports)
    }

    /// Replaces the ports a kernel socket may hold (see `SteerConfig::kernel_ports`).
    pub fn set_kernel_ports(&mut self, ports: &[u16]) -> Result<(), SteerError> {
        write_kernel_ports(&mut self.ebpf, ports)
    }

    /// Turns the handshake offload on with `h`, or off (`None`). Set before the workers'
    /// sockets are registered, so that no SYN is answered twice.
    pub fn set_handshake(&mut self, h: Option<&HsConfig>) -> Result<(), SteerError> {
        super::handshake::write_hs(&mut self.ebpf, h)
    }

    /// The client offload's established marks, mapped for the workers (`HsMarks`).
    pub fn client_marks(&self) -> Result<super::HsMarks, SteerError> {
        super::handshake::map_marks(&self.ebpf)
    }

    /// The client offload's handshake latency buckets, running totals (`read_latency`).
    pub fn client_latency(
        &self,
        series: crate::tcp::offload::LatSeries,
    ) -> Result<Vec<u64>, SteerError> {
        super::handshake::read_latency(&self.ebpf, series)
    }

    /// Program counters summed over CPUs.
    pub fn counters(&self) -> Result<SteerCounters, SteerError> {
        read_counters(&self.ebpf)
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn mode(&self) -> XdpAttachMode {
        self.mode
    }
}

fn write_cfg(ebpf: &mut Ebpf, raw: &RawSteerCfg) -> Result<(), SteerError> {
    let map = ebpf.map_mut(MAP_CFG).ok_or_else(|| missing(MAP_CFG))?;
    let mut arr: Array<_, RawSteerCfg> =
        Array::try_from(map).map_err(|e| steer_err(format!("opening map {MAP_CFG}"), &e, None))?;
    arr.set(0, raw, 0)
        .map_err(|e| steer_err(format!("writing map {MAP_CFG}"), &e, None))
}

/// Both address tries from `cfg` (see `SteerConfig::v4_entries`, `v6_entries`).
fn write_addrs(ebpf: &mut Ebpf, cfg: &SteerConfig) -> Result<(), SteerError> {
    write_trie(ebpf, MAP_V4, &cfg.v4_entries())?;
    write_trie(ebpf, MAP_V6, &cfg.v6_entries())
}

/// Replaces the entries of the trie `name` with `entries` (prefix length, address, bits).
fn write_trie<const N: usize>(
    ebpf: &mut Ebpf,
    name: &str,
    entries: &[(u8, [u8; N], u32)],
) -> Result<(), SteerError>
where
    [u8; N]: aya::Pod,
{
    let map = ebpf.map_mut(name).ok_or_else(|| missing(name))?;
    let mut trie: LpmTrie<_, [u8; N], u32> =
        LpmTrie::try_from(map).map_err(|e| steer_err(format!("opening map {name}"), &e, None))?;
    let old: Vec<LpmKey<[u8; N]>> = trie.keys().filter_map(Result::ok).collect();
    for k in &old {
        let _ = trie.remove(k); // gone already: nothing to do
    }
    for (len, addr, flags) in entries {
        trie.insert(&LpmKey::new(u32::from(*len), *addr), flags, 0)
            .map_err(|e| steer_err(format!("writing map {name}"), &e, None))?;
    }
    Ok(())
}

fn write_kernel_ports(ebpf: &mut Ebpf, ports: &[u16]) -> Result<(), SteerError> {
    let mut words = vec![0u64; KPORT_WORDS as usize];
    for p in ports {
        words[*p as usize / 64] |= 1 << (p % 64);
    }
    let map = ebpf
        .map_mut(MAP_KPORTS)
        .ok_or_else(|| missing(MAP_KPORTS))?;
    let mut arr: Array<_, u64> = Array::try_from(map)
        .map_err(|e| steer_err(format!("opening map {MAP_KPORTS}"), &e, None))?;
    for (i, w) in words.iter().enumerate() {
        arr.set(i as u32, w, 0)
            .map_err(|e| steer_err(format!("writing map {MAP_KPORTS}"), &e, None))?;
    }
    Ok(())
}

fn program(ebpf: &mut Ebpf) -> Result<&mut Xdp, SteerError> {
    ebpf.program_mut(PROG)
        .ok_or_else(|| {
            SteerError::new(
                "finding the XDP program",
                None,
                Some(format!("`{PROG}` missing from steer.bpf.o")),
                None,
            )
        })?
        .try_into()
        .map_err(|e: ProgramError| steer_err("finding the XDP program".into(), &e, None))
}

/// Loads the object, writes `raw` (before anything can run it: the program never runs
/// unconfigured) and loads the program into the kernel (the verifier runs here).
fn load(cfg: &SteerConfig) -> Result<Ebpf, SteerError> {
    let raw = &cfg.to_raw()?;
    let mut ebpf = Ebpf::load(STEER_OBJ).map_err(|e| {
        let hint = matches!(errno_of(&e), Some(libc::EPERM)).then(|| {
            "run as root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW); check RLIMIT_MEMLOCK on old kernels".into()
        });
        steer_err("loading the XDP steering object (maps)".into(), &e, hint)
    })?;
    write_addrs(&mut ebpf, cfg)?;
    write_cfg(&mut ebpf, raw)?;
    write_kernel_ports(&mut ebpf, &cfg.kernel_ports)?;
    program(&mut ebpf)?.load().map_err(|e| {
        let hint = match errno_of(&e) {
            Some(libc::EPERM) => Some("run as root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)".into()),
            _ => Some("the verifier rejected bpf/steer.bpf.c: see the log above".into()),
        };
        steer_err("loading the XDP steering program".into(), &e, hint)
    })?;
    Ok(ebpf)
}

fn read_counters(ebpf: &Ebpf) -> Result<SteerCounters, SteerError> {
    let map = ebpf.map(MAP_STATS).ok_or_else(|| missing(MAP_STATS))?;
    let stats: PerCpuArray<_, u64> = PerCpuArray::try_from(map)
        .map_err(|e| steer_err(format!("opening map {MAP_STATS}"), &e, None))?;
    let get = |i: u32| -> Result<u64, SteerError> {
        let v = stats
            .get(&i, 0)
            .map_err(|e| steer_err(format!("reading map {MAP_STATS}"), &e, None))?;
        Ok(v.iter().sum())
    };
    Ok(SteerCounters {
        redirected: get(STAT_REDIRECTED)?,
        arp_redirected: get(STAT_ARP_REDIRECTED)?,
        dropped_no_socket: get(STAT_NO_SOCKET)?,
        passed: get(STAT_PASSED)?,
        passed_fragments: get(STAT_PASSED_FRAG)?,
        passed_kernel_socket: get(STAT_PASSED_SOCKET)?,
        parse_errors: get(STAT_PARSE_ERROR)?,
        unconfigured: get(STAT_DISABLED)?,
        no_rx_timestamp: get(STAT_NO_META)?,
        nd_redirected: get(STAT_ND_REDIRECTED)?,
        xdp_synacks: get(STAT_HS_FIRST)?,
        xdp_accepted: get(STAT_HS_FIRST + 1)?,
        xdp_fins_answered: get(STAT_HS_FIRST + 2)?,
        xdp_closed: get(STAT_HS_FIRST + 3)?,
        xdp_rsts: get(STAT_HS_FIRST + 4)?,
        xdp_bad_checksum: get(STAT_HS_FIRST + 5)?,
        xdp_bad_cookie: get(STAT_HS_FIRST + 6)?,
        xdp_tx_errors: get(STAT_HS_FIRST + 7)?,
        xdp_to_engine: get(STAT_HS_FIRST + 8)?,
        xdp_accepted_data_phase: get(STAT_HS_FIRST + 9)?,
        xdp_client_established: get(STAT_HS_FIRST + 10)?,
        xdp_client_bad_synack: get(STAT_HS_FIRST + 11)?,
        xdp_client_fins_answered: get(STAT_HS_FIRST + 12)?,
        xdp_client_fins_acked: get(STAT_HS_FIRST + 13)?,
        xdp_client_fins_stateless: get(STAT_HS_FIRST + 14)?,
    })
}

fn missing(name: &str) -> SteerError {
    SteerError::new(
        "opening the steering maps",
        None,
        Some(format!("map `{name}` missing from steer.bpf.o")),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn xsk_steer_raw_cfg_layout() {
        // Must match bpf/shared.h (its _Static_asserts pin the same numbers).
        assert_eq!(size_of::<RawSteerCfg>(), 32);
        assert_eq!(offset_of!(RawSteerCfg, listen_ports), 0);
        assert_eq!(offset_of!(RawSteerCfg, port_lo), 16);
        assert_eq!(offset_of!(RawSteerCfg, port_hi), 18);
        assert_eq!(offset_of!(RawSteerCfg, n_listen), 20);
        assert_eq!(offset_of!(RawSteerCfg, flags), 24);
        assert_eq!(offset_of!(RawSteerCfg, _pad), 28);
    }

    #[test]
    fn xsk_steer_cfg_encoding_and_limits() {
        let cfg = SteerConfig {
            addrs_v4: vec![Ipv4Addr::new(198, 18, 0, 2)],
            port_lo: 40000,
            port_hi: 40999,
            listen_ports: vec![80, 443],
            arp_v4: vec![Ipv4Addr::new(198, 18, 0, 9)],
            ..Default::default()
        };
        let r = cfg.to_raw().unwrap();
        assert_eq!(r.n_listen, 2);
        assert_eq!(&r.listen_ports[..2], &[80, 443]);
        assert_eq!(r.flags, CFG_ENABLED | CFG_ARP);
        assert_eq!(
            cfg.v4_entries(),
            vec![
                (32, [198, 18, 0, 2], ADDR_TCP),
                (32, [198, 18, 0, 9], ADDR_NEIGH)
            ]
        );
        // A prefix: network order, host bits cleared; the kernel's own address inside it is
        // TCP only (its ARP stays with the kernel).
        let p = SteerConfig {
            prefix_v4: Some((Ipv4Addr::new(198, 19, 7, 9), 16)),
            addrs_v4: vec![Ipv4Addr::new(198, 19, 0, 1)],
            ..Default::default()
        };
        assert_eq!(
            p.v4_entries(),
            vec![
                (16, [198, 19, 0, 0], ADDR_TCP | ADDR_NEIGH),
                (32, [198, 19, 0, 1], ADDR_TCP)
            ]
        );
        assert_eq!(
            p.v4_flags(Ipv4Addr::new(198, 19, 200, 1)),
            ADDR_TCP | ADDR_NEIGH
        );
        assert_eq!(p.v4_flags(Ipv4Addr::new(198, 20, 0, 1)), 0);
        // No fixed count: 1000 listed addresses are fine, past the trie's size is an error.
        let many = SteerConfig {
            addrs_v4: (0..1000u32)
                .map(|i| Ipv4Addr::from(0xc612_0000 + i))
                .collect(),
            ..Default::default()
        };
        assert!(many.to_raw().is_ok());
        let bad = SteerConfig {
            addrs_v4: (0..70_000u32)
                .map(|i| Ipv4Addr::from(0xc612_0000 + i))
                .collect(),
            ..Default::default()
        };
        assert!(
            bad.to_raw()
                .unwrap_err()
                .to_string()
                .contains("at most 65536")
        );
        let rev = SteerConfig {
            port_lo: 5,
            port_hi: 4,
            ..Default::default()
        };
        assert!(rev.to_raw().is_err());
    }

    #[test]
    fn xsk_steer_v6_trie_longest_prefix_wins() {
        let own: Ipv6Addr = "2001:2:0:1::1".parse().unwrap();
        let cfg = SteerConfig {
            prefix_v6: Some(("2001:2:0:1::99".parse().unwrap(), 64)),
            addrs_v6: vec![own],
            nd_v6: vec!["2001:2:0:9::5".parse().unwrap()],
            ..Default::default()
        };
        let e = cfg.v6_entries();
        assert_eq!(e.len(), 3);
        assert!(e.contains(&(64, "2001:2:0:1::".parse::<Ipv6Addr>().unwrap().octets(), 3)));
        assert_eq!(
            cfg.v6_flags(own.octets()),
            ADDR_TCP,
            "the kernel's own: TCP, no NDP"
        );
        let emu: Ipv6Addr = "2001:2:0:1::abcd".parse().unwrap();
        assert_eq!(cfg.v6_flags(emu.octets()), ADDR_TCP | ADDR_NEIGH);
        let other: Ipv6Addr = "2001:2:0:2::1".parse().unwrap();
        assert_eq!(cfg.v6_flags(other.octets()), 0);
        let many = SteerConfig {
            addrs_v6: (0..70_000u128).map(Ipv6Addr::from).collect(),
            ..Default::default()
        };
        assert!(
            many.to_raw().is_err(),
            "past the trie's size: a clear error"
        );
    }

    #[test]
    fn xsk_steer_object_is_embedded() {
        assert!(STEER_OBJ.starts_with(b"\x7fELF"));
    }
}
