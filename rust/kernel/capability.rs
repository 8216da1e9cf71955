// SPDX-License-Identifier: GPL-2.0

//! Capabilities of the current task.
//!
//! C header: [`include/linux/capability.h`](srctree/include/linux/capability.h)

use crate::{bindings, ffi::c_int};

/// A POSIX capability, one of the `CAP_*` values of
/// [`include/uapi/linux/capability.h`](srctree/include/uapi/linux/capability.h).
///
/// # Invariants
///
/// The value is a valid capability number (at most `CAP_LAST_CAP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability(c_int);

impl Capability {
    /// `CAP_NET_ADMIN`: network administration.
    pub const NET_ADMIN: Self = Self(bindings::CAP_NET_ADMIN as c_int);

    /// `CAP_NET_RAW`: raw and packet sockets.
    pub const NET_RAW: Self = Self(bindings::CAP_NET_RAW as c_int);

    /// `CAP_SYS_ADMIN`: the catch-all administrative capability.
    pub const SYS_ADMIN: Self = Self(bindings::CAP_SYS_ADMIN as c_int);

    /// The capability's number, as C passes it.
    #[inline]
    pub fn as_raw(self) -> c_int {
        self.0
    }
}

/// Whether the current task has `cap` in the initial user namespace:
/// `capable()`.
///
/// This is the check for privileges that are global to the system.  As in C,
/// a successful check marks the task as having used a superuser privilege
/// (`PF_SUPERPRIV`, for process accounting) and may be audited, so ask only
/// when the answer matters, after every cheaper reason to fail.
///
/// Must be called in process context, on behalf of the task whose privilege is
/// checked.
///
/// # Examples
///
/// ```
/// use kernel::capability::{capable, Capability};
/// use kernel::error::{code::EPERM, Result};
///
/// fn set_large_budget(budget: u16) -> Result {
///     if budget > 64 && !capable(Capability::NET_ADMIN) {
///         return Err(EPERM);
///     }
///     Ok(())
/// }
/// # let _ = set_large_budget(8);
/// ```
#[inline]
pub fn capable(cap: Capability) -> bool {
    // SAFETY: `capable()` only reads the current task's credentials, which
    // always exist in process context; by the type invariant `cap` is a
    // valid capability number, so it does not hit its BUG() on bad input.
    unsafe { bindings::capable(cap.as_raw()) }
}
