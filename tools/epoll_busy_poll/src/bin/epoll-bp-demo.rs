//! Walks through per-epoll busy polling: defaults, set, get, and every
//! refusal with its errno.  Exits 0 when the kernel answered every call as
//! the ABI says, 1 otherwise, 2 when it could not run at all.

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use epoll_busy_poll::{
    drop_effective_capability, epoll_create, errno_name, get_params, has_capability, ioctl_raw,
    outcome, params, set_params, show, EpollParams, CAP_NET_ADMIN, EPOLL_IOC_TYPE,
    NAPI_POLL_WEIGHT,
};

/// Counts what the kernel answered as expected and what it did not.
#[derive(Default)]
struct Demo {
    calls: u32,
    unexpected: u32,
}

impl Demo {
    /// Prints one call, its outcome and why; `want` is "ok" or an errno name.
    fn call(&mut self, what: &str, got: &io::Result<()>, want: &str, why: &str) {
        self.calls += 1;
        let got = outcome(got);
        if got == want {
            println!("{}", format!("  {what:<44} -> {got:<7} {why}").trim_end());
        } else {
            self.unexpected += 1;
            println!("  {what:<44} -> {got:<7} UNEXPECTED: the ABI says {want} ({why})");
        }
    }

    /// Reads the params back and checks them against `want`.
    fn check_get(&mut self, fd: &OwnedFd, want: &EpollParams, why: &str) {
        self.calls += 1;
        match get_params(fd) {
            Ok(p) if p == *want => println!("  EPIOCGPARAMS -> {}   {why}", show(&p)),
            Ok(p) => {
                self.unexpected += 1;
                println!(
                    "  EPIOCGPARAMS -> {}   UNEXPECTED: wanted {}",
                    show(&p),
                    show(want)
                );
            }
            Err(e) => {
                self.unexpected += 1;
                let name = e.raw_os_error().map_or("?", errno_name);
                println!(
                    "  EPIOCGPARAMS -> {name}   UNEXPECTED: wanted {}",
                    show(want)
                );
            }
        }
    }
}

fn main() -> ExitCode {
    let uname = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("Per-epoll busy polling demo (kernel {})", uname.trim());
    match run() {
        Ok(demo) if demo.unexpected == 0 => {
            println!(
                "\n{} ioctl calls, all answered as the ABI says.",
                demo.calls
            );
            ExitCode::SUCCESS
        }
        Ok(demo) => {
            println!(
                "\n{} of {} ioctl calls answered UNEXPECTEDLY.",
                demo.unexpected, demo.calls
            );
            ExitCode::from(1)
        }
        Err(e) => {
            println!("demo could not run: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> io::Result<Demo> {
    let mut demo = Demo::default();
    let ep = epoll_create()?;

    println!("\n1. A new epoll instance starts with all parameters zero");
    match get_params(&ep) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
            return Err(io::Error::other(
                "EPIOCGPARAMS is ENOTTY: this kernel has no per-epoll busy polling (Linux >= 6.9)",
            ))
        }
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            return Err(io::Error::other(
                "EPIOCGPARAMS is EOPNOTSUPP: kernel built without CONFIG_NET_RX_BUSY_POLL",
            ))
        }
        _ => {}
    }
    demo.check_get(
        &ep,
        &params(0, 0, 0),
        "(0 usecs: net.core.busy_poll decides)",
    );

    println!("\n2. Busy poll 100 us per wait, 16 packets per poll, prefer busy polling");
    let set = params(100, 16, 1);
    demo.call(
        "EPIOCSPARAMS usecs=100 budget=16 prefer=1",
        &set_params(&ep, &set),
        "ok",
        "",
    );
    demo.check_get(&ep, &set, "(read back as set)");

    println!("\n3. A second instance keeps its own parameters");
    let other = epoll_create()?;
    demo.check_get(&other, &params(0, 0, 0), "(untouched by the first)");

    println!("\n4. Refused calls: each names the rule it breaks and changes nothing");
    let bad_pad = EpollParams {
        __pad: 1,
        ..params(100, 16, 1)
    };
    demo.call(
        "__pad=1",
        &set_params(&ep, &bad_pad),
        "EINVAL",
        "the pad byte must be zero",
    );
    let too_long = params(i32::MAX as u32 + 1, 16, 1);
    demo.call(
        "busy_poll_usecs=2147483648",
        &set_params(&ep, &too_long),
        "EINVAL",
        "usecs above S32_MAX",
    );
    demo.call(
        "prefer_busy_poll=2",
        &set_params(&ep, &params(100, 16, 2)),
        "EINVAL",
        "prefer_busy_poll is 0 or 1",
    );
    let big = params(100, NAPI_POLL_WEIGHT + 1, 1);
    let root = has_capability(CAP_NET_ADMIN)?;
    let unprivileged = std::thread::scope(|s| {
        s.spawn(|| {
            drop_effective_capability(CAP_NET_ADMIN)?;
            Ok::<_, io::Error>(set_params(&ep, &big))
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
    })?;
    demo.call(
        "busy_poll_budget=65 without CAP_NET_ADMIN",
        &unprivileged,
        "EPERM",
        "budget above NAPI_POLL_WEIGHT (64) needs CAP_NET_ADMIN",
    );
    // SAFETY: a NULL pointer: the kernel must refuse it, not follow it.
    let null = unsafe { ioctl_raw(&ep, libc::EPIOCSPARAMS as u32, std::ptr::null_mut()) };
    demo.call(
        "EPIOCSPARAMS with a NULL pointer",
        &null,
        "EFAULT",
        "the kernel cannot read it",
    );
    // SAFETY: as above, for the kernel's write.
    let null = unsafe { ioctl_raw(&ep, libc::EPIOCGPARAMS as u32, std::ptr::null_mut()) };
    demo.call(
        "EPIOCGPARAMS with a NULL pointer",
        &null,
        "EFAULT",
        "the kernel cannot write it",
    );
    let unknown = (EPOLL_IOC_TYPE << 8) | 3;
    let mut scratch = params(0, 0, 0);
    // SAFETY: a valid buffer; the command is unknown and must not touch it.
    let r = unsafe { ioctl_raw(&ep, unknown, (&raw mut scratch).cast()) };
    demo.call(
        "_IO(0x8A, 3) on an epoll fd",
        &r,
        "EINVAL",
        "not an epoll command",
    );
    let (rd, _wr) = pipe()?;
    let r = get_params(&rd).map(|_| ());
    demo.call("EPIOCGPARAMS on a pipe", &r, "ENOTTY", "not an epoll fd");
    demo.check_get(&ep, &set, "(unchanged by all of the above)");

    println!("\n5. With CAP_NET_ADMIN a budget above 64 is allowed");
    if root {
        let r = set_params(&ep, &params(100, u16::MAX, 0));
        demo.call("busy_poll_budget=65535 with CAP_NET_ADMIN", &r, "ok", "");
        demo.check_get(&ep, &params(100, u16::MAX, 0), "(read back as set)");
    } else {
        println!("  skipped: this process lacks CAP_NET_ADMIN (run as root to see it)");
    }
    Ok(demo)
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    use std::os::fd::FromRawFd;
    // SAFETY: both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
