//! `--offload`: whether a run's handshake is answered in XDP (bpf/handshake.h) or by the
//! engine, the XDP program's settings when it is, and what its counters mean in the engine's
//! terms (so summaries, JSON, metrics and assertions count XDP's connections like the
//! engine's).

use crate::cli::OffloadArg;
use crate::tcp::{EngineConfig, RoleConfig, Stats};
use crate::xsk::{HsConfig, SteerCounters};

/// Who answers the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// The XDP program, with these settings (the epoch is filled in at start).
    Xdp(HsConfig),
    /// The engine over AF_XDP, and why (`--offload off`, or what the run needs).
    Engine(String),
}

impl Handshake {
    /// The pre-flight echo's value: `xdp` or `afxdp: <why>`.
    pub fn echo(&self) -> String {
        match self {
            Handshake::Xdp(_) => "xdp".into(),
            Handshake::Engine(why) => format!("afxdp: {why}"),
        }
    }

    pub fn xdp(&self) -> Option<&HsConfig> {
        match self {
            Handshake::Xdp(h) => Some(h),
            Handshake::Engine(_) => None,
        }
    }
}

/// The server's choice: XDP unless `--offload off` or the engine configuration needs the
/// engine for the handshake (`--offload xdp` then is an error saying why). On a software
/// device (veth) `auto` keeps the engine: a peer without an XDP program of its own (a kernel
/// peer, as a rule) silently drops XDP_TX frames, and nothing here can see the peer.
pub fn server(arg: OffloadArg, cfg: &EngineConfig, virtual_dev: bool) -> Result<Handshake, String> {
    if arg == OffloadArg::Off {
        return Ok(Handshake::Engine("--offload off".into()));
    }
    if arg == OffloadArg::Auto && virtual_dev {
        return Ok(Handshake::Engine(
            "virtual device (veth): its peer drops XDP_TX frames unless it has an XDP program; \
             --offload xdp when it does"
                .into(),
        ));
    }
    if let Some(why) = crate::tcp::offload::server_blocker(cfg) {
        if arg == OffloadArg::Xdp {
            return Err(format!("--offload xdp: {why}; use --offload off"));
        }
        return Ok(Handshake::Engine(why.into()));
    }
    let RoleConfig::Server(s) = &cfg.role else {
        return Ok(Handshake::Engine("not a server".into()));
    };
    let c = &cfg.common;
    Ok(Handshake::Xdp(HsConfig {
        cookie_key: crate::tcp::offload::cookie_key(&c.secret),
        epoch_ns: 0,
        fixed_now: 0,
        listen: s.listen.iter().map(|l| (*l.ip(), l.port())).collect(),
        local_mac: c.local_mac.0,
        mss: c.syn_options.mss,
        wscale: c.syn_options.wscale,
        sack_permitted: c.syn_options.sack_permitted,
        timestamps: c.syn_options.timestamps,
        ttl: c.ttl,
        verify: c.checksum == crate::wire::ChecksumMode::Verify,
        data_phase: !s.response.is_empty(),
    }))
}

/// The client's choice: the engine (the client offload is not built yet).
pub fn client(arg: OffloadArg) -> Result<Handshake, String> {
    match arg {
        OffloadArg::Xdp => Err(
            "--offload xdp: the client's handshake offload is not built yet (the server's is); \
             use --offload auto or off"
                .into(),
        ),
        OffloadArg::Off => Ok(Handshake::Engine("--offload off".into())),
        OffloadArg::Auto => Ok(Handshake::Engine(
            "the client offload is not built yet".into(),
        )),
    }
}

/// XDP's server counters as engine counters: SYN-ACKs are cookie SYN-ACKs, final ACKs are
/// cookie accepts (except while the engine serves requests: it accepts those connections
/// itself when the request arrives), closes and RSTs are outcomes, bad checksums drops (bad
/// cookies go to the engine, which counts them). Added to the workers' totals.
pub fn server_stats(x: &SteerCounters) -> Stats {
    use crate::tcp::{DropReason, Outcome};
    let accepted = x.xdp_accepted - x.xdp_accepted_data_phase.min(x.xdp_accepted);
    let mut s = Stats {
        syn_received: x.xdp_synacks,
        cookies_sent: x.xdp_synacks,
        accepted,
        cookies_accepted: accepted,
        tx_frames: x.xdp_synacks + x.xdp_fins_answered,
        ..Stats::default()
    };
    s.outcomes[Outcome::Closed as usize] = x.xdp_closed;
    s.outcomes[Outcome::Reset as usize] = x.xdp_rsts;
    s.drops[DropReason::BadChecksum as usize] = x.xdp_bad_checksum;
    s
}
