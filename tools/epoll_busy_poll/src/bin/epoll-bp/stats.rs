//! `epoll-bp stats`: what the busy polling of another process's epoll
//! instances did, from their fdinfo (`/proc/PID/fdinfo/FD`, read as `cat`
//! reads it: ptrace-read rights, not the ptrace-attach rights the other
//! commands need): a line per instance, one JSON object per instance with
//! `--json`, or with `--interval` a block every SECS seconds of what each
//! did meanwhile, like `vmstat 1`.  Its arguments are parsed by clap; its
//! errors and exit status follow the other commands.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;

use epoll_busy_poll::remote::{Process, EVENTPOLL_LINK};
use epoll_busy_poll::show_fields;
use epoll_busy_poll::stats::{delta, kernel_ulong_bits, parse_busy_poll_stats, BusyPollStats};

use super::napi::{parse_or_exit, TEMPLATE};
use super::{describe, fail, open_process, Failure};

const USAGE: &str = "epoll-bp stats --pid PID [--fd FD] [--json | --interval SECS [--count N]]";

const STATS_AFTER: &str = "\
Reads what busy polling did from the fdinfo of each epoll instance of
process PID (its /proc/PID/fd link is anon_inode:[eventpoll]), or of FD
only, and shows a line per instance (one line):
  fd 5: busy_poll_usecs=50 busy_poll_budget=8 prefer_busy_poll=1 napi_id=8193 loops=1200 timeouts=85 loops_with_events=1115 irq_suspensions=1105
napi_id: the NAPI instance it busy polls (0: none yet, or forgotten after
a busy loop that found no events); loops: the busy loops epoll_wait()
started since the instance was created; timeouts: those that ended
without events; loops_with_events: the difference (0 rather than below);
irq_suspensions: epoll_wait() calls that returned events and asked the
NAPI instance to suspend its IRQs (it does only with a non-zero
irq-suspend-timeout, see 'epoll-bp napi').  The counts wrap around at
the kernel's ULONG_MAX.  A kernel that shows the parameters in fdinfo but
not the counts shows them as napi_id=unavailable loops=unavailable ...

--json prints one JSON object per instance and line instead, with the
same names, null for counts that are unavailable:
  {\"pid\":4242,\"fd\":5,\"busy_poll_usecs\":50,\"busy_poll_budget\":8,\"prefer_busy_poll\":1,\"napi_id\":8193,\"loops\":1200,\"timeouts\":85,\"loops_with_events\":1115,\"irq_suspensions\":1105}

--interval SECS prints, every SECS seconds (0.1 to 86400), a block of
what each instance did in that time: a header with the local time and
the time measured, then a line per instance with its parameters and NAPI
ID now, its counts' increase and the increase per second:
  2025-06-01 12:00:01 process 4242, last 1.00 s:
      fd  usecs budget prefer  napi_id     loops  timeouts  w/events  irq_susp    loops/s timeouts/s w/events/s irq_susp/s
       5     50      8      1     8193      1200        85      1115      1105     1200.0       85.0     1115.0     1105.0
An instance that appeared meanwhile (or whose counts went back: another
instance under the same number) shows as new, counted from the next
block on; one that was closed shows as gone.  --count N stops after N
blocks; without it, epoll-bp runs until interrupted (Ctrl-C).

Rights: reading another process's fdinfo needs ptrace-read rights over
it, as 'cat /proc/PID/fdinfo/FD' does: its user (unless it is setuid or
otherwise not dumpable) or CAP_SYS_PTRACE; kernel.yama.ptrace_scope does
not restrict reading.  The counts need a kernel showing them in fdinfo
(CONFIG_NET_RX_BUSY_POLL).

Exit status: 0 on success, 1 if an operation failed, 2 on a usage error.
";

/// The command line of `epoll-bp stats ...`.
#[derive(Parser, Debug)]
#[command(
    name = "epoll-bp",
    bin_name = "epoll-bp",
    disable_help_subcommand = true,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    top: Top,
}

#[derive(Subcommand, Debug)]
enum Top {
    /// Show what the busy polling of a process's epoll instances did.
    #[command(
        help_template = TEMPLATE,
        disable_help_flag = true,
        override_usage = USAGE,
        after_help = STATS_AFTER
    )]
    Stats(StatsArgs),
}

/// `stats`' options.
#[derive(Args, Debug)]
struct StatsArgs {
    /// the process holding the epoll instances
    #[arg(long, value_name = "PID", required = true, value_parser = clap::value_parser!(i32).range(1..))]
    pid: Option<i32>,
    /// only its epoll fd FD
    #[arg(long, value_name = "FD", value_parser = clap::value_parser!(i32).range(0..))]
    fd: Option<i32>,
    /// one JSON object per instance and line
    #[arg(long, conflicts_with = "interval")]
    json: bool,
    /// every SECS seconds, what each instance did meanwhile
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    interval: Option<Duration>,
    /// with --interval: stop after N blocks
    #[arg(long, value_name = "N", requires = "interval", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// show this help
    #[arg(short, long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// An interval: decimal seconds from 0.1 to 86400.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "not a number of seconds".to_string())?;
    if !secs.is_finite() || !(0.1..=86400.0).contains(&secs) {
        return Err("out of range (0.1 to 86400 seconds)".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The usage line of `epoll-bp stats`.
fn usage() -> String {
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand_mut("stats")
        .map(|c| c.render_usage().to_string())
        .unwrap_or_else(|| format!("Usage: {USAGE}"))
}

/// Why the command stopped early.
enum Stop {
    Failed(Failure),
    /// Standard output was closed (`epoll-bp stats ... | head`).
    OutputClosed,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Failed(f)
    }
}

/// Runs `epoll-bp stats ...` (`argv` without the program name).
pub(super) fn main(argv: &[String]) -> ExitCode {
    let cli: Cli = match parse_or_exit(argv, || ("epoll-bp stats".into(), usage())) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let Top::Stats(args) = cli.top;
    match run(&args) {
        Ok(()) | Err(Stop::OutputClosed) => ExitCode::SUCCESS,
        Err(Stop::Failed(f)) => {
            eprintln!("epoll-bp: {}: {}", f.what, f.why);
            ExitCode::from(1)
        }
    }
}

/// Writes `text` to standard output.
fn emit(text: &str) -> Result<(), Stop> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Stop::OutputClosed),
        Err(e) => Err(Stop::Failed(Failure {
            what: "writing to standard output".into(),
            why: describe(&e),
        })),
    }
}

/// The epoll instances read at one time, by descriptor number.
type Sample = BTreeMap<libc::c_int, BusyPollStats>;

/// What reading `path` of `/proc/PID` failing with `e` means.
fn read_failure<T>(pid: libc::pid_t, path: &str, e: &io::Error) -> Result<T, Failure> {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => fail(
            format!("process {pid}: reading {path}"),
            format!(
                "{}: reading another process's fdinfo needs ptrace-read rights over it, as \
                 'cat /proc/{pid}/fdinfo/FD' does: run as its user (unless it is setuid or \
                 otherwise non-dumpable) or with CAP_SYS_PTRACE, e.g. as root",
                describe(e)
            ),
        ),
        Some(libc::ENOENT) | Some(libc::ESRCH) => {
            fail(format!("process {pid}"), "the process has exited")
        }
        _ => fail(format!("process {pid}: reading {path}"), describe(e)),
    }
}

/// Checks that descriptor `fd` of `process` is an epoll instance.
fn check_fd(process: &Process, fd: libc::c_int) -> Result<(), Failure> {
    let pid = process.pid();
    let what = format!("fd {fd} of process {pid}");
    match process.fd_link(fd) {
        Ok(link) if link == EVENTPOLL_LINK => Ok(()),
        Ok(link) => fail(
            what,
            format!(
                "not an epoll instance but {link}: 'epoll-bp stats --pid {pid}' shows its epoll fds"
            ),
        ),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !process.has_exited() => fail(
            what,
            format!(
                "no such descriptor (ENOENT): 'epoll-bp stats --pid {pid}' shows its epoll fds"
            ),
        ),
        Err(e) => read_failure(pid, &format!("/proc/{pid}/fd/{fd}"), &e),
    }
}

/// Reads the busy-poll lines of the epoll instances of `process` (or of
/// `only`, if it still is one).  Descriptors closed or replaced by other
/// files while they are read are left out.
fn sample(process: &Process, only: Option<libc::c_int>) -> Result<Sample, Failure> {
    let pid = process.pid();
    let is_epoll = |fd| matches!(process.fd_link(fd), Ok(link) if link == EVENTPOLL_LINK);
    let fds = match only {
        Some(fd) => match process.fd_link(fd) {
            Ok(link) if link == EVENTPOLL_LINK => vec![fd],
            Ok(_) => vec![],
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => vec![],
            Err(e) => return read_failure(pid, &format!("/proc/{pid}/fd/{fd}"), &e),
        },
        None => process
            .epoll_fds()
            .or_else(|e| read_failure(pid, &format!("/proc/{pid}/fd"), &e))?,
    };
    let mut sample = Sample::new();
    for fd in fds {
        let path = format!("/proc/{pid}/fdinfo/{fd}");
        let text = match process.fdinfo(fd) {
            Ok(text) => text,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return read_failure(pid, &path, &e),
        };
        match parse_busy_poll_stats(&text) {
            Some(stats) => {
                sample.insert(fd, stats);
            }
            None if !is_epoll(fd) => continue,
            None => {
                return fail(
                    format!("fd {fd} of process {pid}"),
                    format!(
                        "{path} has no busy-poll lines (busy_poll_usecs, busy_poll_budget, \
                         prefer_busy_poll): this kernel does not show busy polling in epoll's \
                         fdinfo (it needs CONFIG_NET_RX_BUSY_POLL and a kernel with these \
                         lines); 'epoll-bp get --pid {pid} --fd {fd}' reads the parameters"
                    ),
                )
            }
        }
    }
    // What was read by its number may be of a process that reused it.
    if process.has_exited() {
        return fail(format!("process {pid}"), "the process has exited");
    }
    Ok(sample)
}

/// The line `stats` prints for one instance.
fn line(fd: libc::c_int, s: &BusyPollStats) -> String {
    let counts = match s.counters {
        Some(c) => format!(
            "napi_id={} loops={} timeouts={} loops_with_events={} irq_suspensions={}",
            c.napi_id,
            c.loops,
            c.timeouts,
            c.loops_with_events(),
            c.irq_suspensions
        ),
        None => "napi_id=unavailable loops=unavailable timeouts=unavailable \
                 loops_with_events=unavailable irq_suspensions=unavailable"
            .into(),
    };
    format!("fd {fd}: {} {counts}\n", show_fields(&s.params))
}

/// The object `stats --json` prints for one instance.
#[derive(Serialize)]
struct JsonStats {
    pid: libc::pid_t,
    fd: libc::c_int,
    busy_poll_usecs: u32,
    busy_poll_budget: u16,
    prefer_busy_poll: u8,
    napi_id: Option<u32>,
    loops: Option<u64>,
    timeouts: Option<u64>,
    loops_with_events: Option<u64>,
    irq_suspensions: Option<u64>,
}

fn json_line(pid: libc::pid_t, fd: libc::c_int, s: &BusyPollStats) -> Result<String, Failure> {
    let c = s.counters;
    let object = JsonStats {
        pid,
        fd,
        busy_poll_usecs: s.params.busy_poll_usecs,
        busy_poll_budget: s.params.busy_poll_budget,
        prefer_busy_poll: s.params.prefer_busy_poll,
        napi_id: c.map(|c| c.napi_id),
        loops: c.map(|c| c.loops),
        timeouts: c.map(|c| c.timeouts),
        loops_with_events: c.map(|c| c.loops_with_events()),
        irq_suspensions: c.map(|c| c.irq_suspensions),
    };
    match serde_json::to_string(&object) {
        Ok(text) => Ok(text + "\n"),
        Err(e) => fail(format!("fd {fd} of process {pid}: JSON"), e.to_string()),
    }
}

/// What `stats` without `--interval` prints.
fn once(
    pid: libc::pid_t,
    only: Option<libc::c_int>,
    sample: &Sample,
    json: bool,
) -> Result<String, Failure> {
    let mut out = String::new();
    if sample.is_empty() && !json {
        match only {
            // Checked a moment ago: closed meanwhile.
            Some(fd) => out.push_str(&format!("fd {fd} of process {pid} was closed\n")),
            None => out.push_str(&format!("process {pid} has no epoll fds\n")),
        }
    }
    for (&fd, s) in sample {
        if json {
            out.push_str(&json_line(pid, fd, s)?);
        } else {
            out.push_str(&line(fd, s));
        }
    }
    Ok(out)
}

/// The local time as `2025-06-01 12:00:01`.
fn timestamp() -> String {
    // SAFETY: time() with a null pointer only returns the time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: a tm is plain data; all zeroes is a valid one.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&raw const now, &raw mut tm) }.is_null() {
        return format!("@{now}");
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

const TABLE_HEADER: &str = "    fd  usecs budget prefer  napi_id     loops  timeouts  w/events  \
                            irq_susp    loops/s timeouts/s w/events/s irq_susp/s\n";

/// One block of `stats --interval`: what each instance did from `before`
/// to `after`, `secs` seconds apart, the counts of a kernel whose
/// `unsigned long` has `ulong_bits` bits.
fn block(
    stamp: &str,
    pid: libc::pid_t,
    only: Option<libc::c_int>,
    secs: f64,
    before: &Sample,
    after: &Sample,
    ulong_bits: u32,
) -> String {
    let mut out = format!("{stamp} process {pid}, last {secs:.2} s:\n");
    let mut fds: Vec<libc::c_int> = before.keys().chain(after.keys()).copied().collect();
    fds.sort_unstable();
    fds.dedup();
    if fds.is_empty() {
        match only {
            Some(fd) => out.push_str(&format!("fd {fd} is no epoll fd now\n")),
            None => out.push_str("no epoll fds\n"),
        }
        return out;
    }
    out.push_str(TABLE_HEADER);
    for fd in fds {
        let Some(now) = after.get(&fd) else {
            out.push_str(&format!("{fd:>6}  gone\n"));
            continue;
        };
        let p = &now.params;
        out.push_str(&format!(
            "{fd:>6} {:>6} {:>6} {:>6} ",
            p.busy_poll_usecs, p.busy_poll_budget, p.prefer_busy_poll
        ));
        let Some(c) = now.counters else {
            out.push_str("       -  unavailable (this kernel's fdinfo has no busy-poll counts)\n");
            continue;
        };
        out.push_str(&format!("{:>8}  ", c.napi_id));
        let then = before.get(&fd).and_then(|then| then.counters);
        let Some(d) = then.and_then(|then| delta(&then, &c, ulong_bits)) else {
            out.push_str(if then.is_some() {
                "new (its counts went back: another instance under this number)\n"
            } else {
                "new\n"
            });
            continue;
        };
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        out.push_str(&format!(
            "{:>8}  {:>8}  {:>8}  {:>8} {:>10.1} {:>10.1} {:>10.1} {:>10.1}\n",
            d.loops,
            d.timeouts,
            d.loops_with_events,
            d.irq_suspensions,
            rate(d.loops),
            rate(d.timeouts),
            rate(d.loops_with_events),
            rate(d.irq_suspensions)
        ));
    }
    out
}

fn run(args: &StatsArgs) -> Result<(), Stop> {
    // clap requires --pid.
    let pid = args.pid.unwrap_or_default();
    let process = open_process(pid)?;
    if let Some(fd) = args.fd {
        check_fd(&process, fd)?;
    }
    let read = || sample(&process, args.fd);
    let first = read()?;
    let Some(interval) = args.interval else {
        return emit(&once(pid, args.fd, &first, args.json)?);
    };
    let watch = Watch {
        pid,
        only: args.fd,
        interval,
        count: args.count,
        ulong_bits: kernel_ulong_bits(),
    };
    watch.run(first, read, emit, timestamp)
}

/// `stats --interval`: what to watch, how often and how long.
struct Watch {
    pid: libc::pid_t,
    only: Option<libc::c_int>,
    interval: Duration,
    /// How many blocks; `None` for no end.
    count: Option<u64>,
    ulong_bits: u32,
}

impl Watch {
    /// Every interval from the `first` sample on, takes another with
    /// `read` and writes the block of the two with `out`, a blank line
    /// between blocks, each headed by `stamp()`.
    fn run(
        &self,
        first: Sample,
        mut read: impl FnMut() -> Result<Sample, Failure>,
        mut out: impl FnMut(&str) -> Result<(), Stop>,
        stamp: impl Fn() -> String,
    ) -> Result<(), Stop> {
        let mut before = first;
        let mut before_at = Instant::now();
        let mut due = before_at;
        let mut blocks = 0u64;
        while self.count.is_none_or(|n| blocks < n) {
            due += self.interval;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else {
                // Late (a stopped or starved epoll-bp): start over from now.
                due = now;
            }
            let after = read()?;
            let at = Instant::now();
            let secs = at.duration_since(before_at).as_secs_f64();
            let mut text = if blocks > 0 {
                "\n".to_string()
            } else {
                String::new()
            };
            text.push_str(&block(
                &stamp(),
                self.pid,
                self.only,
                secs,
                &before,
                &after,
                self.ulong_bits,
            ));
            out(&text)?;
            before = after;
            before_at = at;
            blocks += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::napi::error_message;
    use clap::error::ErrorKind;
    use epoll_busy_poll::params;
    use epoll_busy_poll::stats::Counters;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("epoll-bp").chain(line.split_whitespace()))
    }

    fn stats_args(line: &str) -> StatsArgs {
        let Top::Stats(a) = parse(line).unwrap().top;
        a
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options() {
        let a = stats_args("stats --pid 42");
        assert_eq!(
            (a.pid, a.fd, a.json, a.interval, a.count),
            (Some(42), None, false, None, None)
        );
        let a = stats_args("stats --pid=42 --fd 5 --json");
        assert_eq!((a.fd, a.json), (Some(5), true));
        let a = stats_args("stats --pid 42 --interval 0.5 --count 3");
        assert_eq!(a.interval, Some(Duration::from_millis(500)));
        assert_eq!(a.count, Some(3));
        assert_eq!(
            stats_args("stats --pid 42 --interval 86400").interval,
            Some(Duration::from_secs(86400))
        );
        for bad in [
            "stats",
            "stats --fd 5",
            "stats --pid 0",
            "stats --pid -1",
            "stats --pid x",
            "stats --pid 42 --fd -1",
            "stats --pid 42 --count 2",
            "stats --pid 42 --interval 1 --count 0",
            "stats --pid 42 --interval 0",
            "stats --pid 42 --interval 0.05",
            "stats --pid 42 --interval 86401",
            "stats --pid 42 --interval nan",
            "stats --pid 42 --interval inf",
            "stats --pid 42 --interval x",
            "stats --pid 42 --interval 1 --json",
            "stats --pid 42 --pid 43",
            "stats --pid 42 --usecs 5",
            "stats 42",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_errors_read_like_the_other_commands() {
        let message = error_message(&parse("stats --pid 42 --interval 0").unwrap_err());
        assert!(
            message.starts_with("invalid value '0' for '--interval <SECS>': out of range"),
            "{message}"
        );
        let message = error_message(&parse("stats").unwrap_err());
        assert!(message.contains("--pid <PID>"), "{message}");
        assert!(!message.contains('\n'));
        assert_eq!(
            usage(),
            "Usage: epoll-bp stats --pid PID [--fd FD] [--json | --interval SECS [--count N]]"
        );
    }

    #[test]
    fn help_starts_with_the_usage_line() {
        let e = parse("stats -h").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DisplayHelp);
        let text = e.render().to_string();
        assert!(
            text.starts_with("Usage: epoll-bp stats --pid PID"),
            "{text}"
        );
        for option in [
            "--interval",
            "--count",
            "--json",
            "ptrace-read",
            "loops_with_events",
        ] {
            assert!(text.contains(option), "{option}: {text}");
        }
    }

    fn stats(usecs: u32, counters: Option<(u32, u64, u64, u64)>) -> BusyPollStats {
        BusyPollStats {
            params: params(usecs, 8, 1),
            counters: counters.map(|(napi_id, loops, timeouts, irq_suspensions)| Counters {
                napi_id,
                loops,
                timeouts,
                irq_suspensions,
            }),
        }
    }

    #[test]
    fn one_line_per_instance() {
        let sample = Sample::from([
            (5, stats(50, Some((8193, 1200, 85, 1105)))),
            (7, stats(0, None)),
        ]);
        assert_eq!(
            once(4242, None, &sample, false).unwrap(),
            "fd 5: busy_poll_usecs=50 busy_poll_budget=8 prefer_busy_poll=1 napi_id=8193 \
             loops=1200 timeouts=85 loops_with_events=1115 irq_suspensions=1105\n\
             fd 7: busy_poll_usecs=0 busy_poll_budget=8 prefer_busy_poll=1 \
             napi_id=unavailable loops=unavailable timeouts=unavailable \
             loops_with_events=unavailable irq_suspensions=unavailable\n"
        );
        assert_eq!(
            once(4242, None, &Sample::new(), false).unwrap(),
            "process 4242 has no epoll fds\n"
        );
        assert_eq!(
            once(4242, Some(5), &Sample::new(), false).unwrap(),
            "fd 5 of process 4242 was closed\n"
        );
    }

    #[test]
    fn one_json_object_per_instance() {
        let sample = Sample::from([
            (5, stats(50, Some((8193, 1200, 85, 1105)))),
            (7, stats(0, None)),
        ]);
        let text = once(4242, None, &sample, true).unwrap();
        assert_eq!(
            text,
            "{\"pid\":4242,\"fd\":5,\"busy_poll_usecs\":50,\"busy_poll_budget\":8,\
             \"prefer_busy_poll\":1,\"napi_id\":8193,\"loops\":1200,\"timeouts\":85,\
             \"loops_with_events\":1115,\"irq_suspensions\":1105}\n\
             {\"pid\":4242,\"fd\":7,\"busy_poll_usecs\":0,\"busy_poll_budget\":8,\
             \"prefer_busy_poll\":1,\"napi_id\":null,\"loops\":null,\"timeouts\":null,\
             \"loops_with_events\":null,\"irq_suspensions\":null}\n"
        );
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v.is_object());
        }
        assert_eq!(once(4242, None, &Sample::new(), true).unwrap(), "");
    }

    #[test]
    fn a_block_shows_increases_and_rates() {
        let before = Sample::from([
            (5, stats(50, Some((8193, 1000, 80, 900)))),
            (6, stats(0, Some((0, 0, 0, 0)))),
            (7, stats(0, Some((0, 10, 10, 0)))),
            (8, stats(0, Some((0, 10, 10, 0)))),
            (9, stats(0, None)),
        ]);
        let after = Sample::from([
            (5, stats(50, Some((8193, 1200, 85, 1105)))),
            (6, stats(0, Some((0, 0, 0, 0)))),
            // 7 closed, 8 another instance now, 10 new.
            (8, stats(0, Some((0, 0, 0, 0)))),
            (9, stats(0, None)),
            (10, stats(20, Some((0, 0, 0, 0)))),
        ]);
        let text = block("2025-06-01 12:00:01", 4242, None, 2.0, &before, &after, 64);
        let want = "\
2025-06-01 12:00:01 process 4242, last 2.00 s:
    fd  usecs budget prefer  napi_id     loops  timeouts  w/events  irq_susp    loops/s timeouts/s w/events/s irq_susp/s
     5     50      8      1     8193       200         5       195       205      100.0        2.5       97.5      102.5
     6      0      8      1        0         0         0         0         0        0.0        0.0        0.0        0.0
     7  gone
     8      0      8      1        0  new (its counts went back: another instance under this number)
     9      0      8      1        -  unavailable (this kernel's fdinfo has no busy-poll counts)
    10     20      8      1        0  new
";
        assert_eq!(text, want);
        // Every row of numbers lines up with the header.
        let header = TABLE_HEADER.trim_end();
        for row in text.lines().skip(2).take(2) {
            assert_eq!(row.len(), header.len(), "{row}");
        }
    }

    #[test]
    fn a_block_without_instances() {
        let empty = Sample::new();
        assert_eq!(
            block("T", 1, None, 1.0, &empty, &empty, 64),
            "T process 1, last 1.00 s:\nno epoll fds\n"
        );
        assert_eq!(
            block("T", 1, Some(5), 1.0, &empty, &empty, 64),
            "T process 1, last 1.00 s:\nfd 5 is no epoll fd now\n"
        );
    }

    #[test]
    fn a_32_bit_kernels_counts_wrap() {
        let before = Sample::from([(5, stats(50, Some((1, u64::from(u32::MAX), 0, 0))))]);
        let after = Sample::from([(5, stats(50, Some((1, 9, 0, 0))))]);
        let text = block("T", 1, None, 1.0, &before, &after, 32);
        assert!(
            text.contains("\n     5     50      8      1        1        10 "),
            "{text}"
        );
        let text = block("T", 1, None, 1.0, &before, &after, 64);
        assert!(text.contains("new (its counts went back"), "{text}");
    }

    #[test]
    fn a_block_every_interval_with_instances_coming_and_going() {
        let a = Sample::from([
            (5, stats(50, Some((8193, 10, 1, 9)))),
            (7, stats(0, Some((0, 0, 0, 0)))),
        ]);
        let b = Sample::from([
            (5, stats(50, Some((8193, 20, 2, 18)))),
            (9, stats(0, Some((0, 0, 0, 0)))),
        ]);
        let c = Sample::from([(5, stats(50, Some((0, 30, 4, 26))))]);
        let mut reads = vec![Ok(c), Ok(b)];
        let mut text = String::new();
        let watch = Watch {
            pid: 42,
            only: None,
            interval: Duration::from_millis(100),
            count: Some(2),
            ulong_bits: 64,
        };
        let start = Instant::now();
        let result = watch.run(
            a,
            || reads.pop().unwrap_or_else(|| Ok(Sample::new())),
            |s| {
                text.push_str(s);
                Ok(())
            },
            || "T".into(),
        );
        assert!(result.is_ok());
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert!(text.ends_with('\n'));
        // Each block with its last newline.
        let blocks: Vec<String> = text
            .split("\n\n")
            .map(|b| format!("{}\n", b.trim_end_matches('\n')))
            .collect();
        assert_eq!(blocks.len(), 2, "{text}");
        for block in &blocks {
            assert!(block.starts_with("T process 42, last 0.1"), "{block}");
        }
        assert!(blocks[0].contains("\n     7  gone\n"), "{text}");
        assert!(blocks[0].contains("\n     9      0      8      1        0  new\n"));
        assert!(blocks[0].contains(
            "\n     5     50      8      1     8193        10         1         9         9 "
        ));
        assert!(!blocks[1].contains(" 7 "), "{text}");
        assert!(blocks[1].contains("\n     9  gone"), "{text}");
        assert!(blocks[1].contains(
            "\n     5     50      8      1        0        10         2         8         8 "
        ));
    }

    #[test]
    fn a_failed_read_ends_the_watch() {
        let mut blocks = 0;
        let watch = Watch {
            pid: 42,
            only: Some(5),
            interval: Duration::from_millis(100),
            count: None,
            ulong_bits: 64,
        };
        let mut reads = vec![
            fail("process 42", "the process has exited"),
            Ok(Sample::new()),
        ];
        let result = watch.run(
            Sample::from([(5, stats(0, None))]),
            || reads.pop().unwrap_or_else(|| Ok(Sample::new())),
            |s| {
                assert!(s.contains("\n     5  gone\n"), "{s}");
                blocks += 1;
                Ok(())
            },
            || "T".into(),
        );
        assert_eq!(blocks, 1);
        match result {
            Err(Stop::Failed(f)) => assert_eq!(f.why, "the process has exited"),
            _ => panic!("no failure"),
        }
        // Standard output closed: no failure, and no more blocks.
        let result = watch.run(
            Sample::new(),
            || Ok(Sample::new()),
            |_| Err(Stop::OutputClosed),
            || "T".into(),
        );
        assert!(matches!(result, Err(Stop::OutputClosed)));
    }

    #[test]
    fn the_time_stamp() {
        let t = timestamp();
        assert_eq!(t.len(), 19, "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], " ");
    }
}
