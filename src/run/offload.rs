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
    /// The XDP program, with these settings (the epoch is filled in at start), and what it
    /// leaves to the engine.
    Xdp(HsConfig, Option<&'static str>),
    /// The engine over AF_XDP, and why (`--offload off`, or what the run needs).
    Engine(String),
}

impl Handshake {
    /// The pre-flight echo's value: `xdp` or `afxdp: <why>`.
    pub fn echo(&self) -> String {
        match self {
            Handshake::Xdp(_, None) => "xdp".into(),
            Handshake::Xdp(_, Some(note)) => format!("xdp ({note})"),
            Handshake::Engine(why) => format!("afxdp: {why}"),
        }
    }

    pub fn xdp(&self) -> Option<&HsConfig> {
        match self {
            Handshake::Xdp(h, _) => Some(h),
            Handshake::Engine(_) => None,
        }
    }
}

/// The server's choice: XDP unless `--offload off` or the engine configuration needs the
/// engine for the handshake (`--offload xdp` then is an error saying why). On a software
/// device (veth) `auto` keeps the engine: a peer without an XDP program of its own (a kernel
/// peer, as a rule) silently drops XDP_TX frames, and nothing here can see the peer.
pub fn server(arg: OffloadArg, cfg: &EngineConfig, virtual_dev: bool) -> Result<Handshake, String> {
    if arg == OffloadArg::Check {
        return Err("--offload check splits a client's handshakes: use it with connect".into());
    }
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
    let note = (!s.listen6.is_empty()).then_some("IPv4; IPv6 listeners: engine");
    Ok(Handshake::Xdp(
        HsConfig {
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
            client: None,
        },
        note,
    ))
}

/// The client's choice. `--offload xdp` hands the SYN-ACK and the close to XDP (and turns on
/// `xdp_isn` in every engine) where `client_blocker` allows it, `check` those of even source
/// ports only; `auto` does what `xdp` does on a physical NIC when nothing blocks it, and keeps
/// the engine on a software device (as the server's choice, for the same reason).
pub fn client(
    arg: OffloadArg,
    engines: &mut [EngineConfig],
    virtual_dev: bool,
) -> Result<Handshake, String> {
    let flag = match arg {
        OffloadArg::Off => return Ok(Handshake::Engine("--offload off".into())),
        OffloadArg::Auto if virtual_dev => {
            return Ok(Handshake::Engine(
                "virtual device (veth): its peer drops XDP_TX frames unless it has an XDP \
                 program; --offload xdp when it does"
                    .into(),
            ));
        }
        OffloadArg::Auto => "auto",
        OffloadArg::Xdp => "xdp",
        OffloadArg::Check => "check",
    };
    let Some(first) = engines.first() else {
        return Err(format!("--offload {flag}: no workers"));
    };
    if let Some(why) = crate::tcp::offload::client_blocker(first) {
        if arg == OffloadArg::Auto {
            return Ok(Handshake::Engine(why.into()));
        }
        return Err(format!("--offload {flag}: {why}; use --offload off"));
    }
    let c = &first.common;
    let mut h = HsConfig {
        local_mac: c.local_mac.0,
        ttl: c.ttl,
        verify: c.checksum == crate::wire::ChecksumMode::Verify,
        ..HsConfig::default()
    };
    let isn_key = crate::tcp::offload::client_isn_key(&c.secret);
    let (mut lo, mut hi) = (u16::MAX, 0);
    for e in engines.iter_mut() {
        if let RoleConfig::Client(cl) = &mut e.role {
            cl.xdp_isn = true;
            for &p in &cl.ports {
                (lo, hi) = (lo.min(p), hi.max(p));
            }
        }
    }
    if lo > hi {
        return Err("--offload xdp: no source ports".into());
    }
    let half = arg == OffloadArg::Check;
    h.client = Some(crate::xsk::HsClient {
        isn_key,
        ports: (lo, hi),
        half,
    });
    let note = half.then_some("half the source ports in XDP, half in the engine");
    Ok(Handshake::Xdp(h, note))
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

/// SYN-ACKs went out with XDP_TX but no final ACK ever came back: the frames most likely never
/// reached the peer. Says what to check.
pub fn unanswered_warning(x: &SteerCounters, iface: &str) -> Option<String> {
    if x.xdp_synacks < 100
        || x.xdp_accepted + x.xdp_fins_answered + x.xdp_to_engine + x.xdp_rsts > 0
    {
        return None;
    }
    Some(format!(
        "{} SYN-ACKs sent from XDP (XDP_TX) on {iface} and not one final ACK came back: the \
         peer probably never got them. On veth the peer end needs an XDP program of its own; on \
         a NIC check the driver's XDP_TX counters (`ethtool -S {iface} | grep -i xdp`) and its \
         XDP_TX support. --offload off answers through AF_XDP instead.",
        x.xdp_synacks
    ))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::*;
    use crate::tcp::{CookieMode, ServerConfig};

    fn server_cfg(response: &[u8]) -> EngineConfig {
        EngineConfig::server(ServerConfig {
            listen: vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 80)],
            cookies: CookieMode::Auto,
            response: response.to_vec(),
            ..ServerConfig::default()
        })
    }

    #[test]
    fn offload_choice_and_echo() {
        let cfg = server_cfg(b"");
        let h = server(OffloadArg::Auto, &cfg, false).unwrap();
        assert_eq!(h.echo(), "xdp");
        let hs = h.xdp().unwrap();
        assert_eq!(hs.listen, vec![(Ipv4Addr::new(198, 18, 0, 2), 80)]);
        assert_eq!(
            hs.cookie_key,
            crate::tcp::offload::cookie_key(&cfg.common.secret)
        );
        assert!(hs.verify && !hs.data_phase);
        assert!(
            server(OffloadArg::Auto, &server_cfg(b"x"), false)
                .unwrap()
                .xdp()
                .unwrap()
                .data_phase
        );
        // veth: auto keeps the engine and says why; xdp is taken as asked.
        let v = server(OffloadArg::Auto, &cfg, true).unwrap();
        assert!(
            v.xdp().is_none() && v.echo().starts_with("afxdp: virtual device"),
            "{}",
            v.echo()
        );
        assert!(server(OffloadArg::Xdp, &cfg, true).unwrap().xdp().is_some());
        assert_eq!(
            server(OffloadArg::Off, &cfg, false).unwrap().echo(),
            "afxdp: --offload off"
        );
        let mut vlan = cfg.clone();
        vlan.common.vlan = Some(5);
        assert!(
            server(OffloadArg::Xdp, &vlan, false)
                .unwrap_err()
                .contains("--vlan")
        );
        assert!(
            server(OffloadArg::Auto, &vlan, false)
                .unwrap()
                .xdp()
                .is_none()
        );
        assert!(client(OffloadArg::Xdp, &mut [], false).is_err());
        assert!(
            client(OffloadArg::Auto, &mut [], true)
                .unwrap()
                .xdp()
                .is_none()
        );
    }

    #[test]
    fn offload_client_plan() {
        use crate::tcp::{ClientConfig, CloseMode, Common};
        use std::net::{Ipv4Addr, SocketAddrV4};
        let one = |ports: Vec<u16>| EngineConfig {
            common: Common {
                close: CloseMode::Fin,
                ..Common::default()
            },
            role: RoleConfig::Client(ClientConfig {
                sources: vec![Ipv4Addr::new(198, 18, 0, 1)],
                destinations: vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 80)],
                ports,
                ..ClientConfig::default()
            }),
        };
        let mut e = vec![one(vec![2000, 2002]), one(vec![2001, 2003])];
        let h = client(OffloadArg::Xdp, &mut e, true).unwrap();
        assert_eq!(h.echo(), "xdp");
        let hc = h.xdp().unwrap().client.unwrap();
        assert_eq!((hc.ports, hc.half), ((2000, 2003), false));
        assert!(
            e.iter()
                .all(|e| matches!(&e.role, RoleConfig::Client(c) if c.xdp_isn))
        );
        let mut rst = vec![one(vec![2000])];
        rst[0].common.close = CloseMode::Rst;
        assert!(
            client(OffloadArg::Xdp, &mut rst, false)
                .unwrap_err()
                .contains("--close fin")
        );
        // auto: the engine on veth; on a NIC xdp when nothing blocks it, else the engine.
        assert!(
            client(OffloadArg::Auto, &mut e, true)
                .unwrap()
                .xdp()
                .is_none()
        );
        assert_eq!(
            client(OffloadArg::Auto, &mut e, false).unwrap().echo(),
            "xdp"
        );
        let auto_rst = client(OffloadArg::Auto, &mut rst, false).unwrap();
        assert!(
            auto_rst
                .echo()
                .starts_with("afxdp: XDP closes with ACK|FIN")
        );
        // check: half the ports.
        let c = client(OffloadArg::Check, &mut e, true).unwrap();
        assert!(c.xdp().unwrap().client.unwrap().half);
        assert!(c.echo().starts_with("xdp (half the source ports"));
    }

    #[test]
    fn offload_counters_as_engine_stats() {
        let x = SteerCounters {
            xdp_synacks: 10,
            xdp_accepted: 8,
            xdp_closed: 3,
            xdp_rsts: 4,
            xdp_bad_checksum: 2,
            xdp_fins_answered: 3,
            ..SteerCounters::default()
        };
        let s = server_stats(&x);
        assert_eq!((s.syn_received, s.cookies_sent), (10, 10));
        assert_eq!((s.accepted, s.cookies_accepted), (8, 8));
        assert_eq!(s.outcomes[crate::tcp::Outcome::Closed as usize], 3);
        assert_eq!(s.outcomes[crate::tcp::Outcome::Reset as usize], 4);
        assert_eq!(s.drop_count(crate::tcp::DropReason::BadChecksum), 2);
        assert_eq!(s.tx_frames, 13);
        // While the engine serves requests it accepts those connections itself.
        let d = SteerCounters {
            xdp_accepted_data_phase: 8,
            ..x
        };
        assert_eq!(server_stats(&d).accepted, 0);
        assert!(unanswered_warning(&x, "eth1").is_none());
        let lost = SteerCounters {
            xdp_synacks: 500,
            ..SteerCounters::default()
        };
        assert!(
            unanswered_warning(&lost, "eth1")
                .unwrap()
                .contains("ethtool -S eth1")
        );
    }
}
