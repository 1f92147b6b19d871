//! Command-line interface (clap). Parsing only: `run` turns these into a plan.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::assert::Assertion;

#[derive(Parser, Debug)]
#[command(
    name = "threeway",
    version,
    about = "Kernel-bypass (AF_XDP) TCP handshake load tester"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Parsed once at start-up: variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open TCP connections at a target rate and report rate, outcomes and handshake latency.
    #[command(after_help = "Examples:\n  \
        threeway connect 198.18.0.2:80 --iface eth1 -r 100k -d 30s\n  \
        threeway connect 198.18.0.2:80 --iface eth1 -r 1M -s 198.18.1.0/24 --close fin --json out.json\n  \
        threeway connect 198.18.0.2:80 --iface eth1 -n 10k --assert 'p99<2ms' --assert 'fail<0.1%'")]
    Connect(ConnectArgs),
    /// Accept TCP connections at high rate (optionally with SYN cookies) and report.
    #[command(after_help = "Examples:\n  \
        threeway serve 80 --iface eth1\n  \
        threeway serve 198.18.0.2:80 --iface eth1 --cookies auto --response @reply.http -d 60s")]
    Serve(ServeArgs),
    /// Build a throw-away netns + veth topology, run serve and connect across it, report, clean up.
    #[command(after_help = "Examples:\n  \
        threeway demo\n  \
        threeway demo --peer kernel -r 20k -d 5s --json demo.json")]
    Demo(DemoArgs),
    /// Merge the --json summaries (and --hlog histograms) of instances run with --segment.
    #[command(after_help = "Examples:\n  \
        threeway merge c0.json c1.json c2.json --hlog c0.hlog --hlog c1.hlog --hlog c2.hlog --assert 'p99<2ms'")]
    Merge(MergeArgs),
    /// Write one self-contained HTML page (inline SVG plots) from a run's NDJSON/hlog/JSON files.
    #[command(after_help = "Examples:\n  \
        threeway report run.ndjson --hlog run.hlog --json run.json -o report.html\n  \
        threeway report c0.ndjson c1.ndjson --hlog c0.hlog --hlog c1.hlog --json merged.json -o merged.html")]
    Report(ReportArgs),
    /// Find the highest connection rate that meets every --assert, by short trials (bisection).
    #[command(after_help = "Examples:\n  \
        threeway search 198.18.0.2:80 -i eth1 --assert 'fail<0.1%' --assert 'p99<1ms' --from 10k --to 1M\n  \
        threeway search 198.18.0.2:80 -i eth1 --assert 'p99<500ms' --trial 3s --precision 5% --json found.json")]
    Search(SearchArgs),
    /// Kernel-socket baseline (Linux connect/accept loops), for comparisons and tests.
    #[command(subcommand)]
    Kernel(KernelCommand),
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Network interface to attach to (e.g. eth1).
    #[arg(short = 'i', long)]
    pub iface: String,
    /// Number of NIC queues (= workers) to use; default: all RX queues of the interface.
    #[arg(short = 'q', long)]
    pub queues: Option<u32>,
    /// CPU cores for the workers, e.g. "2-5" or "2,4,6"; default: queue i on core i.
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<CoreList>,
    /// XDP attach mode; generic is slow and only for diagnosis.
    #[arg(long, value_enum, default_value_t = XdpModeArg::Native)]
    pub xdp_mode: XdpModeArg,
    /// AF_XDP zero-copy: auto tries it and falls back to copy mode.
    #[arg(long, value_enum, default_value_t = ZeroCopyArg::Auto)]
    pub zero_copy: ZeroCopyArg,
    /// Run length (ms/s/m/h); serve: 0 = until Ctrl-C.
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Live stats interval.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Initial retransmission timeout for SYN / SYN-ACK (RFC 6298: 1s).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub rto: std::time::Duration,
    /// Keep polling the rings this long after the last work before sleeping in ppoll()
    /// (0 = sleep at once: least CPU, more latency; a core's worth of spinning otherwise).
    #[arg(long, default_value = "50us", value_parser = parse_duration)]
    pub spin: std::time::Duration,
    /// Receive time of each frame: `xdp`, the XDP program's stamp at the hook (frames of a
    /// driver without XDP metadata fall back to the loop clock, with a warning), or `loop`,
    /// the worker's clock when it reads the frame (adds the wait for a sleeping or busy worker).
    #[arg(long, value_enum, default_value_t = RxTimestampArg::Xdp)]
    pub rx_timestamp: RxTimestampArg,
    /// Where the handshake is answered: `xdp`, in the XDP program with XDP_TX (server: SYN,
    /// final ACK, close, requests still reach the engine; client: the SYN-ACK and the close,
    /// user space paces SYNs), or `off`, every frame through AF_XDP to the engine. `auto`: xdp
    /// on a physical NIC where the run allows it, the engine on veth (the pre-flight echo says
    /// `handshake=` and why). A peer on veth needs an XDP program on its end to receive
    /// XDP_TX frames. `check` (connect): half the handshakes each way, the engine's half timed in
    /// XDP too, all latencies shown.
    #[arg(long, value_enum, default_value_t = OffloadArg::Auto)]
    pub offload: OffloadArg,
    /// Connection table capacity per worker.
    #[arg(long, default_value = "262144", value_parser = parse_count)]
    pub capacity: u64,
    /// UMEM frames per queue (at least 128; rings shrink below 4096 frames).
    #[arg(long, default_value_t = 8192)]
    pub frames: u32,
    /// UMEM frame size in bytes (2048 or 4096).
    #[arg(long, default_value_t = 2048, value_parser = parse_frame_size)]
    pub frame_size: u32,
    /// Write the final summary as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// One JSON record per interval (totals and deltas); "-" = stdout.
    #[arg(long)]
    pub ndjson: Option<PathBuf>,
    /// HdrHistogram interval log of handshake latency.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// At the end, write an HTML report of the run (plots of the intervals, percentiles).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Serve Prometheus metrics on ADDR:PORT.
    #[arg(long, value_parser = parse_socket_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Exit 99 unless this holds, e.g. 'cps>=900k', 'p95<1ms', 'fail<0.1%', 'failed.timeout==0'.
    /// Repeatable. Metrics: any pNN/pNN.N of handshake latency (rtt.pNN of the RTT), max,
    /// mean, cps, attempts_per_s, attempted, established, failed, active, fail (share),
    /// failed.<outcome>, fail.<outcome>, drop.<reason>, engine.<counter>.
    #[arg(long = "assert", value_parser = Assertion::parse)]
    pub asserts: Vec<Assertion>,
    /// Receive window we advertise, bytes (k/M suffixes); default 65535 << 7 (8 MiB with
    /// the default window scale 7). Data is consumed as it arrives, so it stays open.
    #[arg(long, value_parser = parse_count)]
    pub rcv_window: Option<u64>,
    /// Seed for ISNs and port order (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// No live line.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Targets HOST:PORT (198.18.0.2:80, [2001:2::2]:80; both families may be mixed), used
    /// round-robin.
    #[arg(required = true, value_parser = parse_target)]
    pub targets: Vec<std::net::SocketAddr>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Connections per second (k/M suffixes); 0 = as fast as --max-active allows.
    #[arg(short = 'r', long, default_value = "1k", value_parser = parse_rate)]
    pub rate: f64,
    /// Linear rate ramp FROM..TO/DURATION (e.g. 10k..1M/30s), open loop; the last rate
    /// holds past it; the run lasts DURATION unless -d says otherwise.
    #[arg(long, conflicts_with_all = ["rate", "steps"], value_parser = parse_ramp)]
    pub ramp: Option<crate::worker::profile::Profile>,
    /// Rate steps R1,R2,.../DURATION, each for DURATION (e.g. 100k,200k,400k/10s).
    #[arg(long, conflicts_with = "rate", value_parser = parse_steps)]
    pub steps: Option<crate::worker::profile::Profile>,
    /// Stop after this many attempts (instead of, or with, --duration).
    #[arg(short = 'n', long, value_parser = parse_count)]
    pub count: Option<u64>,
    /// Cap on concurrently open connections (closed loop when reached).
    #[arg(long, value_parser = parse_count)]
    pub max_active: Option<u64>,
    /// Source addresses: CIDR, A-B range or address, IPv4 or IPv6 (an IPv6 prefix gives its
    /// first 65536 host addresses); repeatable. Default: the interface's, per target family.
    #[arg(short = 's', long = "source", value_parser = parse_sources)]
    pub sources: Vec<SourceList>,
    /// Source ports: LO-HI, or auto (1024-65535 without the kernel's ephemeral range
    /// net.ipv4.ip_local_port_range). Ports kernel sockets hold are always left out.
    #[arg(long, default_value = "auto", value_parser = parse_sport)]
    pub sport: crate::run::host::SportSpec,
    /// How to end established connections.
    #[arg(long, value_enum, default_value_t = CloseArg::Rst)]
    pub close: CloseArg,
    /// Keep connections established this long before closing.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub hold: std::time::Duration,
    /// TIME-WAIT length after a FIN close.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub time_wait: std::time::Duration,
    /// Bytes to send after the handshake: a string, or @file.
    #[arg(long)]
    pub request: Option<String>,
    /// The response must start with these bytes (string or @file).
    #[arg(long)]
    pub expect: Option<String>,
    /// Send `GET PATH HTTP/1.1` (Host: the first target; default path /) and frame the
    /// response by HTTP/1.1 (Content-Length, chunked, or FIN); a status other than 2xx/3xx
    /// is a bad_response.
    #[arg(long, num_args = 0..=1, default_missing_value = "/", conflicts_with = "request")]
    pub http: Option<String>,
    /// An extra request header line for --http, e.g. 'Accept: */*'; repeatable.
    #[arg(long = "header", requires = "http")]
    pub headers: Vec<String>,
    /// Without --http: a response is complete after N bytes (k/M suffixes), or at the
    /// server's FIN (`fin`). Default: once --expect (or the first byte) has arrived.
    #[arg(long, value_parser = parse_response_size, conflicts_with = "http")]
    pub response_size: Option<crate::tcp::ResponseEnd>,
    /// A request must be answered completely within this long (outcome response_timeout);
    /// default 8 x --rto.
    #[arg(long, value_parser = parse_duration)]
    pub response_timeout: Option<std::time::Duration>,
    /// Requests per connection (keep-alive): each after the full previous response.
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub requests: u32,
    /// Pause between a response and the next request on the connection.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub think: std::time::Duration,
    /// SYN retransmissions before giving up (outcome timeout).
    #[arg(long, default_value_t = 3)]
    pub syn_retries: u8,
    /// MSS option value; 0 = omit.
    #[arg(long, default_value_t = 1460)]
    pub mss: u16,
    /// Window scale shift to offer.
    #[arg(long, default_value_t = 7)]
    pub wscale: u8,
    #[arg(long)]
    pub no_wscale: bool,
    #[arg(long)]
    pub no_sack: bool,
    #[arg(long)]
    pub no_ts: bool,
    /// Most connections a worker opens in one loop iteration: catching up after a late
    /// period (a stall, a full TX ring) comes in bursts of at most this size.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub burst: u32,
    /// Exclude this first part of the run from rate and latency figures.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub warmup: std::time::Duration,
    /// After the run, wait at most this long for open connections to end (a run ends as soon
    /// as none is left). Default: the retransmission schedule (SYN retries with RTO backoff,
    /// the data phase, --hold, TIME-WAIT), so every attempt gets its outcome.
    #[arg(long, value_parser = parse_duration)]
    pub drain: Option<std::time::Duration>,
    /// Next-hop MAC instead of resolving it through the kernel's neighbour table.
    #[arg(long, value_parser = parse_mac)]
    pub dst_mac: Option<crate::wire::MacAddr>,
    /// Print the plan (per-core rate, tuple headroom, memory) and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Choose source ports so replies hash to the sending worker's queue (Toeplitz NICs);
    /// off = split ports `port % workers` and hand replies off.
    #[arg(long, value_enum, default_value_t = RssArg::Auto)]
    pub rss: RssArg,
    /// Instance i of N (0-based): slice i of the rate, the count and the source-port range.
    #[arg(long, value_parser = parse_segment)]
    pub segment: Option<Segment>,
    /// Start opening at this Unix time (seconds, fractions allowed), e.g. $(($(date +%s)+10)).
    #[arg(long)]
    pub start_at: Option<f64>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listen on [ADDR:]PORT; repeatable (ADDR defaults to the interface's IPv4 addresses;
    /// `[::]:PORT` is every IPv6 address of the interface, `[2001:2::2]:80` one).
    #[arg(required = true, value_parser = parse_listen)]
    pub listen: Vec<std::net::SocketAddr>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// SYN cookies.
    #[arg(long, value_enum, default_value_t = CookiesArg::Auto)]
    pub cookies: CookiesArg,
    /// Auto mode switches to cookies above this many SYN-RECEIVED entries per worker.
    #[arg(long, default_value_t = 4096)]
    pub cookie_threshold: usize,
    /// Bytes to answer a request with: a string, or @file.
    #[arg(long)]
    pub response: Option<String>,
    /// fin: close after the response; none: wait for the client to close.
    #[arg(long, value_enum, default_value_t = ServerCloseArg::None)]
    pub close: ServerCloseArg,
    #[arg(long, default_value_t = 3)]
    pub synack_retries: u8,
    /// Answer a SYN that finds the connection table full with RST (clients fail at once, as
    /// with Linux's tcp_abort_on_overflow) instead of dropping it (clients retransmit).
    #[arg(long)]
    pub abort_on_overflow: bool,
    /// Reset established connections idle this long (a lost client RST would otherwise hold a
    /// table slot forever); 0 = never.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: std::time::Duration,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Who accepts: threeway serve, or the Linux kernel's TCP stack.
    #[arg(long, value_enum, default_value_t = PeerArg::Threeway)]
    pub peer: PeerArg,
    /// veth queues (= workers per side).
    #[arg(short = 'q', long, default_value_t = 1)]
    pub queues: u32,
    #[arg(short = 'r', long, default_value = "20k", value_parser = parse_rate)]
    pub rate: f64,
    #[arg(short = 'd', long, default_value = "3s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    #[arg(long, value_enum, default_value_t = CloseArg::Rst)]
    pub close: CloseArg,
    /// Write the client's final summary as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the client's HTML report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Keep the live line off.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum KernelCommand {
    /// Accept on kernel sockets (SO_REUSEPORT, one listener per thread) and close.
    Listen {
        /// [ADDR:]PORT
        addr: String,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(short = 'd', long, value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// Answer each connection's request with this many bytes, then close (FIN).
        #[arg(long, default_value_t = 0)]
        response_bytes: usize,
    },
    /// connect()+close loops on kernel sockets; prints connections/s.
    Connect {
        /// HOST:PORT
        target: String,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(short = 'd', long, default_value = "3s", value_parser = parse_duration)]
        duration: std::time::Duration,
        #[arg(short = 'n', long, value_parser = parse_count)]
        count: Option<u64>,
        /// rst: SO_LINGER 0 close; fin: normal close.
        #[arg(long, value_enum, default_value_t = CloseArg::Rst)]
        close: CloseArg,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Send this many bytes after connecting ...
        #[arg(long, default_value_t = 0)]
        request_bytes: usize,
        /// ... and wait for this many bytes of response before closing.
        #[arg(long, default_value_t = 0)]
        response_bytes: usize,
        /// Keep each connection open this long before closing.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        hold: std::time::Duration,
        /// Wait this long after a failed connect() before the thread's next attempt.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        backoff: std::time::Duration,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RssArg {
    Auto,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadArg {
    Auto,
    Xdp,
    Off,
    /// connect: XDP answers the SYN-ACKs of half the source ports, the engine the others; XDP
    /// times the engine's half as well, and the latencies are reported side by side (a check
    /// of XDP's figures on this network: the same SYN-ACKs timed both ways).
    Check,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxTimestampArg {
    Xdp,
    Loop,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpModeArg {
    Native,
    Generic,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroCopyArg {
    Auto,
    On,
    Off,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseArg {
    Rst,
    Fin,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerCloseArg {
    Fin,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookiesArg {
    Never,
    Always,
    Auto,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerArg {
    Threeway,
    Kernel,
}

fn parse_frame_size(s: &str) -> Result<u32, String> {
    match s {
        "2048" => Ok(2048),
        "4096" => Ok(4096),
        _ => Err(format!("'{s}': UMEM frames are 2048 or 4096 bytes")),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::units::parse_duration(s)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    crate::units::parse_rate(s)
}

fn parse_ramp(s: &str) -> Result<crate::worker::profile::Profile, String> {
    crate::worker::profile::Profile::parse_ramp(s)
}

fn parse_steps(s: &str) -> Result<crate::worker::profile::Profile, String> {
    crate::worker::profile::Profile::parse_steps(s)
}

fn parse_count(s: &str) -> Result<u64, String> {
    crate::units::parse_count(s)
}

fn parse_response_size(s: &str) -> Result<crate::tcp::ResponseEnd, String> {
    if s == "fin" {
        return Ok(crate::tcp::ResponseEnd::Fin);
    }
    match crate::units::parse_count(s) {
        Ok(0) | Err(_) => Err(format!(
            "'{s}' is not a response size: N bytes (k/M suffixes, at least 1) or fin"
        )),
        Ok(n) => Ok(crate::tcp::ResponseEnd::Size(n)),
    }
}

/// `--cores`: worker cores in queue order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreList(pub Vec<usize>);

/// One `-s` value: the addresses of a CIDR, an A-B range or one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceList(pub Vec<std::net::IpAddr>);

/// `--segment i/N`: instance `index` of `count` (index < count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub index: u16,
    pub count: u16,
}

fn parse_cores(s: &str) -> Result<CoreList, String> {
    crate::run::net::parse_cores(s)
        .map(CoreList)
        .map_err(|e| e.msg)
}

fn parse_target(s: &str) -> Result<std::net::SocketAddr, String> {
    crate::run::net::parse_target(s).map_err(|e| e.msg)
}

fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    crate::run::net::parse_listen(s).map_err(|e| e.msg)
}

fn parse_sources(s: &str) -> Result<SourceList, String> {
    crate::run::net::parse_sources(&[s.to_string()])
        .map(SourceList)
        .map_err(|e| e.msg)
}

fn parse_socket_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not ADDR:PORT (e.g. 198.18.0.1:9464 or [::]:9464)"))
}

fn parse_mac(s: &str) -> Result<crate::wire::MacAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not a MAC address like aa:bb:cc:dd:ee:ff"))
}

fn parse_segment(s: &str) -> Result<Segment, String> {
    let bad = || format!("'{s}' is not i/N with 0 <= i < N (e.g. 0/3)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u16, u16) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Segment { index, count })
}

fn parse_sport(s: &str) -> Result<crate::run::host::SportSpec, String> {
    if s == "auto" {
        return Ok(crate::run::host::SportSpec::Auto);
    }
    crate::run::net::parse_port_range(s)
        .map(|(lo, hi)| crate::run::host::SportSpec::Range(lo, hi))
        .map_err(|e| format!("{e}, or auto"))
}

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// `--json` summaries of the instances of one run (all clients, or all servers).
    #[arg(required = true)]
    pub summaries: Vec<PathBuf>,
    /// Their `--hlog` files: histograms are added exactly for the merged percentiles.
    #[arg(long)]
    pub hlog: Vec<PathBuf>,
    /// Re-check on the merged data; exit 99 unless it holds. Repeatable (metrics as for
    /// `connect --assert`; percentiles other than p50..p99.99 need --hlog).
    #[arg(long = "assert", value_parser = Assertion::parse)]
    pub asserts: Vec<Assertion>,
    /// Write the merged summary here (default: print it).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// `--ndjson` files of the run (several instances' are added interval by interval).
    pub ndjson: Vec<PathBuf>,
    /// `--hlog` files of the run (histograms added exactly).
    #[arg(long)]
    pub hlog: Vec<PathBuf>,
    /// The run's `--json` summary (or `threeway merge --json` output): outcome and configuration.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// `connect` arguments (targets, -i, sources, close, ...); -r/-d/--json are set per trial.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Lowest rate tried first; if it fails the search exits 99.
    #[arg(long, default_value = "1k", value_parser = parse_rate)]
    pub from: f64,
    /// Highest rate tried.
    #[arg(long, default_value = "1M", value_parser = parse_rate)]
    pub to: f64,
    /// Length of one trial.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub trial: std::time::Duration,
    /// Stop when the highest passing and lowest failing rates are this close (percent of the
    /// passing one).
    #[arg(long, default_value = "2%", value_parser = parse_percent)]
    pub precision: f64,
    /// Pause between trials, so that the peer's state of one trial (TIME-WAIT, SYN-RECEIVED,
    /// accept queue) is gone before the next starts.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub gap: std::time::Duration,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s
        .trim()
        .strip_suffix('%')
        .unwrap_or(s.trim())
        .parse::<f64>()
    {
        Ok(v) if v > 0.0 && v < 100.0 => Ok(v / 100.0),
        _ => Err(format!(
            "'{s}' is not a percentage between 0 and 100, e.g. 2%"
        )),
    }
}
