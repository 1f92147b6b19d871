//! The sans-IO TCP handshake engine: active and passive open, connection table, timers,
//! SYN cookies, data and close. No I/O and no clock reads: every entry point takes `now`
//! (nanoseconds on a monotonic clock the caller chooses) and frames go out through
//! [`Transmit`].
//!
//! Call pattern (one engine per worker):
//! - [`Engine::handle_frame`] for every received Ethernet frame that this worker owns
//!   (see [`owner_of`]).
//! - [`Engine::open`] when the pacer says a new client connection is due.
//! - [`Engine::handle_timeout`] whenever `now >= poll_timeout()`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use crate::wire::{ChecksumMode, MacAddr};

mod active_open;
mod addrs6;
mod close;
pub(crate) mod cookie;
mod data;
mod engine;
mod established;
mod fastpath;
mod http;
pub(crate) mod isn;
mod marks;
mod neighbours;
pub mod offload;
mod output;
mod passive_open;
mod stamps;
mod stats;
mod table;
mod tally;
mod tcb;
mod timer;
mod tuple;
mod warm;

#[cfg(test)]
mod tests;

pub use data::{ResponseEnd, XFER_BYTES};
pub use engine::{Engine, MAX_DATA, XdpMarks};
pub use stats::{DropReason, LATENCY_MAX, Latency, Stats};
pub(crate) use stats::{histogram, record_n};
pub use tcb::State;

/// `size_of` of one TCB (reported by the bench).
pub const TCB_BYTES: usize = std::mem::size_of::<tcb::Tcb>();

/// Nanoseconds on the caller's monotonic clock.
pub type Nanos = u64;

/// Largest frame the engine writes (Ethernet + VLAN + IPv4/6 + TCP + options + data).
pub const MAX_FRAME: usize = 2048;

/// Where the engine writes outbound frames (a UMEM frame, a Vec in tests).
pub trait Transmit {
    /// A writable buffer of at least `MAX_FRAME` bytes for one frame, or `None` when the TX
    /// path is full (the engine counts `tx_full` and relies on retransmission). Until
    /// `commit`, every call returns the same buffer (the engine turns an IPv4 frame it just
    /// wrote into IPv6 in place).
    fn buffer(&mut self) -> Option<&mut [u8]>;
    /// Sends the first `len` bytes of the buffer returned by the last `buffer()` call.
    fn commit(&mut self, len: usize);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// How the client ends an established connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// RST right after the handshake (or after the response when there is a request).
    Rst,
    /// FIN: FIN-WAIT-1/2 then TIME-WAIT.
    Fin,
    /// Keep the connection open (`hold`), then RST; the server side: wait for the peer.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieMode {
    Never,
    Always,
    /// Cookies once SYN-RECEIVED entries exceed `cookie_threshold`.
    Auto,
}

/// Options we put in our SYN / SYN-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

impl Default for SynOptions {
    fn default() -> Self {
        SynOptions {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamps: true,
        }
    }
}

/// An engine's configuration: what both roles share, and the role's own part. Built with
/// struct-update syntax from the defaults, e.g.
/// `EngineConfig { common: Common { rto: 10 * MS, ..Common::default() }, ..EngineConfig::client(c) }`.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub common: Common,
    pub role: RoleConfig,
}

#[derive(Clone, Debug)]
pub enum RoleConfig {
    Client(ClientConfig),
    Server(ServerConfig),
}

/// Settings both roles use.
#[derive(Clone, Debug)]
pub struct Common {
    pub local_mac: MacAddr,
    /// Next hop. `MacAddr::ZERO` (a server): each peer's MAC is learned from its frames.
    pub peer_mac: MacAddr,
    /// Next hop for IPv6 (a client; from the kernel's neighbour table): `ZERO` = `peer_mac`.
    pub peer_mac6: MacAddr,
    pub vlan: Option<u16>,
    pub ttl: u8,
    pub checksum: ChecksumMode,
    /// Options we put in our SYN / SYN-ACK. `mss` is the IPv4 value (MTU - 40); IPv6
    /// segments advertise 20 less (MTU - 60, the larger IP header).
    pub syn_options: SynOptions,
    /// Initial RTO for SYN, SYN-ACK and data (RFC 6298 says 1 s; labs use 10 ms+).
    pub rto: Nanos,
    pub rto_max: Nanos,
    /// Client: how established connections end. Server: `Rst` resets connections idle for
    /// `data_timeout`; `None` keeps them.
    pub close: CloseMode,
    /// Client: established connections are kept this long before closing (`CloseMode::None`
    /// keeps them until the run ends when 0).
    pub hold: Nanos,
    pub time_wait: Nanos,
    /// Give up on the request/response exchange after this long (outcome `timeout`).
    pub data_timeout: Nanos,
    /// Connection table capacity (TCBs).
    pub capacity: usize,
    /// Receive window we advertise, bytes (after the SYN: shifted by our window scale).
    /// The default, 65535 << 7, keeps the window field at 0xffff with our default scale.
    pub rcv_window: u32,
    /// Key for ISNs (RFC 6528) and SYN cookies.
    pub secret: [u8; 16],
}

impl Default for Common {
    /// RFC defaults: 1 s RTO, 60 s RTO cap, 1 s TIME-WAIT (a lab's, not 2 MSL), 8 s data
    /// timeout; 64Ki TCBs; checksums verified.
    fn default() -> Self {
        Common {
            local_mac: MacAddr::ZERO,
            peer_mac: MacAddr::ZERO,
            peer_mac6: MacAddr::ZERO,
            vlan: None,
            ttl: 64,
            checksum: ChecksumMode::Verify,
            syn_options: SynOptions::default(),
            rto: 1_000_000_000,
            rto_max: 60_000_000_000,
            close: CloseMode::None,
            hold: 0,
            time_wait: 1_000_000_000,
            data_timeout: 8_000_000_000,
            capacity: 1 << 16,
            rcv_window: 0xffff << 7,
            secret: [0; 16],
        }
    }
}

/// The active side.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub sources: Vec<Ipv4Addr>,
    /// IPv6 sources (for IPv6 destinations; either family may be empty, not both).
    pub sources6: Vec<Ipv6Addr>,
    /// This worker's source ports (replies to them are this worker's; see `PortOwners`).
    pub ports: Vec<u16>,
    /// Used round-robin: `destinations`, then `destinations6`.
    pub destinations: Vec<SocketAddrV4>,
    pub destinations6: Vec<SocketAddrV6>,
    pub syn_retries: u8,
    /// Bytes sent after the handshake (piggybacked on the ACK). Empty = none.
    pub request: Vec<u8>,
    /// The response must start with these bytes (else `bad_response`).
    pub expect: Vec<u8>,
    /// How a response ends (`ResponseEnd`).
    pub response_end: ResponseEnd,
    /// Requests per connection (keep-alive): the next after the previous response.
    pub requests: u32,
    /// Pause between a response and the next request.
    pub think: Nanos,
    /// IPv4 SYNs whose ISN the XDP program can check without a table (`offload::client_isn`,
    /// the client half of `--offload xdp`): the TSval is the intended start in µs and the
    /// ISN a keyed hash of the tuple and that TSval. IPv6 SYNs keep RFC 6528 ISNs.
    pub xdp_isn: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            sources: Vec::new(),
            sources6: Vec::new(),
            ports: Vec::new(),
            destinations: Vec::new(),
            destinations6: Vec::new(),
            syn_retries: 3,
            request: Vec::new(),
            expect: Vec::new(),
            response_end: ResponseEnd::FirstBytes,
            requests: 1,
            think: 0,
            xdp_isn: false,
        }
    }
}

/// The passive side.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Listening sockets (`0.0.0.0` / `::` = any local address of that family).
    pub listen: Vec<SocketAddrV4>,
    pub listen6: Vec<SocketAddrV6>,
    pub cookies: CookieMode,
    pub cookie_threshold: usize,
    pub synack_retries: u8,
    /// A SYN that finds the table full is answered with RST (refused, counted in
    /// `refused_table_full`) instead of dropped, as Linux's `tcp_abort_on_overflow`: clients
    /// fail at once instead of retransmitting into a full server.
    pub abort_on_overflow: bool,
    /// Send FIN after the response (else wait for the client to close).
    pub server_fin: bool,
    /// Bytes sent for each request (HTTP: per request header; else once, to the first
    /// data), of any size. Empty = none.
    pub response: Vec<u8>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Vec::new(),
            listen6: Vec::new(),
            cookies: CookieMode::Never,
            cookie_threshold: 4096,
            synack_retries: 3,
            abort_on_overflow: false,
            server_fin: false,
            response: Vec::new(),
        }
    }
}

impl EngineConfig {
    /// A client with the default common settings.
    pub fn client(c: ClientConfig) -> EngineConfig {
        EngineConfig {
            common: Common::default(),
            role: RoleConfig::Client(c),
        }
    }

    /// A server with the default common settings.
    pub fn server(s: ServerConfig) -> EngineConfig {
        EngineConfig {
            common: Common::default(),
            role: RoleConfig::Server(s),
        }
    }

    pub fn kind(&self) -> Role {
        match self.role {
            RoleConfig::Client(_) => Role::Client,
            RoleConfig::Server(_) => Role::Server,
        }
    }

    /// The client part (tests and planning; panics on a server config).
    pub fn client_mut(&mut self) -> &mut ClientConfig {
        match &mut self.role {
            RoleConfig::Client(c) => c,
            RoleConfig::Server(_) => panic!("not a client config"),
        }
    }

    /// The server part (tests and planning; panics on a client config).
    pub fn server_mut(&mut self) -> &mut ServerConfig {
        match &mut self.role {
            RoleConfig::Server(s) => s,
            RoleConfig::Client(_) => panic!("not a server config"),
        }
    }
}

/// Which client worker owns each local port (replies are routed by their destination port).
#[derive(Clone, Debug)]
pub struct PortOwners(Box<[u8]>);

impl PortOwners {
    /// `per_worker[w]` are worker w's ports (at most 255 workers).
    pub fn new(per_worker: &[Vec<u16>]) -> PortOwners {
        let mut t = vec![NO_OWNER; 65536].into_boxed_slice();
        for (w, ports) in per_worker.iter().enumerate() {
            for p in ports {
                t[*p as usize] = w.min(254) as u8;
            }
        }
        PortOwners(t)
    }

    #[inline]
    pub fn owner(&self, port: u16) -> Option<usize> {
        let w = self.0[port as usize];
        (w != NO_OWNER).then_some(w as usize)
    }
}

const NO_OWNER: u8 = 255;

/// How a connection attempt ended. Every attempt ends in exactly one; with a request
/// configured, `closed` means every response of the connection came back right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Established, (every response complete and right,) then closed as configured.
    Closed,
    /// RST answering our SYN.
    Refused,
    /// Retries exhausted in the handshake or the close.
    Timeout,
    /// RST after the handshake.
    Reset,
    /// A response that does not start with `expect`, or an HTTP status other than 2xx/3xx,
    /// or HTTP framing we cannot read.
    BadResponse,
    /// The request was not answered completely within `data_timeout` (lost request, stalled
    /// or zero window, a response that never ends).
    ResponseTimeout,
    /// The peer's FIN came before the response was complete.
    ClosedEarly,
}

impl Outcome {
    pub const COUNT: usize = 7;
    pub const ALL: [Outcome; Outcome::COUNT] = [
        Outcome::Closed,
        Outcome::Refused,
        Outcome::Timeout,
        Outcome::Reset,
        Outcome::BadResponse,
        Outcome::ResponseTimeout,
        Outcome::ClosedEarly,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Closed => "closed",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Reset => "reset",
            Outcome::BadResponse => "bad_response",
            Outcome::ResponseTimeout => "response_timeout",
            Outcome::ClosedEarly => "closed_early",
        }
    }
}

/// Why `open` did not start a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Every (source, port, destination) tuple is active or in TIME-WAIT.
    NoTuple,
    TableFull,
    NotClient,
}

/// The worker that owns `frame` among `workers` (hand-off routing), or `None` if the frame is
/// not a TCP frame we can route (then any worker may handle it; it will be dropped/counted).
/// Client: the local (destination) port modulo `workers`. Server: the remote (source) port
/// modulo `workers`: uniform for kernel clients, and for a threeway client (whose worker w
/// uses ports with `port % workers == w` and sends on queue w, which a veth delivers on the
/// peer's queue w) it is the queue the frame arrived on, so nothing is handed off.
pub fn owner_of(role: Role, frame: &[u8], workers: usize) -> Option<usize> {
    if workers == 0 {
        return None;
    }
    let (sport, dport) = crate::wire::headers::tcp_ports(frame)?;
    match role {
        Role::Client => Some(dport as usize % workers),
        Role::Server => Some(sport as usize % workers),
    }
}

/// Client routing by table: the worker that owns the frame's local (destination) port
/// (`None`: no worker has it, the frame is not ours).
pub fn owner_by_port(frame: &[u8], owners: &PortOwners) -> Option<usize> {
    let (_, dport) = crate::wire::headers::tcp_ports(frame)?;
    owners.owner(dport)
}
