//! `epoll-bp napi`: the NAPI instances epoll busy polls, and their
//! per-NAPI settings (`defer-hard-irqs`, `gro-flush-timeout`,
//! `irq-suspend-timeout`), through the generic netlink family `netdev`:
//! those of a device, of one ID, or those behind the sockets an epoll
//! instance of another process watches.  Its arguments are parsed by clap;
//! its output, errors and exit status follow the other commands: a line
//! per instance, `epoll-bp: WHAT: WHY` and status 1 when something failed,
//! a usage error with status 2 before any system call.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{ArgAction, ArgGroup, Args, CommandFactory, Parser, Subcommand};

use epoll_busy_poll::napi::{
    incoming_napi_id, ns_id, own_netns_id, show_napi, socket_netns, Error, Napi, NapiSettings,
    Netdev, DEFER_HARD_IRQS_MAX,
};
use epoll_busy_poll::remote::{epoll_targets, fd_kind, stat_fd, Process};

use super::{describe, fail, open_process, take_epoll, Failure};

/// Help pages start with the usage line, as the other commands' do.
pub(super) const TEMPLATE: &str =
    "{usage-heading} {usage}\n\n{about-with-newline}\n{all-args}{after-help}";

const NAPI_AFTER: &str = "\
A NAPI instance polls a device queue for packets; busy polling (epoll's
busy_poll_usecs) polls the instance a socket's last packet came in
through.  Its settings: defer-hard-irqs, how many empty polls may pass
before the device's interrupts come back on; gro-flush-timeout (ns), the
timer that polls instead of the interrupt meanwhile; irq-suspend-timeout
(ns), how long interrupts stay off after a busy poll that found events.

The generic netlink family netdev answers for the network namespace
epoll-bp runs in (use ip netns exec or nsenter for another one), except
that 'show --pid PID --fd FD' asks in the namespace of each socket.
napi-get needs Linux >= 6.8 and reports the settings from Linux 6.13 on;
napi-set needs Linux 6.13+ (or this patch) and CAP_NET_ADMIN.

Exit status: 0 on success, 1 if an operation failed, 2 on a usage error.
";

const SHOW_AFTER: &str = "\
With --pid and --fd: the NAPI instances that the sockets epoll fd FD of
process PID watches last got a packet through (SO_INCOMING_NAPI_ID),
asked in each socket's network namespace.  Without an option: every NAPI
instance of epoll-bp's network namespace.

Output, one line per NAPI instance, sorted by device and ID (one line):
  napi 8193: dev=eth0 ifindex=2 irq=35 pid=none defer_hard_irqs=0 gro_flush_timeout=0 irq_suspend_timeout=0
irq and pid (of its kthread, for threaded NAPI) say none when there is
none; settings the kernel does not report (before Linux 6.13) are left
out.  With --pid and --fd, first a line per
file the epoll instance watches:
  fd 7: napi_id=8193
  fd 8: napi_id=0 (no packet has come in through a NAPI device yet)
  fd 9: not a socket but pipe:[40712]
";

const SET_AFTER: &str = "\
--dev and --ifindex set every NAPI instance of the device.  Settings not
given keep their value.  Then the instances are shown as 'napi show'
does.  Needs CAP_NET_ADMIN (napi-set is an admin operation).
defer-hard-irqs: how many empty polls may pass before the device's
interrupts come back on; gro-flush-timeout: the timer that polls instead
of the interrupt meanwhile (non-zero also holds GRO back);
irq-suspend-timeout: how long interrupts stay off after a busy poll that
found events (Linux >= 6.13).

Example: let 2 empty polls pass before interrupts come back, with a
20 us timer meanwhile, on every queue of eth0:
  epoll-bp napi set --dev eth0 --defer-hard-irqs 2 --gro-flush-timeout 20000
";

/// The command line of `epoll-bp napi ...`.
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
    /// Show NAPI instances and set their per-NAPI settings.
    #[command(
        subcommand_required = true,
        disable_help_subcommand = true,
        help_template = TEMPLATE,
        disable_help_flag = true,
        override_usage = "epoll-bp napi <show|set> [OPTIONS]",
        after_help = NAPI_AFTER
    )]
    Napi {
        #[command(subcommand)]
        command: NapiCommand,
        /// show this help
        #[arg(short, long, action = ArgAction::Help)]
        help: Option<bool>,
    },
}

/// The `napi` commands.
#[derive(Subcommand, Debug)]
enum NapiCommand {
    /// Show NAPI instances: of a device, one ID, or behind an epoll fd.
    #[command(
        help_template = TEMPLATE,
        disable_help_flag = true,
        override_usage = "epoll-bp napi show [--dev IFNAME | --ifindex N | --id ID | --pid PID --fd FD]",
        after_help = SHOW_AFTER
    )]
    Show(ShowArgs),
    /// Change NAPI instances' settings (napi-set), then show them.
    #[command(
        help_template = TEMPLATE,
        disable_help_flag = true,
        override_usage = "epoll-bp napi set --id ID|--dev IFNAME|--ifindex N [--defer-hard-irqs N] \
                          [--gro-flush-timeout NS] [--irq-suspend-timeout NS]",
        after_help = SET_AFTER
    )]
    Set(SetArgs),
}

/// `napi show`'s options: at most one way of naming instances.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("which").args(["dev", "ifindex", "id", "pid"])))]
struct ShowArgs {
    /// the instances of device IFNAME
    #[arg(long, value_name = "IFNAME", value_parser = ifname)]
    dev: Option<String>,
    /// the instances of the device with ifindex N
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    ifindex: Option<u32>,
    /// the instance with this ID
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u32).range(1..))]
    id: Option<u32>,
    /// with --fd: the process holding an epoll instance
    #[arg(long, value_name = "PID", requires = "fd", value_parser = clap::value_parser!(i32).range(1..))]
    pid: Option<i32>,
    /// with --pid: its fd (see 'epoll-bp list --pid PID')
    #[arg(long, value_name = "FD", requires = "pid", value_parser = clap::value_parser!(i32).range(0..))]
    fd: Option<i32>,
    /// show this help
    #[arg(short, long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// `napi set`'s options: which instances, and at least one setting.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("which").args(["id", "dev", "ifindex"]).required(true)))]
#[command(group(
    ArgGroup::new("settings")
        .args(["defer_hard_irqs", "gro_flush_timeout", "irq_suspend_timeout"])
        .required(true)
        .multiple(true)
))]
struct SetArgs {
    /// the instance with this ID
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u32).range(1..))]
    id: Option<u32>,
    /// every instance of device IFNAME
    #[arg(long, value_name = "IFNAME", value_parser = ifname)]
    dev: Option<String>,
    /// every instance of the device with ifindex N
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    ifindex: Option<u32>,
    /// empty polls before IRQs come back (0 to 2147483647)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i64::from(DEFER_HARD_IRQS_MAX)))]
    defer_hard_irqs: Option<u32>,
    /// the polling timer while IRQs are deferred, in ns
    #[arg(long, value_name = "NS")]
    gro_flush_timeout: Option<u64>,
    /// IRQs off after a busy poll found events, in ns
    #[arg(long, value_name = "NS")]
    irq_suspend_timeout: Option<u64>,
    /// show this help
    #[arg(short, long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// A device name as the kernel takes one: 1 to 15 bytes, no `/`, `:`,
/// whitespace or NUL, not `.` or `..`.
fn ifname(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() >= libc::IFNAMSIZ {
        return Err(format!(
            "a device name has 1 to {} bytes",
            libc::IFNAMSIZ - 1
        ));
    }
    if s == "."
        || s == ".."
        || s.contains(|c: char| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err("not a device name".into());
    }
    Ok(s.to_string())
}

/// A clap error's message on one line: its first paragraph, without
/// clap's `error: `.
pub(super) fn error_message(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "no napi command given: show or set".into();
    }
    let rendered = e.render().to_string();
    let message = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_string()
}

/// The command a usage error is about (`epoll-bp napi set`, from the
/// command line `argv`, which starts with `napi`) and its usage line.
fn usage_of(argv: &[String]) -> (String, String) {
    let mut cli = Cli::command();
    cli.build();
    let Some(napi) = cli.find_subcommand_mut("napi") else {
        return (
            "epoll-bp".into(),
            "Usage: epoll-bp <COMMAND> [OPTIONS]".into(),
        );
    };
    match argv.get(1).map(String::as_str) {
        Some(name @ ("show" | "set")) => {
            let usage = napi
                .find_subcommand_mut(name)
                .map(|c| c.render_usage().to_string())
                .unwrap_or_default();
            (format!("epoll-bp napi {name}"), usage)
        }
        _ => ("epoll-bp napi".into(), napi.render_usage().to_string()),
    }
}

/// Parses the clap-driven command line `argv` (without the program name):
/// help goes to standard output (exit 0); a usage error is printed as the
/// other commands print theirs, with the command and usage line that
/// `usage_of` names (exit 2).
pub(super) fn parse_or_exit<T: Parser>(
    argv: &[String],
    usage_of: impl FnOnce() -> (String, String),
) -> Result<T, ExitCode> {
    match T::try_parse_from(std::iter::once("epoll-bp").chain(argv.iter().map(String::as_str))) {
        Ok(cli) => Ok(cli),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{}", e.render());
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            let (command, usage) = usage_of();
            eprintln!("epoll-bp: {}", error_message(&e));
            eprintln!("{usage}");
            eprintln!("Try '{command} --help' for more information.");
            Err(ExitCode::from(2))
        }
    }
}

/// Runs `epoll-bp napi ...` (`argv` without the program name).
pub(super) fn main(argv: &[String]) -> ExitCode {
    let cli: Cli = match parse_or_exit(argv, || usage_of(argv)) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let Top::Napi { command, .. } = cli.top;
    let result = match command {
        NapiCommand::Show(args) => show(&args),
        NapiCommand::Set(args) => set(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("epoll-bp: {}: {}", f.what, f.why);
            ExitCode::from(1)
        }
    }
}

/// The family in epoll-bp's own network namespace.
fn open_netdev() -> Result<Netdev, Failure> {
    Netdev::open().or_else(|e| fail("netlink", e.to_string()))
}

/// A failed napi-get or napi-set: `WHAT: napi-set: WHY`.
fn napi_failure<T>(what: impl Into<String>, e: &Error) -> Result<T, Failure> {
    let what = what.into();
    match e {
        Error::Kernel { op, .. } => fail(format!("{what}: {op}"), e.to_string()),
        _ => fail(what, e.to_string()),
    }
}

/// The device named by `--dev` or `--ifindex`: its ifindex and how to name
/// it in messages; `None` if neither was given.
fn device(
    nd: &Netdev,
    dev: &Option<String>,
    ifindex: Option<u32>,
) -> Result<Option<(u32, String)>, Failure> {
    match (dev, ifindex) {
        (Some(name), _) => match nd.ifindex(name) {
            Ok(index) => Ok(Some((index, name.clone()))),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => fail(
                format!("device {name}"),
                "no such device in this network namespace (ENODEV): 'ip link' lists them",
            ),
            Err(e) => fail(format!("device {name}: SIOCGIFINDEX"), describe(&e)),
        },
        (None, Some(index)) => Ok(Some((index, format!("with ifindex {index}")))),
        (None, None) => Ok(None),
    }
}

/// The instances of a device (or of all), as `napi-get` dumps them.
fn dump(nd: &Netdev, device: &Option<(u32, String)>) -> Result<Vec<Napi>, Failure> {
    let what = match device {
        Some((_, label)) => format!("device {label}"),
        None => "every device".to_string(),
    };
    nd.napi_dump(device.as_ref().map(|(index, _)| *index))
        .or_else(|e| napi_failure(what, &e))
}

fn print_napi(nd: &Netdev, n: &Napi) {
    let dev = n.ifindex.and_then(|index| nd.ifname(index).ok());
    println!("{}", show_napi(n, dev.as_deref()));
}

const NO_NAPI: &str = "it is down, or its driver does not use NAPI";

fn show(args: &ShowArgs) -> Result<(), Failure> {
    if let (Some(pid), Some(fd)) = (args.pid, args.fd) {
        return show_epoll(pid, fd);
    }
    let nd = open_netdev()?;
    if let Some(id) = args.id {
        let n = nd
            .napi_get(id)
            .or_else(|e| napi_failure(format!("napi {id}"), &e))?;
        print_napi(&nd, &n);
        return Ok(());
    }
    let device = device(&nd, &args.dev, args.ifindex)?;
    let found = dump(&nd, &device)?;
    if found.is_empty() {
        match device {
            Some((_, label)) => println!("device {label} has no NAPI instances ({NO_NAPI})"),
            None => println!("no NAPI instances in this network namespace"),
        }
    }
    for n in &found {
        print_napi(&nd, n);
    }
    Ok(())
}

fn set(args: &SetArgs) -> Result<(), Failure> {
    let settings = NapiSettings {
        defer_hard_irqs: args.defer_hard_irqs,
        gro_flush_timeout: args.gro_flush_timeout,
        irq_suspend_timeout: args.irq_suspend_timeout,
    };
    let nd = open_netdev()?;
    let ids: Vec<u32> = match (args.id, device(&nd, &args.dev, args.ifindex)?) {
        (Some(id), _) => vec![id],
        (None, Some(device)) => {
            let ids: Vec<u32> = dump(&nd, &Some(device.clone()))?
                .iter()
                .map(|n| n.id)
                .collect();
            if ids.is_empty() {
                return fail(
                    format!("device {}", device.1),
                    format!("it has no NAPI instances ({NO_NAPI}): nothing set"),
                );
            }
            ids
        }
        // clap requires one of --id, --dev, --ifindex.
        (None, None) => return fail("napi set", "no instance named"),
    };
    for &id in &ids {
        nd.napi_set(id, &settings)
            .or_else(|e| napi_failure(format!("napi {id}"), &e))?;
    }
    for &id in &ids {
        let n = nd
            .napi_get(id)
            .or_else(|e| napi_failure(format!("napi {id}"), &e))?;
        print_napi(&nd, &n);
    }
    Ok(())
}

/// What one watched file says about NAPI.
enum Watched {
    /// A socket with a NAPI ID (0: none yet), and its network namespace if
    /// it could be had (`SIOCGSKNS` needs `CAP_NET_ADMIN` over it).
    Socket(u32, Option<OwnedFd>),
    /// Anything else: the line to print.
    Other(String),
}

/// What file `fd` of `process`, watched by the epoll instance as `target`,
/// says about NAPI.
fn watched(
    process: &Process,
    target: &epoll_busy_poll::remote::EpollTarget,
) -> Result<Watched, Failure> {
    let pid = process.pid();
    let fd = target.fd;
    let copy = match process.take_fd(fd) {
        Ok(copy) => copy,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
            return Ok(Watched::Other(
                "closed since it was added (the file is still open under another fd)".into(),
            ))
        }
        Err(e) => {
            return fail(
                format!("fd {fd} of process {pid}: pidfd_getfd"),
                describe(&e),
            )
        }
    };
    if matches!(stat_fd(&copy), Ok(st) if !target.is(&st)) {
        return Ok(Watched::Other(
            "another file now than the one the epoll instance watches under this number".into(),
        ));
    }
    match incoming_napi_id(&copy) {
        Ok(0) => Ok(Watched::Socket(0, None)),
        Ok(id) => Ok(Watched::Socket(id, socket_netns(&copy).ok())),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
            let kind = fd_kind(&copy).unwrap_or_else(|_| "?".into());
            Ok(Watched::Other(format!("not a socket but {kind}")))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => fail(
            format!("fd {fd} of process {pid}: SO_INCOMING_NAPI_ID"),
            "not supported by this kernel (ENOPROTOOPT): it was built without \
             CONFIG_NET_RX_BUSY_POLL",
        ),
        Err(e) => fail(
            format!("fd {fd} of process {pid}: SO_INCOMING_NAPI_ID"),
            describe(&e),
        ),
    }
}

/// `napi show --pid PID --fd FD`: a line per file the epoll instance
/// watches, then a line per NAPI instance behind its sockets, asked in each
/// socket's network namespace.
fn show_epoll(pid: libc::pid_t, fd: libc::c_int) -> Result<(), Failure> {
    let process = open_process(pid)?;
    let ep = take_epoll(&process, fd)?;
    let what = format!("fd {fd} of process {pid}");
    let targets = epoll_targets(&ep).or_else(|e| {
        fail(
            format!("{what}: reading /proc/self/fdinfo of the copy"),
            describe(&e),
        )
    })?;
    if targets.is_empty() {
        println!("{what} watches no fds");
        return Ok(());
    }
    // Each NAPI ID, with the namespace of the first socket seen with it and
    // that socket's number.
    let mut ids: BTreeMap<u32, (Option<OwnedFd>, libc::c_int)> = BTreeMap::new();
    for target in &targets {
        let line = match watched(&process, target)? {
            Watched::Socket(0, _) => {
                "napi_id=0 (no packet has come in through a NAPI device yet)".to_string()
            }
            Watched::Socket(id, netns) => {
                ids.entry(id).or_insert((netns, target.fd));
                format!("napi_id={id}")
            }
            Watched::Other(line) => line,
        };
        println!("fd {}: {line}", target.fd);
    }
    // One netdev socket per namespace; ours, unless a socket is elsewhere.
    let own = own_netns_id().ok();
    let mut netdevs: HashMap<Option<(u64, u64)>, Netdev> = HashMap::new();
    for (id, (netns, sock_fd)) in ids {
        let key = netns
            .as_ref()
            .and_then(|ns| ns_id(ns.as_fd()).ok())
            .filter(|key| Some(*key) != own);
        let nd = match netdevs.entry(key) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(match (&netns, key) {
                (Some(ns), Some(_)) => Netdev::open_in(ns.as_fd()).or_else(|e| {
                    let why = match &e {
                        Error::Io { err, .. } if err.raw_os_error() == Some(libc::EPERM) => {
                            format!(
                                "fd {sock_fd} of process {pid} is in another network namespace, \
                                 which epoll-bp may not enter (setns: EPERM): run it as root, or \
                                 in that namespace: nsenter -t {pid} -n epoll-bp napi show --id {id}"
                            )
                        }
                        _ => e.to_string(),
                    };
                    fail(format!("napi {id}"), why)
                })?,
                _ => open_netdev()?,
            }),
        };
        match nd.napi_get(id) {
            Ok(n) => print_napi(nd, &n),
            Err(e) if e.errno() == Some(libc::ENOENT) && matches!(e, Error::Kernel { .. }) => {
                println!(
                    "napi {id}: not found (ENOENT): its device is down or gone{}",
                    if key.is_none() && netns.is_none() {
                        ", or in a network namespace epoll-bp cannot see"
                    } else {
                        ""
                    }
                );
            }
            Err(e) => return napi_failure(format!("napi {id}"), &e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("epoll-bp").chain(line.split_whitespace()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn show_takes_one_way_of_naming_instances() {
        let Top::Napi {
            command: NapiCommand::Show(a),
            ..
        } = parse("napi show --dev eth0").unwrap().top
        else {
            panic!("not show");
        };
        assert_eq!(a.dev.as_deref(), Some("eth0"));
        let Top::Napi {
            command: NapiCommand::Show(a),
            ..
        } = parse("napi show --pid 42 --fd=5").unwrap().top
        else {
            panic!("not show");
        };
        assert_eq!((a.pid, a.fd), (Some(42), Some(5)));
        assert!(parse("napi show").is_ok());
        for bad in [
            "napi show --dev eth0 --ifindex 2",
            "napi show --pid 42",
            "napi show --fd 5",
            "napi show --id 5 --pid 4 --fd 3",
            "napi show --dev",
            "napi show --dev a/b",
            "napi show --dev 0123456789abcdef",
            "napi show --ifindex 0",
            "napi show --id 0",
            "napi show --id -1",
            "napi show --pid 0 --fd 3",
            "napi show PID EPFD",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_takes_one_target_and_a_setting() {
        let Top::Napi {
            command: NapiCommand::Set(a),
            ..
        } = parse("napi set --id 8193 --defer-hard-irqs 2147483647 --gro-flush-timeout 18446744073709551615")
            .unwrap()
            .top
        else {
            panic!("not set");
        };
        assert_eq!(a.id, Some(8193));
        assert_eq!(a.defer_hard_irqs, Some(i32::MAX as u32));
        assert_eq!(a.gro_flush_timeout, Some(u64::MAX));
        assert_eq!(a.irq_suspend_timeout, None);
        assert!(parse("napi set --dev eth0 --irq-suspend-timeout 5").is_ok());
        for bad in [
            "napi set --id 8193",
            "napi set --defer-hard-irqs 1",
            "napi set --id 1 --dev eth0 --defer-hard-irqs 1",
            "napi set --id 1 --defer-hard-irqs 2147483648",
            "napi set --id 1 --defer-hard-irqs -1",
            "napi set --id 1 --gro-flush-timeout 18446744073709551616",
            "napi set --id 1 --gro-flush-timeout x",
            "napi set --id 1 --id 2 --defer-hard-irqs 1",
            "napi set --id 1 --usecs 5",
            "napi",
            "napi frob",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn usage_errors_read_like_the_other_commands() {
        let e = parse("napi set --id 1 --defer-hard-irqs 2147483648").unwrap_err();
        let message = error_message(&e);
        assert!(
            message.starts_with("invalid value '2147483648' for '--defer-hard-irqs <N>'"),
            "{message}"
        );
        let (command, usage) = usage_of(&argv("napi set --id 1 --defer-hard-irqs 2147483648"));
        assert_eq!(command, "epoll-bp napi set");
        assert!(
            usage.starts_with("Usage: epoll-bp napi set --id ID|--dev IFNAME"),
            "{usage}"
        );

        let e = parse("napi set --id 1").unwrap_err();
        let message = error_message(&e);
        assert!(
            message.starts_with("the following required arguments were not provided: "),
            "{message}"
        );
        assert!(message.contains("--defer-hard-irqs"), "{message}");
        assert!(!message.contains('\n'));

        assert_eq!(
            error_message(&parse("napi").unwrap_err()),
            "no napi command given: show or set"
        );
        assert_eq!(
            error_message(&parse("napi frob").unwrap_err()),
            "unrecognized subcommand 'frob'"
        );
        let (command, usage) = usage_of(&argv("napi frob"));
        assert_eq!(command, "epoll-bp napi");
        assert_eq!(usage, "Usage: epoll-bp napi <show|set> [OPTIONS]");
        let (command, usage) = usage_of(&argv("napi show --pid 4"));
        assert_eq!(command, "epoll-bp napi show");
        assert!(
            usage.starts_with("Usage: epoll-bp napi show [--dev IFNAME"),
            "{usage}"
        );
    }

    #[test]
    fn help_starts_with_the_usage_line() {
        for (line, start) in [
            ("napi --help", "Usage: epoll-bp napi "),
            ("napi show -h", "Usage: epoll-bp napi show "),
            ("napi set --help", "Usage: epoll-bp napi set "),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DisplayHelp);
            let text = e.render().to_string();
            assert!(text.starts_with(start), "{line}: {text}");
        }
        let text = parse("napi set --help").unwrap_err().render().to_string();
        for option in [
            "--defer-hard-irqs",
            "--gro-flush-timeout",
            "--irq-suspend-timeout",
            "--dev",
        ] {
            assert!(text.contains(option), "{option}: {text}");
        }
    }
}
