// SPDX-License-Identifier: GPL-2.0

//! The busy-poll state of one epoll instance.

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, AtomicUsize, Ordering::Relaxed};

use kernel::{bindings, error::Result, ffi::c_uint, jump_label::StaticKeyFalseDeferred};

use crate::rules::{self, EpollParams, Params};

/// Counts the epoll instances whose parameters turn busy polling on.
///
/// In the kernel it is the static key `ep_busy_poll_used`; KUnit counts with
/// a plain counter instead.
pub trait Users {
    /// One more instance has such parameters; `false` when it could not be
    /// counted (the count is full).  May sleep.
    fn inc(&self) -> bool;

    /// One instance fewer has.  May sleep.
    ///
    /// # Safety
    ///
    /// The call balances an earlier [`Users::inc`] that returned `true` and
    /// that no other `dec` balanced.
    unsafe fn dec(&self);
}

impl Users for StaticKeyFalseDeferred {
    fn inc(&self) -> bool {
        StaticKeyFalseDeferred::inc(self)
    }

    unsafe fn dec(&self) {
        // SAFETY: The caller balances an `inc` that returned `true`, which
        // for the key is `StaticKeyFalseDeferred::inc`'s.
        unsafe { StaticKeyFalseDeferred::dec(self) }
    }
}

/// Busy-poll state of one epoll instance: the storage of `struct
/// ep_busy_poll`.
///
/// Each parameter is an atomic of its own, read without locks like
/// `READ_ONCE()` in C: the busy loop may see one field old and another new
/// while an `EPIOCSPARAMS` runs.  The writers, and the readers that must see
/// the three values of one call, hold the instance's `ep->mtx` and go
/// through [`Locked`]: one set at a time stores its three values and brings
/// the count up to date before the next one starts.
///
/// All-zero bytes are the state of a new instance, so memory from `kzalloc()`
/// is a valid `BusyPoll`.
///
/// # Invariants
///
/// `counted` is 1 exactly while the instance is counted once among the
/// [`Users`] (after an [`Users::inc`] that returned `true`); outside a
/// [`Locked::set`], it is 1 if the parameters turn busy polling on (see
/// [`Params::turn_busy_polling_on`]) and the count took it, 0 if they
/// do not.
#[repr(C)]
#[derive(Debug, Default)]
pub struct BusyPoll {
    usecs: AtomicU32,
    budget: AtomicU16,
    prefer: AtomicU8,
    /// Whether the instance is counted among the [`Users`]: 0 or 1 (a `u8`,
    /// not a `bool`, so that every byte the C storage may hold is valid).
    counted: AtomicU8,
    /// Busy loops started.
    loops: AtomicUsize,
    /// Busy loops that ended without events.
    timeouts: AtomicUsize,
    /// IRQ suspensions asked of the NAPI instance polled.
    irq_suspensions: AtomicUsize,
}

/// The state of an instance whose writers are serialized: its `ep->mtx` is
/// held, or it is being freed.  Sets, consistent reads and the release go
/// through it.
pub struct Locked<'a>(&'a BusyPoll);

/// What an instance's busy polling did since it was created, as
/// `/proc/<pid>/fdinfo/<epfd>` shows it; each count wraps around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Busy loops started.
    pub loops: usize,
    /// Busy loops that ended without events.
    pub timeouts: usize,
    /// IRQ suspensions asked of the NAPI instance polled.
    pub irq_suspensions: usize,
}

// C reserves the storage (`struct ep_busy_poll` in struct eventpoll, opaque
// to C): it must be as large and as aligned as `BusyPoll`.
const _: () = {
    use core::mem::{align_of, size_of};
    assert!(size_of::<BusyPoll>() == size_of::<bindings::ep_busy_poll>());
    assert!(align_of::<BusyPoll>() == align_of::<bindings::ep_busy_poll>());
};

impl BusyPoll {
    /// Borrows the state that C keeps in a `struct eventpoll`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a `struct ep_busy_poll` that stays allocated for `'a`.
    /// (C never accesses its bytes: the struct is opaque storage to C, so
    /// every access to them goes through the atomics of `BusyPoll`.)
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::ep_busy_poll) -> &'a Self {
        // SAFETY: `BusyPoll` fits the storage and its alignment (checked
        // above), and every bit pattern is valid for it; the caller
        // guarantees the pointer is valid for `'a`.  Sharing the reference is
        // sound because all fields are atomics and C code only passes the
        // storage's address around.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The state of a new epoll instance: all parameters zero.
    #[inline]
    pub const fn new() -> Self {
        Self {
            usecs: AtomicU32::new(0),
            budget: AtomicU16::new(0),
            prefer: AtomicU8::new(0),
            counted: AtomicU8::new(0),
            loops: AtomicUsize::new(0),
            timeouts: AtomicUsize::new(0),
            irq_suspensions: AtomicUsize::new(0),
        }
    }

    /// The current parameters, each as the busy loop reads it: while an
    /// `EPIOCSPARAMS` runs, one may be old and another new
    /// ([`Locked::get`] is never).
    #[inline]
    pub fn get(&self) -> Params {
        Params {
            usecs: self.usecs.load(Relaxed),
            budget: self.budget.load(Relaxed),
            prefer: self.prefer.load(Relaxed) != 0,
        }
    }

    /// The state with its writers serialized.
    ///
    /// # Safety
    ///
    /// While the returned value lives, no other [`Locked`] of this instance
    /// does: the caller holds the instance's `ep->mtx`, or frees the instance
    /// (no ioctl can run on it any more), or is the only user of the state (a
    /// test's).
    #[inline]
    pub unsafe fn locked(&self) -> Locked<'_> {
        Locked(self)
    }

    /// Whether the instance is counted among the [`Users`].
    #[inline]
    pub fn counted(&self) -> bool {
        self.counted.load(Relaxed) != 0
    }

    /// Whether this instance busy polls; see [`rules::busy_loop_on`].
    #[inline]
    pub fn busy_loop_on(&self, sysctl_on: impl FnOnce() -> bool) -> bool {
        rules::busy_loop_on(self.usecs.load(Relaxed), self.prefer(), sysctl_on)
    }

    /// The NAPI instance whose interrupts this instance suspends and
    /// resumes, given the NAPI ID it busy polls; see
    /// [`rules::irq_suspension_target`].
    #[inline]
    pub fn irq_suspension_target(&self, napi_id: c_uint) -> Option<c_uint> {
        rules::irq_suspension_target(self.prefer(), napi_id)
    }

    /// The busy-poll time set, in microseconds (0: none, the sysctl's
    /// applies); see [`rules::loop_end`].
    #[inline]
    pub fn usecs(&self) -> u32 {
        self.usecs.load(Relaxed)
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

    /// Counts a busy loop that is about to start.  Only busy-poll paths
    /// count, so an instance that never busy polls pays nothing for it.
    #[inline]
    pub fn count_loop(&self) {
        self.loops.fetch_add(1, Relaxed);
    }

    /// Counts a busy loop that ended without events.
    #[inline]
    pub fn count_timeout(&self) {
        self.timeouts.fetch_add(1, Relaxed);
    }

    /// Counts an IRQ suspension asked of the NAPI instance polled.
    #[inline]
    pub fn count_irq_suspension(&self) {
        self.irq_suspensions.fetch_add(1, Relaxed);
    }

    /// The counts so far, each read on its own: a busy loop running
    /// meanwhile may be counted as started but not yet as ended.
    pub fn counters(&self) -> Counters {
        Counters {
            loops: self.loops.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            irq_suspensions: self.irq_suspensions.load(Relaxed),
        }
    }
}

impl Locked<'_> {
    /// The current parameters, all three from one `EPIOCSPARAMS`: no set
    /// runs meanwhile.
    #[inline]
    pub fn get(&self) -> Params {
        self.0.get()
    }

    /// `EPIOCSPARAMS`: validates `raw` and stores it; a rejected call changes
    /// nothing.  `may_exceed_weight` is `capable(CAP_NET_ADMIN)`, asked only
    /// when needed (see [`rules::validate`]).
    ///
    /// Then counts the instance among the users of `used` if its parameters
    /// now turn busy polling on, or takes it out if they no longer do, before
    /// the next set can start.  May sleep.
    #[inline]
    pub fn set(
        &self,
        raw: &EpollParams,
        may_exceed_weight: impl FnOnce() -> bool,
        used: &impl Users,
    ) -> Result {
        let state = self.0;
        let params = rules::validate(raw, may_exceed_weight)?;
        state.usecs.store(params.usecs, Relaxed);
        state.budget.store(params.budget, Relaxed);
        state.prefer.store(u8::from(params.prefer), Relaxed);
        let counted = state.counted.load(Relaxed) != 0;
        let wanted = params.turn_busy_polling_on();
        if wanted && !counted {
            // A full count (`INT_MAX` instances) leaves the instance out, to
            // be counted by a later set: the key is never unbalanced.
            if used.inc() {
                state.counted.store(1, Relaxed);
            }
        } else if !wanted && counted {
            state.counted.store(0, Relaxed);
            // SAFETY: `counted` was 1: the instance was counted by an
            // `inc` that returned `true`, and no `dec` balanced it since
            // (`counted` goes to 0 only here and in `release`, and
            // `Locked` serializes both).
            unsafe { used.dec() };
        }
        Ok(())
    }

    /// The instance is going away: takes it out of the users of `used`.
    /// May sleep.
    pub fn release(&self, used: &impl Users) {
        if self.0.counted.swap(0, Relaxed) != 0 {
            // SAFETY: As in `store`: `counted` was 1, and is 0 now.
            unsafe { used.dec() };
        }
    }
}
