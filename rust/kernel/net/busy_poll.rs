// SPDX-License-Identifier: GPL-2.0

//! NAPI busy polling.
//!
//! The primitives a busy-polling caller needs: the system-wide
//! `net.core.busy_poll` setting, the busy-poll clock and its timeout, the
//! busy loop itself, and the suspension of a NAPI instance's interrupts while
//! an application that prefers busy polling keeps finding work.  The static
//! inline functions of the C header are reimplemented here (each a load or
//! two), so a busy loop does not pay a call into a helper on every spin.
//!
//! For built-in code only: `sysctl_net_busy_poll`, `napi_suspend_irqs()` and
//! `napi_resume_irqs()` are not exported to modules (nor are the last two in
//! mainline), so a module that calls these functions does not link.
//!
//! C header: [`include/net/busy_poll.h`](srctree/include/net/busy_poll.h)

use crate::{
    bindings,
    ffi::{c_long, c_uint, c_ulong, c_void},
    time::Ktime,
};

/// NAPI budget of a busy poll that does not set one (`BUSY_POLL_BUDGET`).
pub const BUSY_POLL_BUDGET: u16 = bindings::BUSY_POLL_BUDGET as u16;

/// The default NAPI poll weight (`NAPI_POLL_WEIGHT`): packets per poll that
/// drivers use, and the largest busy-poll budget that needs no privilege.
pub const NAPI_POLL_WEIGHT: u16 = bindings::NAPI_POLL_WEIGHT as u16;

/// Smallest NAPI ID: lower values of `sk_napi_id` are not NAPI contexts
/// (`MIN_NAPI_ID`).
pub const MIN_NAPI_ID: c_uint = bindings::NR_CPUS as c_uint + 1;

/// The `net.core.busy_poll` sysctl: microseconds to busy poll in `poll()`,
/// `select()` and `epoll_wait()`, 0 for off.
#[inline]
pub fn sysctl_busy_poll() -> u32 {
    // SAFETY: `sysctl_net_busy_poll` is a static `unsigned int`, always valid
    // and aligned.  The sysctl handler writes it concurrently; a volatile
    // load of the aligned word is `READ_ONCE()`, as the C readers do.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::sysctl_net_busy_poll)) }
}

/// Whether busy polling is on system-wide: `net_busy_loop_on()`.
#[inline]
pub fn net_busy_loop_on() -> bool {
    sysctl_busy_poll() != 0
}

/// The busy-poll clock, in units of 1024 ns ("about a microsecond"):
/// `busy_loop_current_time()`.
///
/// It wraps; compare readings with [`busy_loop_expired`].
#[inline]
pub fn busy_loop_current_time() -> c_ulong {
    busy_loop_time(Ktime::ktime_get().to_ns())
}

/// The busy-poll clock's reading at `CLOCK_MONOTONIC` time `ns`, as
/// [`busy_loop_current_time`] would have read it then: for a caller that
/// already holds `ktime_get()` and needs both.
#[inline]
pub fn busy_loop_time(ns: i64) -> c_ulong {
    // CLOCK_MONOTONIC never goes negative: the cast keeps the value, and the
    // one to `unsigned long` truncates as the C cast does on 32-bit.
    ((ns as u64) >> 10) as c_ulong
}

/// Whether the busy-poll clock reading `now` is past `end`:
/// `time_after(now, end)` on the wrapping clock of
/// [`busy_loop_current_time`].
///
/// # Examples
///
/// ```
/// use kernel::net::busy_poll::busy_loop_expired;
///
/// assert!(!busy_loop_expired(100, 100));
/// assert!(busy_loop_expired(101, 100));
/// // Across the wrap of the clock.
/// assert!(busy_loop_expired(5, kernel::ffi::c_ulong::MAX));
/// ```
#[inline]
pub fn busy_loop_expired(now: c_ulong, end: c_ulong) -> bool {
    // `time_after(a, b)` is `(long)(b - a) < 0`: a same-width reinterpretation.
    (end.wrapping_sub(now) as c_long) < 0
}

/// Whether a busy loop that started at `start` has run for longer than
/// `net.core.busy_poll`: `busy_loop_timeout()`.  With the sysctl at 0 every
/// loop has.
#[inline]
pub fn busy_loop_timeout(start: c_ulong) -> bool {
    match sysctl_busy_poll() {
        0 => true,
        // `unsigned long` holds any `u32` on every architecture Linux runs on.
        usecs => {
            // The end first: only it lives across the clock's call.
            let end = start.wrapping_add(usecs as c_ulong);
            busy_loop_expired(busy_loop_current_time(), end)
        }
    }
}

/// The `loop_end` callback of [`napi_busy_loop`]: called with its `arg` and
/// the loop's start time (from [`busy_loop_current_time`]) after each poll,
/// it returns `true` to end the loop.
pub type LoopEnd = Option<unsafe extern "C" fn(*mut c_void, c_ulong) -> bool>;

/// Busy polls NAPI context `napi_id` with `budget` packets per poll, until
/// `loop_end` says to stop, or once when `loop_end` is `None`:
/// `napi_busy_loop()`.
///
/// With `prefer` the poll is preferred over softirq processing of the same
/// NAPI context (`prefer_busy_poll`).  A `napi_id` below [`MIN_NAPI_ID`], or
/// one no device has, returns at once.  The loop also ends when the task must
/// reschedule.
///
/// # Safety
///
/// - The caller is in process context with interrupts enabled, and may sleep.
/// - When `loop_end` is `Some`, calling it with `arg` is safe at any time
///   until this function returns.
#[inline]
pub unsafe fn napi_busy_loop(
    napi_id: c_uint,
    loop_end: LoopEnd,
    arg: *mut c_void,
    prefer: bool,
    budget: u16,
) {
    // SAFETY: The caller guarantees the context and that `loop_end` may be
    // called with `arg` for the duration of the loop; `napi_busy_loop()`
    // looks `napi_id` up itself and copes with any value.
    unsafe { bindings::napi_busy_loop(napi_id, loop_end, arg, prefer, budget) }
}

/// Holds the interrupts of NAPI instance `napi_id` off for its
/// `irq-suspend-timeout` (netdev netlink): `napi_suspend_irqs()`.
///
/// For a task that prefers busy polling and has just found work: the
/// instance's watchdog timer is armed with that timeout, so the device's
/// interrupts stay off until the task busy polls again (each poll that finds
/// work extends the suspension) or the timer fires.  Does nothing when the
/// timeout is 0 or no device has `napi_id`.
///
/// Call it from process context.
#[inline]
pub fn napi_suspend_irqs(napi_id: c_uint) {
    // SAFETY: `napi_suspend_irqs()` looks `napi_id` up under RCU and copes
    // with any value.
    unsafe { bindings::napi_suspend_irqs(napi_id) }
}

/// Ends a suspension that [`napi_suspend_irqs`] began, before its timeout:
/// `napi_resume_irqs()`.
///
/// Schedules the instance, so that softirq polls it again and its driver
/// turns the interrupts back on once a poll finds no more work.  Does
/// nothing when the instance's `irq-suspend-timeout` is 0 (a suspension
/// begun before it was set to 0 ends with the watchdog) or no device has
/// `napi_id`.
///
/// Call it from process context, with interrupts enabled.
#[inline]
pub fn napi_resume_irqs(napi_id: c_uint) {
    // SAFETY: `napi_resume_irqs()` looks `napi_id` up under RCU and copes
    // with any value; the context is documented above.
    unsafe { bindings::napi_resume_irqs(napi_id) }
}
