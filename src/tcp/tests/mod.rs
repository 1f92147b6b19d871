//! Per-state packet tests. Each test feeds segments built from `TcpRepr` templates
//! (struct-update syntax) with `send!` and asserts the exact segment the engine answers
//! with `recv!` (the whole parsed `TcpRepr`, options included).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::wire::{
    ChecksumMode, EtherType, EthernetRepr, IpRepr, Ipv4Repr, MacAddr, SeqNum, TcpFlags, TcpFrame,
    TcpOptions, TcpRepr, ipv4::PROTO_TCP,
};

use super::cookie::{self, CookieOpts};
use super::isn::isn;
use super::output::ts_now;
use super::table::Key;
use super::{
    ClientConfig, CloseMode, Common, CookieMode, Engine, EngineConfig, MAX_FRAME, Nanos, Role,
    RoleConfig, ServerConfig, SynOptions, Transmit,
};

mod close;
mod cookies;
mod data;
mod fastpath;
mod ipv6;
mod rfc5961;
mod robust;
mod syn_received;
mod syn_sent;

pub const C_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const S_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const C_PORT: u16 = 40000;
pub const S_PORT: u16 = 80;
pub const C_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
pub const S_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
pub const MS: Nanos = 1_000_000;
/// Start of simulated time in tests (non-zero so TS values are non-trivial).
pub const T0: Nanos = 5_000 * MS;

pub const SYN: u8 = TcpFlags::SYN;
pub const ACK: u8 = TcpFlags::ACK;
pub const RST: u8 = TcpFlags::RST;
pub const FIN: u8 = TcpFlags::FIN;
pub const PSH: u8 = TcpFlags::PSH;

pub const NO_OPTS: TcpOptions = TcpOptions {
    mss: None,
    wscale: None,
    sack_permitted: false,
    timestamps: None,
};

/// Template: every field zero except the window; ports are filled in by the harness.
pub const SEG: TcpRepr<'static> = TcpRepr {
    src_port: 0,
    dst_port: 0,
    seq: SeqNum(0),
    ack: SeqNum(0),
    flags: TcpFlags(0),
    window: 0xffff,
    urgent: 0,
    options: NO_OPTS,
    payload: &[],
};

/// The harness's engine: fast timers, a small table, the harness addresses.
pub fn base_cfg(role: Role) -> EngineConfig {
    let (local_mac, peer_mac) = match role {
        Role::Client => (C_MAC, S_MAC),
        Role::Server => (S_MAC, C_MAC),
    };
    let common = Common {
        local_mac,
        peer_mac,
        rto: 10 * MS,
        rto_max: 80 * MS,
        close: CloseMode::Rst,
        time_wait: 100 * MS,
        data_timeout: 500 * MS,
        capacity: 64,
        secret: *b"0123456789abcdef",
        ..Common::default()
    };
    let role = match role {
        Role::Client => RoleConfig::Client(ClientConfig {
            sources: vec![C_IP],
            ports: (C_PORT..=C_PORT + 99).collect(),
            destinations: vec![SocketAddrV4::new(S_IP, S_PORT)],
            syn_retries: 2,
            ..ClientConfig::default()
        }),
        Role::Server => RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, S_PORT)],
            cookie_threshold: 1000,
            synack_retries: 2,
            ..ServerConfig::default()
        }),
    };
    EngineConfig { common, role }
}

/// `c` changed by `f`: one test's variation of a base configuration.
pub fn tweak(mut c: EngineConfig, f: impl FnOnce(&mut EngineConfig)) -> EngineConfig {
    f(&mut c);
    c
}

/// Collects frames; `full` simulates a full TX ring.
pub struct Tx {
    pub frames: VecDeque<Vec<u8>>,
    buf: Vec<u8>,
    pub full: bool,
}

impl Tx {
    pub fn new() -> Tx {
        Tx {
            frames: VecDeque::new(),
            buf: vec![0; MAX_FRAME],
            full: false,
        }
    }
}

impl Transmit for Tx {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        if self.full {
            None
        } else {
            Some(&mut self.buf[..])
        }
    }
    fn commit(&mut self, len: usize) {
        self.frames.push_back(self.buf[..len].to_vec());
    }
}

/// One engine, one peer endpoint, a clock.
pub struct H {
    pub e: Engine,
    pub tx: Tx,
    pub now: Nanos,
    pub local: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
}

impl H {
    pub fn new(cfg: EngineConfig) -> H {
        let (local, remote) = match cfg.kind() {
            Role::Client => ((C_IP, C_PORT), (S_IP, S_PORT)),
            Role::Server => ((S_IP, S_PORT), (C_IP, C_PORT)),
        };
        let e = match Engine::new(cfg) {
            Ok(e) => e,
            Err(m) => panic!("config: {m}"),
        };
        H {
            e,
            tx: Tx::new(),
            now: T0,
            local,
            remote,
        }
    }

    pub fn client() -> H {
        H::new(base_cfg(Role::Client))
    }

    pub fn server() -> H {
        H::new(base_cfg(Role::Server))
    }

    pub fn key(&self) -> Key {
        Key {
            local_ip: u32::from(self.local.0),
            remote_ip: u32::from(self.remote.0),
            local_port: self.local.1,
            remote_port: self.remote.1,
        }
    }

    /// Our ISS for the harness tuple at `now` (RFC 6528 with the engine's key).
    pub fn iss(&self, now: Nanos) -> SeqNum {
        SeqNum(isn(self.e.isn_key, &self.key(), now))
    }

    /// The SYN cookie the server sends for a SYN with `irs` and negotiated `o`.
    pub fn cookie(&self, irs: SeqNum, o: &CookieOpts) -> SeqNum {
        SeqNum(cookie::encode(
            self.e.cookie_key,
            &crate::tcp::isn::key_words(&self.key()),
            irs.0,
            self.now,
            o,
        ))
    }

    pub fn ts(&self) -> u32 {
        ts_now(self.now)
    }

    /// A frame from the remote endpoint to us carrying `seg` (ports filled in when 0).
    pub fn frame_for(&self, seg: &TcpRepr<'_>) -> Vec<u8> {
        self.frame_from(seg, C_MAC)
    }

    /// `frame_for`, sent from the Ethernet address `mac`.
    pub fn frame_from(&self, seg: &TcpRepr<'_>, mac: MacAddr) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: if seg.src_port == 0 {
                self.remote.1
            } else {
                seg.src_port
            },
            dst_port: if seg.dst_port == 0 {
                self.local.1
            } else {
                seg.dst_port
            },
            ..*seg
        };
        let f = TcpFrame {
            eth: EthernetRepr {
                dst: S_MAC,
                src: mac,
                vlan: None,
                ethertype: EtherType::IPV4,
            },
            ip: IpRepr::V4(Ipv4Repr {
                src: self.remote.0,
                dst: self.local.0,
                protocol: PROTO_TCP,
                payload_len: 0,
                ttl: 64,
                ident: 0,
                dont_frag: true,
                dscp_ecn: 0,
            }),
            tcp,
        };
        let mut buf = vec![0u8; f.buffer_len()];
        let n = f.emit(&mut buf).expect("test frame fits");
        buf.truncate(n);
        buf
    }

    #[track_caller]
    pub fn input(&mut self, seg: &TcpRepr<'_>) {
        let f = self.frame_for(seg);
        self.e.handle_frame(self.now, &f, &mut self.tx);
        self.check();
    }

    pub fn open(&mut self) {
        let now = self.now;
        self.e.open(now, now, &mut self.tx).expect("open");
        self.check();
    }

    /// Advances the clock to `t` and runs timers.
    pub fn advance_to(&mut self, t: Nanos) {
        self.now = t;
        self.e.handle_timeout(t, &mut self.tx);
        self.check();
    }

    pub fn advance(&mut self, d: Nanos) {
        self.advance_to(self.now + d);
    }

    #[track_caller]
    /// The latency recorded since the last call.
    pub fn latency(&mut self) -> crate::tcp::Latency {
        let mut l = crate::tcp::Latency::new();
        self.e.take_latency(&mut l);
        l
    }

    pub fn check(&self) {
        if let Err(m) = self.e.check_invariants() {
            panic!("invariants: {m}");
        }
    }

    /// Asserts the next frame we sent is exactly `want` (ports filled in when 0) to the
    /// remote endpoint.
    #[track_caller]
    pub fn expect(&mut self, want: &TcpRepr<'_>) {
        let Some(f) = self.tx.frames.pop_front() else {
            panic!("expected {want:?}, nothing sent");
        };
        let got = match TcpFrame::parse(&f, ChecksumMode::Verify) {
            Ok(g) => g,
            Err(e) => panic!("our frame does not parse: {e}"),
        };
        let want = TcpRepr {
            src_port: if want.src_port == 0 {
                self.local.1
            } else {
                want.src_port
            },
            dst_port: if want.dst_port == 0 {
                self.remote.1
            } else {
                want.dst_port
            },
            ..*want
        };
        assert_eq!(got.tcp, want);
        match got.ip {
            IpRepr::V4(ip) => {
                assert_eq!((ip.src, ip.dst, ip.ttl), (self.local.0, self.remote.0, 64));
            }
            IpRepr::V6(_) => panic!("IPv6 frame"),
        }
    }

    #[track_caller]
    pub fn expect_nothing(&mut self) {
        if let Some(f) = self.tx.frames.pop_front() {
            let got = TcpFrame::parse(&f, ChecksumMode::Verify).map(|g| g.tcp);
            panic!("expected nothing, sent {got:?}");
        }
    }

    pub fn drops(&self, r: super::DropReason) -> u64 {
        self.e.stats().drop_count(r)
    }

    pub fn state(&self) -> Option<&'static str> {
        self.e.state_of(self.local, self.remote)
    }
}

/// `send!(h, TcpRepr { .. })`: the remote endpoint sends a segment to the engine.
macro_rules! send {
    ($h:expr, $seg:expr) => {
        $h.input(&$seg)
    };
}

/// `recv!(h, TcpRepr { .. })`: the engine's next frame is exactly this segment;
/// `recv!(h)`: it sent nothing.
macro_rules! recv {
    ($h:expr) => {
        $h.expect_nothing()
    };
    ($h:expr, $seg:expr) => {
        $h.expect(&$seg)
    };
}

pub(crate) use {recv, send};

/// Our SYN options with TS = `ts` (the default `SynOptions`).
pub fn syn_opts(ts: u32) -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        wscale: Some(7),
        sack_permitted: true,
        timestamps: Some((ts, 0)),
    }
}

/// Timestamp-only options (non-SYN segments when TS is negotiated).
pub fn ts_opts(val: u32, ecr: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some((val, ecr)),
        ..NO_OPTS
    }
}
