//! The worker's loop allocates nothing: a counting global allocator watches a worker-shaped
//! loop (opens, RX bursts through a client and a server engine, timers with retransmissions,
//! departures, and the 100 ms report: stats, `Spares::take` / `Engine::take_latency`, the
//! bounded report channel) while the main thread's side (`Collector::add`, `Returns::give`)
//! runs uncounted in between, as on its own thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use threeway::report::Collector;
use threeway::tcp::{
    ClientConfig, CloseMode, Common, Engine, EngineConfig, Nanos, ResponseEnd, RoleConfig,
    ServerConfig,
};
use threeway::wire::{ChecksumMode, MacAddr};
use threeway::worker::exchange::{self, Returns, Spares};
use threeway::worker::{LoopCounters, Report};
use threeway::xsk::XskCounters;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTED.with(|c| c.get()) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// Safety (of the impl as a whole): every call is forwarded unchanged to `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // Safety: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // Safety: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // Safety: `p` came from `System` with layout `l`.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // Safety: `p` came from `System` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn counted<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCS.load(Ordering::Relaxed);
    COUNTED.with(|c| c.set(true));
    let r = f();
    COUNTED.with(|c| c.set(false));
    (r, ALLOCS.load(Ordering::Relaxed) - before)
}

#[path = "support/ring.rs"]
mod ring;
use ring::Ring;

const BURST: usize = 64;

/// With `data`: a 3 KB HTTP request and a 20 KB HTTP response (many segments each way, ACK
/// clocking, the response framer), two requests per connection.
fn engines(data: bool) -> (Engine, Engine) {
    let common = |mac: u8, peer: MacAddr| Common {
        local_mac: MacAddr([2, 0, 0, 0, 0, mac]),
        peer_mac: peer,
        rto: 1_000_000,
        rto_max: 8_000_000,
        close: CloseMode::Rst,
        capacity: 16 * BURST,
        secret: *b"no-alloc-secret!",
        checksum: ChecksumMode::Verify,
        ..Common::default()
    };
    let client = Engine::new(EngineConfig {
        common: common(1, MacAddr([2, 0, 0, 0, 0, 2])),
        role: RoleConfig::Client(ClientConfig {
            sources: vec![Ipv4Addr::new(198, 18, 0, 1)],
            ports: (1024..=65535).collect(),
            destinations: vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 80)],
            request: if data {
                format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "p".repeat(3000)).into_bytes()
            } else {
                Vec::new()
            },
            response_end: if data {
                ResponseEnd::Http
            } else {
                ResponseEnd::FirstBytes
            },
            requests: if data { 2 } else { 1 },
            ..ClientConfig::default()
        }),
    })
    .expect("client");
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n".to_vec();
    response.resize(response.len() + 20_000, b'r');
    // The server learns its peers' MACs (the neighbour table is on the packet path).
    let server = Engine::new(EngineConfig {
        common: common(2, MacAddr::ZERO),
        role: RoleConfig::Server(ServerConfig {
            listen: vec![SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)],
            response: if data { response } else { Vec::new() },
            ..ServerConfig::default()
        }),
    })
    .expect("server");
    (client, server)
}

/// One worker: its engine, its TX ring and its half of the buffer exchange.
struct Worker {
    id: usize,
    engine: Engine,
    tx: Ring,
    spares: Spares,
}

impl Worker {
    fn report(&mut self, reports: &crossbeam_channel::Sender<Report>) {
        let r = Report {
            worker: self.id,
            stats: *self.engine.stats(),
            latency: self.spares.take(&mut self.engine),
            xsk: XskCounters::default(),
            xdp: None,
            lp: LoopCounters::default(),
            last: false,
            error: None,
        };
        reports.send(r).expect("main thread gone");
    }
}

/// Client <-> server for `iterations` loop turns, every 5th turn a report; every 37th frame
/// to the server is lost (SYN and data retransmissions, timers). Returns the allocations
/// made on the workers' side.
fn run(iterations: u64, now: &mut Nanos, w: &mut [Worker; 2], main: &mut Main) -> u64 {
    let mut allocs = 0;
    let mut lost = 0u64;
    for it in 0..iterations {
        let ((), n) = counted(|| {
            let [c, s] = w;
            for _ in 0..BURST {
                let _ = c.engine.open(*now, *now, &mut c.tx);
            }
            while c.tx.n > 0 || s.tx.n > 0 {
                for i in 0..c.tx.n {
                    lost += 1;
                    if !lost.is_multiple_of(37) {
                        s.engine
                            .handle_frame_at(*now, *now, c.tx.frame(i), &mut s.tx);
                    }
                }
                c.tx.n = 0;
                for i in 0..s.tx.n {
                    c.engine.handle_frame(*now, s.tx.frame(i), &mut c.tx);
                }
                s.tx.n = 0;
            }
            *now += 300_000;
            for x in [&mut *c, &mut *s] {
                if x.engine.poll_timeout().is_some_and(|t| t <= *now) {
                    x.engine.handle_timeout(*now, &mut x.tx);
                }
                if x.engine.departing() {
                    x.engine.departed(*now + 1_000);
                }
            }
            if it % 5 == 4 {
                c.report(&main.tx);
                s.report(&main.tx);
            }
        });
        allocs += n;
        main.serve(); // the main thread's turn, not counted
    }
    allocs
}

/// The main thread's side: merge reports, give the buffers back.
struct Main {
    tx: crossbeam_channel::Sender<Report>,
    rx: crossbeam_channel::Receiver<Report>,
    col: Collector,
    returns: Vec<Returns>,
    reports: u64,
}

impl Main {
    fn serve(&mut self) {
        while let Ok(r) = self.rx.try_recv() {
            let w = r.worker;
            let buf = self.col.add(r);
            self.returns[w].give(buf);
            self.reports += 1;
        }
    }
}

/// Two workers (a client and a server engine), the report exchange and the main thread's side.
fn setup(data: bool, ring: usize) -> ([Worker; 2], Main) {
    let (client, server) = engines(data);
    let (ret_c, spares_c) = exchange::exchange();
    let (ret_s, spares_s) = exchange::exchange();
    let (tx, rx) = exchange::report_channel(2);
    let main = Main {
        tx,
        rx,
        col: Collector::new(2, Duration::ZERO),
        returns: vec![ret_c, ret_s],
        reports: 0,
    };
    let w = [
        Worker {
            id: 0,
            engine: client,
            tx: Ring::new(ring),
            spares: spares_c,
        },
        Worker {
            id: 1,
            engine: server,
            tx: Ring::new(ring),
            spares: spares_s,
        },
    ];
    (w, main)
}

#[test]
fn worker_loop_allocates_nothing() {
    // The counter itself works (a test that cannot fail is a defect).
    let (v, n) = counted(|| Vec::<u64>::with_capacity(4));
    drop(v);
    assert_eq!(n, 1, "the counting allocator saw no allocation");

    let (mut w, mut main) = setup(false, 4 * BURST);
    let mut now: Nanos = 1_000_000_000;
    // Warm-up: first touches (lazy statics, first histogram buckets) are not the loop's.
    run(20, &mut now, &mut w, &mut main);
    let allocs = run(400, &mut now, &mut w, &mut main);

    let (c, s) = (w[0].engine.stats(), w[1].engine.stats());
    assert!(c.established > 5_000, "{c:?}");
    assert!(s.accepted > 5_000, "{s:?}");
    assert!(c.syn_retransmits > 0, "no retransmission exercised: {c:?}");
    assert!(main.reports >= 160, "{} reports", main.reports);
    let total = main.col.total.connect.len();
    assert!(total > 5_000, "reports carried {total} connect samples");
    assert_eq!(allocs, 0, "the worker loop allocated {allocs} times");
}

#[test]
fn worker_loop_with_data_of_many_segments_allocates_nothing() {
    let (mut w, mut main) = setup(true, 64 * BURST);
    let mut now: Nanos = 1_000_000_000;
    run(20, &mut now, &mut w, &mut main);
    let allocs = run(200, &mut now, &mut w, &mut main);
    let (c, s) = (w[0].engine.stats(), w[1].engine.stats());
    assert!(c.responses_ok > 1_000, "{c:?}");
    assert!(c.body_bytes > 1_000 * 20_000, "{c:?}");
    assert!(
        s.data_retransmits + c.data_retransmits > 0,
        "no data retransmission: {s:?}"
    );
    assert_eq!(
        allocs, 0,
        "the worker loop with data allocated {allocs} times"
    );
}
