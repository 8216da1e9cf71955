//! Reaching the epoll instances of another process: a pidfd names the
//! process (`pidfd_open`, Linux >= 5.3), `pidfd_getfd` (Linux >= 5.6)
//! copies one of its descriptors into ours, and `/proc/PID/fd` lists them.
//! Copying a descriptor needs ptrace-attach rights over the process.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What `/proc/*/fd/N` links to for an epoll instance.
pub const EVENTPOLL_LINK: &str = "anon_inode:[eventpoll]";

/// Turns a syscall's return value into a new owned descriptor, or the errno.
fn owned_fd(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just installed `fd` for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Another process, held by a pidfd so that its pid cannot be reused under us.
pub struct Process {
    pid: libc::pid_t,
    pidfd: OwnedFd,
}

impl Process {
    /// `pidfd_open(pid)`: `ESRCH` if there is no such process, `EINVAL` if
    /// `pid` is a thread that is not a thread-group leader, `ENOSYS` before
    /// Linux 5.3.
    pub fn open(pid: libc::pid_t) -> io::Result<Self> {
        // SAFETY: pidfd_open takes a pid and flags, no pointers.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        Ok(Process {
            pid,
            pidfd: owned_fd(ret)?,
        })
    }

    /// The process ID.
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// `pidfd_getfd()`: a copy of the process's descriptor `fd`, sharing its
    /// open file (so its epoll instance).  `EBADF` if the process has no
    /// `fd`, `EPERM` without ptrace-attach rights, `ESRCH` if it has exited,
    /// `ENOSYS` before Linux 5.6.
    pub fn take_fd(&self, fd: libc::c_int) -> io::Result<OwnedFd> {
        // SAFETY: pidfd_getfd takes two descriptors and flags, no pointers.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, self.pidfd.as_raw_fd(), fd, 0u32) };
        owned_fd(ret)
    }

    /// The descriptors of the process that are epoll instances, in
    /// ascending order, read from `/proc/PID/fd` (which needs ptrace-read
    /// rights: `EACCES` otherwise; `ENOENT` once the process has exited).
    pub fn epoll_fds(&self) -> io::Result<Vec<libc::c_int>> {
        let dir = format!("/proc/{}/fd", self.pid);
        let mut fds = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A descriptor closed since the directory was read is skipped.
            match fs::read_link(entry.path()) {
                Ok(link) if link.as_os_str() == EVENTPOLL_LINK => fds.push(fd),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        fds.sort_unstable();
        Ok(fds)
    }
}

/// What the descriptor `fd` of this process is, as `/proc/self/fd` shows
/// it: `anon_inode:[eventpoll]`, `pipe:[1234]`, `socket:[5678]`, a path.
pub fn fd_kind(fd: &impl AsRawFd) -> io::Result<String> {
    let link = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    Ok(link.to_string_lossy().into_owned())
}
