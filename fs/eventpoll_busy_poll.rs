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
//! plain safe Rust in `rules.rs` and `state.rs`.
//!
//! The behaviour is that of the C implementation it replaces, errno for
//! errno; it must never block or allocate, since [`ep_busy_poll_timed_out`]
//! runs inside the busy loop.

use kernel::{
    bindings,
    error::{code::EINVAL, Result},
    ffi::{c_int, c_long, c_uint, c_ulong, c_void},
    uaccess::UserSlice,
};

#[path = "eventpoll_busy_poll/rules.rs"]
pub mod rules;
#[path = "eventpoll_busy_poll/state.rs"]
pub mod state;

#[cfg(CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST)]
#[path = "eventpoll_busy_poll/kunit.rs"]
mod kunit;

use rules::{EpollParams, EPIOCGPARAMS, EPIOCSPARAMS};
use state::BusyPoll;

/// The `loop_end` callback of `napi_busy_loop()`.
pub type LoopEnd = Option<unsafe extern "C" fn(*mut c_void, c_ulong) -> bool>;

/// Handles an ioctl on an epoll file: the `.unlocked_ioctl` of
/// `eventpoll_fops` (and, through `compat_ptr_ioctl()`, its `.compat_ioctl`).
///
/// - `bp`: the instance's busy-poll state.
/// - `cmd`: the ioctl command; anything but `EPIOCSPARAMS` and `EPIOCGPARAMS`
///   is `-EINVAL`.
/// - `arg`: the user address of a `struct epoll_params`.
///
/// Returns 0 or a negative errno.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`
///   (the caller holds a reference to its file).
/// - Called in process context, where user memory may be accessed.
#[no_mangle]
pub unsafe extern "C" fn ep_busy_poll_ioctl(
    bp: *mut bindings::ep_busy_poll,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The caller guarantees `bp` points to a live instance's state.
    let state = unsafe { BusyPoll::from_raw(bp) };
    // Each arm is a tail call or a constant: an unknown command costs a few
    // instructions, and only the command that runs pays for its frame.
    match cmd {
        EPIOCSPARAMS => set_params(state, arg),
        EPIOCGPARAMS => get_params(state, arg),
        _ => to_c_long(Err(EINVAL)),
    }
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

/// `EPIOCSPARAMS`: reads the user's `struct epoll_params` once, then
/// validates and stores it.
#[inline(never)]
fn set_params(state: &BusyPoll, arg: c_ulong) -> c_long {
    let raw = user_params(arg).reader().read::<EpollParams>();
    to_c_long(raw.and_then(|raw| state.set(&raw, may_exceed_napi_weight)))
}

/// `EPIOCGPARAMS`: writes the current parameters, pad zeroed.
#[inline(never)]
fn get_params(state: &BusyPoll, arg: c_ulong) -> c_long {
    to_c_long(user_params(arg).writer().write(&state.get().to_user()))
}

/// The user's `struct epoll_params` at `arg`.
fn user_params(arg: c_ulong) -> UserSlice {
    // `arg` is the address itself: `c_ulong` is `UserPtr`'s `usize`.
    UserSlice::new(arg, core::mem::size_of::<EpollParams>())
}

/// Whether the caller may set a budget above `NAPI_POLL_WEIGHT`:
/// `capable(CAP_NET_ADMIN)` in the initial user namespace.
fn may_exceed_napi_weight() -> bool {
    // SAFETY: `capable()` has no preconditions beyond process context, which
    // the ioctl is; it checks the current task's credentials (and, on
    // success, marks the task as having used a privilege, as in C).
    unsafe { bindings::capable(bindings::CAP_NET_ADMIN as c_int) }
}

/// The on-rule: whether the instance busy polls, because it has
/// `busy_poll_usecs` set or `net.core.busy_poll` is on.
///
/// # Safety
///
/// `bp` points to the `busy_poll` member of a live `struct eventpoll`.
#[no_mangle]
pub unsafe extern "C" fn ep_busy_poll_on(bp: *const bindings::ep_busy_poll) -> bool {
    // SAFETY: The caller guarantees `bp` points to a live instance's state.
    let state = unsafe { BusyPoll::from_raw(bp) };
    // SAFETY: `net_busy_loop_on()` only reads a sysctl.
    state.busy_loop_on(|| unsafe { bindings::net_busy_loop_on() })
}

/// Whether a busy loop that started at `start_time` (from
/// `busy_loop_current_time()`) is over: after the instance's
/// `busy_poll_usecs` when set, else after `net.core.busy_poll`'s time.
///
/// # Safety
///
/// `bp` points to the `busy_poll` member of a live `struct eventpoll`.
#[no_mangle]
pub unsafe extern "C" fn ep_busy_poll_timed_out(
    bp: *const bindings::ep_busy_poll,
    start_time: c_ulong,
) -> bool {
    // SAFETY: The caller guarantees `bp` points to a live instance's state.
    let state = unsafe { BusyPoll::from_raw(bp) };
    state.timed_out(
        start_time,
        // SAFETY: `busy_loop_current_time()` only reads the clock.
        || unsafe { bindings::busy_loop_current_time() },
        // SAFETY: `busy_loop_timeout()` only reads the clock and a sysctl.
        |start| unsafe { bindings::busy_loop_timeout(start) },
    )
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
#[no_mangle]
pub unsafe extern "C" fn ep_busy_poll_napi(
    bp: *const bindings::ep_busy_poll,
    napi_id: c_uint,
    loop_end: LoopEnd,
    arg: *mut c_void,
) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state.
    let state = unsafe { BusyPoll::from_raw(bp) };
    // SAFETY: The caller guarantees the `loop_end`/`arg` pair and the context.
    unsafe { bindings::napi_busy_loop(napi_id, loop_end, arg, state.prefer(), state.napi_budget()) }
}

/// Fills `out` with the instance's parameters as `EPIOCGPARAMS` reports them
/// (pad zeroed), for `/proc/<pid>/fdinfo/<epfd>`.
///
/// # Safety
///
/// - `bp` points to the `busy_poll` member of a live `struct eventpoll`.
/// - `out` points to a `struct epoll_params` the caller may write.
#[no_mangle]
pub unsafe extern "C" fn ep_busy_poll_params(
    bp: *const bindings::ep_busy_poll,
    out: *mut bindings::epoll_params,
) {
    // SAFETY: The caller guarantees `bp` points to a live instance's state.
    let state = unsafe { BusyPoll::from_raw(bp) };
    let p = state.get().to_user();
    // SAFETY: The caller guarantees `out` is valid for writes.
    unsafe {
        out.write(bindings::epoll_params {
            busy_poll_usecs: p.busy_poll_usecs,
            busy_poll_budget: p.busy_poll_budget,
            prefer_busy_poll: p.prefer_busy_poll,
            __pad: p.pad,
        })
    };
}
