//! `threeway demo`: two throw-away namespaces joined by veth (198.18.0.1 <-> 198.18.0.2),
//! `serve` (or a kernel listener) on one side, `connect` on the other, both reports printed,
//! everything removed afterwards, also on Ctrl-C and on error.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::cli::{DemoArgs, PeerArg};
use crate::topo::VethPair;

use super::RunError;

const PORT: u16 = 8080;

pub fn run(a: &DemoArgs) -> Result<i32, RunError> {
    super::facts::privileged().map_err(RunError::env)?;
    // Ctrl-C reaches the children (same process group); we only have to survive it to clean up.
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, interrupted.clone());
    }
    let exe = std::env::current_exe()
        .map_err(|e| RunError::env(format!("cannot find own binary: {e}")))?;
    let exe = exe.to_string_lossy().into_owned();
    let pair = VethPair::create("twdemo", a.queues).map_err(|e| {
        RunError::env(format!(
            "cannot build the demo topology: {e} (needs root, iproute2 and ethtool)"
        ))
    })?;
    println!(
        "demo: {} {} ({}) <-> {} {} ({}), veth with {} queue(s); peer: {:?}",
        pair.a.netns,
        pair.a.iface,
        pair.a.addr,
        pair.b.netns,
        pair.b.iface,
        pair.b.addr,
        a.queues,
        a.peer
    );
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cores = |rev: bool| -> String {
        (0..a.queues as usize)
            .map(|q| if rev { ncpu - 1 - q % ncpu } else { q % ncpu }.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let listen = format!("{}:{PORT}", pair.b.addr);
    let mut server: Child = match a.peer {
        PeerArg::Threeway => pair
            .command(&pair.b, &exe)
            .args([
                "serve",
                &listen,
                "-i",
                &pair.b.iface,
                "--queues",
                &a.queues.to_string(),
            ])
            .args(["--cores", &cores(true), "--rto", "200ms", "--quiet"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn(),
        PeerArg::Kernel => pair
            .command(&pair.b, &exe)
            .args(["kernel", "listen", &listen, "--threads", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn(),
    }
    .map_err(|e| RunError::env(format!("cannot start the server side: {e}")))?;
    let ready = wait_ready(&pair, a.peer, &mut server);
    let code = match ready {
        Err(e) => Err(e),
        Ok(()) => {
            let mut client = pair.command(&pair.a, &exe);
            client
                .args([
                    "connect",
                    &listen,
                    "-i",
                    &pair.a.iface,
                    "--queues",
                    &a.queues.to_string(),
                ])
                .args(["--cores", &cores(false), "-r", &a.rate.to_string()])
                .args([
                    "-d",
                    &format!("{}ms", a.duration.as_millis()),
                    "--rto",
                    "200ms",
                    "--drain",
                    "1s",
                ])
                .args([
                    "--close",
                    &format!("{:?}", a.close).to_lowercase(),
                    "--time-wait",
                    "200ms",
                ]);
            if let Some(j) = &a.json {
                client.arg("--json").arg(j);
            }
            if let Some(r) = &a.report {
                client.arg("--report").arg(r);
            }
            if a.quiet {
                client.arg("--quiet");
            }
            println!(
                "\n== client: threeway connect {listen} -r {} -d {:?} ==",
                a.rate, a.duration
            );
            client
                .status()
                .map(|s| s.code().unwrap_or(super::EXIT_ENV))
                .map_err(|e| RunError::env(format!("cannot start the client side: {e}")))
        }
    };
    let _ = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    let out = wait_with_timeout(server, Duration::from_secs(10));
    println!("\n== server ({:?}) ==", a.peer);
    print!("{out}");
    if a.peer == PeerArg::Kernel {
        let opens = pair.snmp(&pair.b, "Tcp", "PassiveOpens").unwrap_or(0);
        println!("kernel server: TcpPassiveOpens {opens}");
    }
    drop(pair);
    println!("demo: topology removed");
    code
}

/// Waits until the server side is attached (threeway) or listening (kernel).
fn wait_ready(pair: &VethPair, peer: PeerArg, server: &mut Child) -> Result<(), RunError> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = server.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return Err(RunError::env(format!(
                "the server side exited ({status}) before the run:\n{err}"
            )));
        }
        let ok = match peer {
            PeerArg::Threeway => pair.link_show(&pair.b).contains("xdp"),
            PeerArg::Kernel => pair
                .exec(&pair.b, &["ss", "-Htln", &format!("sport = :{PORT}")])
                .is_ok_and(|s| !s.trim().is_empty()),
        };
        if ok {
            // XSKs register right after attach; give them a moment.
            std::thread::sleep(Duration::from_millis(300));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(RunError::env("the server side did not come up within 15 s"))
}

/// Collects a child's stdout+stderr, killing it if it does not exit in time.
fn wait_with_timeout(mut child: Child, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    match child.wait_with_output() {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        ),
        Err(e) => format!("(no output: {e})\n"),
    }
}
