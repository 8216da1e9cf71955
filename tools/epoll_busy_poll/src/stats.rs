//! What an epoll instance's busy polling did, as its fdinfo
//! (`/proc/PID/fdinfo/EPFD`) shows it after the `tfd:` lines when the
//! kernel has `CONFIG_NET_RX_BUSY_POLL`:
//!
//! ```text
//! busy_poll_usecs:\t50
//! busy_poll_budget:\t8
//! prefer_busy_poll:\t1
//! busy_poll_napi_id:\t8193
//! busy_poll_loops:\t1200
//! busy_poll_timeouts:\t85
//! busy_poll_irq_suspensions:\t1105
//! ```
//!
//! (`\t`: a tab.)  The first three are the parameters (`EPIOCGPARAMS`'s);
//! the other four came later, so a kernel may show the parameters without
//! them.  The counts are the kernel's `unsigned long`s: they wrap around at
//! its `ULONG_MAX`, 2^32 - 1 on a 32-bit kernel.

use crate::{params, EpollParams};

/// The parameters' lines, in the order the kernel prints them.
pub const PARAM_LINES: [&str; 3] = ["busy_poll_usecs", "busy_poll_budget", "prefer_busy_poll"];

/// The counters' lines, in the order the kernel prints them.
pub const COUNTER_LINES: [&str; 4] = [
    "busy_poll_napi_id",
    "busy_poll_loops",
    "busy_poll_timeouts",
    "busy_poll_irq_suspensions",
];

/// What busy polling did, since the epoll instance was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// The NAPI ID the instance busy polls; 0 for none (none yet, or
    /// forgotten after a busy loop that found no events).
    pub napi_id: u32,
    /// Busy loops `epoll_wait()` started.
    pub loops: u64,
    /// Those of them that ended without events.
    pub timeouts: u64,
    /// `epoll_wait()` calls that returned events and asked the NAPI
    /// instance to suspend its IRQs (which it does only with a non-zero
    /// `irq-suspend-timeout`).
    pub irq_suspensions: u64,
}

impl Counters {
    /// The busy loops that found events: loops - timeouts, 0 rather than
    /// below (the kernel reads the two one after the other, so a loop
    /// that starts and times out in between shows only as a timeout).
    pub fn loops_with_events(&self) -> u64 {
        self.loops.saturating_sub(self.timeouts)
    }
}

/// An epoll instance's busy-poll lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusyPollStats {
    /// Its parameters (`__pad` 0).
    pub params: EpollParams,
    /// What busy polling did; `None` on a kernel that does not show it
    /// (the four lines are missing, or do not parse).
    pub counters: Option<Counters>,
}

/// The value of the line `name:\tvalue` in `fdinfo`: `None` if there is
/// no such line, or more than one, or if its value is not a decimal `T`.
fn value<T: std::str::FromStr>(fdinfo: &str, name: &str) -> Option<T> {
    let mut found = fdinfo.lines().filter_map(|line| {
        let (key, rest) = line.split_once(':')?;
        (key == name).then_some(rest)
    });
    let rest = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let rest = rest.trim();
    // FromStr of the integers takes a leading '+'; the kernel prints none.
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The busy-poll lines of the text of an epoll instance's fdinfo: `None`
/// if the parameters' three lines are not all there once with a number in
/// the ABI's range (a kernel without `CONFIG_NET_RX_BUSY_POLL`, or without
/// the fdinfo lines, or not an epoll instance's fdinfo); the counters are
/// `None` unless their four lines are all there likewise.  Other lines
/// (`pos:`, `tfd:`, ...) are skipped wherever they are.
pub fn parse_busy_poll_stats(fdinfo: &str) -> Option<BusyPollStats> {
    let params = params(
        value(fdinfo, PARAM_LINES[0])?,
        value(fdinfo, PARAM_LINES[1])?,
        value(fdinfo, PARAM_LINES[2])?,
    );
    Some(BusyPollStats {
        params,
        counters: counters(fdinfo),
    })
}

/// The counters' four lines, if they are all there with a number.
fn counters(fdinfo: &str) -> Option<Counters> {
    Some(Counters {
        napi_id: value(fdinfo, COUNTER_LINES[0])?,
        loops: value(fdinfo, COUNTER_LINES[1])?,
        timeouts: value(fdinfo, COUNTER_LINES[2])?,
        irq_suspensions: value(fdinfo, COUNTER_LINES[3])?,
    })
}

/// How far a counter of the kernel's `ulong_bits`-bit `unsigned long`
/// went from `before` to `after`: `None` if it went back, which it does
/// not do but by wrapping around at `ULONG_MAX`.  That is taken to happen
/// on 32-bit kernels only (where counting 2^32 busy loops takes hours, not
/// centuries): there a decrease is a wrap if both values fit 32 bits.
pub fn counter_delta(before: u64, after: u64, ulong_bits: u32) -> Option<u64> {
    if after >= before {
        return Some(after - before);
    }
    if ulong_bits == 32 && before <= u64::from(u32::MAX) {
        return Some(after + (1u64 << 32) - before);
    }
    None
}

/// What busy polling did between two reads of the same instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub loops: u64,
    pub timeouts: u64,
    /// loops - timeouts, 0 rather than below.
    pub loops_with_events: u64,
    pub irq_suspensions: u64,
}

/// What busy polling did from `before` to `after`, read from the same
/// descriptor number: `None` if a count went back (see
/// [`counter_delta`]), so the number is another epoll instance now.
pub fn delta(before: &Counters, after: &Counters, ulong_bits: u32) -> Option<Delta> {
    let loops = counter_delta(before.loops, after.loops, ulong_bits)?;
    let timeouts = counter_delta(before.timeouts, after.timeouts, ulong_bits)?;
    Some(Delta {
        loops,
        timeouts,
        loops_with_events: loops.saturating_sub(timeouts),
        irq_suspensions: counter_delta(before.irq_suspensions, after.irq_suspensions, ulong_bits)?,
    })
}

/// The width of the running kernel's `unsigned long`: 64 for a 64-bit
/// program (which runs on 64-bit kernels only); for a 32-bit one, 64 if
/// `uname()` names a 64-bit machine, else 32.
// c_char is i8 on some targets, u8 on others.
#[allow(clippy::unnecessary_cast)]
pub fn kernel_ulong_bits() -> u32 {
    if cfg!(target_pointer_width = "64") {
        return 64;
    }
    // SAFETY: a utsname is plain data; all zeroes is a valid one.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is valid and writable.
    if unsafe { libc::uname(&raw mut u) } != 0 {
        return 32;
    }
    let machine: String = u
        .machine
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    if machine.contains("64") || machine == "s390x" || machine == "alpha" {
        64
    } else {
        32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As this patch's ep_show_fdinfo() prints it, with two `tfd:` lines.
    const FULL: &str = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n\
tfd:        9 events:       19 data:                9  pos:0 ino:5f1 sdev:8\n\
tfd:        5 events:       19 data:       7fff00000005  pos:0 ino:3d sdev:a00003\n\
busy_poll_usecs:\t50\nbusy_poll_budget:\t8\nprefer_busy_poll:\t1\n\
busy_poll_napi_id:\t8193\nbusy_poll_loops:\t1200\nbusy_poll_timeouts:\t85\n\
busy_poll_irq_suspensions:\t1105\n";

    #[test]
    fn all_seven_lines() {
        let s = parse_busy_poll_stats(FULL).unwrap();
        assert_eq!(s.params, params(50, 8, 1));
        let c = s.counters.unwrap();
        assert_eq!(
            c,
            Counters {
                napi_id: 8193,
                loops: 1200,
                timeouts: 85,
                irq_suspensions: 1105,
            }
        );
        assert_eq!(c.loops_with_events(), 1115);
    }

    #[test]
    fn the_parameters_alone_leave_the_counters_unavailable() {
        // A kernel with the parameters' lines and not the counters', no tfd.
        let text = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n\
busy_poll_usecs:\t0\nbusy_poll_budget:\t0\nprefer_busy_poll:\t0\n";
        let s = parse_busy_poll_stats(text).unwrap();
        assert_eq!(s.params, params(0, 0, 0));
        assert_eq!(s.counters, None);
        // Some of the counters only: none.
        let text = format!("{text}busy_poll_napi_id:\t3\nbusy_poll_loops:\t4\n");
        assert_eq!(parse_busy_poll_stats(&text).unwrap().counters, None);
    }

    #[test]
    fn no_parameters_no_stats() {
        // Mainline's epoll fdinfo, and other files'.
        for text in [
            "",
            "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n",
            "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n\
tfd:        5 events:       19 data:                5  pos:0 ino:3d sdev:8\n",
            "pos:\t0\nflags:\t0100002\nmnt_id:\t15\nino:\t40712\n",
            // The counters without the parameters.
            "busy_poll_napi_id:\t8193\nbusy_poll_loops:\t1\nbusy_poll_timeouts:\t1\n\
busy_poll_irq_suspensions:\t0\n",
        ] {
            assert_eq!(parse_busy_poll_stats(text), None, "{text:?}");
        }
    }

    #[test]
    fn garbage_is_no_number() {
        let replace = |from: &str, to: &str| FULL.replace(from, to);
        for text in [
            replace("busy_poll_usecs:\t50", "busy_poll_usecs:\tfifty"),
            replace("busy_poll_usecs:\t50", "busy_poll_usecs:\t-50"),
            replace("busy_poll_usecs:\t50", "busy_poll_usecs:\t+50"),
            replace("busy_poll_usecs:\t50", "busy_poll_usecs:\t4294967296"),
            replace("busy_poll_usecs:\t50", "busy_poll_usecs:\t"),
            replace("busy_poll_budget:\t8", "busy_poll_budget:\t65536"),
            replace("prefer_busy_poll:\t1", "prefer_busy_poll:\t256"),
            replace("prefer_busy_poll:\t1\n", ""),
            // Twice: which one?
            replace(
                "busy_poll_budget:\t8\n",
                "busy_poll_budget:\t8\nbusy_poll_budget:\t9\n",
            ),
        ] {
            assert_eq!(parse_busy_poll_stats(&text), None, "{text:?}");
        }
        for text in [
            replace("busy_poll_loops:\t1200", "busy_poll_loops:\t1200x"),
            replace(
                "busy_poll_loops:\t1200",
                "busy_poll_loops:\t18446744073709551616",
            ),
            replace("busy_poll_napi_id:\t8193", "busy_poll_napi_id:\t4294967296"),
            replace("busy_poll_timeouts:\t85\n", ""),
            replace("busy_poll_timeouts:\t85", "busy_poll_timeouts:\t8 5"),
            format!("{FULL}busy_poll_irq_suspensions:\t1\n"),
        ] {
            let s = parse_busy_poll_stats(&text).unwrap();
            assert_eq!(s.params, params(50, 8, 1), "{text:?}");
            assert_eq!(s.counters, None, "{text:?}");
        }
        // Lines of other kinds anywhere, and spaces around the value, are
        // no matter; the largest values parse.
        let text = "junk\n\nbusy_poll_usecs: 2147483647 \n:\t\ntfd: busy_poll_loops:\t7\n\
busy_poll_budget:\t65535\nprefer_busy_poll:\t0\nbusy_poll_napi_id:\t4294967295\n\
busy_poll_loops:\t18446744073709551615\nbusy_poll_timeouts:\t0\n\
busy_poll_irq_suspensions:\t0\nbusy_poll_loopsx:\t1\n";
        let s = parse_busy_poll_stats(text).unwrap();
        assert_eq!(s.params, params(i32::MAX as u32, u16::MAX, 0));
        assert_eq!(
            s.counters,
            Some(Counters {
                napi_id: u32::MAX,
                loops: u64::MAX,
                timeouts: 0,
                irq_suspensions: 0,
            })
        );
    }

    #[test]
    fn timeouts_above_loops_are_no_loops_with_events() {
        let c = Counters {
            napi_id: 0,
            loops: 5,
            timeouts: 6,
            irq_suspensions: 0,
        };
        assert_eq!(c.loops_with_events(), 0);
    }

    #[test]
    fn deltas_wrap_on_32_bit_kernels_only() {
        assert_eq!(counter_delta(5, 5, 64), Some(0));
        assert_eq!(counter_delta(5, 9, 32), Some(4));
        assert_eq!(counter_delta(u64::from(u32::MAX) - 1, 3, 32), Some(5));
        assert_eq!(counter_delta(u64::from(u32::MAX) - 1, 3, 64), None);
        assert_eq!(counter_delta(u64::MAX - 1, 3, 64), None);
        assert_eq!(counter_delta(u64::from(u32::MAX) + 1, 3, 32), None);

        let before = Counters {
            napi_id: 8193,
            loops: 100,
            timeouts: 10,
            irq_suspensions: 80,
        };
        let after = Counters {
            napi_id: 0,
            loops: 150,
            timeouts: 40,
            irq_suspensions: 95,
        };
        assert_eq!(
            delta(&before, &after, 64),
            Some(Delta {
                loops: 50,
                timeouts: 30,
                loops_with_events: 20,
                irq_suspensions: 15,
            })
        );
        // Another instance under the same number: it counted from 0.
        assert_eq!(delta(&after, &before, 64), None);
        let fresh = Counters::default();
        assert_eq!(delta(&before, &fresh, 64), None);
        // Timeouts that moved more than loops (read in between).
        let odd = Counters {
            loops: 101,
            timeouts: 12,
            ..before
        };
        assert_eq!(delta(&before, &odd, 64).unwrap().loops_with_events, 0);
    }

    #[test]
    fn the_width_of_unsigned_long() {
        let bits = kernel_ulong_bits();
        assert!(bits == 32 || bits == 64);
        if cfg!(target_pointer_width = "64") {
            assert_eq!(bits, 64);
        }
    }
}
