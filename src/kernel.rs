//! The kernel baseline: plain Linux sockets, connect()+close and accept()+close loops.
//! Used by `threeway kernel ...`, by the benchmark's kernel <-> kernel row and by tests that
//! need a real kernel peer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Result of a connect loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectResult {
    pub attempted: u64,
    pub established: u64,
    pub failed: u64,
    /// Failures by kind: the server answered the SYN with RST (ECONNREFUSED) ...
    pub refused: u64,
    /// ... or connect() gave up (the SYN and its retransmissions went unanswered for 2 s).
    pub timed_out: u64,
    pub elapsed: Duration,
}

impl ConnectResult {
    pub fn cps(&self) -> f64 {
        self.established as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a kernel client sends and waits for after connecting (empty request: nothing).
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    pub request: Vec<u8>,
    pub response_len: usize,
    /// Keep the connection open this long before closing (so a server's table fills).
    pub hold: Duration,
    /// Wait this long after a failed connect() before the next attempt (a client's backoff).
    pub backoff: Duration,
}

/// `threads` loops of connect() [+ request/response] + close (RST via SO_LINGER 0 when `rst`)
/// until `duration` passes or `count` attempts were made in total.
pub fn connect_loop(
    target: SocketAddr,
    threads: usize,
    duration: Duration,
    count: Option<u64>,
    rst: bool,
    exchange: Exchange,
) -> ConnectResult {
    let attempted = Arc::new(AtomicU64::new(0));
    let established = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let timed_out = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (attempted, established) = (attempted.clone(), established.clone());
            let (refused, timed_out, other) = (refused.clone(), timed_out.clone(), other.clone());
            let exchange = exchange.clone();
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let n = attempted.fetch_add(1, Ordering::Relaxed);
                    if count.is_some_and(|c| n >= c) {
                        attempted.fetch_sub(1, Ordering::Relaxed);
                        break;
                    }
                    let mut s = match TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
                        Ok(s) => s,
                        Err(e) => {
                            match e.kind() {
                                io::ErrorKind::ConnectionRefused => &refused,
                                io::ErrorKind::TimedOut => &timed_out,
                                _ => &other,
                            }
                            .fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(exchange.backoff);
                            continue;
                        }
                    };
                    {
                        established.fetch_add(1, Ordering::Relaxed);
                        if !exchange.request.is_empty() {
                            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                            let _ = s.write_all(&exchange.request);
                            let mut got = 0;
                            let mut buf = [0u8; 2048];
                            while got < exchange.response_len {
                                match s.read(&mut buf) {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => got += n,
                                }
                            }
                        }
                        if !exchange.hold.is_zero() {
                            std::thread::sleep(exchange.hold);
                        }
                        if rst {
                            let _ = SockRef::from(&s).set_linger(Some(Duration::ZERO));
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let attempted = attempted.load(Ordering::Relaxed);
    let established = established.load(Ordering::Relaxed);
    ConnectResult {
        attempted,
        established,
        failed: attempted - established,
        refused: refused.load(Ordering::Relaxed),
        timed_out: timed_out.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

/// A kernel listener: `threads` SO_REUSEPORT sockets, each accepting and closing (after
/// reading what the client sends until it closes, when `drain` is set).
pub struct Listener {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// With a non-empty `response`, each connection's request is read and answered before the
    /// close (FIN); otherwise connections are closed right after accept.
    pub fn start(addr: SocketAddr, threads: usize, response: Vec<u8>) -> io::Result<Listener> {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::new();
        for _ in 0..threads.max(1) {
            let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            sock.set_reuse_address(true)?;
            sock.set_reuse_port(true)?;
            sock.bind(&addr.into())?;
            sock.listen(65535)?;
            sock.set_nonblocking(true)?;
            let listener: std::net::TcpListener = sock.into();
            let (stop, accepted) = (stop.clone(), accepted.clone());
            let response = response.clone();
            handles.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            if response.is_empty() {
                                let _ = s.set_nonblocking(true);
                                let _ = s.read(&mut [0u8; 512]);
                            } else {
                                let _ = s.set_nonblocking(false);
                                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                                if s.read(&mut [0u8; 2048]).is_ok_and(|n| n > 0) {
                                    let _ = s.write_all(&response);
                                }
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_micros(200))
                        }
                        Err(_) => {}
                    }
                }
            }));
        }
        Ok(Listener {
            stop,
            accepted,
            handles,
        })
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
        self.accepted()
    }
}
