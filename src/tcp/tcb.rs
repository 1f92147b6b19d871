//! The transmission control block: one connection, 64 bytes for IPv4.

use crate::wire::SeqNum;

use super::table::Key;

/// RFC 9293 connection states that own a TCB (LISTEN and CLOSED have none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum State {
    #[default]
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// We have sent a FIN (it occupies one sequence number before SND.NXT).
    #[inline]
    pub fn fin_sent(self) -> bool {
        matches!(
            self,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// The peer's FIN has been received.
    #[inline]
    pub fn fin_received(self) -> bool {
        matches!(
            self,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        )
    }
}

/// Option bits (`Tcb::opts`).
pub mod opt {
    pub const TS: u8 = 1;
    pub const SACK: u8 = 2;
    pub const WS: u8 = 4;
    /// Peer window scale in bits 4..8.
    pub const WS_SHIFT: u8 = 4;
}

/// Control bits (`Tcb::ctl`): retry count in bits 0..4.
pub mod ctl {
    pub const RETRIES: u8 = 0x0f;
    /// Client: the request/response phase is over (holding or closing).
    pub const DONE: u8 = 0x10;
    /// Server: the response (or, without one, the reaction to the request) was sent.
    pub const RESPONDED: u8 = 0x20;
}

/// One connection. Field layout is left to the compiler; `size_of::<Tcb>() <= 64` is tested.
///
/// `iss == snd_una` until our SYN is acknowledged. `aux` is the send lag (intended start ->
/// first SYN sent, encoded by [`encode_lag`]) while in SYN-SENT and TS.Recent afterwards.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tcb {
    pub key: Key,
    pub snd_una: SeqNum,
    pub snd_nxt: SeqNum,
    pub rcv_nxt: SeqNum,
    pub iss: SeqNum,
    pub irs: SeqNum,
    pub aux: u32,
    /// SYN sent (client: built, then departed once the worker reports it to `Departures`) /
    /// SYN received at the wire (server) until established; then the start of the current phase (data exchange, hold, close)
    /// for phase timeouts.
    pub start: u64,
    /// Timer wheel: deadline tick and intrusive list links (see `timer.rs`).
    pub t_deadline: u32,
    pub t_next: u32,
    pub t_prev: u32,
    /// Peer's last advertised window (raw field).
    pub snd_wnd: u16,
    pub state: State,
    pub opts: u8,
    pub ctl: u8,
}

impl Tcb {
    #[inline]
    pub fn retries(&self) -> u8 {
        self.ctl & ctl::RETRIES
    }
    #[inline]
    pub fn bump_retries(&mut self) {
        if self.retries() < ctl::RETRIES {
            self.ctl += 1;
        }
    }
    #[inline]
    pub fn reset_retries(&mut self) {
        self.ctl &= !ctl::RETRIES;
    }
    #[inline]
    pub fn has(&self, opt: u8) -> bool {
        self.opts & opt != 0
    }
    /// Payload bytes sent so far (SND.NXT - ISS - 1, minus our FIN).
    #[inline]
    pub fn sent_data(&self) -> u32 {
        self.snd_nxt
            .diff(self.iss)
            .wrapping_sub(1 + self.state.fin_sent() as u32)
    }
}

/// Lag up to 2^31 ns is kept exactly; beyond, in 1024 ns units (up to ~36 min).
#[inline]
pub fn encode_lag(lag: u64) -> u32 {
    if lag < 1 << 31 {
        lag as u32
    } else {
        (1 << 31) | (lag >> 10).min((1 << 31) - 1) as u32
    }
}

#[inline]
pub fn decode_lag(v: u32) -> u64 {
    if v & (1 << 31) == 0 {
        v as u64
    } else {
        ((v & !(1 << 31)) as u64) << 10
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcb_fits_a_cache_line() {
        assert!(
            std::mem::size_of::<Tcb>() <= 64,
            "{}",
            std::mem::size_of::<Tcb>()
        );
    }

    #[test]
    fn lag_roundtrip() {
        assert_eq!(decode_lag(encode_lag(12345)), 12345);
        let big = 10_000_000_000u64;
        assert!(decode_lag(encode_lag(big)).abs_diff(big) < 1024);
    }
}
