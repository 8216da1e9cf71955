/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-epoll NAPI busy polling, implemented in Rust (fs/eventpoll_busy_poll.rs).
 *
 * fs/eventpoll.c embeds one struct ep_busy_poll in each struct eventpoll and
 * calls the functions below.  The Rust side checks at build time that each
 * function matches its prototype here and that its state fits the storage.
 */
#ifndef _LINUX_EVENTPOLL_BUSY_POLL_H
#define _LINUX_EVENTPOLL_BUSY_POLL_H

#include <linux/jump_label_ratelimit.h>
#include <linux/ktime.h>
#include <linux/types.h>

struct epoll_params;

/**
 * struct ep_busy_poll - busy-poll state of one epoll instance
 * @opaque: storage for the Rust code, which accesses it only atomically
 * @opaque_counters: the same, for the counts ep_busy_poll_counters() reads
 *
 * Opaque to C, so no C code reads the parameters without the atomics.
 * All-zero bytes (as left by kzalloc()) are the state of a new instance.
 */
struct ep_busy_poll {
	u32 opaque[2];
	unsigned long opaque_counters[3];
};

/**
 * struct ep_busy_poll_counters - what one epoll instance's busy polling did
 * @loops: busy loops started
 * @timeouts: busy loops that ended without events
 * @irq_suspensions: IRQ suspensions asked of the NAPI instance polled
 *
 * Counted since the instance was created, wrapping around, for
 * /proc/<pid>/fdinfo/<epfd>.
 */
struct ep_busy_poll_counters {
	unsigned long loops;
	unsigned long timeouts;
	unsigned long irq_suspensions;
};

/*
 * On while the parameters of any epoll instance turn busy polling on (a
 * busy_poll_usecs or prefer_busy_poll); the Rust code counts those instances.  While
 * it is off, fs/eventpoll.c skips the calls into Rust that could only answer
 * "no busy polling" or "nothing to do".
 * Rate-limited: it goes off a second after the last such instance is gone,
 * so no task can make the kernel patch its code in a loop.
 */
extern struct static_key_false_deferred ep_busy_poll_used;

long ep_busy_poll_set_params(struct ep_busy_poll *bp, unsigned long arg);
long ep_busy_poll_get_params(struct ep_busy_poll *bp, unsigned long arg);
bool ep_busy_poll_on(const struct ep_busy_poll *bp);
bool ep_busy_poll_loop_end(const struct ep_busy_poll *bp,
			   unsigned long start_time, ktime_t deadline,
			   bool signal_pending);
void ep_busy_poll_napi(const struct ep_busy_poll *bp, unsigned int napi_id,
		       bool (*loop_end)(void *, unsigned long), void *arg);
void ep_busy_poll_params(const struct ep_busy_poll *bp,
			 struct epoll_params *out);
void ep_busy_poll_counters(const struct ep_busy_poll *bp,
			   struct ep_busy_poll_counters *out);
void ep_busy_poll_suspend(const struct ep_busy_poll *bp, unsigned int napi_id);
void ep_busy_poll_resume(const struct ep_busy_poll *bp, unsigned int napi_id);
void ep_busy_poll_release(struct ep_busy_poll *bp, unsigned int napi_id);

#endif /* _LINUX_EVENTPOLL_BUSY_POLL_H */
