/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-epoll NAPI busy polling, implemented in Rust (fs/eventpoll_busy_poll.rs).
 *
 * fs/eventpoll.c embeds one struct ep_busy_poll in each struct eventpoll and
 * calls the functions below; it never touches the fields itself.  The Rust
 * side checks at build time that its layout matches this one.
 */
#ifndef _LINUX_EVENTPOLL_BUSY_POLL_H
#define _LINUX_EVENTPOLL_BUSY_POLL_H

#include <linux/types.h>

struct epoll_params;

/**
 * struct ep_busy_poll - busy-poll parameters of one epoll instance
 * @usecs: busy-poll time in microseconds; 0 defers to net.core.busy_poll
 * @budget: packets per NAPI poll; 0 means BUSY_POLL_BUDGET
 * @prefer: 1 to prefer busy polling over softirq processing
 *
 * All-zero bytes (as left by kzalloc()) are the state of a new instance.
 * The fields are read and written only by the Rust code, without locks.
 */
struct ep_busy_poll {
	u32 usecs;
	u16 budget;
	u8 prefer;
};

long ep_busy_poll_ioctl(struct ep_busy_poll *bp, unsigned int cmd,
			unsigned long arg);
bool ep_busy_poll_on(const struct ep_busy_poll *bp);
bool ep_busy_poll_timed_out(const struct ep_busy_poll *bp,
			    unsigned long start_time);
void ep_busy_poll_napi(const struct ep_busy_poll *bp, unsigned int napi_id,
		       bool (*loop_end)(void *, unsigned long), void *arg);
void ep_busy_poll_params(const struct ep_busy_poll *bp,
			 struct epoll_params *out);

#endif /* _LINUX_EVENTPOLL_BUSY_POLL_H */
