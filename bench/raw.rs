//! Row 1, the raw ceiling: AF_XDP copy-mode frames one way through the veth pair with
//! threeway's own `xsk` module (TX on side a queue 0, steered RX on side b queue 0), batch 64,
//! at most 1024 frames in flight so the receiver's ring never overflows. Returns frames/s
//! delivered.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use threeway::topo::VethPair;
use threeway::wire::{
    ChecksumMode, EtherType, EthernetRepr, IpRepr, Ipv4Repr, MacAddr, SeqNum, TcpFlags, TcpFrame,
    TcpOptions, TcpRepr,
};
use threeway::xsk::{Steer, SteerConfig, XdpAttachMode, Xsk, XskConfig, iface};

const WINDOW: u64 = 1024;

fn steer_cfg(addr: Ipv4Addr) -> SteerConfig {
    SteerConfig {
        addrs_v4: vec![addr],
        port_lo: 8080,
        port_hi: 8080,
        ..SteerConfig::default()
    }
}

fn syn(src_mac: MacAddr, dst_mac: MacAddr, a: Ipv4Addr, b: Ipv4Addr, sport: u16) -> Vec<u8> {
    let f = TcpFrame {
        eth: EthernetRepr {
            dst: dst_mac,
            src: src_mac,
            vlan: None,
            ethertype: EtherType::IPV4,
        },
        ip: IpRepr::V4(Ipv4Repr {
            src: a,
            dst: b,
            protocol: 6,
            payload_len: 0,
            ttl: 64,
            ident: 0,
            dont_frag: true,
            dscp_ecn: 0,
        }),
        tcp: TcpRepr {
            src_port: sport,
            dst_port: 8080,
            seq: SeqNum(1),
            ack: SeqNum(0),
            flags: TcpFlags(TcpFlags::SYN),
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                ..TcpOptions::default()
            },
            payload: &[],
        },
    };
    let mut buf = vec![0u8; f.buffer_len()];
    f.emit(&mut buf).expect("emit");
    debug_assert!(TcpFrame::parse(&buf, ChecksumMode::Verify).is_ok());
    buf
}

pub fn pps(p: &VethPair, d: Duration) -> f64 {
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(2));
    let (a, b) = (p.a.addr, p.b.addr);
    let (ns_a, ns_b) = (p.a.netns.clone(), p.b.netns.clone());
    let (if_a, if_b) = (p.a.iface.clone(), p.b.iface.clone());
    let dst_mac: MacAddr = p
        .exec(&p.b, &["cat", &format!("/sys/class/net/{if_b}/address")])
        .ok()
        .and_then(|m| m.trim().parse().ok())
        .expect("peer MAC");
    let rx = {
        let (received, stop, ready) = (received.clone(), stop.clone(), ready.clone());
        std::thread::spawn(move || {
            iface::enter_netns(&ns_b).expect("enter netns b");
            let mut steer =
                Steer::attach(&if_b, XdpAttachMode::Native, &steer_cfg(b)).expect("attach b");
            let mut xsk = Xsk::open(&XskConfig {
                ifname: if_b.clone(),
                queue_id: 0,
                ..XskConfig::default()
            })
            .expect("xsk b");
            steer.register(0, xsk.fd()).expect("register");
            ready.wait();
            while !stop.load(Ordering::Relaxed) {
                let n = xsk.rx_burst(256, |_, _, _| {});
                let _ = xsk.flush();
                received.fetch_add(n as u64, Ordering::Release);
                if n == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    let tx = {
        let (received, stop, ready) = (received.clone(), stop.clone(), ready.clone());
        std::thread::spawn(move || {
            iface::enter_netns(&ns_a).expect("enter netns a");
            let src_mac = MacAddr(iface::mac(&if_a).expect("mac a"));
            let _steer =
                Steer::attach(&if_a, XdpAttachMode::Native, &steer_cfg(a)).expect("attach a");
            let mut xsk = Xsk::open(&XskConfig {
                ifname: if_a.clone(),
                queue_id: 0,
                ..XskConfig::default()
            })
            .expect("xsk a");
            let frames: Vec<Vec<u8>> = (0..64)
                .map(|i| syn(src_mac, dst_mac, a, b, 10_000 + i))
                .collect();
            ready.wait();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let room = (received.load(Ordering::Acquire) + WINDOW)
                    .saturating_sub(sent)
                    .min(64);
                let mut w = xsk.tx();
                for f in frames.iter().take(room as usize) {
                    let Some(buf) = w.buffer() else { break };
                    buf[..f.len()].copy_from_slice(f);
                    w.commit(f.len());
                    sent += 1;
                }
                drop(w);
                let _ = xsk.flush();
                if room == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    // Wait for the first frames, warm up briefly, then count a window of `d`.
    let t = Instant::now();
    while received.load(Ordering::Relaxed) == 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (n0, t0) = (received.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(d);
    let (n1, t1) = (received.load(Ordering::Relaxed), Instant::now());
    stop.store(true, Ordering::Relaxed);
    let _ = tx.join();
    let _ = rx.join();
    (n1 - n0) as f64 / (t1 - t0).as_secs_f64()
}
