//! `epoll-bp`: reads and sets the per-epoll busy-poll parameters of an epoll
//! instance held by another, unmodified process, so busy polling can be
//! switched on for a running server: one instance (`set --fd`), or every
//! one the process has (`set --all`, e.g. memcached's one per worker
//! thread).  The instance is reached through `pidfd_open` + `pidfd_getfd`,
//! then `EPIOCGPARAMS` / `EPIOCSPARAMS`.  `epoll-bp stats` (the `stats`
//! module) shows what the instances' busy polling did, from their
//! `/proc/PID/fdinfo` (the NAPI ID polled, busy loops, those that timed
//! out, IRQ suspensions), once or every few seconds.  `epoll-bp napi` (the
//! `napi` module) shows and sets the per-NAPI settings busy polling works
//! with, over generic netlink.  get, set and list are parsed by hand here;
//! stats and napi by clap.
//!
//! Exit status: 0 on success, 1 when something failed (with a message
//! saying what and what to do), 2 on a usage error.

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use epoll_busy_poll::remote::{fd_kind, Process, EVENTPOLL_LINK};
use epoll_busy_poll::{
    errno_name, get_params, params, set_params, show_fields, EpollParams, NAPI_POLL_WEIGHT,
};

mod napi;
mod stats;

const HELP: &str = "\
Usage: epoll-bp <COMMAND> [OPTIONS]

Read and set the per-epoll NAPI busy-poll parameters (EPIOCGPARAMS and
EPIOCSPARAMS, Linux >= 6.9) of an epoll instance held by another process,
so busy polling can be switched on for a server without changing it, and
see what its busy polling did (fdinfo); and the per-NAPI settings busy
polling works with (netdev netlink family).

Commands:
  get   --pid PID --fd FD      show the parameters of epoll fd FD of PID
  set   --pid PID --fd FD|--all [--usecs USECS] [--budget BUDGET]
        [--prefer 0|1]         change them (of every epoll fd of PID with
                               --all); fields not given keep their value
  list  --pid PID              show every epoll fd of PID with its parameters
  stats --pid PID [--fd FD] [--json | --interval SECS [--count N]]
                               show what busy polling did: the NAPI ID
                               polled, busy loops, timeouts, IRQ suspensions;
                               with --interval, every SECS seconds
  napi show [--dev IFNAME | --ifindex N | --id ID | --pid PID --fd FD]
                               show NAPI instances: of a device, or those
                               behind the sockets epoll fd FD of PID watches
  napi set --id ID|--dev IFNAME|--ifindex N [--defer-hard-irqs N]
           [--gro-flush-timeout NS] [--irq-suspend-timeout NS]
                               change per-NAPI settings, then show them

Options:
  -h, --help     show this help, or a command's (epoll-bp set --help)
  -V, --version  show the version

Output, one line per epoll fd:
  fd 5: busy_poll_usecs=50 busy_poll_budget=8 prefer_busy_poll=0
('epoll-bp stats --help' says what stats adds to it), or per NAPI
instance ('epoll-bp napi show --help' says more):
  napi 8193: dev=eth0 ifindex=2 irq=35 pid=none defer_hard_irqs=0 ...

Rights: taking a descriptor of another process (pidfd_getfd) needs
ptrace-attach rights over it: the same user, with kernel.yama.ptrace_scope
allowing it, or CAP_SYS_PTRACE.  'stats' only reads /proc/PID/fdinfo,
which needs ptrace-read rights (as cat does): the same user, or
CAP_SYS_PTRACE.  A budget above 64 needs CAP_NET_ADMIN, and so does
'napi set'.

Exit status: 0 on success, 1 if an operation failed, 2 on a usage error.
";

const HELP_GET: &str = "\
Usage: epoll-bp get --pid PID --fd FD

Show the busy-poll parameters of the epoll instance that is descriptor FD
of process PID:
  fd FD: busy_poll_usecs=U busy_poll_budget=B prefer_busy_poll=P

Options:
  --pid PID   the process holding the epoll instance
  --fd FD     its descriptor number (see 'epoll-bp list --pid PID')
  -h, --help  show this help
";

const HELP_SET: &str = "\
Usage: epoll-bp set --pid PID --fd FD|--all [--usecs USECS] [--budget BUDGET] [--prefer 0|1]

Change the busy-poll parameters of the epoll instance that is descriptor
FD of process PID, then show them as 'get' does.  Fields not given keep
their current value (read, modify, write).  With --all, do so for every
epoll instance of PID, a line each; one that fails is reported and the
others are still set, and the exit status is then 1.

Options:
  --pid PID        the process holding the epoll instance
  --fd FD          its descriptor number (see 'epoll-bp list --pid PID')
  --all            every epoll fd of PID instead (as 'list' finds them)
  --usecs USECS    busy_poll_usecs: how long epoll_wait() busy polls, in
                   microseconds; 0 leaves it to net.core.busy_poll
                   (the kernel takes 0 to 2147483647)
  --budget BUDGET  busy_poll_budget: packets per NAPI poll, 0 for the
                   default (8); above 64 needs CAP_NET_ADMIN (0 to 65535)
  --prefer 0|1     prefer_busy_poll: 1 defers device interrupts to busy
                   polling (with napi_defer_hard_irqs, gro_flush_timeout)
  -h, --help       show this help

Example: busy poll 50 us per wait, 16 packets per poll:
  epoll-bp set --pid 1234 --fd 5 --usecs 50 --budget 16
and in every epoll instance of the process (e.g. memcached's one per
worker thread):
  epoll-bp set --pid 1234 --all --usecs 50 --budget 16
";

const HELP_LIST: &str = "\
Usage: epoll-bp list --pid PID

Show every descriptor of process PID that is an epoll instance (its
/proc/PID/fd link is anon_inode:[eventpoll]), one line each with its
busy-poll parameters, or say that it has none.

Options:
  --pid PID   the process
  -h, --help  show this help
";

/// A command line that cannot be run: exit status 2.
struct Usage {
    message: String,
    /// The command whose usage line to print, if known.
    command: Option<Cmd>,
}

/// Something that failed: printed as `epoll-bp: WHAT: WHY`, exit status 1.
#[derive(Debug)]
struct Failure {
    what: String,
    why: String,
}

fn fail<T>(what: impl Into<String>, why: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        what: what.into(),
        why: why.into(),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    Get,
    Set,
    List,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Get => "get",
            Cmd::Set => "set",
            Cmd::List => "list",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Cmd::Get => HELP_GET,
            Cmd::Set => HELP_SET,
            Cmd::List => HELP_LIST,
        }
    }

    /// The options the command takes, with the largest value each allows.
    fn options(self) -> &'static [(&'static str, u64)] {
        const PID: (&str, u64) = ("--pid", i32::MAX as u64);
        const FD: (&str, u64) = ("--fd", i32::MAX as u64);
        match self {
            Cmd::Get => &[PID, FD],
            Cmd::Set => &[
                PID,
                FD,
                ("--usecs", u32::MAX as u64),
                ("--budget", u16::MAX as u64),
                ("--prefer", 1),
            ],
            Cmd::List => &[PID],
        }
    }
}

/// What the command line asks for.
enum Request {
    Help(&'static str),
    Version,
    Run(Cmd, Args),
}

/// The option values given; `None` for those not given.
#[derive(Default)]
struct Args {
    pid: Option<libc::pid_t>,
    fd: Option<libc::c_int>,
    usecs: Option<u32>,
    budget: Option<u16>,
    prefer: Option<u8>,
    /// `set --all`: every epoll fd of the process.
    all: bool,
}

fn usage(message: impl Into<String>, command: Option<Cmd>) -> Usage {
    Usage {
        message: message.into(),
        command,
    }
}

/// Parses `value` of option `name` as a decimal number from 0 to `max`
/// (`--pid` from 1).
fn number(cmd: Cmd, name: &str, value: &str, max: u64) -> Result<u64, Usage> {
    let min = u64::from(name == "--pid");
    let n: u64 = value
        .parse()
        .map_err(|_| usage(format!("{name} '{value}': not a number"), Some(cmd)))?;
    if n < min || n > max {
        return Err(usage(
            format!("{name} {value}: out of range ({min} to {max})"),
            Some(cmd),
        ));
    }
    Ok(n)
}

fn parse(argv: &[String]) -> Result<Request, Usage> {
    let Some(first) = argv.first() else {
        return Err(usage("no command given", None));
    };
    let cmd = match first.as_str() {
        "-h" | "--help" | "help" => return Ok(Request::Help(HELP)),
        "-V" | "--version" => return Ok(Request::Version),
        "get" => Cmd::Get,
        "set" => Cmd::Set,
        "list" => Cmd::List,
        other => return Err(usage(format!("unknown command '{other}'"), None)),
    };
    let mut args = Args::default();
    let mut rest = argv[1..].iter();
    while let Some(arg) = rest.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Request::Help(cmd.help()));
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if cmd == Cmd::Set && name == "--all" {
            if inline.is_some() {
                return Err(usage("--all takes no value", Some(cmd)));
            }
            if args.all {
                return Err(usage("--all given twice", Some(cmd)));
            }
            args.all = true;
            continue;
        }
        let Some(&(name, max)) = cmd.options().iter().find(|(o, _)| *o == name) else {
            return Err(usage(
                format!("'{}' takes no option '{arg}'", cmd.name()),
                Some(cmd),
            ));
        };
        let Some(value) = inline.or_else(|| rest.next().cloned()) else {
            return Err(usage(format!("{name} needs a value"), Some(cmd)));
        };
        let n = number(cmd, name, &value, max)?;
        // Each conversion is within range: `number` checked against `max`.
        let seen = match name {
            "--pid" => args.pid.replace(n as libc::pid_t).is_some(),
            "--fd" => args.fd.replace(n as libc::c_int).is_some(),
            "--usecs" => args.usecs.replace(n as u32).is_some(),
            "--budget" => args.budget.replace(n as u16).is_some(),
            _ => args.prefer.replace(n as u8).is_some(),
        };
        if seen {
            return Err(usage(format!("{name} given twice"), Some(cmd)));
        }
    }
    if args.pid.is_none() {
        return Err(usage("--pid is required", Some(cmd)));
    }
    match cmd {
        Cmd::Get if args.fd.is_none() => return Err(usage("--fd is required", Some(cmd))),
        Cmd::Set if args.all && args.fd.is_some() => {
            return Err(usage("--fd and --all cannot be given together", Some(cmd)))
        }
        Cmd::Set if !args.all && args.fd.is_none() => {
            return Err(usage("--fd or --all is required", Some(cmd)))
        }
        _ => {}
    }
    Ok(Request::Run(cmd, args))
}

/// An error as `no such process (ESRCH)`: the errno's text without Rust's
/// `(os error N)` suffix, and its name.
fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    match e.raw_os_error() {
        Some(n) => format!("{text} ({})", errno_name(n)),
        None => text,
    }
}

const RIGHTS: &str = "this needs ptrace-attach rights over the process: run as its user \
(with kernel.yama.ptrace_scope allowing it) or with CAP_SYS_PTRACE, e.g. as root";

fn open_process(pid: libc::pid_t) -> Result<Process, Failure> {
    let what = format!("process {pid}");
    Process::open(pid).or_else(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => fail(
            what,
            "no such process (ESRCH): check the pid, e.g. with ps or pgrep",
        ),
        Some(libc::EINVAL) => fail(
            what,
            "not a process but a thread of one (EINVAL): give the pid of its main thread",
        ),
        Some(libc::ENOSYS) => fail(
            what,
            "pidfd_open is not supported (ENOSYS): this kernel is older than Linux 5.6",
        ),
        _ => fail(format!("{what}: pidfd_open"), describe(&e)),
    })
}

/// A copy of descriptor `fd` of `process`, checked to be an epoll instance.
fn take_epoll(process: &Process, fd: libc::c_int) -> Result<OwnedFd, Failure> {
    let pid = process.pid();
    let what = format!("fd {fd} of process {pid}");
    let ep = process.take_fd(fd).or_else(|e| match e.raw_os_error() {
        Some(libc::EBADF) => fail(
            &what,
            format!("no such descriptor (EBADF): 'epoll-bp list --pid {pid}' shows its epoll fds"),
        ),
        Some(libc::EPERM) => fail(&what, format!("not allowed to take it (EPERM): {RIGHTS}")),
        Some(libc::ESRCH) => fail(&what, "the process has exited (ESRCH)"),
        Some(libc::ENOSYS) => fail(
            &what,
            "pidfd_getfd is not supported (ENOSYS): this kernel is older than Linux 5.6",
        ),
        _ => fail(format!("{what}: pidfd_getfd"), describe(&e)),
    })?;
    match fd_kind(&ep) {
        Ok(kind) if kind == EVENTPOLL_LINK => Ok(ep),
        Ok(kind) => fail(
            what,
            format!(
                "not an epoll instance but {kind}: 'epoll-bp list --pid {pid}' shows its epoll fds"
            ),
        ),
        Err(e) => fail(
            format!("{what}: reading /proc/self/fd of the copy"),
            describe(&e),
        ),
    }
}

/// Explains an error of `EPIOCGPARAMS` / `EPIOCSPARAMS` on an epoll instance.
fn ioctl_failure<T>(
    what: String,
    call: &str,
    e: &io::Error,
    p: &EpollParams,
) -> Result<T, Failure> {
    let what = format!("{what}: {call}");
    match e.raw_os_error() {
        Some(libc::ENOTTY) => fail(
            what,
            "not supported by this kernel (ENOTTY): the per-epoll busy-poll ioctls need \
             Linux >= 6.9; upgrade the kernel, or use net.core.busy_poll instead",
        ),
        Some(libc::EOPNOTSUPP) => fail(
            what,
            "not supported by this kernel (EOPNOTSUPP): it was built without \
             CONFIG_NET_RX_BUSY_POLL",
        ),
        Some(libc::EPERM) if p.busy_poll_budget > NAPI_POLL_WEIGHT => fail(
            what,
            format!(
                "not permitted (EPERM): busy_poll_budget {} is above {NAPI_POLL_WEIGHT}, which \
                 needs CAP_NET_ADMIN; run as root or use a budget of at most {NAPI_POLL_WEIGHT}",
                p.busy_poll_budget
            ),
        ),
        Some(libc::EINVAL) if p.busy_poll_usecs > i32::MAX as u32 => fail(
            what,
            format!(
                "invalid argument (EINVAL): busy_poll_usecs {} is above the kernel's limit, \
                 2147483647 (S32_MAX)",
                p.busy_poll_usecs
            ),
        ),
        Some(libc::EINVAL) => fail(
            what,
            "invalid argument (EINVAL): the kernel takes busy_poll_usecs up to 2147483647, \
             prefer_busy_poll 0 or 1",
        ),
        _ => fail(what, describe(e)),
    }
}

fn get(ep: &OwnedFd, what: &str) -> Result<EpollParams, Failure> {
    get_params(ep).or_else(|e| ioctl_failure(what.into(), "EPIOCGPARAMS", &e, &params(0, 0, 0)))
}

fn line(fd: libc::c_int, p: &EpollParams) {
    println!("fd {fd}: {}", show_fields(p));
}

fn run(cmd: Cmd, args: &Args) -> Result<(), Failure> {
    // `parse` made sure of --pid, and of --fd for get and set without --all.
    let pid = args.pid.unwrap_or_default();
    let fd = args.fd.unwrap_or_default();
    let process = open_process(pid)?;
    let what = format!("fd {fd} of process {pid}");
    match cmd {
        Cmd::Get => {
            let ep = take_epoll(&process, fd)?;
            line(fd, &get(&ep, &what)?);
        }
        Cmd::Set if args.all => set_all(&process, args)?,
        Cmd::Set => {
            let ep = take_epoll(&process, fd)?;
            set(&ep, args, &what)?;
            line(fd, &get(&ep, &what)?);
        }
        Cmd::List => list(&process)?,
    }
    Ok(())
}

/// Read, modify, write: the fields `args` gives, in the instance `ep`.
fn set(ep: &OwnedFd, args: &Args, what: &str) -> Result<(), Failure> {
    let mut p = get(ep, what)?;
    p.busy_poll_usecs = args.usecs.unwrap_or(p.busy_poll_usecs);
    p.busy_poll_budget = args.budget.unwrap_or(p.busy_poll_budget);
    p.prefer_busy_poll = args.prefer.unwrap_or(p.prefer_busy_poll);
    p.__pad = 0;
    set_params(ep, &p).or_else(|e| ioctl_failure(what.into(), "EPIOCSPARAMS", &e, &p))
}

/// The epoll fds of `process`, from `/proc/PID/fd`.
fn epoll_fds(process: &Process) -> Result<Vec<libc::c_int>, Failure> {
    let pid = process.pid();
    process.epoll_fds().or_else(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => fail(format!("process {pid}"), "the process has exited"),
        Some(libc::EACCES) | Some(libc::EPERM) => fail(
            format!("process {pid}: reading /proc/{pid}/fd"),
            format!("{}: {RIGHTS}", describe(&e)),
        ),
        _ => fail(
            format!("process {pid}: reading /proc/{pid}/fd"),
            describe(&e),
        ),
    })
}

/// A copy of epoll fd `fd` of `process`, found in `/proc/PID/fd` a moment
/// ago: `None` if it has been closed or replaced since.
fn take_listed(process: &Process, fd: libc::c_int) -> Result<Option<OwnedFd>, Failure> {
    match take_epoll(process, fd) {
        Ok(ep) => Ok(Some(ep)),
        Err(_) if matches!(process.epoll_fds(), Ok(now) if !now.contains(&fd)) => Ok(None),
        Err(f) => Err(f),
    }
}

fn list(process: &Process) -> Result<(), Failure> {
    let pid = process.pid();
    let fds = epoll_fds(process)?;
    if fds.is_empty() {
        println!("process {pid} has no epoll fds");
        return Ok(());
    }
    for fd in fds {
        let Some(ep) = take_listed(process, fd)? else {
            continue;
        };
        line(fd, &get(&ep, &format!("fd {fd} of process {pid}"))?);
    }
    Ok(())
}

/// `set --all`: sets every epoll fd of `process`, printing a line for
/// each as `set` does, or its error; fails at the end if one failed.
fn set_all(process: &Process, args: &Args) -> Result<(), Failure> {
    let pid = process.pid();
    let fds = epoll_fds(process)?;
    if fds.is_empty() {
        return fail(
            format!("process {pid}"),
            "it has no epoll fds: nothing set ('epoll-bp list' shows them once it has)",
        );
    }
    let mut failed = Vec::new();
    for &fd in &fds {
        let what = format!("fd {fd} of process {pid}");
        let result = take_listed(process, fd).and_then(|ep| match ep {
            Some(ep) => {
                set(&ep, args, &what)?;
                get(&ep, &what).map(Some)
            }
            None => Ok(None),
        });
        match result {
            Ok(Some(p)) => line(fd, &p),
            Ok(None) => {}
            Err(f) => {
                eprintln!("epoll-bp: {}: {}", f.what, f.why);
                failed.push(fd.to_string());
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    fail(
        format!("process {pid}"),
        format!(
            "{} of its {} epoll fds not set: fd {} (see above)",
            failed.len(),
            fds.len(),
            failed.join(", fd ")
        ),
    )
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        Some("napi") => return napi::main(&argv),
        Some("stats") => return stats::main(&argv),
        _ => {}
    }
    match parse(&argv) {
        Ok(Request::Help(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Request::Version) => {
            println!("epoll-bp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Request::Run(cmd, args)) => match run(cmd, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => {
                eprintln!("epoll-bp: {}: {}", f.what, f.why);
                ExitCode::from(1)
            }
        },
        Err(u) => {
            eprintln!("epoll-bp: {}", u.message);
            match u.command {
                Some(cmd) => {
                    eprintln!("{}", cmd.help().lines().next().unwrap_or_default());
                    eprintln!("Try 'epoll-bp {} --help' for more information.", cmd.name());
                }
                None => {
                    eprintln!("{}", HELP.lines().next().unwrap_or_default());
                    eprintln!("Try 'epoll-bp --help' for more information.");
                }
            }
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Request, Usage> {
        let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&argv)
    }

    fn run_args(line: &str) -> (&'static str, Args) {
        match parse_line(line) {
            Ok(Request::Run(cmd, args)) => (cmd.name(), args),
            _ => panic!("{line}: not a command to run"),
        }
    }

    #[test]
    fn set_takes_fd_or_all() {
        let (cmd, a) = run_args("set --pid 42 --all --usecs 50");
        assert_eq!(cmd, "set");
        assert!(a.all);
        assert_eq!(
            (a.pid, a.fd, a.usecs, a.budget),
            (Some(42), None, Some(50), None)
        );
        let (_, a) = run_args("set --all --pid=42");
        assert!(a.all);
        let (_, a) = run_args("set --pid 42 --fd 5 --budget 8");
        assert!(!a.all);
        assert_eq!((a.fd, a.budget), (Some(5), Some(8)));
        for (bad, message) in [
            ("set --pid 42", "--fd or --all is required"),
            (
                "set --pid 42 --fd 5 --all",
                "--fd and --all cannot be given together",
            ),
            ("set --pid 42 --all --all", "--all given twice"),
            ("set --pid 42 --all=1", "--all takes no value"),
            ("set --all", "--pid is required"),
            ("get --pid 42", "--fd is required"),
            ("get --pid 42 --all", "'get' takes no option '--all'"),
            ("list --pid 42 --all", "'list' takes no option '--all'"),
        ] {
            match parse_line(bad) {
                Err(u) => assert_eq!(u.message, message, "{bad}"),
                Ok(_) => panic!("{bad}: no usage error"),
            }
        }
    }

    #[test]
    fn the_help_names_every_command() {
        for command in ["get ", "set ", "list ", "stats ", "napi show ", "napi set "] {
            assert!(HELP.contains(&format!("\n  {command}")), "{command}");
        }
        assert!(HELP_SET.starts_with("Usage: epoll-bp set --pid PID --fd FD|--all "));
        assert!(HELP_SET.contains("--budget BUDGET"));
    }
}
