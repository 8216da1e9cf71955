//! Reaching the epoll instances of another process: a pidfd names the
//! process (`pidfd_open`, Linux >= 5.3), `pidfd_getfd` (Linux >= 5.6)
//! copies one of its descriptors into ours, and `/proc/PID/fd` lists them.
//! Copying a descriptor needs ptrace-attach rights over the process.  What
//! an epoll instance watches is in the `tfd:` lines of its fdinfo, which a
//! copy shows as well as the original.

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

    /// What the process's descriptor `fd` is, as `/proc/PID/fd/FD` links
    /// to it (`anon_inode:[eventpoll]`, `pipe:[1234]`, a path).  Needs
    /// ptrace-read rights (`EACCES` otherwise); `ENOENT` if there is no
    /// such descriptor, or no such process any more.
    pub fn fd_link(&self, fd: libc::c_int) -> io::Result<String> {
        let link = fs::read_link(format!("/proc/{}/fd/{fd}", self.pid))?;
        Ok(link.to_string_lossy().into_owned())
    }

    /// The text of `/proc/PID/fdinfo/FD`, read as `cat` reads it: it
    /// needs ptrace-read rights over the process (`EACCES` otherwise),
    /// not the ptrace-attach rights of [`Process::take_fd`]; `ENOENT` if
    /// there is no such descriptor, or no such process any more.
    pub fn fdinfo(&self, fd: libc::c_int) -> io::Result<String> {
        fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", self.pid))
    }

    /// Whether the process has exited (its pidfd is readable then, zombie
    /// or reaped): what was read from `/proc/PID` by its number may be of
    /// another process by now.  `false` if that cannot be told.
    pub fn has_exited(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting.
        let ret = unsafe { libc::poll(&raw mut pfd, 1, 0) };
        ret > 0 && pfd.revents & libc::POLLIN != 0
    }
}

/// What the descriptor `fd` of this process is, as `/proc/self/fd` shows
/// it: `anon_inode:[eventpoll]`, `pipe:[1234]`, `socket:[5678]`, a path.
pub fn fd_kind(fd: &impl AsRawFd) -> io::Result<String> {
    let link = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    Ok(link.to_string_lossy().into_owned())
}

/// One file an epoll instance watches, from a `tfd:` line of its fdinfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollTarget {
    /// The descriptor number it was added under, in the process that
    /// added it.
    pub fd: libc::c_int,
    /// Its inode number.
    pub ino: u64,
    /// Its device, as `stat()` reports `st_dev` (the fdinfo's `sdev` is the
    /// kernel's encoding, converted).
    pub dev: u64,
}

impl EpollTarget {
    /// Whether `st` (`fstat()` of a descriptor) is this file.
    pub fn is(&self, st: &libc::stat) -> bool {
        file_id(st) == (self.dev, self.ino)
    }
}

/// A file's identity from its `stat`: device and inode number.
// Their types differ between targets and C libraries; u64 holds both.
#[allow(clippy::unnecessary_cast)]
pub fn file_id(st: &libc::stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// The watched files in the text of an epoll instance's fdinfo, one per
/// line like `tfd:        5 events:       19 data:                5  pos:0
/// ino:3d sdev:8`, sorted by descriptor; lines of other kinds are skipped,
/// and so is a `tfd:` line that does not parse.
pub fn parse_epoll_targets(fdinfo: &str) -> Vec<EpollTarget> {
    let mut targets: Vec<EpollTarget> = fdinfo
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("tfd:")?;
            let mut words = rest.split_whitespace();
            let fd = words.next()?.parse().ok()?;
            let mut ino = None;
            let mut sdev = None;
            for word in words {
                if let Some(v) = word.strip_prefix("ino:") {
                    ino = u64::from_str_radix(v, 16).ok();
                } else if let Some(v) = word.strip_prefix("sdev:") {
                    sdev = u32::from_str_radix(v, 16).ok();
                }
            }
            // The kernel's dev_t: 12 bits of major, 20 of minor.
            let sdev = sdev?;
            Some(EpollTarget {
                fd,
                ino: ino?,
                dev: user_dev(sdev >> 20, sdev & 0xf_ffff),
            })
        })
        .collect();
    targets.sort_by_key(|t| (t.fd, t.ino, t.dev));
    targets
}

/// `makedev()`: a device number as `stat()` reports it.
#[allow(clippy::unnecessary_cast)]
fn user_dev(major: u32, minor: u32) -> u64 {
    libc::makedev(major, minor) as u64
}

/// The files the epoll instance `ep` (ours, or a copy of another
/// process's) watches, from `/proc/self/fdinfo/FD`.
pub fn epoll_targets(ep: &impl AsRawFd) -> io::Result<Vec<EpollTarget>> {
    let text = fs::read_to_string(format!("/proc/self/fdinfo/{}", ep.as_raw_fd()))?;
    Ok(parse_epoll_targets(&text))
}

/// `fstat()` of a descriptor.
pub fn stat_fd(fd: &impl AsRawFd) -> io::Result<libc::stat> {
    // SAFETY: a stat is plain data; all zeroes is a valid one.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid and writable.
    if unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfd_lines_parse() {
        // As Linux 6.12's ep_show_fdinfo() prints them, with the busy-poll
        // lines after them.
        let text = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n\
tfd:        9 events:       19 data:                9  pos:0 ino:5f1 sdev:8\n\
tfd:        5 events:       19 data:       7fff00000005  pos:0 ino:3d sdev:a00003\n\
tfd: garbage\n\
busy_poll_usecs:\t0\nbusy_poll_budget:\t0\nprefer_busy_poll:\t0\n";
        let t = parse_epoll_targets(text);
        assert_eq!(
            t,
            vec![
                EpollTarget {
                    fd: 5,
                    ino: 0x3d,
                    dev: user_dev(0xa, 3),
                },
                EpollTarget {
                    fd: 9,
                    ino: 0x5f1,
                    dev: user_dev(0, 8),
                },
            ]
        );
        assert!(parse_epoll_targets("pos:\t0\nflags:\t02\n").is_empty());
    }

    #[test]
    fn our_own_process_by_its_pid() {
        let ep = crate::epoll_create().unwrap();
        let me = Process::open(std::process::id() as libc::pid_t).unwrap();
        assert!(!me.has_exited());
        let fd = ep.as_raw_fd();
        assert_eq!(me.fd_link(fd).unwrap(), EVENTPOLL_LINK);
        assert!(me.epoll_fds().unwrap().contains(&fd));
        assert!(me.fdinfo(fd).unwrap().starts_with("pos:"));
        // A number no descriptor has (other tests' threads open some).
        let none = 999_999;
        assert_eq!(
            me.fdinfo(none).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        assert_eq!(
            me.fd_link(none).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
    }

    #[test]
    fn a_child_that_exited_has_exited() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let p = Process::open(child.id() as libc::pid_t).unwrap();
        child.wait().unwrap();
        assert!(p.has_exited());
    }

    #[test]
    fn a_new_instance_of_ours_watches_what_we_add() {
        let ep = crate::epoll_create().unwrap();
        assert!(epoll_targets(&ep).unwrap().is_empty());
        let mut p = [0; 2];
        // SAFETY: `p` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: the pipe's descriptors are new and ours.
        let (r, _w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        // SAFETY: `ev` is a valid epoll_event.
        let ret = unsafe {
            libc::epoll_ctl(
                ep.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                r.as_raw_fd(),
                &raw mut ev,
            )
        };
        assert_eq!(ret, 0);
        let t = epoll_targets(&ep).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].fd, r.as_raw_fd());
        assert!(t[0].is(&stat_fd(&r).unwrap()), "{t:?}");
    }
}
