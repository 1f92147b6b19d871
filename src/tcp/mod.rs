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

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::wire::{ChecksumMode, MacAddr};

mod active_open;
mod close;
pub(crate) mod cookie;
mod engine;
mod established;
mod fastpath;
pub(crate) mod isn;
mod neighbours;
mod output;
mod passive_open;
mod stats;
mod table;
mod tcb;
mod timer;
mod tuple;

#[cfg(test)]
mod tests;

pub use engine::{Engine, MAX_DATA};
pub use stats::{DropReason, LATENCY_MAX, Latency, Stats};
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
    /// path is full (the engine counts `tx_full` and relies on retransmission).
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

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub role: Role,
    pub local_mac: MacAddr,
    /// Next hop. A server with `MacAddr::ZERO` replies to each frame's source MAC.
    pub peer_mac: MacAddr,
    pub vlan: Option<u16>,
    /// Client: source addresses to draw from.
    pub sources: Vec<Ipv4Addr>,
    /// Client: source port range, inclusive.
    pub sport_lo: u16,
    pub sport_hi: u16,
    /// Client: this worker uses ports with `port % port_stride == port_offset` (hand-off owner).
    pub port_stride: u16,
    pub port_offset: u16,
    /// Client: explicit source ports for this worker (e.g. RSS-chosen so that replies land on
    /// its queue); empty = the `port_stride`/`port_offset` rule.
    pub ports: Vec<u16>,
    /// Client: destinations, used round-robin.
    pub destinations: Vec<SocketAddrV4>,
    /// Server: listening sockets (`0.0.0.0` = any local address).
    pub listen: Vec<SocketAddrV4>,
    pub cookies: CookieMode,
    pub cookie_threshold: usize,
    pub syn_options: SynOptions,
    /// Initial RTO for SYN and SYN-ACK (RFC 6298 says 1 s; labs use 10 ms+).
    pub rto: Nanos,
    pub rto_max: Nanos,
    pub syn_retries: u8,
    pub synack_retries: u8,
    pub close: CloseMode,
    /// Server: send FIN after the response (else wait for the client to close).
    pub server_fin: bool,
    /// Established connections are kept this long before the client closes (`CloseMode::None`
    /// keeps them until the run ends when 0).
    pub hold: Nanos,
    pub time_wait: Nanos,
    /// Client: bytes sent after the handshake (piggybacked on the ACK). Empty = none.
    pub request: Vec<u8>,
    /// Server: bytes sent when request data arrives. Empty = none.
    pub response: Vec<u8>,
    /// Client: response must start with these bytes (else `protocol_error`).
    pub expect: Vec<u8>,
    /// Give up on the request/response exchange after this long (outcome `timeout`).
    pub data_timeout: Nanos,
    /// Connection table capacity (TCBs).
    pub capacity: usize,
    /// Key for ISNs (RFC 6528) and SYN cookies.
    pub secret: [u8; 16],
    pub checksum: ChecksumMode,
    pub ttl: u8,
}

/// How a connection attempt ended. Every attempt ends in exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Established, then closed as configured.
    Closed,
    /// RST answering our SYN.
    Refused,
    /// Retries exhausted (handshake or data).
    Timeout,
    /// RST after the handshake.
    Reset,
    /// Bad SYN-ACK we could not recover from, unexpected response, ...
    ProtocolError,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Closed,
        Outcome::Refused,
        Outcome::Timeout,
        Outcome::Reset,
        Outcome::ProtocolError,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Closed => "closed",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Reset => "reset",
            Outcome::ProtocolError => "protocol_error",
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

/// Client routing by table: the worker that owns the frame's local (destination) port,
/// `owners[port]` (255 = no worker: the frame is not ours).
pub fn owner_by_port(frame: &[u8], owners: &[u8]) -> Option<usize> {
    let (_, dport) = crate::wire::headers::tcp_ports(frame)?;
    owners
        .get(dport as usize)
        .filter(|w| **w != 255)
        .map(|w| *w as usize)
}
