//! `connect::plan` and `serve::plan` from host facts written by hand: no root, no network.
//! Arguments go through the real command-line parser, so its value parsers are covered too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use clap::Parser;

use crate::cli::{Cli, Command, ConnectArgs, ServeArgs};
use crate::nic::rss::{MS_KEY, Rss, Tuple, equal_reta};
use crate::wire::MacAddr;

use super::facts::{HostFacts, IfaceFacts, NextHop};
use super::host::KernelPorts;
use super::{EXIT_ENV, EXIT_USAGE, Plan, connect, serve};

const OWN: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const OWN6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const HOP_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const OUR_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// A veth end with 2 queues and no readable RSS table, a kernel service on :22 and the
/// default ephemeral range; every target on-link with a resolved MAC.
fn veth(targets: &[Ipv4Addr]) -> HostFacts {
    let t: Vec<IpAddr> = targets.iter().map(|a| IpAddr::V4(*a)).collect();
    veth_any(&t)
}

/// `veth` with targets of either family (the interface has OWN and OWN6).
fn veth_any(targets: &[IpAddr]) -> HostFacts {
    HostFacts {
        privileged: Ok(()),
        cpus: 2,
        iface: Ok(IfaceFacts {
            name: "tw0".into(),
            mac: OUR_MAC,
            ipv4: vec![OWN],
            ipv6: vec![OWN6],
            rx_queues: 2,
            tx_queues: 2,
            rss: Err("no RSS table: veth".into()),
            virtual_dev: true,
        }),
        kernel_ports: KernelPorts::parse(
            "32768 60999",
            "  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A\n",
            "",
        ),
        routes: targets
            .iter()
            .map(|t| {
                (
                    *t,
                    Ok(NextHop {
                        ip: *t,
                        mac: Ok(HOP_MAC),
                    }),
                )
            })
            .collect(),
        entropy: [7; 16],
    }
}

/// A 4-queue NIC with Microsoft's Toeplitz key and an even 128-entry table.
fn toeplitz_nic(targets: &[Ipv4Addr]) -> HostFacts {
    let mut f = veth(targets);
    if let Ok(i) = &mut f.iface {
        i.name = "eth1".into();
        i.rx_queues = 4;
        i.tx_queues = 4;
        i.rss = Ok(Rss::new(MS_KEY.to_vec(), equal_reta(128, 4)).unwrap());
    }
    f.cpus = 4;
    f
}

fn connect_args(args: &[&str]) -> ConnectArgs {
    let argv = ["threeway", "connect"].iter().chain(args);
    match Cli::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("{e}"))
        .command
    {
        Command::Connect(a) => a,
        _ => unreachable!(),
    }
}

fn serve_args(args: &[&str]) -> ServeArgs {
    let argv = ["threeway", "serve"].iter().chain(args);
    match Cli::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("{e}"))
        .command
    {
        Command::Serve(a) => a,
        _ => unreachable!(),
    }
}

fn echo<'p>(p: &'p Plan, key: &str) -> &'p str {
    p.config
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {:?}", p.config))
}

fn client_ports(p: &Plan, w: usize) -> &[u16] {
    match &p.engines[w].role {
        crate::tcp::RoleConfig::Client(c) => &c.ports,
        crate::tcp::RoleConfig::Server(_) => panic!("server engine"),
    }
}

#[test]
fn veth_splits_ports_by_worker_and_leaves_the_kernel_its_ports() {
    let a = connect_args(&["198.18.0.2:80", "-i", "tw0", "-r", "100k", "-d", "5s"]);
    let p = connect::plan(&a, &veth(&[PEER])).unwrap();
    assert_eq!((p.queues, p.cores.clone()), (2, vec![0, 1]));
    assert_eq!(p.engines.len(), 2);
    for w in 0..2 {
        let ports = client_ports(&p, w);
        assert!(ports.iter().all(|x| *x as usize % 2 == w));
        assert!(
            !ports
                .iter()
                .any(|x| (32768..=60999).contains(x) || *x == 22)
        );
        assert_eq!(p.engines[w].common.peer_mac, HOP_MAC);
        assert_eq!(p.engines[w].common.local_mac, OUR_MAC);
    }
    let owners = p.port_owners.as_ref().unwrap();
    assert_eq!((owners.owner(1025), owners.owner(40000)), (Some(1), None));
    assert!(echo(&p, "sport_choice").starts_with("port % 2 (no RSS table: veth)"));
    assert_eq!(echo(&p, "sport_excluded"), "kernel ephemeral 32768-60999");
    assert_eq!(echo(&p, "rate_per_worker"), "50000.0");
    assert_eq!(
        (p.steer.addrs_v4.clone(), p.steer.port_lo, p.steer.port_hi),
        (vec![OWN], 1024, 65535)
    );
    assert!(p.arp_addrs.is_empty());
}

#[test]
fn a_toeplitz_nic_gets_rss_aware_ports() {
    let a = connect_args(&["198.18.0.2:80", "-i", "eth1", "-q", "4", "--cores", "0-3"]);
    let f = toeplitz_nic(&[PEER]);
    let p = connect::plan(&a, &f).unwrap();
    let Ok(rss) = &f.iface.as_ref().unwrap().rss else {
        unreachable!()
    };
    assert!(echo(&p, "sport_choice").starts_with("RSS-aware"));
    let target = SocketAddr::V4(SocketAddrV4::new(PEER, 80));
    for w in 0..4 {
        let ports = client_ports(&p, w);
        assert!(ports.len() > 5_000, "worker {w}: {}", ports.len());
        for port in ports.iter().step_by(97) {
            let t = Tuple::syn_ack(IpAddr::V4(OWN), *port, target);
            assert_eq!(rss.queue_of(&t).unwrap() as usize, w);
        }
    }
    // Two targets: the hash would differ per target, so ports are split by worker instead.
    let a = connect_args(&["198.18.1.2:80", "198.18.1.3:80", "-i", "eth1", "-q", "4"]);
    let mut f = toeplitz_nic(&[Ipv4Addr::new(198, 18, 1, 2), Ipv4Addr::new(198, 18, 1, 3)]);
    for (_, hop) in &mut f.routes {
        *hop = Ok(NextHop {
            ip: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254)),
            mac: Ok(HOP_MAC),
        });
    }
    let p = connect::plan(&a, &f).unwrap();
    assert!(echo(&p, "sport_choice").starts_with("port % 4 (RSS-aware ports need one source"));
}

#[test]
fn several_sources_are_listed_and_emulated_ones_answer_arp() {
    let a = connect_args(&[
        "198.18.0.2:80",
        "-i",
        "tw0",
        "-s",
        "198.18.0.10-198.18.0.13",
        "-s",
        "198.18.0.1",
    ]);
    let p = connect::plan(&a, &veth(&[PEER])).unwrap();
    assert_eq!(p.steer.addrs_v4.len(), 5);
    assert_eq!(p.steer.prefix_v4, None);
    assert_eq!(
        p.arp_addrs,
        (10..=13)
            .map(|i| Ipv4Addr::new(198, 18, 0, i))
            .collect::<Vec<_>>()
    );
    assert_eq!(echo(&p, "emulated_sources"), "4");
}

#[test]
fn many_sources_are_steered_as_their_prefix() {
    let a = connect_args(&["198.18.1.2:80", "-i", "tw0", "-s", "198.18.0.0/26"]);
    let p = connect::plan(&a, &veth(&[Ipv4Addr::new(198, 18, 1, 2)])).unwrap();
    assert_eq!(p.steer.prefix_v4, Some((Ipv4Addr::new(198, 18, 0, 0), 26)));
    assert_eq!(
        p.steer.addrs_v4,
        vec![OWN],
        "the kernel's own address stays listed"
    );
    assert_eq!(p.arp_addrs.len(), 61, "62 hosts of the /26 minus our own");
}

#[test]
fn plan_errors_say_what_to_do() {
    let a = connect_args(&["198.18.0.2:80", "-i", "tw0"]);
    let mut f = veth(&[PEER]);
    f.privileged = Err("threeway needs root".into());
    assert_eq!(connect::plan(&a, &f).err().map(|e| e.code), Some(EXIT_ENV));
    let mut f = veth(&[PEER]);
    f.iface = Err("no such interface 'tw0'".into());
    assert_eq!(connect::plan(&a, &f).err().map(|e| e.code), Some(EXIT_ENV));
    let mut f = veth(&[PEER]);
    f.routes[0].1 = Ok(NextHop {
        ip: IpAddr::V4(PEER),
        mac: Err("next hop 198.18.0.2 did not answer ARP; pass --dst-mac".into()),
    });
    let e = connect::plan(&a, &f).err().unwrap();
    assert!(e.code == EXIT_ENV && e.msg.contains("--dst-mac"), "{e}");
    // ... which --dst-mac fixes.
    let a2 = connect_args(&[
        "198.18.0.2:80",
        "-i",
        "tw0",
        "--dst-mac",
        "02:00:00:00:00:09",
    ]);
    let p = connect::plan(&a2, &f).unwrap();
    assert_eq!(p.engines[0].common.peer_mac, MacAddr([2, 0, 0, 0, 0, 9]));
    let a = connect_args(&["198.18.0.2:80", "198.18.1.2:80", "-i", "tw0"]);
    let mut f = veth(&[PEER, Ipv4Addr::new(198, 18, 1, 2)]);
    f.routes[1].1 = Ok(NextHop {
        ip: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254)),
        mac: Ok(HOP_MAC),
    });
    assert_eq!(
        connect::plan(&a, &f).err().map(|e| e.code),
        Some(EXIT_USAGE)
    );
    let a = connect_args(&["198.18.0.2:80", "-i", "tw0", "-q", "3"]);
    let e = connect::plan(&a, &veth(&[PEER])).err().unwrap();
    assert!(e.code == EXIT_USAGE && e.msg.contains("ethtool -L"), "{e}");
    for bad in [
        vec!["[::]:80", "-i", "tw0"],
        vec!["198.18.0.2:80", "-i", "tw0", "--segment", "3/3"],
        vec!["198.18.0.2:80", "-i", "tw0", "--cores", "1-x"],
        vec!["198.18.0.2:80", "-i", "tw0", "--dst-mac", "zz"],
        vec!["198.18.0.2:80", "-i", "tw0", "-s", "10.0.0.0/4"],
    ] {
        let argv = ["threeway", "connect"]
            .iter()
            .chain(&bad)
            .copied()
            .collect::<Vec<_>>();
        let e = Cli::try_parse_from(argv)
            .err()
            .unwrap_or_else(|| panic!("{bad:?} parsed"));
        assert_eq!(e.exit_code(), EXIT_USAGE, "{bad:?}");
    }
}

#[test]
fn segments_take_disjoint_port_slices() {
    let f = veth(&[PEER]);
    let parts: Vec<Vec<u16>> = (0..3)
        .map(|i| {
            let seg = format!("{i}/3");
            let a = connect_args(&[
                "198.18.0.2:80",
                "-i",
                "tw0",
                "-q",
                "1",
                "--segment",
                &seg,
                "-r",
                "3k",
            ]);
            let p = connect::plan(&a, &f).unwrap();
            assert_eq!(echo(&p, "rate"), "1000");
            client_ports(&p, 0).to_vec()
        })
        .collect();
    assert!(parts[0].last() < parts[1].first() && parts[1].last() < parts[2].first());
}

#[test]
fn server_listens_on_the_interface_and_refuses_kernel_ports() {
    let a = serve_args(&["8080", "-i", "tw0"]);
    let p = serve::plan(&a, &veth(&[])).unwrap();
    assert_eq!(p.steer.addrs_v4, vec![OWN]);
    assert_eq!(p.steer.listen_ports, vec![8080]);
    assert!(p.arp_addrs.is_empty());
    let a = serve_args(&["198.18.0.50:80", "-i", "tw0"]);
    let p = serve::plan(&a, &veth(&[])).unwrap();
    assert_eq!(
        p.arp_addrs,
        vec![Ipv4Addr::new(198, 18, 0, 50)],
        "emulated address"
    );
    let a = serve_args(&["22", "-i", "tw0"]);
    let e = serve::plan(&a, &veth(&[])).err().unwrap();
    assert!(
        e.code == EXIT_ENV && e.msg.contains("held by a kernel listener"),
        "{e}"
    );
}
