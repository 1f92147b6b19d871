//! The `threeway` binary: parse the command line, run, map failures to exit codes
//! (0 ok, 2 usage, 3 environment, 99 assertion failed).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

use threeway::cli::{Cli, CloseArg, Command, KernelCommand};
use threeway::run::{self, RunError};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                run::EXIT_USAGE as u8
            } else {
                0
            });
        }
    };
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("threeway: {}", e.msg);
            ExitCode::from(e.code as u8)
        }
    }
}

fn dispatch(cmd: Command) -> Result<i32, RunError> {
    match cmd {
        Command::Connect(a) => {
            let plan = run::connect::plan(&a, &run::connect::gather(&a))?;
            if a.dry_run {
                run::connect::dry_run(&plan);
                return Ok(0);
            }
            run::execute(plan)
        }
        Command::Serve(a) => run::execute(run::serve::plan(&a, &run::serve::gather(&a))?),
        Command::Demo(a) => run::demo::run(&a),
        Command::Merge(a) => run::merge::run(&a),
        Command::Report(a) => run::report::run(&a),
        Command::Search(a) => run::search::run(&a),
        Command::Kernel(k) => kernel(k),
    }
}

fn kernel(k: KernelCommand) -> Result<i32, RunError> {
    match k {
        KernelCommand::Listen {
            addr,
            threads,
            duration,
            response_bytes,
        } => {
            let sa = run::net::parse_listen(&addr)?;
            let l = threeway::kernel::Listener::start(sa, threads, vec![b'r'; response_bytes])
                .map_err(|e| RunError::env(format!("kernel listen on {sa}: {e}")))?;
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                let _ = signal_hook::flag::register(sig, stop.clone());
            }
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| start.elapsed() < d) {
                std::thread::sleep(Duration::from_millis(20));
            }
            println!("kernel listener {sa}: accepted {}", l.stop());
            Ok(0)
        }
        KernelCommand::Connect {
            target,
            threads,
            duration,
            count,
            close,
            json,
            request_bytes,
            response_bytes,
            hold,
            backoff,
        } => {
            let t = run::net::parse_target(&target)?;
            let exchange = threeway::kernel::Exchange {
                request: vec![b'q'; request_bytes],
                response_len: response_bytes,
                hold,
                backoff,
            };
            let rst = close == CloseArg::Rst;
            let r = threeway::kernel::connect_loop(t, threads, duration, count, rst, exchange);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"attempted": r.attempted, "established": r.established,
                        "failed": r.failed, "refused": r.refused, "timed_out": r.timed_out,
                        "elapsed_s": r.elapsed.as_secs_f64(), "cps": r.cps()})
                );
            } else {
                println!(
                    "kernel connect {t}: {} threads, attempted {} established {} failed {} (refused {}, timed out {}) in {:.2}s = {:.0} cps",
                    threads,
                    r.attempted,
                    r.established,
                    r.failed,
                    r.refused,
                    r.timed_out,
                    r.elapsed.as_secs_f64(),
                    r.cps()
                );
            }
            Ok(0)
        }
    }
}
