// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `epoll_busy_poll_rust`: the busy-poll rules, branch by branch.
//!
//! Runs at boot with `CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST=y`, one KUnit
//! case per `#[test]` function (`#[kunit_tests]`).  In the rule
//! cases the kernel edges (capability, sysctl, clock) are replaced by
//! closures, so each case also checks which of them a rule consults.  The
//! last cases call the C-facing entry points themselves, on state laid out as
//! `struct eventpoll` holds it, with user memory from `kunit_vm_mmap()`, the
//! real capability check, clock and static key.

#[kernel::kunit::kunit_tests(epoll_busy_poll_rust)]
mod tests {
    use core::cell::Cell;

    use kernel::{
        bindings,
        capability::{capable, Capability},
        error::{code::*, Error},
        ffi::{c_long, c_ulong},
        net::busy_poll,
        time::Ktime,
        uaccess::UserSlice,
    };

    use crate::{
        ep_busy_poll_counters, ep_busy_poll_get_params, ep_busy_poll_loop_end, ep_busy_poll_napi,
        ep_busy_poll_on, ep_busy_poll_params, ep_busy_poll_release, ep_busy_poll_resume,
        ep_busy_poll_set_params, ep_busy_poll_suspend,
        rules::{self, EpollParams, Params},
        state::{BusyPoll, Users},
        used_key,
    };

    /// The parameters `usecs`, `budget`, `prefer` with a zero pad.
    fn params(usecs: u32, budget: u16, prefer: u8) -> EpollParams {
        EpollParams::new(usecs, budget, prefer, 0)
    }

    /// A [`Users`] that only counts, in place of the static key.
    #[derive(Default)]
    struct Counter(Cell<i32>);

    impl Users for Counter {
        fn inc(&self) -> bool {
            self.0.set(self.0.get() + 1);
            true
        }

        unsafe fn dec(&self) {
            self.0.set(self.0.get() - 1);
        }
    }

    /// A [`Users`] whose count is full: it never takes an instance, and counts
    /// how often it was asked.
    #[derive(Default)]
    struct Full(Cell<i32>);

    impl Users for Full {
        fn inc(&self) -> bool {
            self.0.set(self.0.get() + 1);
            false
        }

        unsafe fn dec(&self) {
            // Never balanced: an `inc` never succeeded.
            self.0.set(i32::MIN);
        }
    }

    /// `rules::validate` with a capability that is `cap` and counts its uses.
    fn validate(raw: EpollParams, cap: bool, asked: &Cell<u32>) -> Result<Params, Error> {
        rules::validate(&raw, || {
            asked.set(asked.get() + 1);
            cap
        })
    }

    #[test]
    fn ioctl_numbers_match_uapi() {
        // _IOW(0x8A, 1, 8 bytes) and _IOR(0x8A, 2, 8 bytes) on every architecture
        // with the generic ioctl encoding, x86 included.
        assert!(rules::EPIOCSPARAMS == 0x4008_8a01);
        assert!(rules::EPIOCGPARAMS == 0x8008_8a02);
    }

    #[test]
    fn zero_params_are_valid() {
        let asked = Cell::new(0);
        assert!(validate(params(0, 0, 0), false, &asked) == Ok(Params::default()));
        assert!(asked.get() == 0);
    }

    #[test]
    fn nonzero_pad_is_einval() {
        let asked = Cell::new(0);
        for pad in [1u8, 0x80, 0xff] {
            let raw = EpollParams::new(10, 8, 0, pad);
            assert!(validate(raw, true, &asked) == Err(EINVAL));
        }
    }

    #[test]
    fn usecs_above_s32_max_is_einval() {
        let asked = Cell::new(0);
        let max = i32::MAX as u32;
        assert!(validate(params(max, 0, 0), false, &asked).map(|p| p.usecs) == Ok(max));
        assert!(validate(params(max + 1, 0, 0), true, &asked) == Err(EINVAL));
        assert!(validate(params(u32::MAX, 0, 0), true, &asked) == Err(EINVAL));
    }

    #[test]
    fn prefer_above_one_is_einval() {
        let asked = Cell::new(0);
        assert!(validate(params(0, 0, 1), false, &asked).map(|p| p.prefer) == Ok(true));
        assert!(validate(params(0, 0, 0), false, &asked).map(|p| p.prefer) == Ok(false));
        assert!(validate(params(0, 0, 2), true, &asked) == Err(EINVAL));
        assert!(validate(params(0, 0, 255), true, &asked) == Err(EINVAL));
    }

    #[test]
    fn budget_above_napi_weight_needs_cap_net_admin() {
        let asked = Cell::new(0);
        assert!(rules::NAPI_POLL_WEIGHT == 64);
        // Up to the weight nobody asks for the capability.
        assert!(validate(params(0, 64, 0), false, &asked).map(|p| p.budget) == Ok(64));
        assert!(asked.get() == 0);
        // Above it the capability decides, and is asked exactly once.
        assert!(validate(params(0, 65, 0), false, &asked) == Err(EPERM));
        assert!(asked.get() == 1);
        assert!(validate(params(0, 65, 0), true, &asked).map(|p| p.budget) == Ok(65));
        assert!(validate(params(0, u16::MAX, 0), true, &asked).map(|p| p.budget) == Ok(u16::MAX));
        assert!(asked.get() == 3);
    }

    #[test]
    fn invalid_field_wins_over_eperm() {
        // EINVAL checks come first, and never ask for the capability.
        let asked = Cell::new(0);
        let bad_pad = EpollParams::new(0, 1000, 0, 1);
        assert!(validate(bad_pad, false, &asked) == Err(EINVAL));
        assert!(validate(params(u32::MAX, 1000, 0), false, &asked) == Err(EINVAL));
        assert!(validate(params(0, 1000, 7), false, &asked) == Err(EINVAL));
        assert!(asked.get() == 0);
    }

    #[test]
    fn new_state_reads_zero() {
        let state = BusyPoll::new();
        assert!(state.get() == Params::default());
        assert!(state.get().to_user() == EpollParams::default());
    }

    #[test]
    fn set_then_get_round_trips() {
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(w.set(&params(200, 16, 1), || false, &users).is_ok());
        assert!(state.get().to_user() == params(200, 16, 1));
        // A second set replaces all three values, zeros included.
        assert!(w.set(&params(0, 0, 0), || false, &users).is_ok());
        assert!(state.get().to_user() == params(0, 0, 0));
    }

    #[test]
    fn rejected_set_changes_nothing() {
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(w.set(&params(50, 32, 1), || false, &users).is_ok());
        let bad_pad = EpollParams::new(1, 1, 0, 1);
        assert!(w.set(&bad_pad, || true, &users) == Err(EINVAL));
        assert!(w.set(&params(u32::MAX, 1, 0), || true, &users) == Err(EINVAL));
        assert!(w.set(&params(1, 1, 2), || true, &users) == Err(EINVAL));
        assert!(w.set(&params(1, 65, 0), || false, &users) == Err(EPERM));
        assert!(state.get().to_user() == params(50, 32, 1));
    }

    #[test]
    fn get_zeroes_the_pad() {
        let p = Params {
            usecs: 7,
            budget: 9,
            prefer: true,
        };
        assert!(p.to_user() == params(7, 9, 1));
    }

    #[test]
    fn on_rule_is_or() {
        let asked = &Cell::new(0);
        let sysctl = |on: bool| {
            move || {
                asked.set(asked.get() + 1);
                on
            }
        };
        assert!(!rules::busy_loop_on(0, false, sysctl(false)));
        assert!(rules::busy_loop_on(0, false, sysctl(true)));
        assert!(asked.get() == 2);
        // With usecs set, or the preference (since Linux 6.13), the sysctl does
        // not matter and is not read.
        assert!(rules::busy_loop_on(1, false, sysctl(false)));
        assert!(rules::busy_loop_on(50, false, sysctl(true)));
        assert!(rules::busy_loop_on(0, true, sysctl(false)));
        assert!(rules::busy_loop_on(50, true, sysctl(false)));
        assert!(asked.get() == 2);
    }

    #[test]
    fn state_on_rule_follows_usecs_and_prefer() {
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(!state.busy_loop_on(|| false));
        assert!(state.busy_loop_on(|| true));
        assert!(w.set(&params(1, 0, 0), || false, &users).is_ok());
        assert!(state.busy_loop_on(|| false));
        // The preference alone turns busy polling on.
        assert!(w.set(&params(0, 0, 1), || false, &users).is_ok());
        assert!(state.busy_loop_on(|| false));
        // The budget alone does not.
        assert!(w.set(&params(0, 64, 0), || false, &users).is_ok());
        assert!(!state.busy_loop_on(|| false));
    }

    #[test]
    fn irq_suspension_needs_prefer_and_a_napi_id() {
        let min = busy_poll::MIN_NAPI_ID;
        // IDs below MIN_NAPI_ID are sender CPUs, not NAPI instances.
        assert!(rules::irq_suspension_target(true, 0).is_none());
        assert!(rules::irq_suspension_target(true, min - 1).is_none());
        assert!(rules::irq_suspension_target(true, min) == Some(min));
        assert!(rules::irq_suspension_target(true, u32::MAX) == Some(u32::MAX));
        // Without the preference, never: busy polling by usecs or the sysctl
        // leaves the device's interrupts alone.
        assert!(rules::irq_suspension_target(false, min).is_none());
        assert!(rules::irq_suspension_target(false, u32::MAX).is_none());
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(state.irq_suspension_target(min + 5).is_none());
        assert!(w.set(&params(0, 16, 1), || false, &users).is_ok());
        assert!(state.irq_suspension_target(min + 5) == Some(min + 5));
        assert!(state.irq_suspension_target(0).is_none());
        assert!(w.set(&params(200, 16, 0), || false, &users).is_ok());
        assert!(state.irq_suspension_target(min + 5).is_none());
        w.release(&users);
    }

    #[test]
    fn zero_budget_means_busy_poll_budget() {
        assert!(rules::BUSY_POLL_BUDGET == 8);
        assert!(rules::effective_budget(0) == 8);
        assert!(rules::effective_budget(1) == 1);
        assert!(rules::effective_budget(64) == 64);
        assert!(rules::effective_budget(u16::MAX) == u16::MAX);
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(state.napi_budget() == 8);
        assert!(!state.prefer());
        assert!(w.set(&params(0, 3, 1), || false, &users).is_ok());
        assert!(state.napi_budget() == 3);
        assert!(state.prefer());
    }

    /// `rules::loop_end` with the signal answer `signal`, `usecs` and the
    /// sysctl's `sysctl`, the clock at `now_ns`; counts what it asks in `asked`
    /// (signal, sysctl, clock).
    fn loop_end(
        usecs: u32,
        sysctl: u32,
        signal: bool,
        start: c_ulong,
        deadline: i64,
        now_ns: i64,
        asked: &Cell<(u32, u32, u32)>,
    ) -> Option<rules::EndReason> {
        let ask = |i: usize| {
            let mut a = asked.get();
            match i {
                0 => a.0 += 1,
                1 => a.1 += 1,
                _ => a.2 += 1,
            }
            asked.set(a);
        };
        rules::loop_end(
            usecs,
            || {
                ask(1);
                sysctl
            },
            || {
                ask(0);
                signal
            },
            start,
            deadline,
            || {
                ask(2);
                now_ns
            },
        )
    }

    /// A clock reading in ns whose busy-poll clock reading is `units`.
    const fn at(units: i64) -> i64 {
        units << 10
    }

    #[test]
    fn loop_ends_after_instance_usecs() {
        let asked = Cell::new((0, 0, 0));
        // Started at 1000 with 50 us, no deadline: over only strictly after 1050.
        assert!(loop_end(50, 7, false, 1000, i64::MAX, at(1000), &asked).is_none());
        assert!(loop_end(50, 7, false, 1000, i64::MAX, at(1050), &asked).is_none());
        assert!(
            loop_end(50, 7, false, 1000, i64::MAX, at(1051), &asked)
                == Some(rules::EndReason::BusyPollTime)
        );
        // Each spin asked for signals and the clock, never the sysctl.
        assert!(asked.get() == (3, 0, 3));
    }

    #[test]
    fn loop_falls_back_to_sysctl_time() {
        let asked = Cell::new((0, 0, 0));
        assert!(loop_end(0, 30, false, 1234, i64::MAX, at(1264), &asked).is_none());
        assert!(
            loop_end(0, 30, false, 1234, i64::MAX, at(1265), &asked)
                == Some(rules::EndReason::BusyPollTime)
        );
        assert!(asked.get() == (2, 2, 2));
        // Both 0 (prefer_busy_poll alone turned polling on): one poll, no clock.
        asked.set((0, 0, 0));
        assert!(
            loop_end(0, 0, false, 1234, i64::MAX, at(1234), &asked)
                == Some(rules::EndReason::BusyPollTime)
        );
        assert!(asked.get() == (1, 1, 0));
    }

    #[test]
    fn loop_ends_on_a_pending_signal() {
        let asked = Cell::new((0, 0, 0));
        // The longest busy-poll time and no deadline: a signal still ends it,
        // before anything else is asked.
        assert!(
            loop_end(rules::MAX_USECS, 0, true, 1000, i64::MAX, at(1000), &asked)
                == Some(rules::EndReason::Signal)
        );
        assert!(asked.get() == (1, 0, 0));
        // So it does under the sysctl's time.
        assert!(
            loop_end(0, 50, true, 1000, i64::MAX, at(1000), &asked)
                == Some(rules::EndReason::Signal)
        );
    }

    #[test]
    fn loop_ends_at_the_callers_deadline() {
        let asked = Cell::new((0, 0, 0));
        let deadline = at(1000) + 200_000;
        // S32_MAX us of busy polling, a 200 us timeout: over at the timeout.
        assert!(loop_end(
            rules::MAX_USECS,
            0,
            false,
            1000,
            deadline,
            deadline - 1,
            &asked
        )
        .is_none());
        assert!(
            loop_end(rules::MAX_USECS, 0, false, 1000, deadline, deadline, &asked)
                == Some(rules::EndReason::Deadline)
        );
        // A busy-poll time shorter than the timeout still ends the loop first.
        assert!(
            loop_end(50, 0, false, 1000, deadline, at(1051), &asked)
                == Some(rules::EndReason::BusyPollTime)
        );
        // A deadline already gone: over at once, under the sysctl's time too.
        assert!(
            loop_end(0, 50, false, 1000, at(999), at(1000), &asked)
                == Some(rules::EndReason::Deadline)
        );
        assert!(asked.get() == (4, 1, 4));
    }

    #[test]
    fn busy_clock_survives_wrap() {
        let start = c_ulong::MAX - 10;
        // start + 50 wraps to 39.
        let end = start.wrapping_add(50);
        assert!(!busy_poll::busy_loop_expired(c_ulong::MAX, end));
        assert!(!busy_poll::busy_loop_expired(39, end));
        assert!(busy_poll::busy_loop_expired(40, end));
        assert!(busy_poll::busy_loop_expired(0, c_ulong::MAX));
        assert!(!busy_poll::busy_loop_expired(c_ulong::MAX, 0));
        // The clock in ns and in busy-poll units agree.
        assert!(busy_poll::busy_loop_time(at(1051)) == 1051);
        assert!(busy_poll::busy_loop_time(at(1051) + 1023) == 1051);
    }

    #[test]
    fn instances_with_params_are_counted_once() {
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(!state.counted());
        // The budget alone does not turn busy polling on: not counted.
        assert!(w.set(&params(0, 16, 0), || false, &users).is_ok());
        assert!(users.0.get() == 0 && !state.counted());
        // usecs does; each instance counts once however often it is set.
        assert!(w.set(&params(50, 0, 0), || false, &users).is_ok());
        assert!(users.0.get() == 1 && state.counted());
        assert!(w.set(&params(7, 16, 1), || false, &users).is_ok());
        assert!(users.0.get() == 1);
        // So does the preference alone.
        assert!(w.set(&params(0, 16, 1), || false, &users).is_ok());
        assert!(users.0.get() == 1 && state.counted());
        // A refused set changes nothing, the count included.
        assert!(w.set(&params(0, 0, 2), || true, &users) == Err(EINVAL));
        assert!(users.0.get() == 1);
        // Neither: out of the count; again, and it does not count twice.
        assert!(w.set(&params(0, 64, 0), || false, &users).is_ok());
        assert!(users.0.get() == 0 && !state.counted());
        assert!(w.set(&params(0, 0, 0), || false, &users).is_ok());
        assert!(users.0.get() == 0);
        // Freed with parameters: out of the count; freed without: nothing.
        assert!(w.set(&params(1, 1, 1), || false, &users).is_ok());
        w.release(&users);
        assert!(users.0.get() == 0 && !state.counted());
        w.release(&users);
        assert!(users.0.get() == 0);
    }

    /// `struct ep_busy_poll` as `kzalloc()` leaves it in a new `struct eventpoll`.
    fn c_state() -> bindings::ep_busy_poll {
        // SAFETY: The storage is plain integers; all-zero is a new instance.
        unsafe { core::mem::zeroed() }
    }

    /// The ioctl `cmd` as `ep_eventpoll_ioctl()` passes it on, with the user's
    /// `struct epoll_params` at `addr`.
    fn ioctl(bp: &mut bindings::ep_busy_poll, cmd: u32, addr: c_ulong) -> c_long {
        // SAFETY: `bp` is a live, exclusively borrowed state, which stands for
        // `ep->mtx` (no other set or get can run on it); KUnit runs the case in a
        // kthread that may sleep and, after `kunit_vm_mmap()`, has an mm.
        unsafe {
            match cmd {
                rules::EPIOCSPARAMS => ep_busy_poll_set_params(bp, addr),
                rules::EPIOCGPARAMS => ep_busy_poll_get_params(bp, addr),
                _ => EINVAL.to_errno() as c_long,
            }
        }
    }

    #[test]
    fn entry_points_set_get_and_count() {
        let Some(addr) = kernel::kunit::vm_mmap(4096) else {
            assert!(false);
            return;
        };
        let user = |len| UserSlice::new(addr, len);
        let mut bp = c_state();
        // Nothing else in the kernel has parameters while KUnit runs at boot.
        assert!(!used_key().is_enabled());

        assert!(user(8).writer().write(&params(200, 16, 1)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(used_key().is_enabled());
        // SAFETY: `bp` is a live state.
        assert!(unsafe { ep_busy_poll_on(&bp) });
        // EPIOCGPARAMS writes the values back, over what was there.
        assert!(user(8)
            .writer()
            .write(&EpollParams::new(9, 9, 9, 9))
            .is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCGPARAMS, addr) == 0);
        assert!(user(8).reader().read::<EpollParams>().ok() == Some(params(200, 16, 1)));
        // fdinfo's view.
        // SAFETY: All-zero is a valid `struct epoll_params`.
        let mut out: bindings::epoll_params = unsafe { core::mem::zeroed() };
        // SAFETY: `bp` is live, no set runs on it (as under `ep->mtx`), and
        // `out` writable.
        unsafe { ep_busy_poll_params(&bp, &mut out) };
        assert!(out.busy_poll_usecs == 200 && out.busy_poll_budget == 16);
        assert!(out.prefer_busy_poll == 1 && out.__pad == 0);

        // The errnos, without a change.
        assert!(user(8)
            .writer()
            .write(&EpollParams::new(1, 1, 0, 1))
            .is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == EINVAL.to_errno() as c_long);
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, 0) == EFAULT.to_errno() as c_long);
        assert!(ioctl(&mut bp, rules::EPIOCGPARAMS, 0) == EFAULT.to_errno() as c_long);
        assert!(ioctl(&mut bp, rules::EPIOCGPARAMS, addr) == 0);
        assert!(user(8).reader().read::<EpollParams>().ok() == Some(params(200, 16, 1)));

        // A budget above NAPI_POLL_WEIGHT goes through capable(); KUnit's kthread
        // has CAP_NET_ADMIN.
        assert!(capable(Capability::NET_ADMIN));
        assert!(user(8).writer().write(&params(1, 128, 0)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(used_key().is_enabled());

        // Without usecs and preference the key goes off again: with jump labels
        // after its rate limit (a second), unless someone needs it meanwhile;
        // without them at once (there is no code to patch).
        assert!(user(8).writer().write(&params(0, 128, 0)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(used_key().is_enabled() == cfg!(CONFIG_JUMP_LABEL));
        assert!(user(8).writer().write(&params(3, 0, 0)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(user(8).writer().write(&params(0, 0, 0)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        used_key().flush();
        assert!(!used_key().is_enabled());

        // The preference alone turns the key on.
        assert!(user(8).writer().write(&params(0, 0, 1)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(used_key().is_enabled());
        // Suspending and resuming a NAPI ID no device has is harmless (no
        // device here has any: the NAPI side is tested from userspace).
        // SAFETY: `bp` is a live state; KUnit's kthread has interrupts on.
        unsafe {
            ep_busy_poll_suspend(&bp, u32::MAX);
            ep_busy_poll_resume(&bp, u32::MAX);
        }

        // Freed with parameters: the key goes off too.
        assert!(user(8).writer().write(&params(1, 0, 0)).is_ok());
        assert!(ioctl(&mut bp, rules::EPIOCSPARAMS, addr) == 0);
        assert!(used_key().is_enabled());
        // SAFETY: `bp` is not used by anything else; it is "freed" after this.
        unsafe { ep_busy_poll_release(&mut bp, 0) };
        used_key().flush();
        assert!(!used_key().is_enabled());
    }

    #[test]
    fn entry_points_end_loops_on_the_clock() {
        let mut bp = c_state();
        // SAFETY: `bp` is a live state, only accessed through `BusyPoll`.
        let state = unsafe { BusyPoll::from_raw(&bp) };
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(w.set(&params(1_000_000, 0, 0), || false, &users).is_ok());
        let now = busy_poll::busy_loop_current_time();
        // SAFETY: `bp` is a live state.
        let loop_end =
            |start, deadline| unsafe { ep_busy_poll_loop_end(&bp, start, deadline, false) };
        // A second of busy polling has not passed since now, but has since
        // 2^21 clock units (2.1 s) ago.
        assert!(!loop_end(now, i64::MAX));
        assert!(loop_end(now.wrapping_sub(1 << 21), i64::MAX));
        // A caller's deadline that has come ends it, one still ahead does not.
        let ns = Ktime::ktime_get().to_ns();
        assert!(loop_end(now, ns));
        assert!(!loop_end(now, ns + 1_000_000_000));
        // A pending signal ends it before anything else.
        // SAFETY: `bp` is a live state.
        assert!(unsafe { ep_busy_poll_loop_end(&bp, now, i64::MAX, true) });
        w.release(&users);
        bp = c_state();
        // Without usecs the sysctl decides; at 0 (as at boot) every loop is over.
        if busy_poll::sysctl_busy_poll() == 0 {
            // SAFETY: `bp` is a live state.
            assert!(unsafe { ep_busy_poll_loop_end(&bp, now, i64::MAX, false) });
            // SAFETY: `bp` is a live state.
            assert!(!unsafe { ep_busy_poll_on(&bp) });
        }
    }

    /// The counts in `bp` as fdinfo shows them: loops, timeouts, suspensions.
    fn counts(bp: &bindings::ep_busy_poll) -> (usize, usize, usize) {
        // SAFETY: All-zero is a valid `struct ep_busy_poll_counters`.
        let mut out: bindings::ep_busy_poll_counters = unsafe { core::mem::zeroed() };
        // SAFETY: `bp` is a live state and `out` writable.
        unsafe { ep_busy_poll_counters(bp, &mut out) };
        (out.loops, out.timeouts, out.irq_suspensions)
    }

    #[test]
    fn entry_points_count_busy_polling() {
        let bp = c_state();
        // SAFETY: `bp` is a live state, only accessed through `BusyPoll`.
        let state = unsafe { BusyPoll::from_raw(&bp) };
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let users = Counter::default();
        assert!(counts(&bp) == (0, 0, 0));
        // A loop on a NAPI ID no device has returns at once; C then finds no
        // events and reports the loop's end without them.
        // SAFETY: `bp` is a live state; no `loop_end`; KUnit's kthread has
        // interrupts on.
        unsafe { ep_busy_poll_napi(&bp, u32::MAX, None, core::ptr::null_mut()) };
        assert!(counts(&bp) == (1, 0, 0));
        // SAFETY: As above.
        unsafe { ep_busy_poll_resume(&bp, u32::MAX) };
        assert!(counts(&bp) == (1, 1, 0));
        // Suspensions count only when one is asked of a NAPI instance: with
        // the preference and a NAPI ID.
        // SAFETY: As above.
        unsafe { ep_busy_poll_suspend(&bp, u32::MAX) };
        assert!(counts(&bp) == (1, 1, 0));
        assert!(w.set(&params(0, 0, 1), || false, &users).is_ok());
        // SAFETY: As above.
        unsafe {
            ep_busy_poll_suspend(&bp, 0);
            ep_busy_poll_suspend(&bp, busy_poll::MIN_NAPI_ID - 1);
        }
        assert!(counts(&bp) == (1, 1, 0));
        // SAFETY: As above.
        unsafe { ep_busy_poll_suspend(&bp, u32::MAX) };
        assert!(counts(&bp) == (1, 1, 1));
        // The parameters do not reset the counts.
        assert!(w.set(&params(0, 0, 0), || false, &users).is_ok());
        assert!(counts(&bp) == (1, 1, 1));
        w.release(&users);
    }

    #[test]
    fn a_full_count_leaves_the_instance_out() {
        let state = BusyPoll::new();
        // SAFETY: This case alone uses `state`, on one thread.
        let w = unsafe { state.locked() };
        let full = Full::default();
        // The count is full: the instance stays out, and nothing is taken out
        // later, by a set or the release, that was never counted.
        assert!(w.set(&params(50, 0, 0), || false, &full).is_ok());
        assert!(full.0.get() == 1 && !state.counted());
        assert!(
            w.get()
                == Params {
                    usecs: 50,
                    budget: 0,
                    prefer: false
                }
        );
        assert!(w.set(&params(0, 0, 0), || false, &full).is_ok());
        w.release(&full);
        assert!(full.0.get() == 1);
        // A later set, with room in the count, counts it.
        let users = Counter::default();
        assert!(w.set(&params(0, 0, 1), || false, &users).is_ok());
        assert!(users.0.get() == 1 && state.counted());
        w.release(&users);
        assert!(users.0.get() == 0 && !state.counted());
    }
}
