// SPDX-License-Identifier: GPL-2.0

//! The busy-poll state of one epoll instance.

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, Ordering::Relaxed};

use kernel::{bindings, error::Result, ffi::c_ulong};

use crate::rules::{self, EpollParams, Params};

/// Busy-poll parameters of one epoll instance: `struct ep_busy_poll`.
///
/// Each field is read and written on its own without locks, like
/// `READ_ONCE()`/`WRITE_ONCE()` in C: relaxed atomics, so a reader never sees
/// a torn value, though it may see one field old and another new while an
/// `EPIOCSPARAMS` runs, as in C.
///
/// All-zero bytes are the state of a new instance, so memory from `kzalloc()`
/// is a valid `BusyPoll`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct BusyPoll {
    usecs: AtomicU32,
    budget: AtomicU16,
    prefer: AtomicU8,
}

// C reserves the storage (`struct ep_busy_poll` in struct eventpoll): both
// sides must agree on its size and alignment.
const _: () = {
    use core::mem::{align_of, size_of};
    assert!(size_of::<BusyPoll>() == size_of::<bindings::ep_busy_poll>());
    assert!(align_of::<BusyPoll>() == align_of::<bindings::ep_busy_poll>());
};

impl BusyPoll {
    /// The state of a new epoll instance: all parameters zero.
    #[inline]
    pub const fn new() -> Self {
        Self {
            usecs: AtomicU32::new(0),
            budget: AtomicU16::new(0),
            prefer: AtomicU8::new(0),
        }
    }

    /// Borrows the state that C keeps in a `struct eventpoll`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a `struct ep_busy_poll` that stays allocated for `'a`
    /// and whose fields are only accessed through [`BusyPoll`].
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::ep_busy_poll) -> &'a Self {
        // SAFETY: `BusyPoll` has the layout of `struct ep_busy_poll` (checked
        // above) and every bit pattern is valid for it; the caller guarantees
        // the pointer is valid for `'a` and that all other accesses are
        // atomic ones through `BusyPoll`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The current parameters.
    #[inline]
    pub fn get(&self) -> Params {
        Params {
            usecs: self.usecs.load(Relaxed),
            budget: self.budget.load(Relaxed),
            prefer: self.prefer.load(Relaxed) != 0,
        }
    }

    /// `EPIOCSPARAMS`: validates `raw` and stores it; a rejected call changes
    /// nothing.  `may_exceed_weight` is `capable(CAP_NET_ADMIN)`, asked only
    /// when needed (see [`rules::validate`]).
    #[inline]
    pub fn set(&self, raw: &EpollParams, may_exceed_weight: impl FnOnce() -> bool) -> Result {
        let params = rules::validate(raw, may_exceed_weight)?;
        self.usecs.store(params.usecs, Relaxed);
        self.budget.store(params.budget, Relaxed);
        self.prefer.store(u8::from(params.prefer), Relaxed);
        Ok(())
    }

    /// Whether this instance busy polls; see [`rules::busy_loop_on`].
    #[inline]
    pub fn busy_loop_on(&self, sysctl_on: impl FnOnce() -> bool) -> bool {
        rules::busy_loop_on(self.usecs.load(Relaxed), sysctl_on)
    }

    /// Whether a busy loop that started at `start` is over; see
    /// [`rules::timed_out`].
    #[inline]
    pub fn timed_out(
        &self,
        start: c_ulong,
        now: impl FnOnce() -> c_ulong,
        sysctl_timed_out: impl FnOnce(c_ulong) -> bool,
    ) -> bool {
        rules::timed_out(self.usecs.load(Relaxed), start, now, sysctl_timed_out)
    }

    /// The NAPI budget to poll with; see [`rules::effective_budget`].
    #[inline]
    pub fn napi_budget(&self) -> u16 {
        rules::effective_budget(self.budget.load(Relaxed))
    }

    /// Whether to prefer busy polling over softirq processing.
    #[inline]
    pub fn prefer(&self) -> bool {
        self.prefer.load(Relaxed) != 0
    }
}
