//! `threeway serve`: the acceptor plan.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::cli::{CookiesArg, ServeArgs, ServerCloseArg};
use crate::tcp::{CloseMode, Common, CookieMode, EngineConfig, Role, RoleConfig, ServerConfig};
use crate::xsk::SteerConfig;

use super::connect::{bytes_arg, secret};
use super::facts::{Gather, HostFacts};
use super::{Plan, RunError};

/// A listen address and port a kernel listener already holds would never see a SYN: the XDP
/// program leaves frames of kernel sockets to the kernel. Refuse it up front.
fn refuse_kernel_listeners(
    listen: &[SocketAddr],
    own: &[IpAddr],
    k: &super::host::KernelPorts,
) -> Result<(), RunError> {
    for l in listen {
        let held = if l.ip().is_unspecified() {
            let fam: Vec<IpAddr> = own
                .iter()
                .filter(|a| a.is_ipv6() == l.is_ipv6())
                .copied()
                .collect();
            k.listener_on_any(&fam, l.port())
        } else {
            k.listener_on(l.ip(), l.port())
        };
        if let Some(s) = held {
            return Err(RunError::env(format!(
                "port {} is held by a kernel listener on {}: its connections stay with the \
                 kernel, so threeway would never see them; stop that service (ss -tlnp 'sport = :{}') \
                 or serve another port",
                l.port(),
                s.local,
                l.port()
            )));
        }
    }
    Ok(())
}

/// The host facts a server run needs (the only I/O of planning; see `facts.rs`).
pub fn gather(a: &ServeArgs) -> HostFacts {
    HostFacts::gather(
        &a.common.iface,
        &[],
        Gather::Run {
            resolve: std::time::Duration::ZERO,
        },
    )
}

/// The server plan: a pure function of the arguments and the host facts.
pub fn plan(a: &ServeArgs, f: &HostFacts) -> Result<Plan, RunError> {
    let c = &a.common;
    let listen = a.listen.clone();
    let asserts = c.asserts.clone();
    let response = bytes_arg("--response", &a.response)?;
    let (iface, queues, cores) = super::queues_and_cores(c, f)?;
    let (own, own6) = (&iface.ipv4, &iface.ipv6);
    let listen4: Vec<SocketAddrV4> = listen
        .iter()
        .filter_map(|l| match l {
            SocketAddr::V4(a) => Some(*a),
            SocketAddr::V6(_) => None,
        })
        .collect();
    let listen6: Vec<SocketAddrV6> = listen
        .iter()
        .filter_map(|l| match l {
            SocketAddr::V6(a) => Some(*a),
            SocketAddr::V4(_) => None,
        })
        .collect();
    let mut addrs: Vec<Ipv4Addr> = listen4
        .iter()
        .map(|l| *l.ip())
        .filter(|ip| !ip.is_unspecified())
        .collect();
    if listen4.iter().any(|l| l.ip().is_unspecified()) {
        addrs.extend(own.iter().copied());
    }
    addrs.sort();
    addrs.dedup();
    let mut addrs6: Vec<Ipv6Addr> = listen6
        .iter()
        .map(|l| *l.ip())
        .filter(|ip| !ip.is_unspecified())
        .collect();
    if listen6.iter().any(|l| l.ip().is_unspecified()) {
        addrs6.extend(own6.iter().copied());
    }
    addrs6.sort();
    addrs6.dedup();
    if !listen4.is_empty() && addrs.is_empty() {
        return Err(RunError::env(format!(
            "{} has no IPv4 address to listen on: add one or give ADDR:PORT",
            c.iface
        )));
    }
    if !listen6.is_empty() && addrs6.is_empty() {
        return Err(RunError::env(format!(
            "{} has no global IPv6 address to listen on: add one (nodad) or give [ADDR]:PORT",
            c.iface
        )));
    }
    let emulated: Vec<Ipv4Addr> = addrs.iter().filter(|a| !own.contains(a)).copied().collect();
    let emulated6: Vec<Ipv6Addr> = addrs6
        .iter()
        .filter(|a| !own6.contains(a))
        .copied()
        .collect();
    let own_all: Vec<IpAddr> = own
        .iter()
        .map(|a| IpAddr::V4(*a))
        .chain(own6.iter().map(|a| IpAddr::V6(*a)))
        .collect();
    refuse_kernel_listeners(&listen, &own_all, &f.kernel_ports)?;
    let mut ports: Vec<u16> = listen.iter().map(|l| l.port()).collect();
    ports.sort();
    ports.dedup();
    if ports.len() > 8 {
        return Err(RunError::usage("at most 8 distinct listen ports"));
    }
    let local_mac = iface.mac;
    let rto = c.rto.as_nanos() as u64;
    let cookies = match a.cookies {
        CookiesArg::Never => CookieMode::Never,
        CookiesArg::Always => CookieMode::Always,
        CookiesArg::Auto => CookieMode::Auto,
    };
    let secret = secret(c.seed, f.entropy);
    let mut engine = EngineConfig {
        common: Common {
            // The engine resets idle server connections after `data_timeout` unless close is
            // None.
            close: if a.idle_timeout.is_zero() {
                CloseMode::None
            } else {
                CloseMode::Rst
            },
            data_timeout: if a.idle_timeout.is_zero() {
                rto.saturating_mul(8)
            } else {
                a.idle_timeout.as_nanos() as u64
            },
            ..super::engine_common(c, local_mac, secret)
        },
        role: RoleConfig::Server(ServerConfig {
            listen: listen4.clone(),
            listen6: listen6.clone(),
            cookies,
            cookie_threshold: a.cookie_threshold,
            synack_retries: a.synack_retries,
            abort_on_overflow: a.abort_on_overflow,
            server_fin: a.close == ServerCloseArg::Fin,
            response: response.clone(),
        }),
    };
    let handshake =
        super::offload::server(c.offload, &engine, iface.virtual_dev).map_err(RunError::usage)?;
    if handshake.xdp().is_some() {
        // XDP answers every SYN with a cookie; the engine, for the SYNs it still sees (odd
        // options), must too, or their final ACKs (checked in XDP) would not be accepted.
        engine.server_mut().cookies = CookieMode::Always;
    }
    let watch = super::host::KernelWatch {
        addrs: addrs
            .iter()
            .map(|a| IpAddr::V4(*a))
            .chain(addrs6.iter().map(|a| IpAddr::V6(*a)))
            .collect(),
        also: super::connect::metrics_port(c),
    };
    let steer = SteerConfig {
        addrs_v4: addrs.clone(),
        addrs_v6: addrs6
            .iter()
            .filter(|a| !emulated6.contains(a))
            .copied()
            .collect(),
        nd_v6: emulated6.clone(),
        prefix_v6: None,
        port_lo: ports[0],
        port_hi: ports[0],
        listen_ports: ports.clone(),
        arp_v4: emulated.clone(),
        prefix_v4: None,
        rx_stamps: false, // set by `execute` from --rx-timestamp
        kernel_ports: watch.ports(&f.kernel_ports),
    };
    let mut config = super::config_head("server", c, queues, &cores);
    config.extend::<[(String, String); _]>([
        (
            "listen".into(),
            listen
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "addresses".into(),
            addrs
                .iter()
                .map(|a| a.to_string())
                .chain(addrs6.iter().map(|a| a.to_string()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("handshake".into(), handshake.echo()),
        (
            "cookies".into(),
            if handshake.xdp().is_some() {
                "always (handshake=xdp)".into()
            } else {
                format!("{:?}", a.cookies).to_lowercase()
            },
        ),
        ("cookie_threshold".into(), a.cookie_threshold.to_string()),
        ("response_bytes".into(), response.len().to_string()),
        ("close".into(), format!("{:?}", a.close).to_lowercase()),
        ("rto".into(), format!("{:?}", c.rto)),
        ("spin".into(), format!("{:?}", c.spin)),
        ("synack_retries".into(), a.synack_retries.to_string()),
        (
            "when_full".into(),
            if a.abort_on_overflow { "rst" } else { "drop" }.into(),
        ),
        ("idle_timeout".into(), format!("{:?}", a.idle_timeout)),
        (
            "duration".into(),
            c.duration
                .map_or("until Ctrl-C".into(), |d| format!("{d:?}")),
        ),
        ("capacity_per_worker".into(), c.capacity.to_string()),
        (
            "memory_per_connection_bytes".into(),
            super::per_connection_bytes(!response.is_empty()).to_string(),
        ),
        (
            "seed".into(),
            c.seed.map_or("random".into(), |s| s.to_string()),
        ),
    ]);
    Ok(Plan {
        role: Role::Server,
        common: c.clone(),
        queues,
        cores,
        engines: vec![engine; queues as usize],
        paces: None,
        steer,
        kernel_watch: watch,
        arp_addrs: emulated,
        nd_addrs: emulated6,
        port_owners: None,
        target_cps: 0.0,
        start_at: None,
        duration: c.duration.filter(|d| !d.is_zero()),
        count: None,
        drain: std::time::Duration::ZERO,
        warmup: std::time::Duration::ZERO,
        config,
        burst: 1,
        asserts,
        profile: None,
        handshake,
    })
}
