// SPDX-License-Identifier: GPL-2.0

//! The busy-poll rules, free of the kernel edges.
//!
//! Nothing here touches user memory, credentials, clocks or sysctls: those
//! are passed in as values or closures, so the KUnit suite can drive every
//! branch without an epoll instance.

use kernel::{
    bindings,
    error::{code::*, Result},
    ffi::{c_long, c_ulong},
    types::{AsBytes, FromBytes},
};

/// `struct epoll_params` from `include/uapi/linux/eventpoll.h`, as userspace
/// passes it to `EPIOCSPARAMS` and gets it back from `EPIOCGPARAMS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpollParams {
    /// Busy-poll time in microseconds; 0 defers to `net.core.busy_poll`.
    pub busy_poll_usecs: u32,
    /// Packets per NAPI poll; 0 means [`BUSY_POLL_BUDGET`].
    pub busy_poll_budget: u16,
    /// 1 to prefer busy polling over softirq processing, else 0.
    pub prefer_busy_poll: u8,
    /// Must be zero.
    pub pad: u8,
}

// SAFETY: `EpollParams` is four integers with no padding between or after
// them (4 + 2 + 1 + 1 bytes, checked below), so every byte pattern is a valid
// value.
unsafe impl FromBytes for EpollParams {}

// SAFETY: `EpollParams` has no padding bytes (checked below), so all its bytes
// are initialised.
unsafe impl AsBytes for EpollParams {}

// The ABI is the uapi header's, as bindgen sees it: same size, same offsets.
const _: () = {
    use core::mem::{offset_of, size_of};
    type C = bindings::epoll_params;
    assert!(size_of::<EpollParams>() == 8);
    assert!(size_of::<EpollParams>() == size_of::<C>());
    assert!(offset_of!(EpollParams, busy_poll_usecs) == offset_of!(C, busy_poll_usecs));
    assert!(offset_of!(EpollParams, busy_poll_budget) == offset_of!(C, busy_poll_budget));
    assert!(offset_of!(EpollParams, prefer_busy_poll) == offset_of!(C, prefer_busy_poll));
    assert!(offset_of!(EpollParams, pad) == offset_of!(C, __pad));
};

/// The ioctl type of epoll (`EPOLL_IOC_TYPE`).
const EPOLL_IOC_TYPE: u32 = 0x8A;

/// Sets the busy-poll parameters of an epoll instance.
pub const EPIOCSPARAMS: u32 = kernel::ioctl::_IOW::<EpollParams>(EPOLL_IOC_TYPE, 0x01);

/// Gets the busy-poll parameters of an epoll instance.
pub const EPIOCGPARAMS: u32 = kernel::ioctl::_IOR::<EpollParams>(EPOLL_IOC_TYPE, 0x02);

/// Largest accepted `busy_poll_usecs` (`S32_MAX`).
pub const MAX_USECS: u32 = i32::MAX as u32;

/// Largest `busy_poll_budget` allowed without `CAP_NET_ADMIN`.
pub const NAPI_POLL_WEIGHT: u16 = bindings::NAPI_POLL_WEIGHT as u16;

/// NAPI budget used when `busy_poll_budget` is 0.
pub const BUSY_POLL_BUDGET: u16 = bindings::BUSY_POLL_BUDGET as u16;

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
    /// The `EPIOCGPARAMS` answer: the three values, everything else zero.
    #[inline]
    pub fn to_user(self) -> EpollParams {
        EpollParams {
            busy_poll_usecs: self.usecs,
            busy_poll_budget: self.budget,
            prefer_busy_poll: u8::from(self.prefer),
            pad: 0,
        }
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
    if raw.pad != 0 {
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

/// The on-rule: busy poll when the instance has `usecs` set OR the
/// `net.core.busy_poll` sysctl is on.  `sysctl_on` is asked only when
/// `usecs` is 0.
#[inline]
pub fn busy_loop_on(usecs: u32, sysctl_on: impl FnOnce() -> bool) -> bool {
    usecs != 0 || sysctl_on()
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

/// Whether a busy loop that started at `start` (in `busy_loop_current_time()`
/// units, microseconds) is over.
///
/// With `usecs` set the instance's timeout applies and `now` is asked for the
/// current time; otherwise `sysctl_timed_out(start)` decides, which is
/// `busy_loop_timeout()` and its `net.core.busy_poll` timeout.
#[inline]
pub fn timed_out(
    usecs: u32,
    start: c_ulong,
    now: impl FnOnce() -> c_ulong,
    sysctl_timed_out: impl FnOnce(c_ulong) -> bool,
) -> bool {
    if usecs == 0 {
        return sysctl_timed_out(start);
    }
    // `unsigned long` holds any `u32` on every architecture Linux supports.
    time_after(now(), start.wrapping_add(usecs as c_ulong))
}

/// `time_after(a, b)`: whether `a` is after `b` on a clock that wraps.
#[inline]
pub fn time_after(a: c_ulong, b: c_ulong) -> bool {
    // Same-width reinterpretation, as the C macro's `(long)((b) - (a)) < 0`.
    (b.wrapping_sub(a) as c_long) < 0
}
