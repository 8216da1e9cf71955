// SPDX-License-Identifier: GPL-2.0

//! Static keys, as C code tests them with `static_branch_unlikely()`.
//!
//! A static key costs the code that tests it a no-op while it is off; turning
//! it on or off patches every site that tests it.  The key is defined in C
//! with `DEFINE_STATIC_KEY_FALSE()`; this module lets Rust code count the
//! users that need it on.
//!
//! C header: [`include/linux/jump_label.h`](srctree/include/linux/jump_label.h)

use crate::{bindings, types::Opaque};

/// A static key defined in C with `DEFINE_STATIC_KEY_FALSE()`: off until
/// [`StaticKeyFalse::inc`] is called more often than [`StaticKeyFalse::dec`].
#[repr(transparent)]
pub struct StaticKeyFalse(Opaque<bindings::static_key_false>);

// SAFETY: The C functions behind every method synchronise concurrent users of
// a static key themselves (an atomic count and `jump_label_mutex`).
unsafe impl Sync for StaticKeyFalse {}

impl StaticKeyFalse {
    /// Wraps a static key defined in C.
    ///
    /// # Safety
    ///
    /// `ptr` points to a `struct static_key_false` that lives for the rest of
    /// the kernel's run (a static, as `DEFINE_STATIC_KEY_FALSE()` makes).
    #[inline]
    pub unsafe fn from_raw(ptr: *mut bindings::static_key_false) -> &'static Self {
        // SAFETY: `Self` is a transparent wrapper of the C struct, and the
        // caller guarantees it lives forever; all access goes through the C
        // functions, which synchronise it.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn key(&self) -> *mut bindings::static_key {
        // `key` is the first and only field of `struct static_key_false`.
        self.0.get().cast()
    }

    /// Adds a user; the first one turns the key on: `static_branch_inc()`.
    ///
    /// May sleep (the branch sites are patched under `cpus_read_lock()`):
    /// call it from process context only.
    #[inline]
    pub fn inc(&self) {
        // SAFETY: `key()` points to a live static key (type invariant of
        // `from_raw`); the caller is in process context as documented.
        unsafe { bindings::static_key_slow_inc(self.key()) };
    }

    /// Drops a user added with [`StaticKeyFalse::inc`]; the last one turns
    /// the key off: `static_branch_dec()`.
    ///
    /// Each call must balance an earlier [`StaticKeyFalse::inc`] (C warns
    /// about an unbalanced one).  May sleep, as [`StaticKeyFalse::inc`].
    #[inline]
    pub fn dec(&self) {
        // SAFETY: As in `inc`.
        unsafe { bindings::static_key_slow_dec(self.key()) };
    }

    /// Whether the key is on: `static_key_enabled()`.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        // SAFETY: `key()` points to a live static key; the count is read
        // atomically.
        unsafe { bindings::static_key_count(self.key()) > 0 }
    }
}
