// SPDX-License-Identifier: GPL-2.0

//! Static keys, as C code tests them with `static_branch_unlikely()`.
//!
//! A static key costs the code that tests it a no-op while it is off; turning
//! it on or off patches every site that tests it, on every CPU.  The key is
//! defined in C; this module lets Rust code count the users that need it on.
//!
//! C headers: [`include/linux/jump_label.h`](srctree/include/linux/jump_label.h),
//! [`include/linux/jump_label_ratelimit.h`](srctree/include/linux/jump_label_ratelimit.h)

use crate::{bindings, types::Opaque};

/// A rate-limited static key, defined in C with
/// `DEFINE_STATIC_KEY_DEFERRED_FALSE(name, rl)` and tested there with
/// `static_branch_unlikely(&name.key)`.
///
/// It is off until [`StaticKeyFalseDeferred::inc`] has been called more often
/// than [`StaticKeyFalseDeferred::dec`].  The last `dec` turns it off only
/// after the key's rate limit `rl` (in jiffies), and only if no `inc` came
/// meanwhile: a user that switches its need on and off in a loop does not make
/// the kernel patch its code (and interrupt every CPU) each time.  The right
/// choice for a key that unprivileged users can flip.  (Without
/// `CONFIG_JUMP_LABEL` there is no code to patch, and the last `dec` turns
/// the key off at once.)
#[repr(transparent)]
pub struct StaticKeyFalseDeferred(Opaque<bindings::static_key_false_deferred>);

// SAFETY: The C functions behind every method synchronise concurrent users of
// a static key themselves (an atomic count, `jump_label_mutex` and a delayed
// work item).
unsafe impl Sync for StaticKeyFalseDeferred {}

impl StaticKeyFalseDeferred {
    /// Wraps a static key defined in C.
    ///
    /// # Safety
    ///
    /// `ptr` points to a `struct static_key_false_deferred` that lives for the
    /// rest of the kernel's run (a static, as
    /// `DEFINE_STATIC_KEY_DEFERRED_FALSE()` makes).
    #[inline]
    pub unsafe fn from_raw(ptr: *mut bindings::static_key_false_deferred) -> &'static Self {
        // SAFETY: `Self` is a transparent wrapper of the C struct, and the
        // caller guarantees it lives forever; all access goes through the C
        // functions, which synchronise it.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Adds a user; the first one turns the key on, at once:
    /// `static_branch_deferred_inc()`.
    ///
    /// Returns whether the user was added: `false` only when the count is
    /// at `INT_MAX` (or the key was disabled for good), and then the key is
    /// as it was.  Only a `true` may be balanced by
    /// [`StaticKeyFalseDeferred::dec`].
    ///
    /// May sleep (the branch sites are patched under `cpus_read_lock()`):
    /// call it from process context only.
    #[inline]
    #[must_use]
    pub fn inc(&self) -> bool {
        // SAFETY: `self.0` is a live static key (invariant of `from_raw`);
        // the caller is in process context as documented.
        unsafe { bindings::static_branch_deferred_inc(self.0.get()) }
    }

    /// Drops a user added with [`StaticKeyFalseDeferred::inc`]; after the last
    /// one the key goes off once the rate limit has passed:
    /// `static_branch_slow_dec_deferred()`.  May sleep, as
    /// [`StaticKeyFalseDeferred::inc`].
    ///
    /// # Safety
    ///
    /// The call balances an earlier [`StaticKeyFalseDeferred::inc`] of this
    /// key that returned `true` and that no other `dec` balanced.  An
    /// unbalanced one would turn the key off under the code of another user
    /// that relies on it being on (C warns once the count goes negative).
    #[inline]
    pub unsafe fn dec(&self) {
        // SAFETY: `self.0` is a live static key (invariant of `from_raw`),
        // and the caller balances an `inc`.
        unsafe { bindings::static_branch_slow_dec_deferred(self.0.get()) };
    }

    /// Carries out a pending deferred [`StaticKeyFalseDeferred::dec`] now:
    /// `static_key_deferred_flush()`.  May sleep.
    #[inline]
    pub fn flush(&self) {
        // SAFETY: As in `inc`.
        unsafe { bindings::static_key_deferred_flush(self.0.get()) };
    }

    /// Whether the key is on: `static_key_enabled()`.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        // SAFETY: `self.0` is a live static key; its count is read
        // atomically.
        unsafe { bindings::static_key_false_deferred_enabled(self.0.get()) }
    }
}
