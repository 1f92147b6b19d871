//! Throw-away lab topologies: two network namespaces joined by a veth pair, addresses from the
//! benchmarking ranges 198.18.0.0/15 (RFC 2544) and, when asked, 2001:2::/48 (RFC 5180). Used by `demo`, the benchmark and the tests.
//! Everything is removed on drop, also when the caller panics.

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The pair's IPv6 addresses (`VethPair::add_ipv6`), from 2001:2::/48 (RFC 5180).
pub const IPV6_A: &str = "2001:2::1";
pub const IPV6_B: &str = "2001:2::2";

/// One side of the pair.
#[derive(Clone, Debug)]
pub struct Side {
    pub netns: String,
    pub iface: String,
    pub addr: Ipv4Addr,
}

pub struct VethPair {
    pub a: Side,
    pub b: Side,
    pub queues: u32,
}

/// Runs a command, returning stdout, or an error naming the command and its stderr.
pub fn sh(cmd: &[&str]) -> Result<String, String> {
    let out: Output = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .map_err(|e| format!("cannot run {}: {e} (is iproute2 installed?)", cmd[0]))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `<prefix>-<pid>-<n>`: a name no other topology of this process (or another) uses.
fn unique_base(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl VethPair {
    /// The sides' names and addresses (nothing is created): `<base>-a` tw0 198.18.0.1,
    /// `<base>-b` tw1 `b_addr`.
    fn named(base: &str, b_addr: Ipv4Addr, queues: u32) -> VethPair {
        VethPair {
            a: Side {
                netns: format!("{base}-a"),
                iface: "tw0".into(),
                addr: Ipv4Addr::new(198, 18, 0, 1),
            },
            b: Side {
                netns: format!("{base}-b"),
                iface: "tw1".into(),
                addr: b_addr,
            },
            queues,
        }
    }

    /// Creates `<prefix>-<pid>-<n>-a` / `-b` namespaces, veth `tw0` (a) <-> `tw1` (b) with
    /// `queues` RX and TX queues each, 198.18.0.1/24 (a) and 198.18.0.2/24 (b), checksum
    /// offload off on both ends (a kernel peer would otherwise send partial checksums).
    pub fn create(prefix: &str, queues: u32) -> Result<VethPair, String> {
        let pair = VethPair::named(&unique_base(prefix), Ipv4Addr::new(198, 18, 0, 2), queues);
        // From here on, Drop removes whatever was made.
        sh(&["ip", "netns", "add", &pair.a.netns])?;
        sh(&["ip", "netns", "add", &pair.b.netns])?;
        let q = queues.to_string();
        sh(&[
            "ip",
            "link",
            "add",
            "tw0",
            "netns",
            &pair.a.netns,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            "tw1",
            "netns",
            &pair.b.netns,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ])?;
        for side in [&pair.a, &pair.b] {
            pair.bring_up(side)?;
        }
        Ok(pair)
    }

    /// Loopback up, the side's /24 address, the interface up, and checksum/segmentation
    /// offloads off (a kernel peer would otherwise send partial checksums over veth).
    pub fn bring_up(&self, side: &Side) -> Result<(), String> {
        let addr = format!("{}/24", side.addr);
        self.exec(side, &["ip", "link", "set", "lo", "up"])?;
        self.exec(side, &["ip", "addr", "add", &addr, "dev", &side.iface])?;
        self.exec(side, &["ip", "link", "set", &side.iface, "up"])?;
        let off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"];
        let mut cmd = vec!["ethtool", "-K", side.iface.as_str()];
        cmd.extend(off);
        self.exec(side, &cmd).map(|_| ())
    }

    /// IPv6 too: 2001:2::1/64 (a) and 2001:2::2/64 (b), added `nodad` with DAD off on the
    /// interfaces (a tentative address neither sends nor answers for a second or so).
    pub fn add_ipv6(&self) -> Result<(), String> {
        for (side, addr) in [(&self.a, IPV6_A), (&self.b, IPV6_B)] {
            let dad = format!("net.ipv6.conf.{}.accept_dad=0", side.iface);
            self.exec(side, &["sysctl", "-qw", &dad])?;
            let cidr = format!("{addr}/64");
            self.exec(
                side,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    &cidr,
                    "dev",
                    &side.iface,
                    "nodad",
                ],
            )?;
        }
        Ok(())
    }

    /// Attaches an XDP_PASS program (bpf/pass.bpf.c) to `side`'s end: a kernel peer of
    /// `serve --offload xdp` needs it to receive the frames answered with XDP_TX (a veth
    /// delivers them only to an end with XDP). Not on an end threeway attaches to.
    pub fn attach_xdp_pass(&self, side: &Side) -> Result<(), String> {
        static PASS_OBJ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pass.bpf.o"));
        let path = std::env::temp_dir().join(format!("threeway-pass-{}.bpf.o", std::process::id()));
        std::fs::write(&path, PASS_OBJ).map_err(|e| format!("{}: {e}", path.display()))?;
        let obj = path.to_string_lossy().to_string();
        let r = self.exec(
            side,
            &[
                "ip",
                "link",
                "set",
                "dev",
                &side.iface,
                "xdpdrv",
                "obj",
                &obj,
                "sec",
                "xdp",
            ],
        );
        let _ = std::fs::remove_file(&path);
        r.map(|_| ())
    }

    /// Runs `cmd` inside `side`'s namespace.
    pub fn exec(&self, side: &Side, cmd: &[&str]) -> Result<String, String> {
        let mut full = vec!["ip", "netns", "exec", side.netns.as_str()];
        full.extend_from_slice(cmd);
        sh(&full)
    }

    /// A `Command` for a program run inside `side`'s namespace.
    pub fn command(&self, side: &Side, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &side.netns, program]);
        c
    }

    /// `ip link show` of the side's interface (to check for a leftover XDP program).
    pub fn link_show(&self, side: &Side) -> String {
        self.exec(side, &["ip", "link", "show", "dev", &side.iface])
            .unwrap_or_default()
    }

    /// Reads a counter from the namespace's /proc/net/snmp or /proc/net/netstat, e.g.
    /// ("Tcp", "PassiveOpens") or ("TcpExt", "SyncookiesSent").
    pub fn snmp(&self, side: &Side, group: &str, name: &str) -> Result<u64, String> {
        for file in ["/proc/net/snmp", "/proc/net/netstat"] {
            let text = self.exec(side, &["cat", file])?;
            if let Some(v) = snmp_value(&text, group, name) {
                return Ok(v);
            }
        }
        Err(format!(
            "counter {group}:{name} not found in /proc/net/snmp or netstat"
        ))
    }
}

/// A star: one server namespace and `n` client namespaces, each with a veth into a bridge
/// in a switch namespace. Server `tw1` 198.18.0.2/24; client i `tw0` 198.18.0.(11+i)/24.
/// For runs split over several generator "hosts" (`--segment i/N`).
pub struct Star {
    pub server: Side,
    pub clients: Vec<Side>,
    switch: String,
    /// Kept only to reuse `exec`/`command` (a and b are the server's side twice).
    pair: VethPair,
}

impl Star {
    pub fn create(prefix: &str, n: usize) -> Result<Star, String> {
        let base = unique_base(prefix);
        let server = Side {
            netns: format!("{base}-s"),
            iface: "tw1".into(),
            addr: Ipv4Addr::new(198, 18, 0, 2),
        };
        let clients: Vec<Side> = (0..n)
            .map(|i| Side {
                netns: format!("{base}-c{i}"),
                iface: "tw0".into(),
                addr: Ipv4Addr::new(198, 18, 0, 11 + i as u8),
            })
            .collect();
        let switch = format!("{base}-sw");
        let star = Star {
            pair: VethPair {
                a: server.clone(),
                b: server.clone(),
                queues: 1,
            },
            server,
            clients,
            switch,
        };
        sh(&["ip", "netns", "add", &star.switch])?;
        let sw = Side {
            netns: star.switch.clone(),
            iface: "br0".into(),
            addr: Ipv4Addr::UNSPECIFIED,
        };
        star.pair
            .exec(&sw, &["ip", "link", "add", "br0", "type", "bridge"])?;
        star.pair.exec(&sw, &["ip", "link", "set", "br0", "up"])?;
        let ends: Vec<(Side, String)> = std::iter::once((star.server.clone(), "ps".to_string()))
            .chain(
                star.clients
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), format!("p{i}"))),
            )
            .collect();
        for (side, port) in &ends {
            sh(&["ip", "netns", "add", &side.netns])?;
            sh(&[
                "ip",
                "link",
                "add",
                &side.iface,
                "netns",
                &side.netns,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                &star.switch,
            ])?;
            star.pair
                .exec(&sw, &["ip", "link", "set", port, "master", "br0"])?;
            star.pair.exec(&sw, &["ip", "link", "set", port, "up"])?;
            star.pair.exec(&sw, &["ethtool", "-K", port, "tx", "off"])?;
            star.pair.bring_up(side)?;
        }
        Ok(star)
    }

    /// A `Command` for a program run inside `side`'s namespace.
    pub fn command(&self, side: &Side, program: &str) -> Command {
        self.pair.command(side, program)
    }

    pub fn exec(&self, side: &Side, cmd: &[&str]) -> Result<String, String> {
        self.pair.exec(side, cmd)
    }

    pub fn link_show(&self, side: &Side) -> String {
        self.pair.link_show(side)
    }
}

impl Drop for Star {
    fn drop(&mut self) {
        for ns in self.clients.iter().map(|c| &c.netns).chain([&self.switch]) {
            remove_netns(ns);
        }
        // `pair` drops next and removes the server namespace.
    }
}

/// Two hosts in different subnets with a router namespace between them:
/// `a` tw0 198.18.0.1/24 <-> r0 198.18.0.254 [router] r1 198.18.1.254 <-> tw1 198.18.1.2/24 `b`.
/// The router forwards in the kernel, so loss and rate caps go in its nftables forward chain
/// (this kernel has no sch_netem). `pair` holds the two hosts (its `exec`/`command` work as
/// for a plain pair); dropping it removes the router too.
pub struct Routed {
    pub pair: VethPair,
    pub router: String,
}

impl Routed {
    pub fn create(prefix: &str) -> Result<Routed, String> {
        let base = unique_base(prefix);
        let routed = Routed {
            pair: VethPair::named(&base, Ipv4Addr::new(198, 18, 1, 2), 1),
            router: format!("{base}-r"),
        };
        // From here on, Drop removes whatever was made.
        for ns in [&routed.pair.a.netns, &routed.pair.b.netns, &routed.router] {
            sh(&["ip", "netns", "add", ns])?;
        }
        let r = Side {
            netns: routed.router.clone(),
            iface: "r0".into(),
            addr: Ipv4Addr::new(198, 18, 0, 254),
        };
        let r1 = Side {
            iface: "r1".into(),
            addr: Ipv4Addr::new(198, 18, 1, 254),
            ..r.clone()
        };
        for (host, rside) in [(&routed.pair.a, &r), (&routed.pair.b, &r1)] {
            sh(&[
                "ip",
                "link",
                "add",
                &host.iface,
                "netns",
                &host.netns,
                "type",
                "veth",
                "peer",
                "name",
                &rside.iface,
                "netns",
                &rside.netns,
            ])?;
            routed.pair.bring_up(host)?;
            routed.pair.bring_up(rside)?;
            let gw = rside.addr.to_string();
            routed
                .pair
                .exec(host, &["ip", "route", "add", "default", "via", &gw])?;
        }
        routed
            .pair
            .exec(&r, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        Ok(routed)
    }

    /// Runs `cmd` in the router's namespace.
    pub fn in_router(&self, cmd: &[&str]) -> Result<String, String> {
        let mut full = vec!["ip", "netns", "exec", self.router.as_str()];
        full.extend_from_slice(cmd);
        sh(&full)
    }

    /// Drops `percent`% of the forwarded IPv4 packets, both ways, at random (nftables).
    pub fn random_loss(&self, percent: u32) -> Result<(), String> {
        let rules = format!(
            "table inet twloss {{\n chain twfwd {{\n type filter hook forward priority 0;\n \
             numgen random mod 100 < {percent} counter drop\n }}\n}}\n"
        );
        nft_in(&self.router, &rules)
    }
}

/// Loads an nftables ruleset (the `table ... { ... }` file syntax) into `netns`.
pub fn nft_in(netns: &str, rules: &str) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("{}.nft", unique_base("threeway-nft")));
    std::fs::write(&path, rules).map_err(|e| format!("write {}: {e}", path.display()))?;
    let r = sh(&[
        "ip",
        "netns",
        "exec",
        netns,
        "nft",
        "-f",
        path.to_str().unwrap_or(""),
    ]);
    let _ = std::fs::remove_file(&path);
    r.map(|_| ())
}

impl Drop for Routed {
    fn drop(&mut self) {
        remove_netns(&self.router);
        // `pair` drops next and removes the two hosts.
    }
}

/// Finds `name` in the header/value line pair of `group` ("Tcp: RtoAlgorithm ...").
pub fn snmp_value(text: &str, group: &str, name: &str) -> Option<u64> {
    let prefix = format!("{group}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    let (h, v) = (lines.next()?, lines.next()?);
    let idx = h.split_whitespace().position(|k| k == name)?;
    v.split_whitespace().nth(idx)?.parse().ok()
}

/// Kills every process still running in `ns` (a test that panicked leaves its children
/// behind otherwise), then deletes it; the veth end inside goes with it, and its peer too.
fn remove_netns(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).output();
        }
    }
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a.netns, &self.b.netns] {
            remove_netns(ns);
        }
    }
}

/// An nginx in one namespace of a lab: its own prefix, config, document root and access log
/// under a temp directory, in the foreground on `addr:port` (killed, and the directory
/// removed, on drop). The access log has one `STATUS BYTES` line per request. Needs the
/// `nginx` binary (deploy/install-deps.sh).
pub struct Nginx {
    pub dir: std::path::PathBuf,
    child: std::process::Child,
}

impl Nginx {
    /// Starts nginx (one worker) on `side`'s address serving `files` (name, size:
    /// [`body_bytes`]) at `/<name>`; `/forbidden` answers 403 and a missing file 404.
    pub fn start(p: &VethPair, side: &Side, port: u16, files: &[(&str, usize)]) -> Nginx {
        Nginx::start_on(p, side, port, files, None)
    }

    /// As [`Nginx::start`], with the worker pinned to CPU `cpu` (a benchmark gives the server
    /// a core of its own, so the clients compared beside it get the same other core).
    pub fn start_on(
        p: &VethPair,
        side: &Side,
        port: u16,
        files: &[(&str, usize)],
        cpu: Option<u32>,
    ) -> Nginx {
        let affinity = cpu.map_or(String::new(), |c| {
            format!("worker_cpu_affinity {:b};\n", 1u64 << c)
        });
        let dir = std::env::temp_dir().join(unique_base("threeway-nginx"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).expect("nginx temp dir");
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx temp dir");
        for (name, size) in files {
            std::fs::write(dir.join("www").join(name), body_bytes(*size)).expect("nginx file");
        }
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\n{affinity}daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 8192; }}\n\
             http {{\n  log_format st '$status $body_bytes_sent';\n  access_log {d}/access.log st;\n\
               client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n\
               uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n  sendfile on;\n\
               keepalive_requests 100000;\n\
               server {{\n    listen {}:{port} backlog=8192;\n    root {d}/www;\n\
                 location = /forbidden {{ return 403; }}\n  }}\n}}\n",
            side.addr
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let child = p
            .command(side, "nginx")
            .args(["-p", &dir.to_string_lossy(), "-c"])
            .arg(dir.join("nginx.conf"))
            .args(["-e", &format!("{d}/error.log")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn nginx (deploy/install-deps.sh installs it)");
        let n = Nginx { dir, child };
        let t = std::time::Instant::now();
        let listening = format!("sport = :{port}");
        while t.elapsed() < std::time::Duration::from_secs(10) {
            if p.exec(side, &["ss", "-Htln", &listening])
                .is_ok_and(|s| !s.trim().is_empty())
            {
                return n;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nginx on {}:{port} not listening within 10 s", side.addr);
    }

    /// (status, body bytes) of every request logged so far.
    pub fn log(&self) -> Vec<(u16, u64)> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (s, b) = l.split_once(' ')?;
                Some((s.parse().ok()?, b.trim().parse().ok()?))
            })
            .collect()
    }

    /// Requests logged with `status`.
    pub fn count(&self, status: u16) -> usize {
        self.log().iter().filter(|(s, _)| *s == status).count()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Deterministic bytes of a test body (not all one value, so a checksum means something).
pub fn body_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::snmp_value;

    #[test]
    fn reads_snmp_counters() {
        let t = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm ActiveOpens PassiveOpens\nTcp: 1 17 42\n";
        assert_eq!(snmp_value(t, "Tcp", "PassiveOpens"), Some(42));
        assert_eq!(snmp_value(t, "Tcp", "ActiveOpens"), Some(17));
        assert_eq!(snmp_value(t, "Tcp", "Nope"), None);
    }
}
