// SPDX-License-Identifier: GPL-2.0

//! The busy-poll state of one epoll instance.

use core::sync::atomic::{
    AtomicU16, AtomicU32, AtomicU8, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};

use kernel::{bindings, error::Result, ffi::c_uint, jump_label::StaticKeyFalseDeferred};

use crate::rules::{self, EpollParams, Params};

/// Counts the epoll instances whose parameters turn busy polling on.
///
/// In the kernel it is the static key `ep_busy_poll_used`; KUnit counts with
/// a plain counter instead.
pub trait Users {
    /// One more instance has such parameters.  May sleep.
    fn inc(&self);
    /// One instance fewer has.  May sleep.
    fn dec(&self);
}

impl Users for StaticKeyFalseDeferred {
    fn inc(&self) {
        StaticKeyFalseDeferred::inc(self)
    }

    fn dec(&self) {
        StaticKeyFalseDeferred::dec(self)
    }
}

/// [`BusyPoll::users`]: the instance is counted in the users of the key.
const COUNTED: u8 = 1;
/// [`BusyPoll::users`]: a task is bringing the count up to date.
const BUSY: u8 = 2;
/// [`BusyPoll::users`]: the parameters changed since the count was last made.
const DIRTY: u8 = 4;

/// Busy-poll state of one epoll instance: the storage of `struct
/// ep_busy_poll`.
///
/// Each parameter is read and written on its own without locks, like
/// `READ_ONCE()`/`WRITE_ONCE()` in C: relaxed atomics, so a reader never sees
/// a torn value, though it may see one field old and another new while an
/// `EPIOCSPARAMS` runs, as in C.
///
/// All-zero bytes are the state of a new instance, so memory from `kzalloc()`
/// is a valid `BusyPoll`.
///
/// # Invariants
///
/// While its parameters turn busy polling on (see
/// [`Params::turn_busy_polling_on`]), the instance is counted once among the
/// [`Users`] passed to [`BusyPoll::set`] (`COUNTED` is set in
/// `users`), or a task that changed the parameters is about to count it.
#[repr(C)]
#[derive(Debug, Default)]
pub struct BusyPoll {
    usecs: AtomicU32,
    budget: AtomicU16,
    prefer: AtomicU8,
    /// `COUNTED`, `BUSY` and `DIRTY`.
    users: AtomicU8,
    /// Busy loops started.
    loops: AtomicUsize,
    /// Busy loops that ended without events.
    timeouts: AtomicUsize,
    /// IRQ suspensions asked of the NAPI instance polled.
    irq_suspensions: AtomicUsize,
}

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
            users: AtomicU8::new(0),
            loops: AtomicUsize::new(0),
            timeouts: AtomicUsize::new(0),
            irq_suspensions: AtomicUsize::new(0),
        }
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
    ///
    /// Then counts the instance among the users of `used` if its parameters
    /// now turn busy polling on, or takes it out if they no longer do.  May
    /// sleep.
    #[inline]
    pub fn set(
        &self,
        raw: &EpollParams,
        may_exceed_weight: impl FnOnce() -> bool,
        used: &impl Users,
    ) -> Result {
        let params = rules::validate(raw, may_exceed_weight)?;
        self.usecs.store(params.usecs, Relaxed);
        self.budget.store(params.budget, Relaxed);
        self.prefer.store(u8::from(params.prefer), Relaxed);
        // Ask for a recount (`DIRTY`).  Nothing more to do when another task
        // is counting (it will see `DIRTY` and our parameters: `AcqRel`), or
        // when the count already matches what we stored, the usual case.
        let users = self.users.fetch_or(DIRTY, AcqRel);
        if users & BUSY == 0 && (users & COUNTED != 0) != params.turn_busy_polling_on() {
            self.count(used);
        }
        Ok(())
    }

    /// Brings the instance's place among the users of `used` up to date with
    /// its parameters, after [`BusyPoll::set`] left `DIRTY`.
    ///
    /// Concurrent `EPIOCSPARAMS` calls on one instance are allowed, so the
    /// count is kept by one task at a time (`BUSY`); another that changes the
    /// parameters meanwhile leaves `DIRTY` and returns, and the counting task
    /// looks again.  No task waits for another, and the last parameters stored
    /// are the ones counted.
    #[cold]
    #[inline(never)]
    fn count(&self, used: &impl Users) {
        // `AcqRel` here and in the loop: the counting task sees the
        // parameters of every task that left `DIRTY`.
        if self.users.fetch_or(BUSY, Acquire) & BUSY != 0 {
            return;
        }
        loop {
            let users = self.users.fetch_and(!DIRTY, AcqRel);
            let counted = users & COUNTED != 0;
            let wanted = self.get().turn_busy_polling_on();
            if wanted && !counted {
                used.inc();
                self.users.fetch_or(COUNTED, Relaxed);
            } else if !wanted && counted {
                self.users.fetch_and(!COUNTED, Relaxed);
                used.dec();
            }
            let users = self.users.load(Acquire);
            if users & DIRTY == 0
                && self
                    .users
                    .compare_exchange(users, users & !BUSY, AcqRel, Acquire)
                    .is_ok()
            {
                return;
            }
        }
    }

    /// The instance is going away: takes it out of the users of `used`.  No
    /// `EPIOCSPARAMS` can run on it any more.  May sleep.
    pub fn release(&self, used: &impl Users) {
        if self.users.swap(0, Relaxed) & COUNTED != 0 {
            used.dec();
        }
    }

    /// Whether the instance is counted among the [`Users`].
    #[inline]
    pub fn counted(&self) -> bool {
        self.users.load(Relaxed) & COUNTED != 0
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
