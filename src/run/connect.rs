//! `threeway connect`: the client plan (tuples, pacing, next hop, steering) and the dry run.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use crate::cli::{CloseArg, ConnectArgs};
use crate::tcp::{
    ClientConfig, CloseMode, EngineConfig, ResponseEnd, Role, RoleConfig, SynOptions, TCB_BYTES,
    XFER_BYTES,
};
use crate::wire::MacAddr;
use crate::worker::pace::Pace;
use crate::xsk::SteerConfig;

use super::facts::{Gather, HostFacts};
use super::{Plan, RunError, host};

/// Reads `value` as a literal string, or as the contents of a file when it starts with `@`.
pub fn bytes_arg(flag: &str, value: &Option<String>) -> Result<Vec<u8>, RunError> {
    match value.as_deref() {
        None => Ok(Vec::new()),
        Some(v) => match v.strip_prefix('@') {
            Some(path) => {
                std::fs::read(path).map_err(|e| RunError::usage(format!("{flag} @{path}: {e}")))
            }
            None => Ok(v.replace("\\r", "\r").replace("\\n", "\n").into_bytes()),
        },
    }
}

/// `--http PATH`: `GET PATH HTTP/1.1` with Host (the first target) and the `--header` lines.
fn http_request(
    path: &str,
    targets: &[SocketAddr],
    headers: &[String],
) -> Result<Vec<u8>, RunError> {
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(RunError::usage(format!(
            "--http '{path}': a path starts with / and has no spaces or control characters"
        )));
    }
    let host = match targets.first() {
        Some(SocketAddr::V6(t)) if t.port() == 80 => format!("[{}]", t.ip()),
        Some(t) if t.port() == 80 => t.ip().to_string(),
        Some(t) => t.to_string(),
        None => return Err(RunError::usage("no target given")),
    };
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for h in headers {
        if !h.contains(':') || h.contains('\r') || h.contains('\n') {
            return Err(RunError::usage(format!(
                "--header '{h}': give one 'Name: value' line"
            )));
        }
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    Ok(r.into_bytes())
}

/// A 16-byte key: derived from `seed` (reproducible runs) or the host's entropy.
pub fn secret(seed: Option<u64>, entropy: [u8; 16]) -> [u8; 16] {
    let Some(s) = seed else {
        return entropy;
    };
    let mut key = [0u8; 16];
    let mut rng = crate::rng::SplitMix64(s);
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    key
}

/// The host facts a client run needs (the only I/O of planning; see `facts.rs`).
pub fn gather(a: &ConnectArgs) -> HostFacts {
    let targets: Vec<IpAddr> = a.targets.iter().map(|t| t.ip()).collect();
    let how = if a.dry_run {
        Gather::DryRun {
            queues: a.common.queues.unwrap_or(1),
        }
    } else if a.dst_mac.is_some() {
        Gather::Run {
            resolve: Duration::ZERO,
        }
    } else {
        Gather::Run {
            resolve: Duration::from_secs(2),
        }
    };
    HostFacts::gather(&a.common.iface, &targets, how)
}

/// The client plan: a pure function of the arguments and the host facts.
pub fn plan(a: &ConnectArgs, f: &HostFacts) -> Result<Plan, RunError> {
    let c = &a.common;
    let targets = &a.targets;
    let (seg, nseg) = a.segment.map_or((0, 1), |s| (s.index, s.count));
    let profile = super::profile::of_args(&a.ramp, &a.steps, nseg);
    // With a profile, the peak sizes the tuple headroom and the per-worker pacer rate.
    let rate = profile.as_ref().map_or(a.rate / nseg as f64, |p| p.peak());
    let count = a
        .count
        .map(|n| n / nseg as u64 + u64::from((seg as u64) < n % nseg as u64));
    let asserts = c.asserts.clone();
    if a.count.is_none() && c.duration.is_some_and(|d| d.is_zero()) {
        return Err(RunError::usage(
            "--duration 0 needs --count: a client run must end",
        ));
    }
    let request = match &a.http {
        Some(path) => http_request(path, &a.targets, &a.headers)?,
        None => bytes_arg("--request", &a.request)?,
    };
    let response_end = match (&a.http, a.response_size) {
        (Some(_), _) => ResponseEnd::Http,
        (None, Some(e)) => e,
        (None, None) => ResponseEnd::FirstBytes,
    };
    if request.is_empty() && (a.requests > 1 || a.response_size.is_some()) {
        return Err(RunError::usage(
            "--requests and --response-size need a request: add --http or --request",
        ));
    }
    let expect = bytes_arg("--expect", &a.expect)?;
    let (iface, queues, cores) = super::queues_and_cores(c, f)?;
    let (own, own6) = (&iface.ipv4, &iface.ipv6);
    let (t4, t6) = split_targets(targets);
    let given: Vec<IpAddr> = a.sources.iter().flat_map(|s| s.0.iter().copied()).collect();
    let (sources4, sources6) =
        pick_sources(&given, own, own6, !t4.is_empty(), !t6.is_empty(), &c.iface)?;
    let sources: Vec<IpAddr> = sources4
        .iter()
        .map(|&a| IpAddr::V4(a))
        .chain(sources6.iter().map(|&a| IpAddr::V6(a)))
        .collect();
    if let Some(t) = targets.iter().find(|t| sources.contains(&t.ip())) {
        return Err(RunError::usage(format!(
            "-s includes the target {}: a host does not accept connections from its own address",
            t.ip()
        )));
    }
    let emulated: Vec<Ipv4Addr> = sources4
        .iter()
        .filter(|s| !own.contains(s))
        .copied()
        .collect();
    let mut emulated6: Vec<Ipv6Addr> = sources6
        .iter()
        .filter(|s| !own6.contains(s))
        .copied()
        .collect();
    emulated6.sort();
    let sport = host::source_ports(
        a.sport,
        &f.kernel_ports,
        &sources,
        &metrics_port(c),
        (seg, nseg),
    )?;
    let usable = &sport.usable;
    let (sport_lo, sport_hi) = (usable[0], usable[usable.len() - 1]);
    let rss = match a.rss {
        crate::cli::RssArg::Auto => iface.rss.as_ref().map_err(String::clone),
        crate::cli::RssArg::Off => Err("--rss off".to_string()),
    };
    let ports = super::ports::plan(rss, queues as usize, &sources, targets, usable);
    let nports: usize = ports.per_worker.iter().map(Vec::len).sum();
    let tuple_space = nports as u64
        * (sources4.len() as u64 * t4.len() as u64 + sources6.len() as u64 * t6.len() as u64);
    let time_wait = if a.close == CloseArg::Fin {
        a.time_wait
    } else {
        Duration::ZERO
    };
    let tuple_busy_s = 0.1 + a.hold.as_secs_f64() + time_wait.as_secs_f64();
    let tuple_need = rate * tuple_busy_s;
    let headroom_pct = tuple_need / tuple_space.max(1) as f64 * 100.0;
    let rto = c.rto.as_nanos() as u64;
    let retx_s = syn_schedule(rto, super::rto_max_for(rto), a.syn_retries) as f64 / 1e9;
    let stalled_pct = rate * (tuple_busy_s + retx_s) / tuple_space.max(1) as f64 * 100.0;

    let hop4 = next_hop(f, a.dst_mac, false)?;
    let hop6 = next_hop(f, a.dst_mac, true)?;
    let (hop, hop_mac) = hop4
        .or(hop6)
        .ok_or_else(|| RunError::usage("no target given"))?;
    let hop_mac6 = hop6.map_or(MacAddr::ZERO, |h| h.1);
    let local_mac = iface.mac;
    let capacity = c.capacity as usize;
    let max_active = a
        .max_active
        .map_or(capacity, |m| (m as usize).div_ceil(queues as usize))
        .min(capacity);
    let duration = match (c.duration, a.count) {
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(profile.as_ref().map_or(Duration::from_secs(10), |p| {
            Duration::from_secs_f64(p.len_s())
        })),
    };
    let secret = secret(c.seed, f.entropy);
    let syn_options = SynOptions {
        mss: (a.mss != 0).then_some(a.mss),
        wscale: (!a.no_wscale).then_some(a.wscale),
        // We send no SACK blocks: a peer that sends us data must not wait for them.
        sack_permitted: !a.no_sack && request.is_empty(),
        timestamps: !a.no_ts,
    };
    let close = match a.close {
        CloseArg::Rst => CloseMode::Rst,
        CloseArg::Fin => CloseMode::Fin,
        CloseArg::None => CloseMode::None,
    };
    let q = queues as usize;
    let common = crate::tcp::Common {
        peer_mac: hop_mac,
        peer_mac6: hop_mac6,
        syn_options,
        close,
        hold: a.hold.as_nanos() as u64,
        time_wait: a.time_wait.as_nanos() as u64,
        ..super::engine_common(c, local_mac, secret)
    };
    let common = match a.response_timeout {
        Some(d) if !d.is_zero() => crate::tcp::Common {
            data_timeout: d.as_nanos() as u64,
            ..common
        },
        _ => common,
    };
    let mut engines: Vec<EngineConfig> = (0..q)
        .map(|w| EngineConfig {
            common: common.clone(),
            role: RoleConfig::Client(ClientConfig {
                sources: sources4.clone(),
                sources6: sources6.clone(),
                ports: ports.per_worker[w].clone(),
                destinations: t4.clone(),
                destinations6: t6.clone(),
                syn_retries: a.syn_retries,
                request: request.clone(),
                expect: expect.clone(),
                response_end,
                requests: a.requests,
                think: a.think.as_nanos() as u64,
                xdp_isn: false, // set by offload::client for --offload xdp
            }),
        })
        .collect();
    let drain = a.drain.unwrap_or_else(|| {
        let e = &common;
        let data_phase = !request.is_empty() || !expect.is_empty() || close == CloseMode::Fin;
        auto_drain(
            e.rto,
            e.rto_max,
            a.syn_retries,
            data_phase.then_some(
                e.data_timeout
                    .saturating_add(a.think.as_nanos() as u64)
                    .saturating_mul(a.requests as u64),
            ),
        ) + a.hold
            + time_wait
    });
    let per_worker = rate / q as f64;
    let until = duration.map_or(u64::MAX, |d| d.as_nanos() as u64);
    let paces = (0..q)
        .map(|w| Pace {
            rate: per_worker,
            start: if rate > 0.0 && profile.is_none() {
                (w as f64 * 1e9 / rate) as u64
            } else {
                0
            },
            until,
            count: count.map(|n| n / q as u64 + u64::from((w as u64) < n % q as u64)),
            max_active,
            profile: profile
                .as_ref()
                .map(|p| std::sync::Arc::new(p.per_worker(w, q))),
        })
        .collect();
    let kernel_watch = host::KernelWatch {
        addrs: sources.clone(),
        also: metrics_port(c),
    };
    let steer = SteerConfig {
        kernel_ports: kernel_watch.ports(&f.kernel_ports),
        ..steer_for(&sources4, own, &emulated, sport_lo, sport_hi)?
    };
    let steer = SteerConfig {
        ..steer_for6(&sources6, own6, &emulated6, steer)
    };
    let mut config = super::config_head("client", c, queues, &cores);
    config.extend::<[(String, String); _]>([
        (
            "targets".into(),
            targets
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("sources".into(), source_text(&sources4, &sources6)),
        (
            "emulated_sources".into(),
            (emulated.len() + emulated6.len()).to_string(),
        ),
        (
            "steered_as".into(),
            match steer.prefix_v4 {
                Some((net, len)) => format!(
                    "prefix {net}/{len} (kernel's own inside: {:?})",
                    steer.addrs_v4
                ),
                None => format!("{} listed addresses", steer.addrs_v4.len()),
            },
        ),
        (
            "steered_as_v6".into(),
            match steer.prefix_v6 {
                Some((net, len)) => format!("prefix {net}/{len} (trie)"),
                None => format!(
                    "{} listed addresses (trie)",
                    steer.addrs_v6.len() + steer.nd_v6.len()
                ),
            },
        ),
        (
            "sport".into(),
            format!("{sport_lo}-{sport_hi} ({} ports)", usable.len()),
        ),
        ("sport_excluded".into(), sport.excluded.clone()),
        ("sport_choice".into(), ports.how.clone()),
        ("rate".into(), rate.to_string()),
        (
            "rate_profile".into(),
            profile
                .as_ref()
                .map_or("constant".into(), |p| p.text.clone()),
        ),
        ("segment".into(), format!("{seg}/{nseg}")),
        (
            "start_at".into(),
            a.start_at.map_or("now".into(), |t| format!("{t:.3}")),
        ),
        ("rate_per_worker".into(), format!("{per_worker:.1}")),
        (
            "duration".into(),
            duration.map_or("none".into(), |d| format!("{d:?}")),
        ),
        (
            "count".into(),
            count.map_or("none".into(), |n| n.to_string()),
        ),
        ("max_active".into(), (max_active * q).to_string()),
        ("close".into(), format!("{:?}", a.close).to_lowercase()),
        ("hold".into(), format!("{:?}", a.hold)),
        ("time_wait".into(), format!("{:?}", a.time_wait)),
        ("rto".into(), format!("{:?}", c.rto)),
        ("spin".into(), format!("{:?}", c.spin)),
        ("syn_retries".into(), a.syn_retries.to_string()),
        ("syn_options".into(), format!("{syn_options:?}")),
        ("request_bytes".into(), request.len().to_string()),
        (
            "response_end".into(),
            format!("{response_end:?}").to_lowercase(),
        ),
        ("requests_per_connection".into(), a.requests.to_string()),
        ("think".into(), format!("{:?}", a.think)),
        ("expect_bytes".into(), expect.len().to_string()),
        ("warmup".into(), format!("{:?}", a.warmup)),
        (
            "drain".into(),
            match a.drain {
                Some(d) => format!("{d:?}"),
                None => format!("{drain:?} (the retransmission schedule)"),
            },
        ),
        ("burst".into(), a.burst.to_string()),
        ("capacity_per_worker".into(), capacity.to_string()),
        ("umem_frames_per_queue".into(), c.frames.to_string()),
        ("next_hop".into(), hop.to_string()),
        ("next_hop_mac".into(), hop_mac.to_string()),
        (
            "next_hop_v6".into(),
            hop6.map_or("none (no IPv6 target)".into(), |(h, m)| format!("{h} {m}")),
        ),
        (
            "seed".into(),
            c.seed.map_or("random".into(), |s| s.to_string()),
        ),
        ("tuple_space".into(), tuple_space.to_string()),
        (
            "tuple_headroom".into(),
            format!("{headroom_pct:.2}% of tuples busy at the target rate"),
        ),
    ]);
    if let Some(w) = &sport.warning {
        config.push(("warning".into(), w.clone()));
    }
    if headroom_pct > 50.0 {
        config.push((
            "warning".into(),
            "tuple space over 50% busy: add source addresses (-s) or ports (--sport)".into(),
        ));
    }
    config.push((
        "tuple_need_if_stalled".into(),
        format!(
            "{stalled_pct:.1}% of tuples (RTT 0.1s + hold + TIME-WAIT + SYN retransmissions {retx_s:.2}s)"
        ),
    ));
    if stalled_pct > 80.0 {
        config.push((
            "warning".into(),
            format!(
                "at {} cps a connection whose handshake stalls holds its tuple {:.2}s (RTT + hold + \
                 TIME-WAIT + SYN retransmission schedule): {:.0} tuples, {stalled_pct:.0}% of the \
                 {tuple_space} available; if the target falls behind, opens will be refused for lack \
                 of tuples (open_no_tuple). Add source addresses (-s), widen --sport, or lower \
                 --time-wait / --rto / --syn-retries",
                crate::units::fmt_si(rate),
                tuple_busy_s + retx_s,
                rate * (tuple_busy_s + retx_s),
            ),
        ));
    }
    let per_conn = super::per_connection_bytes(!request.is_empty());
    let mem = q as u64 * (capacity as u64 * per_conn + c.frames as u64 * 2048);
    config.push((
        "memory_per_connection_bytes".into(),
        format!(
            "{per_conn} (TCB {TCB_BYTES}, index and stamps 12{})",
            if request.is_empty() {
                String::new()
            } else {
                format!(", data state {XFER_BYTES}; no per-connection buffers")
            }
        ),
    ));
    config.push(("memory_estimate_bytes".into(), mem.to_string()));
    let handshake = super::offload::client(c.offload, &mut engines, iface.virtual_dev)
        .map_err(RunError::usage)?;
    config.push(("handshake".into(), handshake.echo()));
    Ok(Plan {
        role: Role::Client,
        common: c.clone(),
        queues,
        cores,
        engines,
        paces: Some(paces),
        steer,
        kernel_watch,
        arp_addrs: emulated,
        nd_addrs: emulated6,
        port_owners: Some(std::sync::Arc::new(ports.owner)),
        target_cps: super::profile::mean_target(&profile, rate, duration),
        start_at: a.start_at,
        duration,
        count,
        drain,
        warmup: a.warmup,
        burst: a.burst as usize,
        config,
        asserts,
        profile,
        handshake,
    })
}

/// Listed IPv4 sources up to this many (the program's trie takes any number; a prefix keeps
/// the trie, and the plan echo, small).
const V4_LISTED: usize = 16;

/// Up to `V4_LISTED` sources are listed one by one; more are steered as the prefix covering
/// them (TCP to the prefix and ARP for it, except the kernel's own addresses, listed).
fn steer_for(
    sources: &[Ipv4Addr],
    own: &[Ipv4Addr],
    emulated: &[Ipv4Addr],
    port_lo: u16,
    port_hi: u16,
) -> Result<SteerConfig, RunError> {
    let base = SteerConfig {
        port_lo,
        port_hi,
        ..SteerConfig::default()
    };
    if sources.len() <= V4_LISTED {
        return Ok(SteerConfig {
            addrs_v4: sources.to_vec(),
            arp_v4: emulated.to_vec(),
            ..base
        });
    }
    let lo = sources.iter().map(|a| u32::from(*a)).min().unwrap_or(0);
    let hi = sources.iter().map(|a| u32::from(*a)).max().unwrap_or(0);
    let len = (lo ^ hi).leading_zeros() as u8;
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    };
    let inside: Vec<Ipv4Addr> = own
        .iter()
        .filter(|a| u32::from(**a) & mask == lo & mask)
        .copied()
        .collect();
    if len < 8 {
        return Err(RunError::usage(format!(
            "-s: {} source addresses span {}/{len}; keep them within one prefix of /8 or longer",
            sources.len(),
            Ipv4Addr::from(lo & mask)
        )));
    }
    Ok(SteerConfig {
        addrs_v4: inside,
        prefix_v4: Some((Ipv4Addr::from(lo & mask), len)),
        ..base
    })
}

/// The one next hop of every target of one family (`v6`), and its MAC (`--dst-mac` wins);
/// `None` when no target is of that family.
fn next_hop(
    f: &HostFacts,
    dst_mac: Option<MacAddr>,
    v6: bool,
) -> Result<Option<(IpAddr, MacAddr)>, RunError> {
    let mut hop: Option<&super::facts::NextHop> = None;
    for (_, r) in f.routes.iter().filter(|(t, _)| t.is_ipv6() == v6) {
        let h = r.as_ref().map_err(|e| RunError::env(e.clone()))?;
        if hop.is_some_and(|first| first.ip != h.ip) {
            return Err(RunError::usage(
                "all targets of one family must share one next hop (run one threeway per next hop)",
            ));
        }
        hop = hop.or(Some(h));
    }
    let Some(hop) = hop else {
        return Ok(None);
    };
    let mac = match dst_mac {
        Some(m) => m,
        None => hop.mac.clone().map_err(RunError::env)?,
    };
    Ok(Some((hop.ip, mac)))
}

/// Targets by family.
fn split_targets(targets: &[SocketAddr]) -> (Vec<SocketAddrV4>, Vec<SocketAddrV6>) {
    let mut t4 = Vec::new();
    let mut t6 = Vec::new();
    for t in targets {
        match t {
            SocketAddr::V4(a) => t4.push(*a),
            SocketAddr::V6(a) => t6.push(*a),
        }
    }
    (t4, t6)
}

/// Sources by family: the given ones, else the interface's first address of each family a
/// target needs. A family with targets needs a source.
fn pick_sources(
    given: &[IpAddr],
    own: &[Ipv4Addr],
    own6: &[Ipv6Addr],
    want4: bool,
    want6: bool,
    iface: &str,
) -> Result<(Vec<Ipv4Addr>, Vec<Ipv6Addr>), RunError> {
    let mut s4: Vec<Ipv4Addr> = Vec::new();
    let mut s6: Vec<Ipv6Addr> = Vec::new();
    for a in given {
        match a {
            IpAddr::V4(a) => s4.push(*a),
            IpAddr::V6(a) => s6.push(*a),
        }
    }
    if given.is_empty() {
        if want4 {
            s4 = own.first().map(|a| vec![*a]).ok_or_else(|| {
                RunError::env(format!(
                    "{iface} has no IPv4 address: add one or pass -s/--source"
                ))
            })?;
        }
        if want6 {
            s6 = own6.first().map(|a| vec![*a]).ok_or_else(|| {
                RunError::env(format!(
                    "{iface} has no global IPv6 address: add one (nodad) or pass -s/--source"
                ))
            })?;
        }
    }
    if want4 && s4.is_empty() {
        return Err(RunError::usage(
            "IPv4 targets need an IPv4 source: add one with -s",
        ));
    }
    if want6 && s6.is_empty() {
        return Err(RunError::usage(
            "IPv6 targets need an IPv6 source: add one with -s",
        ));
    }
    if !want4 {
        s4.clear();
    }
    if !want6 {
        s6.clear();
    }
    Ok((s4, s6))
}

fn source_text(s4: &[Ipv4Addr], s6: &[Ipv6Addr]) -> String {
    let mut parts = Vec::new();
    if let (Some(a), Some(b)) = (s4.first(), s4.last()) {
        parts.push(format!("{} IPv4 ({a}..{b})", s4.len()));
    }
    if let (Some(a), Some(b)) = (s6.first(), s6.last()) {
        parts.push(format!("{} IPv6 ({a}..{b})", s6.len()));
    }
    parts.join(", ")
}

/// Listed IPv6 sources up to this many; more are steered as their covering prefix.
const V6_LISTED: usize = 4096;

/// The IPv6 part of the steering: every source in the trie (emulated ones with their
/// solicitations), or past `V6_LISTED` the prefix covering them with the kernel's own
/// addresses inside it listed (so their solicitations stay with the kernel).
fn steer_for6(
    sources: &[Ipv6Addr],
    own: &[Ipv6Addr],
    emulated: &[Ipv6Addr],
    base: SteerConfig,
) -> SteerConfig {
    if sources.len() <= V6_LISTED {
        return SteerConfig {
            addrs_v6: sources
                .iter()
                .filter(|a| !emulated.contains(a))
                .copied()
                .collect(),
            nd_v6: emulated.to_vec(),
            ..base
        };
    }
    let lo = sources.iter().map(|a| u128::from(*a)).min().unwrap_or(0);
    let hi = sources.iter().map(|a| u128::from(*a)).max().unwrap_or(0);
    let len = (lo ^ hi).leading_zeros() as u8;
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    };
    SteerConfig {
        addrs_v6: own
            .iter()
            .filter(|a| u128::from(**a) & mask == lo & mask)
            .copied()
            .collect(),
        prefix_v6: Some((Ipv6Addr::from(lo & mask), len)),
        ..base
    }
}

/// How long (ns) a SYN that is never answered holds its tuple: the first RTO and each doubled
/// retransmission timeout, capped at `rto_max`.
fn syn_schedule(rto: u64, rto_max: u64, retries: u8) -> u64 {
    (0..=retries as u32)
        .map(|i| rto.saturating_mul(1u64 << i.min(40)).min(rto_max))
        .fold(0, u64::saturating_add)
}

/// The longest an attempt can stay open before the engine gives it an outcome: every SYN
/// transmission's RTO (doubling, capped at `rto_max`) and the data phase's timeout, plus a
/// margin for the 100 ms report lag. Capped at 5 minutes.
fn auto_drain(rto: u64, rto_max: u64, syn_retries: u8, data_timeout: Option<u64>) -> Duration {
    let total = syn_schedule(rto, rto_max, syn_retries)
        .saturating_add(data_timeout.unwrap_or(0))
        .saturating_add(250_000_000);
    Duration::from_nanos(total).min(Duration::from_secs(300))
}

/// The port of our own `--metrics` listener: a kernel socket once the run starts, so it is
/// never one of our source ports.
pub(super) fn metrics_port(c: &crate::cli::CommonArgs) -> Vec<u16> {
    c.metrics.map(|m| m.port()).into_iter().collect()
}

/// `--dry-run`: print the plan and exit.
pub fn dry_run(p: &Plan) {
    println!(
        "{}",
        crate::report::text::config_block(&p.config).trim_end()
    );
    println!("dry run: nothing was attached or sent");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_drain_covers_the_retransmission_schedule() {
        const MS: u64 = 1_000_000;
        // --rto 50ms --syn-retries 6: 50+100+200+400+800+1600+3200 ms, + the margin.
        assert_eq!(
            auto_drain(50 * MS, 60_000 * MS, 6, None),
            Duration::from_millis(6600)
        );
        // Capped RTO, and the data phase on top.
        assert_eq!(
            auto_drain(1000 * MS, 2000 * MS, 3, Some(8000 * MS)),
            Duration::from_millis(1000 + 2000 + 2000 + 2000 + 8000 + 250)
        );
        assert_eq!(
            auto_drain(60_000 * MS, 60_000 * MS, 15, None),
            Duration::from_secs(300)
        );
        assert_eq!(syn_schedule(1000 * MS, 60_000 * MS, 3), 15_000 * MS);
    }
}
