// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: threads racing EPIOCSPARAMS, EPIOCGPARAMS, epoll_wait() and
 * close() on the same instances for a few seconds (EPOLL_BP_RACE_SECS,
 * default 3).  Every field read must be one of the values written for it,
 * the pad always zero, and nothing may fail but with the errno it should;
 * and every read must be the whole of one set, never a mix of two.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"

static const uint32_t usecs_set[] = { 0, 100, 200000, EP_S32_MAX };
static const uint32_t budget_set[] = { 0, 8, EP_NAPI_POLL_WEIGHT, UINT16_MAX };

struct race {
	int ep;
	atomic_int victim;	/* an instance closed and recreated all along */
	atomic_bool stop;
	atomic_ulong sets, gets, waits, torn, bad_errno, victim_calls;
};

static int race_secs(void)
{
	const char *s = getenv("EPOLL_BP_RACE_SECS");

	return s && atoi(s) > 0 ? atoi(s) : 3;
}

static unsigned int next_rand(unsigned int *state)
{
	*state = *state * 1103515245 + 12345;
	return *state >> 8;
}

static int in_set(uint32_t v, const uint32_t *set, int n)
{
	while (n--)
		if (set[n] == v)
			return 1;
	return 0;
}

static void *setter(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;

	while (!atomic_load(&r->stop)) {
		unsigned int x = next_rand(&seed);
		int ret = ep_set(r->ep, usecs_set[x % 4], budget_set[(x >> 2) % 4],
				 (x >> 4) & 1, 0);

		if (ret)
			atomic_fetch_add(&r->bad_errno, 1);
		atomic_fetch_add(&r->sets, 1);
	}
	return NULL;
}

static void *getter(void *arg)
{
	struct race *r = arg;
	struct epoll_params p;

	while (!atomic_load(&r->stop)) {
		if (ep_get(r->ep, &p)) {
			atomic_fetch_add(&r->bad_errno, 1);
			continue;
		}
		if (!in_set(p.busy_poll_usecs, usecs_set, 4) ||
		    !in_set(p.busy_poll_budget, budget_set, 4) ||
		    p.prefer_busy_poll > 1 || p.__pad)
			atomic_fetch_add(&r->torn, 1);
		atomic_fetch_add(&r->gets, 1);
	}
	return NULL;
}

static void *waiter(void *arg)
{
	struct race *r = arg;
	struct epoll_event ev;

	while (!atomic_load(&r->stop)) {
		epoll_wait(r->ep, &ev, 1, atomic_load(&r->waits) & 1);
		atomic_fetch_add(&r->waits, 1);
	}
	return NULL;
}

/* Calls on an fd that the closer keeps closing: 0, EBADF, nothing else. */
static void *victim_user(void *arg)
{
	struct race *r = arg;
	struct epoll_params p;
	struct epoll_event ev;
	int ret;

	while (!atomic_load(&r->stop)) {
		int fd = atomic_load(&r->victim);

		ret = ep_set(fd, 50, 32, 1, 0);
		if (ret && ret != -EBADF)
			atomic_fetch_add(&r->bad_errno, 1);
		ret = ep_get(fd, &p);
		if (ret && ret != -EBADF)
			atomic_fetch_add(&r->bad_errno, 1);
		if (epoll_wait(fd, &ev, 1, 0) < 0 && errno != EBADF)
			atomic_fetch_add(&r->bad_errno, 1);
		atomic_fetch_add(&r->victim_calls, 1);
	}
	return NULL;
}

static void *closer(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		int old = atomic_load(&r->victim);

		/* dup2 swaps in a new instance atomically; close drops it. */
		int fresh = epoll_create1(0);

		if (fresh >= 0) {
			dup2(fresh, old);
			close(fresh);
		}
		close(old);
		fresh = epoll_create1(0);
		if (fresh >= 0)
			atomic_store(&r->victim, fresh);
	}
	return NULL;
}

TEST(set_get_wait_close_race)
{
	void *(*const roles[])(void *) = {
		setter, setter, getter, getter, waiter, victim_user, victim_user, closer,
	};
	pthread_t threads[ARRAY_SIZE(roles)];
	struct epoll_event ev = { .events = EPOLLIN };
	struct race r = { 0 };
	int efd, i, n = ARRAY_SIZE(roles);

	r.ep = epoll_create1(0);
	ASSERT_LE(0, r.ep);
	efd = eventfd(1, 0);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, epoll_ctl(r.ep, EPOLL_CTL_ADD, efd, &ev));
	atomic_store(&r.victim, epoll_create1(0));

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, roles[i], &r));
	sleep(race_secs());
	atomic_store(&r.stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	ksft_print_msg("%d s: %lu sets, %lu gets, %lu waits, %lu calls on a closing fd\n",
		       race_secs(), atomic_load(&r.sets), atomic_load(&r.gets),
		       atomic_load(&r.waits), atomic_load(&r.victim_calls));
	EXPECT_EQ(0, atomic_load(&r.torn))
		TH_LOG("a field read back that was never written");
	EXPECT_EQ(0, atomic_load(&r.bad_errno))
		TH_LOG("a call failed with an errno other than EBADF");
	EXPECT_LT(1000, atomic_load(&r.sets));
	EXPECT_LT(1000, atomic_load(&r.gets));
	close(efd);
	close(r.ep);
}

/*
 * Whole calls: setters store one of four parameter sets, each field of
 * which no other set has (prefer aside), while getters read them back; a
 * read that combines fields of two sets is a mix nobody stored.
 */
static const struct epoll_params whole[] = {
	{ .busy_poll_usecs = 0, .busy_poll_budget = 0, .prefer_busy_poll = 0 },
	{ .busy_poll_usecs = 100, .busy_poll_budget = 8, .prefer_busy_poll = 1 },
	{ .busy_poll_usecs = 200000, .busy_poll_budget = 64, .prefer_busy_poll = 0 },
	{ .busy_poll_usecs = EP_S32_MAX, .busy_poll_budget = 16, .prefer_busy_poll = 1 },
};

static void *whole_setter(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;

	while (!atomic_load(&r->stop)) {
		const struct epoll_params *p = &whole[next_rand(&seed) % 4];

		if (ep_set(r->ep, p->busy_poll_usecs, p->busy_poll_budget,
			   p->prefer_busy_poll, 0))
			atomic_fetch_add(&r->bad_errno, 1);
		atomic_fetch_add(&r->sets, 1);
	}
	return NULL;
}

static void *whole_getter(void *arg)
{
	struct race *r = arg;
	struct epoll_params p;
	int i, found;

	while (!atomic_load(&r->stop)) {
		if (ep_get(r->ep, &p)) {
			atomic_fetch_add(&r->bad_errno, 1);
			continue;
		}
		for (i = 0, found = 0; i < 4; i++)
			found |= ep_packed(&p) == ep_packed(&whole[i]);
		if (!found)
			atomic_fetch_add(&r->torn, 1);
		atomic_fetch_add(&r->gets, 1);
	}
	return NULL;
}

TEST(sets_and_gets_are_whole_calls)
{
	void *(*const roles[])(void *) = {
		whole_setter, whole_setter, whole_setter, whole_getter, whole_getter,
	};
	pthread_t threads[ARRAY_SIZE(roles)];
	struct race r = { 0 };
	int i, n = ARRAY_SIZE(roles);

	r.ep = epoll_create1(0);
	ASSERT_LE(0, r.ep);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, roles[i], &r));
	sleep(race_secs());
	atomic_store(&r.stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	ksft_print_msg("%d s: %lu sets, %lu gets, %lu mixes\n", race_secs(),
		       atomic_load(&r.sets), atomic_load(&r.gets),
		       atomic_load(&r.torn));
	EXPECT_EQ(0, atomic_load(&r.torn))
		TH_LOG("EPIOCGPARAMS returned fields of two different sets");
	EXPECT_EQ(0, atomic_load(&r.bad_errno));
	EXPECT_LT(1000, atomic_load(&r.sets));
	EXPECT_LT(1000, atomic_load(&r.gets));
	close(r.ep);
}

TEST_HARNESS_MAIN
