//! Per-epoll busy-poll parameters from userspace: thin, checked wrappers
//! around the `EPIOCSPARAMS` / `EPIOCGPARAMS` ioctls of Linux >= 6.9, using
//! the `libc` crate's `epoll_params`; [`napi`] reads and sets the per-NAPI
//! settings those instances poll with (generic netlink, `netdev` family);
//! [`stats`] reads what an instance's busy polling did from its fdinfo.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub use libc::epoll_params as EpollParams;

pub mod napi;
pub mod remote;
pub mod stats;

/// The ioctl type of epoll (`EPOLL_IOC_TYPE`).
pub const EPOLL_IOC_TYPE: u32 = 0x8A;

/// Largest `busy_poll_budget` allowed without `CAP_NET_ADMIN`.
pub const NAPI_POLL_WEIGHT: u16 = 64;

/// `CAP_NET_ADMIN` from `<linux/capability.h>`.
pub const CAP_NET_ADMIN: u32 = 12;

/// Builds an `epoll_params` with a zero pad.
pub fn params(usecs: u32, budget: u16, prefer: u8) -> EpollParams {
    EpollParams {
        busy_poll_usecs: usecs,
        busy_poll_budget: budget,
        prefer_busy_poll: prefer,
        __pad: 0,
    }
}

/// Creates a new epoll instance.
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 takes no pointers.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Issues ioctl `cmd` on `fd` with the raw pointer `arg`.
///
/// # Safety
/// `arg` is whatever the kernel is asked to read or write: the kernel checks
/// it, so a bad pointer only gives `EFAULT`, but a good one is written to.
pub unsafe fn ioctl_raw(fd: &impl AsRawFd, cmd: u32, arg: *mut libc::c_void) -> io::Result<()> {
    // SAFETY: forwarded from the caller; the request number type differs
    // between libcs, hence the cast.
    if unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, arg) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `EPIOCSPARAMS`: sets the busy-poll parameters of the epoll instance `fd`.
pub fn set_params(fd: &impl AsRawFd, p: &EpollParams) -> io::Result<()> {
    let mut copy = *p;
    // SAFETY: `copy` is a valid `epoll_params` that lives across the call.
    unsafe { ioctl_raw(fd, libc::EPIOCSPARAMS as u32, (&raw mut copy).cast()) }
}

/// `EPIOCGPARAMS`: reads the busy-poll parameters of the epoll instance `fd`.
pub fn get_params(fd: &impl AsRawFd) -> io::Result<EpollParams> {
    // Filled with a pattern, so a kernel that leaves bytes unwritten shows.
    let mut p = EpollParams {
        busy_poll_usecs: 0xa5a5_a5a5,
        busy_poll_budget: 0xa5a5,
        prefer_busy_poll: 0xa5,
        __pad: 0xa5,
    };
    // SAFETY: `p` is a valid, writable `epoll_params`.
    unsafe { ioctl_raw(fd, libc::EPIOCGPARAMS as u32, (&raw mut p).cast()) }?;
    Ok(p)
}

/// The symbolic name of an errno value, e.g. `"EINVAL"`.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EBADF => "EBADF",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EIO => "EIO",
        libc::ENOMEM => "ENOMEM",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::ERANGE => "ERANGE",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        _ => "E?",
    }
}

/// Formats an ioctl outcome as `ok` or an errno name.
pub fn outcome(r: &io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(n) => errno_name(n).into(),
            None => e.to_string(),
        },
    }
}

/// Formats parameters as `busy_poll_usecs=.. busy_poll_budget=..
/// prefer_busy_poll=..`, the three fields a user sets (no pad).
pub fn show_fields(p: &EpollParams) -> String {
    format!(
        "busy_poll_usecs={} busy_poll_budget={} prefer_busy_poll={}",
        p.busy_poll_usecs, p.busy_poll_budget, p.prefer_busy_poll
    )
}

/// Formats parameters as `usecs=.. budget=.. prefer=.. pad=..`.
pub fn show(p: &EpollParams) -> String {
    format!(
        "busy_poll_usecs={} busy_poll_budget={} prefer_busy_poll={} __pad={}",
        p.busy_poll_usecs, p.busy_poll_budget, p.prefer_busy_poll, p.__pad
    )
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn capget() -> io::Result<[CapData; 2]> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array, as the v3 ABI wants.
    if unsafe { libc::syscall(libc::SYS_capget, &raw mut hdr, data.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(data)
}

/// Whether the calling thread has `cap` in its effective set.
pub fn has_capability(cap: u32) -> io::Result<bool> {
    let data = capget()?;
    Ok(data[(cap / 32) as usize].effective & (1 << (cap % 32)) != 0)
}

/// Drops `cap` from the calling thread's effective set (other threads of
/// the process keep theirs).
pub fn drop_effective_capability(cap: u32) -> io::Result<()> {
    let mut data = capget()?;
    data[(cap / 32) as usize].effective &= !(1 << (cap % 32));
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: header and a two-element data array, as the v3 ABI wants.
    if unsafe { libc::syscall(libc::SYS_capset, &raw mut hdr, data.as_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
