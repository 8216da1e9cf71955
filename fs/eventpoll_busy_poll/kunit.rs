// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `epoll_busy_poll_rust`: the busy-poll rules, branch by branch.
//!
//! Runs at boot with `CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST=y`.  The kernel
//! edges (capability, sysctl, clock) are replaced by closures, so each case
//! also checks which of them a rule consults.

use core::cell::Cell;

use kernel::{
    bindings::{kunit, kunit_case, kunit_suite},
    error::{code::*, Error},
    ffi::c_ulong,
    str::CStr,
};

use crate::{
    rules::{self, EpollParams, Params},
    state::BusyPoll,
};

/// Fails the running case (and stops it) unless `$cond` holds.
macro_rules! check {
    ($cond:expr) => {
        kernel::kunit_assert!(
            "epoll_busy_poll_rust",
            "eventpoll_busy_poll/kunit.rs",
            0,
            $cond
        )
    };
}

/// The parameters `usecs`, `budget`, `prefer` with a zero pad.
fn params(usecs: u32, budget: u16, prefer: u8) -> EpollParams {
    EpollParams {
        busy_poll_usecs: usecs,
        busy_poll_budget: budget,
        prefer_busy_poll: prefer,
        pad: 0,
    }
}

/// `rules::validate` with a capability that is `cap` and counts its uses.
fn validate(raw: EpollParams, cap: bool, asked: &Cell<u32>) -> Result<Params, Error> {
    rules::validate(&raw, || {
        asked.set(asked.get() + 1);
        cap
    })
}

fn ioctl_numbers_match_uapi() {
    // _IOW(0x8A, 1, 8 bytes) and _IOR(0x8A, 2, 8 bytes) on every architecture
    // with the generic ioctl encoding, x86 included.
    check!(rules::EPIOCSPARAMS == 0x4008_8a01);
    check!(rules::EPIOCGPARAMS == 0x8008_8a02);
}

fn zero_params_are_valid() {
    let asked = Cell::new(0);
    check!(validate(params(0, 0, 0), false, &asked) == Ok(Params::default()));
    check!(asked.get() == 0);
}

fn nonzero_pad_is_einval() {
    let asked = Cell::new(0);
    for pad in [1u8, 0x80, 0xff] {
        let raw = EpollParams {
            pad,
            ..params(10, 8, 0)
        };
        check!(validate(raw, true, &asked) == Err(EINVAL));
    }
}

fn usecs_above_s32_max_is_einval() {
    let asked = Cell::new(0);
    let max = i32::MAX as u32;
    check!(validate(params(max, 0, 0), false, &asked).map(|p| p.usecs) == Ok(max));
    check!(validate(params(max + 1, 0, 0), true, &asked) == Err(EINVAL));
    check!(validate(params(u32::MAX, 0, 0), true, &asked) == Err(EINVAL));
}

fn prefer_above_one_is_einval() {
    let asked = Cell::new(0);
    check!(validate(params(0, 0, 1), false, &asked).map(|p| p.prefer) == Ok(true));
    check!(validate(params(0, 0, 0), false, &asked).map(|p| p.prefer) == Ok(false));
    check!(validate(params(0, 0, 2), true, &asked) == Err(EINVAL));
    check!(validate(params(0, 0, 255), true, &asked) == Err(EINVAL));
}

fn budget_above_napi_weight_needs_cap_net_admin() {
    let asked = Cell::new(0);
    check!(rules::NAPI_POLL_WEIGHT == 64);
    // Up to the weight nobody asks for the capability.
    check!(validate(params(0, 64, 0), false, &asked).map(|p| p.budget) == Ok(64));
    check!(asked.get() == 0);
    // Above it the capability decides, and is asked exactly once.
    check!(validate(params(0, 65, 0), false, &asked) == Err(EPERM));
    check!(asked.get() == 1);
    check!(validate(params(0, 65, 0), true, &asked).map(|p| p.budget) == Ok(65));
    check!(validate(params(0, u16::MAX, 0), true, &asked).map(|p| p.budget) == Ok(u16::MAX));
    check!(asked.get() == 3);
}

fn invalid_field_wins_over_eperm() {
    // EINVAL checks come first, and never ask for the capability.
    let asked = Cell::new(0);
    let bad_pad = EpollParams {
        pad: 1,
        ..params(0, 1000, 0)
    };
    check!(validate(bad_pad, false, &asked) == Err(EINVAL));
    check!(validate(params(u32::MAX, 1000, 0), false, &asked) == Err(EINVAL));
    check!(validate(params(0, 1000, 7), false, &asked) == Err(EINVAL));
    check!(asked.get() == 0);
}

fn new_state_reads_zero() {
    let state = BusyPoll::new();
    check!(state.get() == Params::default());
    check!(state.get().to_user() == EpollParams::default());
}

fn set_then_get_round_trips() {
    let state = BusyPoll::new();
    check!(state.set(&params(200, 16, 1), || false).is_ok());
    check!(state.get().to_user() == params(200, 16, 1));
    // A second set replaces all three values, zeros included.
    check!(state.set(&params(0, 0, 0), || false).is_ok());
    check!(state.get().to_user() == params(0, 0, 0));
}

fn rejected_set_changes_nothing() {
    let state = BusyPoll::new();
    check!(state.set(&params(50, 32, 1), || false).is_ok());
    let bad_pad = EpollParams {
        pad: 1,
        ..params(1, 1, 0)
    };
    check!(state.set(&bad_pad, || true) == Err(EINVAL));
    check!(state.set(&params(u32::MAX, 1, 0), || true) == Err(EINVAL));
    check!(state.set(&params(1, 1, 2), || true) == Err(EINVAL));
    check!(state.set(&params(1, 65, 0), || false) == Err(EPERM));
    check!(state.get().to_user() == params(50, 32, 1));
}

fn get_zeroes_the_pad() {
    let p = Params {
        usecs: 7,
        budget: 9,
        prefer: true,
    };
    check!(p.to_user() == params(7, 9, 1));
}

fn on_rule_is_or() {
    let asked = &Cell::new(0);
    let sysctl = |on: bool| {
        move || {
            asked.set(asked.get() + 1);
            on
        }
    };
    check!(!rules::busy_loop_on(0, sysctl(false)));
    check!(rules::busy_loop_on(0, sysctl(true)));
    check!(asked.get() == 2);
    // With usecs set the sysctl does not matter and is not read.
    check!(rules::busy_loop_on(1, sysctl(false)));
    check!(rules::busy_loop_on(50, sysctl(true)));
    check!(asked.get() == 2);
}

fn state_on_rule_follows_usecs() {
    let state = BusyPoll::new();
    check!(!state.busy_loop_on(|| false));
    check!(state.busy_loop_on(|| true));
    check!(state.set(&params(1, 0, 0), || false).is_ok());
    check!(state.busy_loop_on(|| false));
    // Budget and preference alone do not turn busy polling on.
    check!(state.set(&params(0, 64, 1), || false).is_ok());
    check!(!state.busy_loop_on(|| false));
}

fn zero_budget_means_busy_poll_budget() {
    check!(rules::BUSY_POLL_BUDGET == 8);
    check!(rules::effective_budget(0) == 8);
    check!(rules::effective_budget(1) == 1);
    check!(rules::effective_budget(64) == 64);
    check!(rules::effective_budget(u16::MAX) == u16::MAX);
    let state = BusyPoll::new();
    check!(state.napi_budget() == 8);
    check!(!state.prefer());
    check!(state.set(&params(0, 3, 1), || false).is_ok());
    check!(state.napi_budget() == 3);
    check!(state.prefer());
}

fn timeout_uses_instance_usecs_when_set() {
    let sysctl_asked = Cell::new(0);
    let sysctl = |_start: c_ulong| {
        sysctl_asked.set(sysctl_asked.get() + 1);
        true
    };
    // Started at 1000 with 50 us: over only strictly after 1050.
    check!(!rules::timed_out(50, 1000, || 1000, sysctl));
    check!(!rules::timed_out(50, 1000, || 1050, sysctl));
    check!(rules::timed_out(50, 1000, || 1051, sysctl));
    check!(sysctl_asked.get() == 0);
}

fn timeout_falls_back_to_sysctl() {
    let seen = Cell::new(0);
    let now_asked = Cell::new(0);
    let now = || {
        now_asked.set(now_asked.get() + 1);
        0
    };
    let answer = rules::timed_out(0, 1234, now, |start| {
        seen.set(start);
        true
    });
    check!(answer);
    check!(seen.get() == 1234);
    check!(!rules::timed_out(0, 1234, now, |_| false));
    check!(now_asked.get() == 0);
}

fn timeout_survives_clock_wrap() {
    let start = c_ulong::MAX - 10;
    // start + 50 wraps to 39.
    check!(!rules::timed_out(50, start, || c_ulong::MAX, |_| true));
    check!(!rules::timed_out(50, start, || 39, |_| true));
    check!(rules::timed_out(50, start, || 40, |_| true));
    check!(rules::time_after(0, c_ulong::MAX));
    check!(!rules::time_after(c_ulong::MAX, 0));
}

/// One entry of the case table.
const fn case(name: &'static CStr, run: unsafe extern "C" fn(*mut kunit)) -> kunit_case {
    // SAFETY: `kunit_case` is plain C data for which all-zero is the empty
    // value (null pointers, no callbacks), as C's `{}` initializer.
    let mut case: kunit_case = unsafe { core::mem::zeroed() };
    case.run_case = Some(run);
    case.name = name.as_char_ptr();
    case
}

/// A suite name as C's `char name[256]`.
const fn suite_name(name: &[u8]) -> [kernel::ffi::c_char; 256] {
    let mut out = [0; 256];
    let mut i = 0;
    // Leaves at least one NUL at the end.
    while i < name.len() && i < 255 {
        out[i] = name[i] as kernel::ffi::c_char;
        i += 1;
    }
    out
}

/// Builds the NULL-terminated case table `CASES` from plain `fn()` tests.
macro_rules! kunit_cases {
    ($($test:ident),* $(,)?) => {
        const COUNT: usize = [$(stringify!($test)),*].len();

        /// The cases, then the all-zero terminator KUnit looks for.
        static mut CASES: [kunit_case; COUNT + 1] = [
            $(case(kernel::c_str!(stringify!($test)), {
                extern "C" fn run(_test: *mut kunit) {
                    $test()
                }
                run
            }),)*
            // SAFETY: All-zero is the terminating `kunit_case`.
            unsafe { core::mem::zeroed() },
        ];
    };
}

kunit_cases![
    ioctl_numbers_match_uapi,
    zero_params_are_valid,
    nonzero_pad_is_einval,
    usecs_above_s32_max_is_einval,
    prefer_above_one_is_einval,
    budget_above_napi_weight_needs_cap_net_admin,
    invalid_field_wins_over_eperm,
    new_state_reads_zero,
    set_then_get_round_trips,
    rejected_set_changes_nothing,
    get_zeroes_the_pad,
    on_rule_is_or,
    state_on_rule_follows_usecs,
    zero_budget_means_busy_poll_budget,
    timeout_uses_instance_usecs_when_set,
    timeout_falls_back_to_sysctl,
    timeout_survives_clock_wrap,
];

static mut SUITE: kunit_suite = kunit_suite {
    name: suite_name(b"epoll_busy_poll_rust"),
    test_cases: &raw mut CASES as *mut kunit_case,
    // SAFETY: All-zero is the empty value of the remaining fields, which
    // KUnit fills in itself.
    ..unsafe { core::mem::zeroed() }
};

/// The suite's entry in the table KUnit runs at boot, as `kunit_test_suite()`
/// makes in C.
#[used]
#[link_section = ".kunit_test_suites"]
static mut SUITE_ENTRY: *mut kunit_suite = &raw mut SUITE;
