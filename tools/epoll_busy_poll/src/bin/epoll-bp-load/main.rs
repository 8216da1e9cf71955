//! `epoll-bp-load`: an open-loop load generator for unmodified memcached and
//! redis servers, to measure what per-epoll busy polling does to their
//! latency.
//!
//! ```text
//! epoll-bp-load --proto memcached|redis --server IP:PORT --rate R --duration SECS
//!     [--conns N] [--warmup SECS] [--get-ratio F] [--keys K] [--value-size B]
//!     [--preload] [--cpu N] [--poisson] [--seed S] [--drain-timeout SECS]
//!     [--spin-us USECS] [--json]
//! ```
//!
//! Open loop: request i is due at t0 + i/R (or after exponential gaps with
//! `--poisson`, the same for the same `--seed`), goes to the connections
//! round robin, and is sent when due whatever became of the earlier ones:
//! several are in flight per connection, pipelined, and their replies come
//! back in order.  When the generator is late it sends everything overdue at
//! once, and the latency still counts from the scheduled time, so a stalled
//! server is not hidden by a generator that waited for it (no coordinated
//! omission).  How late the sends were (send lag) is reported too: a large
//! one says the generator, not the server, was the limit.
//!
//! Latency is the time the whole reply has been read minus the scheduled
//! send time, CLOCK_MONOTONIC, in nanoseconds (reported in microseconds,
//! 3 significant digits).  The first `--warmup` seconds (default 1) are sent
//! and not recorded; `--duration` seconds are measured after them.  Then
//! sending stops, and replies are waited for up to `--drain-timeout` seconds
//! (default 1): those that did not come are `missing`.
//!
//! Requests: gets with probability `--get-ratio` (default 0.9), sets of
//! `--value-size` bytes (default 64) otherwise, on keys `key:<n>`, n uniform
//! in [0, `--keys`) (default 1000).  `--preload` sets every key first (closed
//! loop) so gets hit.  memcached's text protocol (`get`, `set`) or RESP
//! (`GET`, `SET`); an error reply counts in `errors`, and a malformed one too,
//! closing its connection (what was outstanding on it is `missing`).
//!
//! One thread, nonblocking TCP_NODELAY sockets, epoll with nanosecond
//! timeouts (`epoll_pwait2`, else `epoll_wait`) until the next send; `--cpu`
//! pins the thread.  `--conns` defaults to 4.  Where timer wakeups are slow
//! (virtual machines: tens of microseconds), `--spin-us` polls instead of
//! sleeping for the last microseconds before each send, keeping the send
//! lag down at the cost of a busy CPU.
//!
//! Output: summary lines, or one JSON object with `--json` (snake_case
//! names with the unit in them: `achieved_rate_rps`, `latency_p99_us`, ...).
//!
//! Exit status: 0 when the run completed (its errors are in the report), 1
//! when it could not start (with a message saying what to do), 2 on a usage
//! error.

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod proto;
mod report;
mod run;
mod sched;
#[cfg(test)]
mod tests;

use proto::Proto;
use report::Report;
use run::Config;

/// Open-loop load generator for memcached and redis: requests at a fixed (or
/// Poisson) rate whatever the replies do, latency from the scheduled time.
#[derive(Debug, Parser)]
#[command(name = "epoll-bp-load")]
struct Cli {
    /// Server protocol.
    #[arg(long, value_enum)]
    proto: Proto,
    /// Server address, IP:PORT (or HOST:PORT).
    #[arg(long, value_name = "IP:PORT")]
    server: String,
    /// Requests per second, all connections together.
    #[arg(long, value_parser = positive)]
    rate: f64,
    /// Seconds measured, after the warmup.
    #[arg(long, value_name = "SECS", value_parser = seconds_positive)]
    duration: Duration,
    /// Connections; requests go to them round robin.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    conns: u16,
    /// Seconds sent first and not recorded.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    warmup: Duration,
    /// Fraction of requests that are gets; the others are sets.
    #[arg(long, value_name = "F", default_value_t = 0.9, value_parser = fraction)]
    get_ratio: f64,
    /// Number of keys: key:0 .. key:<K-1>, drawn uniformly.
    #[arg(long, value_name = "K", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    keys: u32,
    /// Bytes in the value of a set.
    #[arg(long, value_name = "B", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(0..=64 << 20))]
    value_size: u32,
    /// Set every key before the run (closed loop), so gets hit.
    #[arg(long)]
    preload: bool,
    /// Pin the generator's thread to this CPU.
    #[arg(long, value_name = "N")]
    cpu: Option<usize>,
    /// Exponentially distributed gaps between requests (Poisson arrivals).
    #[arg(long)]
    poisson: bool,
    /// Seed of the keys, operations and Poisson gaps.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Seconds to wait for outstanding replies after the run.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    drain_timeout: Duration,
    /// Poll instead of sleeping for the last USECS microseconds before each
    /// send: lower send lag where timer wakeups are slow (VMs), at the cost
    /// of a busy CPU (pin it with --cpu away from the server's).
    #[arg(long, value_name = "USECS", default_value_t = 0)]
    spin_us: u32,
    /// Print one JSON object instead of the summary lines.
    #[arg(long)]
    json: bool,
}

fn number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a number")),
    }
}

fn positive(s: &str) -> Result<f64, String> {
    number(s).and_then(|v| {
        if v > 0.0 {
            Ok(v)
        } else {
            Err("must be above 0".into())
        }
    })
}

fn fraction(s: &str) -> Result<f64, String> {
    number(s).and_then(|v| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err("must be between 0 and 1".into())
        }
    })
}

/// Seconds, from 0 to a million (11 days, far from overflowing the
/// nanosecond clock).
fn seconds(s: &str) -> Result<Duration, String> {
    number(s).and_then(|v| match Duration::try_from_secs_f64(v) {
        Ok(d) if v <= 1e6 => Ok(d),
        _ => Err("must be 0 to 1000000 seconds".into()),
    })
}

fn seconds_positive(s: &str) -> Result<Duration, String> {
    seconds(s).and_then(|d| {
        if d.is_zero() {
            Err("must be above 0".into())
        } else {
            Ok(d)
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let server = match cli.server.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprintln!("epoll-bp-load: --server {}: no address", cli.server);
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!(
                "epoll-bp-load: --server {}: {e}; give IP:PORT, e.g. 127.0.0.1:11211",
                cli.server
            );
            return ExitCode::from(1);
        }
    };
    let cfg = Config {
        proto: cli.proto,
        server,
        rate: cli.rate,
        duration: cli.duration,
        warmup: cli.warmup,
        conns: usize::from(cli.conns),
        get_ratio: cli.get_ratio,
        keys: cli.keys,
        value_size: cli.value_size as usize,
        preload: cli.preload,
        cpu: cli.cpu,
        poisson: cli.poisson,
        seed: cli.seed,
        drain_timeout: cli.drain_timeout,
        spin: Duration::from_micros(u64::from(cli.spin_us)),
    };
    match run::run(&cfg) {
        Ok(stats) => {
            let report = Report::new(&cfg, &stats);
            if cli.json {
                println!("{}", report.json());
            } else {
                print!("{}", report.human());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("epoll-bp-load: {e}");
            ExitCode::from(1)
        }
    }
}
