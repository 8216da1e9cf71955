// SPDX-License-Identifier: GPL-2.0

//! The busy-poll rules, free of the kernel edges.
//!
//! Nothing here touches user memory, credentials, clocks or sysctls: those
//! are passed in as values or closures, so the KUnit suite can drive every
//! branch without an epoll instance.

use core::mem::{offset_of, size_of};

use kernel::{
    error::{code::*, Result},
    ffi::{c_uint, c_ulong},
    net::busy_poll,
    types::{AsBytes, FromBytes},
    uapi,
};

/// `struct epoll_params` from `include/uapi/linux/eventpoll.h`, as userspace
/// passes it to `EPIOCSPARAMS` and gets it back from `EPIOCGPARAMS`.
#[repr(transparent)]
#[derive(Clone, Copy, Default)]
pub struct EpollParams(pub uapi::epoll_params);

// The ABI is 8 bytes, without padding: four fields, each at its offset.
const _: () = {
    type C = uapi::epoll_params;
    assert!(size_of::<EpollParams>() == 8);
    assert!(offset_of!(C, busy_poll_usecs) == 0);
    assert!(offset_of!(C, busy_poll_budget) == 4);
    assert!(offset_of!(C, prefer_busy_poll) == 6);
    assert!(offset_of!(C, __pad) == 7);
};

// SAFETY: `struct epoll_params` is four integers with no padding between or
// after them (4 + 2 + 1 + 1 bytes, checked above), so every byte pattern is a
// valid value.
unsafe impl FromBytes for EpollParams {}

// SAFETY: `struct epoll_params` has no padding bytes (checked above), so all
// its bytes are initialised.
unsafe impl AsBytes for EpollParams {}

impl EpollParams {
    /// The four fields as userspace lays them out.
    #[inline]
    pub const fn new(usecs: u32, budget: u16, prefer: u8, pad: u8) -> Self {
        Self(uapi::epoll_params {
            busy_poll_usecs: usecs,
            busy_poll_budget: budget,
            prefer_busy_poll: prefer,
            __pad: pad,
        })
    }
}

impl PartialEq for EpollParams {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        a.busy_poll_usecs == b.busy_poll_usecs
            && a.busy_poll_budget == b.busy_poll_budget
            && a.prefer_busy_poll == b.prefer_busy_poll
            && a.__pad == b.__pad
    }
}

/// Sets the busy-poll parameters of an epoll instance.
pub const EPIOCSPARAMS: u32 = kernel::ioctl::_IOW::<EpollParams>(uapi::EPOLL_IOC_TYPE, 0x01);

/// Gets the busy-poll parameters of an epoll instance.
pub const EPIOCGPARAMS: u32 = kernel::ioctl::_IOR::<EpollParams>(uapi::EPOLL_IOC_TYPE, 0x02);

/// Largest accepted `busy_poll_usecs` (`S32_MAX`).
pub const MAX_USECS: u32 = i32::MAX as u32;

/// Largest `busy_poll_budget` allowed without `CAP_NET_ADMIN`.
pub const NAPI_POLL_WEIGHT: u16 = busy_poll::NAPI_POLL_WEIGHT;

/// NAPI budget used when `busy_poll_budget` is 0.
pub const BUSY_POLL_BUDGET: u16 = busy_poll::BUSY_POLL_BUDGET;

/// Busy-poll parameters that passed [`validate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Busy-poll time in microseconds, at most [`MAX_USECS`].
    pub usecs: u32,
    /// Packets per NAPI poll as set; 0 means [`BUSY_POLL_BUDGET`].
    pub budget: u16,
    /// Prefer busy polling over softirq processing.
    pub prefer: bool,
}

impl Params {
    /// Whether these parameters alone turn busy polling on: the on-rule
    /// ([`busy_loop_on`]) without `net.core.busy_poll`.  The budget alone
    /// only shapes a busy poll that something else turned on.
    #[inline]
    pub fn turn_busy_polling_on(self) -> bool {
        busy_loop_on(self.usecs, self.prefer, || false)
    }
}

impl Params {
    /// The `EPIOCGPARAMS` answer: the three values, everything else zero.
    #[inline]
    pub fn to_user(self) -> EpollParams {
        EpollParams::new(self.usecs, self.budget, u8::from(self.prefer), 0)
    }
}

/// Checks `EPIOCSPARAMS` input, in the order of the C implementation.
///
/// A non-zero pad byte, `busy_poll_usecs` above [`MAX_USECS`] or
/// `prefer_busy_poll` above 1 is `EINVAL`.  Only then, and only for a budget
/// above [`NAPI_POLL_WEIGHT`], is `may_exceed_weight` asked (it stands for
/// `capable(CAP_NET_ADMIN)`, which has side effects); `false` is `EPERM`.
#[inline]
pub fn validate(raw: &EpollParams, may_exceed_weight: impl FnOnce() -> bool) -> Result<Params> {
    let raw = &raw.0;
    if raw.__pad != 0 {
        return Err(EINVAL);
    }
    if raw.busy_poll_usecs > MAX_USECS {
        return Err(EINVAL);
    }
    let prefer = match raw.prefer_busy_poll {
        0 => false,
        1 => true,
        _ => return Err(EINVAL),
    };
    if raw.busy_poll_budget > NAPI_POLL_WEIGHT && !may_exceed_weight() {
        return Err(EPERM);
    }
    Ok(Params {
        usecs: raw.busy_poll_usecs,
        budget: raw.busy_poll_budget,
        prefer,
    })
}

/// The on-rule: busy poll when the instance has `usecs` set OR prefers busy
/// polling OR the `net.core.busy_poll` sysctl is on (Linux 6.13's rule; a
/// preference alone used to only shape a busy poll turned on otherwise).
/// `sysctl_on` is asked only when neither parameter decides.
#[inline]
pub fn busy_loop_on(usecs: u32, prefer: bool, sysctl_on: impl FnOnce() -> bool) -> bool {
    usecs != 0 || prefer || sysctl_on()
}

/// The NAPI instance whose interrupts an epoll instance suspends after
/// delivering events, and resumes when a busy loop finds none or the
/// instance goes away: the one it busy polls (`napi_id`), if it prefers busy
/// polling and has a NAPI ID at all (IDs below
/// [`busy_poll::MIN_NAPI_ID`] are sender CPUs, not NAPI instances).
///
/// Whether the suspension does anything is the NAPI instance's business:
/// its `irq-suspend-timeout` (netdev netlink) must be non-zero.
#[inline]
pub fn irq_suspension_target(prefer: bool, napi_id: c_uint) -> Option<c_uint> {
    if prefer && napi_id >= busy_poll::MIN_NAPI_ID {
        Some(napi_id)
    } else {
        None
    }
}

/// The NAPI budget to poll with: the instance's, or [`BUSY_POLL_BUDGET`]
/// when it is 0.
#[inline]
pub fn effective_budget(budget: u16) -> u16 {
    if budget == 0 {
        BUSY_POLL_BUDGET
    } else {
        budget
    }
}

/// Why an epoll busy loop ends, when not on events: `fs/eventpoll.c`
/// looks at the ready list first, after each poll, then asks [`loop_end`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// A signal is pending: `epoll_wait()` returns `EINTR`, or the task dies
    /// of it, now rather than when the busy-poll time is over.
    Signal,
    /// The caller's own `epoll_wait()`/`epoll_pwait2()` timeout has come:
    /// the call returns 0, however long the instance may busy poll.
    Deadline,
    /// The busy-poll time is over: the instance's `busy_poll_usecs`, or
    /// `net.core.busy_poll`'s when that is 0 (with both 0, at once).
    BusyPollTime,
}

/// Whether, and why, an epoll busy loop that started at `start` (a
/// [`busy_poll::busy_loop_current_time`] reading) ends now, events aside.
///
/// It ends on the first of: a pending signal (`signal_pending` is asked
/// first, on every spin, as `select()`'s busy loop does), the caller's
/// `deadline` (the absolute `CLOCK_MONOTONIC` time of its timeout, in ns;
/// `KTIME_MAX` for none), and the end of the busy-poll time, `usecs` or,
/// when it is 0, `sysctl_usecs()`.  `now()`, `ktime_get()` in ns, is read
/// once and serves both times.  Without the first two, as from Linux 6.9
/// to this rule, a task could be neither interrupted nor killed, nor its
/// timeout kept, for up to `S32_MAX` us (35.8 minutes) of busy polling.
#[inline]
pub fn loop_end(
    usecs: u32,
    sysctl_usecs: impl FnOnce() -> u32,
    signal_pending: impl FnOnce() -> bool,
    start: c_ulong,
    deadline: i64,
    now: impl FnOnce() -> i64,
) -> Option<EndReason> {
    if signal_pending() {
        return Some(EndReason::Signal);
    }
    let usecs = if usecs != 0 { usecs } else { sysctl_usecs() };
    if usecs == 0 {
        return Some(EndReason::BusyPollTime);
    }
    let now = now();
    if now >= deadline {
        return Some(EndReason::Deadline);
    }
    // `unsigned long` holds any `u32` on every architecture Linux supports.
    let end = start.wrapping_add(usecs as c_ulong);
    if busy_poll::busy_loop_expired(busy_poll::busy_loop_time(now), end) {
        return Some(EndReason::BusyPollTime);
    }
    None
}
