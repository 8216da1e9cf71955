// SPDX-License-Identifier: GPL-2.0

//! Per-epoll NAPI busy polling.
//!
//! An epoll instance may busy poll the NAPI context of its sockets with its
//! own time, budget and preference, set with the `EPIOCSPARAMS` ioctl and
//! read back with `EPIOCGPARAMS` (`include/uapi/linux/eventpoll.h`), instead
//! of, or on top of, the system-wide `net.core.busy_poll` sysctl.
//!
//! This file is the C boundary: `fs/eventpoll.c` keeps a `struct
//! ep_busy_poll` in each `struct eventpoll` and calls the functions below
//! from thin shims (`include/linux/eventpoll_busy_poll.h`).  Raw pointers
//! become [`BusyPoll`] references here, once; the rules behind them are
//! plain safe Rust in `rules.rs` and `state.rs`.  Each function is
//! `#[export]`ed: checked at build time against its C prototype, as bindgen
//! sees it.
//!
//! Users who never busy poll must not pay for the boundary: C calls in here
//! from the paths every epoll user takes (the wakeup callback, `epoll_wait()`,
//! `epoll_ctl()`) only while the static key `ep_busy_poll_used` is on, or
//! `net.core.busy_poll` is.  The key is counted here: on while the
//! parameters of any instance turn busy polling on ([`state::Locked::set`],
//! under the instance's `ep->mtx`, and [`ep_busy_poll_release`]).
//!
//! An instance that prefers busy polling also suspends the interrupts of the
//! NAPI instance it polls while it keeps finding events (Linux 6.13's IRQ
//! suspension): [`ep_busy_poll_suspend`] after `epoll_wait()` delivered
//! events, [`ep_busy_poll_resume`] when a busy loop found none, and
//! [`ep_busy_poll_release`] when the instance goes away.
//!
//! The behaviour is that of the C implementation it replaces, errno for
//! errno.  [`ep_busy_poll_loop_end`] runs inside the busy loop and the
//! others but the ioctl under the wakeup path's locks: they must never block
//! or allocate.

use kernel::{
    bindings,
    capability::{capable, Capability},
    error::Result,
    ffi::{c_long, c_uint, c_ulong, c_void},
    jump_label::StaticKeyFalseDeferred,
    net::busy_poll::{self, LoopEnd},
    prelude::export,
    time::Ktime,
    uaccess::UserSlice,
};

#[path = "eventpoll_busy_poll/rules.rs"]
pub mod rules;
#[path = "eventpoll_busy_poll/state.rs"]
pub mod state;

#[cfg(CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST)]
#[path = "eventpoll_busy_poll/kunit.rs"]
mod kunit;

use rules::EpollParams;
use state::BusyPoll;

/// `ep_busy_poll_used`: on while any epoll instance's parameters turn busy
/// polling on.
fn used_key() -> &'static StaticKeyFalseDeferred {
    // SAFETY: `ep_busy_poll_used` is a static key defined in fs/eventpoll.c
    // with `DEFINE_STATIC_KEY_DEFERRED_FALSE()`; it lives as long as the
    // kernel.
    unsafe {
        StaticKeyFalseDeferred::from_raw(core::ptr::addr_of_mut!(bindings::ep_busy_poll_used))
    }
}

/// `EPIOCSPARAMS` on an epoll file: reads the user's `struct epoll_params`
/// at `arg` once, then validates and stores it.  Asks for `CAP_NET_ADMIN`
/// only for a budget above `NAPI_POLL_WEIGHT`, as the C code does.
///
/// `ep_eventpoll_ioctl()` maps each command to its function, after the
/// `is_file_epoll()` check; any other command is `-EINVAL` there.
///
/// Returns 0 or a negative errno.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`
///   (the caller holds a reference to its file).
/// - The caller holds that instance's `ep->mtx`: one set or get at a time.
/// - Called in process context, where user memory may be accessed and the
///   caller may sleep.
#[export]
pub unsafe extern "C" fn ep_busy_poll_set_params(
    bp: *mut bindings::ep_busy_poll,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    // SAFETY: The caller holds `ep->mtx`, which every `Locked` of a live
    // instance is made under.
    let state = unsafe { state.locked() };
    let raw = user_params(arg).reader().read::<EpollParams>();
    to_c_long(raw.and_then(|raw| state.set(&raw, || capable(Capability::NET_ADMIN), used_key())))
}

/// `EPIOCGPARAMS` on an epoll file: writes the current parameters to the
/// user's `struct epoll_params` at `arg`, pad zeroed: the three values of
/// one `EPIOCSPARAMS`, never a mix of two.
///
/// Returns 0 or a negative errno.
///
/// # Safety
///
/// As for [`ep_busy_poll_set_params`].
#[export]
pub unsafe extern "C" fn ep_busy_poll_get_params(
    bp: *mut bindings::ep_busy_poll,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    // SAFETY: The caller holds `ep->mtx`, as for a set.
    let params = unsafe { state.locked() }.get();
    to_c_long(user_params(arg).writer().write(&params.to_user()))
}

/// 0 or the negative errno, as the C side expects from an ioctl.
#[inline(always)]
fn to_c_long(result: Result) -> c_long {
    match result {
        Ok(()) => 0,
        // Errnos are small negative numbers: `long` holds them.
        Err(e) => e.to_errno() as c_long,
    }
}

/// The user's `struct epoll_params` at `arg`.
fn user_params(arg: c_ulong) -> UserSlice {
    // `arg` is the address itself: `c_ulong` is `UserPtr`'s `usize`.
    UserSlice::new(arg, core::mem::size_of::<EpollParams>())
}

/// The on-rule: whether the instance busy polls, because it has
/// `busy_poll_usecs` set, prefers busy polling, or `net.core.busy_poll` is
/// on.
///
/// # Safety
///
/// `bp` points to the `busy_poll` member of a live `struct eventpoll`.
#[export]
pub unsafe extern "C" fn ep_busy_poll_on(bp: *const bindings::ep_busy_poll) -> bool {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    state.busy_loop_on(busy_poll::net_busy_loop_on)
}

/// Whether a busy loop that started at `start_time` (from
/// `busy_loop_current_time()`) ends now, for a reason other than events
/// (which C looks for first): a signal is pending (`signal_pending`, the
/// caller's `signal_pending(current)`), the caller's `deadline`
/// (`epoll_wait()`'s timeout as an absolute `CLOCK_MONOTONIC` time,
/// `KTIME_MAX` for none) has come, or the busy-poll time is over (the
/// instance's `busy_poll_usecs` when set, else `net.core.busy_poll`'s).
///
/// Called on every spin of the busy loop: it reads the clock, nothing more.
/// C reads the signal flags, a load where it is inlined, which through
/// `Task::signal_pending()` would be two calls per spin.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - Called in process context, by the task that busy polls.
#[export]
pub unsafe extern "C" fn ep_busy_poll_loop_end(
    bp: *const bindings::ep_busy_poll,
    start_time: c_ulong,
    deadline: bindings::ktime_t,
    signal_pending: bool,
) -> bool {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    rules::loop_end(
        state.usecs(),
        busy_poll::sysctl_busy_poll,
        || signal_pending,
        start_time,
        deadline,
        || Ktime::ktime_get().to_ns(),
    )
    .is_some()
}

/// Busy polls NAPI context `napi_id` with the instance's budget and
/// preference until `loop_end(arg, start_time)` says stop (or, with
/// `loop_end` NULL, once).
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - `loop_end`, when not NULL, may be called with `arg` until this returns.
/// - Called in process context with interrupts enabled, as
///   `napi_busy_loop()` requires.
#[export]
pub unsafe extern "C" fn ep_busy_poll_napi(
    bp: *const bindings::ep_busy_poll,
    napi_id: c_uint,
    loop_end: LoopEnd,
    arg: *mut c_void,
) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    state.count_loop();
    // SAFETY: The caller guarantees the `loop_end`/`arg` pair and the context.
    unsafe {
        busy_poll::napi_busy_loop(napi_id, loop_end, arg, state.prefer(), state.napi_budget())
    }
}

/// Fills `out` with the instance's parameters as `EPIOCGPARAMS` reports them
/// (pad zeroed), for `/proc/<pid>/fdinfo/<epfd>`.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - The caller holds that instance's `ep->mtx`.
/// - `out` points to a `struct epoll_params` the caller may write.
#[export]
pub unsafe extern "C" fn ep_busy_poll_params(
    bp: *const bindings::ep_busy_poll,
    out: *mut bindings::epoll_params,
) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    // SAFETY: The caller holds `ep->mtx`.
    let p = unsafe { state.locked() }.get().to_user().0;
    // SAFETY: The caller guarantees `out` is valid for writes.
    unsafe {
        out.write(bindings::epoll_params {
            busy_poll_usecs: p.busy_poll_usecs,
            busy_poll_budget: p.busy_poll_budget,
            prefer_busy_poll: p.prefer_busy_poll,
            __pad: p.__pad,
        })
    };
}

/// Fills `out` with what the instance's busy polling did, for
/// `/proc/<pid>/fdinfo/<epfd>`.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - `out` points to a `struct ep_busy_poll_counters` the caller may write.
#[export]
pub unsafe extern "C" fn ep_busy_poll_counters(
    bp: *const bindings::ep_busy_poll,
    out: *mut bindings::ep_busy_poll_counters,
) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    let c = state.counters();
    // SAFETY: The caller guarantees `out` is valid for writes.
    unsafe {
        out.write(bindings::ep_busy_poll_counters {
            loops: c.loops,
            timeouts: c.timeouts,
            irq_suspensions: c.irq_suspensions,
        })
    };
}

/// `epoll_wait()` has just delivered events: if the instance prefers busy
/// polling and busy polls NAPI instance `napi_id`, hold that instance's
/// interrupts off for its `irq-suspend-timeout`, so the application finds
/// the next events by busy polling.  C calls this only while
/// `ep_busy_poll_used` is on (else no instance prefers busy polling).
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - Called in process context.
#[export]
pub unsafe extern "C" fn ep_busy_poll_suspend(bp: *const bindings::ep_busy_poll, napi_id: c_uint) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    if let Some(napi_id) = state.irq_suspension_target(napi_id) {
        state.count_irq_suspension();
        busy_poll::napi_suspend_irqs(napi_id);
    }
}

/// A busy loop on NAPI instance `napi_id` ended without events: counts it,
/// and if the instance prefers busy polling, lets that NAPI instance's
/// interrupts back in now rather than when its suspension times out.  C
/// then forgets the NAPI ID.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - Called in process context with interrupts enabled.
#[export]
pub unsafe extern "C" fn ep_busy_poll_resume(bp: *const bindings::ep_busy_poll, napi_id: c_uint) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state,
    // which only `BusyPoll` accesses (C sees opaque storage).
    let state = unsafe { BusyPoll::from_raw(bp) };
    state.count_timeout();
    if let Some(napi_id) = state.irq_suspension_target(napi_id) {
        busy_poll::napi_resume_irqs(napi_id);
    }
}

/// The instance is being freed: the interrupts of NAPI instance `napi_id`,
/// which it may have suspended, come back (as in [`ep_busy_poll_resume`]),
/// and if it was counted among the users of `ep_busy_poll_used`, it no
/// longer is.  C calls this only while the key is on (else no instance is
/// counted or prefers busy polling).
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a `struct eventpoll` that
///   `ep_free()` is freeing: no ioctl can run on it any more.
/// - Called in process context with interrupts enabled, where the caller may
///   sleep.
#[export]
pub unsafe extern "C" fn ep_busy_poll_release(bp: *mut bindings::ep_busy_poll, napi_id: c_uint) {
    // SAFETY: The caller guarantees `bp` points to the state of an instance
    // that is still allocated, which only `BusyPoll` accesses.
    let state = unsafe { BusyPoll::from_raw(bp) };
    if let Some(napi_id) = state.irq_suspension_target(napi_id) {
        busy_poll::napi_resume_irqs(napi_id);
    }
    // SAFETY: The instance is being freed: no ioctl, hence no other
    // `Locked`, can run on it.
    unsafe { state.locked() }.release(used_key());
}
