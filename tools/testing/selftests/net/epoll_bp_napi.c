// SPDX-License-Identifier: GPL-2.0
/*
 * Real busy polling, seen from outside the epoll instance: over a linked
 * netdevsim pair in two network namespaces (whose NAPI instances give the
 * sockets NAPI IDs), measure the CPU time a thread burns in an idle
 * epoll_wait().  An instance with busy_poll_usecs set spins about that
 * long; one without params sleeps, unless net.core.busy_poll is on (the OR
 * rule).  The budget and the preference reach napi_busy_loop(), as the
 * napi:napi_poll tracepoint shows.  Messages must arrive, both ways, with
 * and without busy polling.  Needs root in the initial network namespace and netdevsim.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_nsim.h"

#define BUSY_USECS 50000	/* per-instance busy-poll time: 50 ms */
#define WAIT_MS 100		/* an idle epoll_wait() lasts twice that */
#define PORT 4242
#define MESSAGES 200

static int set_busy_poll_sysctl(long usecs)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", usecs);
	return ep_write_file("/proc/sys/net/core/busy_poll", buf);
}

static long thread_cpu_usecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

FIXTURE(napi)
{
	struct nsim_pair nsim;
	long saved_busy_poll;
};

FIXTURE_SETUP(napi)
{
	const char *why;
	int ret;

	self->saved_busy_poll = -1;
	ret = nsim_pair_create(&self->nsim, PORT, &why);
	if (ret == -ENODEV && access("/sys/bus/netdevsim/new_device", W_OK))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	self->saved_busy_poll = nsim_read_long("/proc/sys/net/core/busy_poll");
	ASSERT_LE(0, self->saved_busy_poll)
		TH_LOG("net.core.busy_poll exists only in the initial netns");
	ASSERT_EQ(0, set_busy_poll_sysctl(0));
}

FIXTURE_TEARDOWN(napi)
{
	nsim_pair_destroy(&self->nsim);
	if (self->saved_busy_poll >= 0)
		set_busy_poll_sysctl(self->saved_busy_poll);
}

/* Sends one message to side 1 and takes it through @ep, which records the
 * socket's NAPI ID if busy polling is on for it.
 */
static int prime(FIXTURE_DATA(napi) *self, int ep)
{
	struct epoll_event ev;
	char buf[8];

	if (nsim_send(self->nsim.sock[0], 2, PORT, "prime", 5))
		return -1;
	if (epoll_wait(ep, &ev, 1, 5000) != 1)
		return -1;
	return recv(self->nsim.sock[1], buf, sizeof(buf), 0) == 5 ? 0 : -1;
}

/* CPU time (us) the thread burns in one idle WAIT_MS epoll_wait(). */
static long idle_wait_cpu(int ep)
{
	struct epoll_event ev;
	long before = thread_cpu_usecs();

	if (epoll_wait(ep, &ev, 1, WAIT_MS) != 0)
		return -1;
	return thread_cpu_usecs() - before;
}

static int watch(int ep, int sock)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(ep, EPOLL_CTL_ADD, sock, &ev);
}

TEST_F(napi, per_instance_params_busy_poll_and_others_sleep)
{
	int busy = epoll_create1(0), idle = epoll_create1(0);
	long cpu_busy, cpu_idle;

	ASSERT_EQ(0, ep_set(busy, BUSY_USECS, 16, 0, 0));
	ASSERT_EQ(0, watch(busy, self->nsim.sock[1]));
	ASSERT_EQ(0, watch(idle, self->nsim.sock[1]));

	ASSERT_EQ(0, prime(self, busy));
	cpu_busy = idle_wait_cpu(busy);
	ASSERT_EQ(0, prime(self, idle));
	cpu_idle = idle_wait_cpu(idle);
	ksft_print_msg("idle %d ms wait: %ld us CPU with busy_poll_usecs=%d, %ld us without\n",
		       WAIT_MS, cpu_busy, BUSY_USECS, cpu_idle);
	EXPECT_LE(BUSY_USECS / 2, cpu_busy)
		TH_LOG("an instance with busy_poll_usecs set must spin about that long");
	EXPECT_GE(BUSY_USECS / 5, cpu_idle)
		TH_LOG("an instance without params must sleep (net.core.busy_poll=0)");
	close(busy);
	close(idle);
}

TEST_F(napi, sysctl_turns_busy_polling_on_for_instances_without_params)
{
	int ep = epoll_create1(0);
	long cpu;

	ASSERT_EQ(0, watch(ep, self->nsim.sock[1]));
	ASSERT_EQ(0, set_busy_poll_sysctl(BUSY_USECS));
	ASSERT_EQ(0, prime(self, ep));
	cpu = idle_wait_cpu(ep);
	ASSERT_EQ(0, set_busy_poll_sysctl(0));
	ksft_print_msg("idle %d ms wait with net.core.busy_poll=%d and no params: %ld us CPU\n",
		       WAIT_MS, BUSY_USECS, cpu);
	EXPECT_LE(BUSY_USECS / 2, cpu)
		TH_LOG("busy_poll_usecs=0 OR net.core.busy_poll>0 must busy poll");
	close(ep);
}

TEST_F(napi, instance_usecs_win_over_the_sysctl_time)
{
	int ep = epoll_create1(0);
	long cpu;

	/* The sysctl turns polling on for 1 ms; the instance asks for 50. */
	ASSERT_EQ(0, ep_set(ep, BUSY_USECS, 0, 0, 0));
	ASSERT_EQ(0, watch(ep, self->nsim.sock[1]));
	ASSERT_EQ(0, set_busy_poll_sysctl(1000));
	ASSERT_EQ(0, prime(self, ep));
	cpu = idle_wait_cpu(ep);
	ASSERT_EQ(0, set_busy_poll_sysctl(0));
	EXPECT_LE(BUSY_USECS / 2, cpu)
		TH_LOG("the timeout is the instance's busy_poll_usecs when set");
	close(ep);
}

/* Sends MESSAGES numbered messages from side @from to the other side and
 * takes each through epoll instance @ep; returns how many arrived right.
 */
static int exchange(FIXTURE_DATA(napi) *self, int ep, int from)
{
	int to = !from, i, good = 0;
	struct epoll_event ev;
	char out[32], in[32];
	ssize_t n;

	for (i = 0; i < MESSAGES; i++) {
		snprintf(out, sizeof(out), "message %d", i);
		if (nsim_send(self->nsim.sock[from], to + 1, PORT, out, strlen(out)))
			break;
		if (epoll_wait(ep, &ev, 1, 5000) != 1)
			break;
		n = recv(self->nsim.sock[to], in, sizeof(in) - 1, 0);
		if (n < 0)
			break;
		in[n] = 0;
		good += !strcmp(in, out);
	}
	return good;
}

TEST_F(napi, messages_arrive_both_ways_with_and_without_busy_polling)
{
	int busy[2], idle[2], i;

	for (i = 0; i < 2; i++) {
		busy[i] = epoll_create1(0);
		idle[i] = epoll_create1(0);
		ASSERT_EQ(0, ep_set(busy[i], 200, 8, 1, 0));
		ASSERT_EQ(0, watch(busy[i], self->nsim.sock[i]));
		ASSERT_EQ(0, watch(idle[i], self->nsim.sock[i]));
	}
	EXPECT_EQ(MESSAGES, exchange(self, busy[1], 0)) TH_LOG("1 -> 2, busy polling");
	EXPECT_EQ(MESSAGES, exchange(self, busy[0], 1)) TH_LOG("2 -> 1, busy polling");
	EXPECT_EQ(MESSAGES, exchange(self, idle[1], 0)) TH_LOG("1 -> 2, no busy polling");
	EXPECT_EQ(MESSAGES, exchange(self, idle[0], 1)) TH_LOG("2 -> 1, no busy polling");
	for (i = 0; i < 2; i++) {
		close(busy[i]);
		close(idle[i]);
	}
}

#define TRACING "/sys/kernel/tracing"

/* Counts napi:napi_poll events in the trace buffer that end in @tail. */
static int napi_polls(const char *tail)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(TRACING "/trace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "napi_poll:") && strstr(line, tail))
			n++;
	fclose(f);
	return n;
}

static int napi_polls_with_budget(int budget)
{
	char tail[32];

	snprintf(tail, sizeof(tail), " budget %d\n", budget);
	return napi_polls(tail);
}

TEST_F(napi, budget_reaches_napi_busy_loop)
{
	/* Budgets as set, and what napi_busy_loop() must get.  64 is left
	 * out: softirq NAPI polls use the weight, 64, too.
	 */
	static const int set[] = { 0, 16, 1000 }, want[] = { 8, 16, 1000 };
	int ep, i, polls;

	if (access(TRACING "/events/napi/napi_poll/enable", W_OK))
		SKIP(return, "no napi:napi_poll tracepoint (CONFIG_TRACING, tracefs)");
	for (i = 0; i < 3; i++) {
		ep = epoll_create1(0);
		ASSERT_EQ(0, ep_set(ep, BUSY_USECS / 5, set[i], 0, 0));
		ASSERT_EQ(0, watch(ep, self->nsim.sock[1]));
		ASSERT_EQ(0, prime(self, ep));
		ASSERT_EQ(0, ep_write_file(TRACING "/trace", ""));
		ASSERT_EQ(0, ep_write_file(TRACING "/events/napi/napi_poll/enable", "1"));
		idle_wait_cpu(ep);
		ASSERT_EQ(0, ep_write_file(TRACING "/events/napi/napi_poll/enable", "0"));
		polls = napi_polls_with_budget(want[i]);
		ksft_print_msg("busy_poll_budget=%d: %d napi polls with budget %d\n",
			       set[i], polls, want[i]);
		EXPECT_LT(0, polls)
			TH_LOG("busy_poll_budget=%d must poll with budget %d", set[i], want[i]);
		close(ep);
	}
}

/* Writes @val to net device attribute @attr of side @i's port.  sysfs shows
 * a netns's devices only when mounted from it: mount one there, in a mount
 * namespace of this test's own.
 */
static int set_port_attr(FIXTURE_DATA(napi) *self, int i, const char *attr,
			 const char *val)
{
	char dir[] = "/tmp/epoll_bp_sysfs.XXXXXX", path[128];
	int ret;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    !mkdtemp(dir) || setns(self->nsim.ns[i], CLONE_NEWNET))
		return -errno;
	ret = mount("sysfs", dir, "sysfs", 0, NULL) ? -errno : 0;
	if (!ret) {
		snprintf(path, sizeof(path), "%s/class/net/%s/%s", dir, self->nsim.port[i], attr);
		ret = ep_write_file(path, val);
		umount(dir);
	}
	rmdir(dir);
	if (setns(self->nsim.init_ns, CLONE_NEWNET))
		return -errno;
	return ret;
}

TEST_F(napi, prefer_busy_poll_reaches_napi_busy_loop)
{
	/* With napi_defer_hard_irqs and gro_flush_timeout set on the device,
	 * a busy loop that prefers busy polling ends by arming the NAPI
	 * watchdog timer, whose softirq poll finds nothing (work 0, budget =
	 * weight 64); without the preference the loop ends with no such poll.
	 */
	char tail[64];
	int ep, prefer, polls[2];

	if (access(TRACING "/events/napi/napi_poll/enable", W_OK))
		SKIP(return, "no napi:napi_poll tracepoint (CONFIG_TRACING, tracefs)");
	ASSERT_EQ(0, set_port_attr(self, 1, "napi_defer_hard_irqs", "1"));
	ASSERT_EQ(0, set_port_attr(self, 1, "gro_flush_timeout", "200000"));
	snprintf(tail, sizeof(tail), " device %s work 0 budget %d\n", self->nsim.port[1],
		 EP_NAPI_POLL_WEIGHT);
	for (prefer = 0; prefer < 2; prefer++) {
		ep = epoll_create1(0);
		ASSERT_EQ(0, ep_set(ep, BUSY_USECS / 5, 16, prefer, 0));
		ASSERT_EQ(0, watch(ep, self->nsim.sock[1]));
		ASSERT_EQ(0, prime(self, ep));
		usleep(20000);	/* let the receive path's own timers run out */
		ASSERT_EQ(0, ep_write_file(TRACING "/trace", ""));
		ASSERT_EQ(0, ep_write_file(TRACING "/events/napi/napi_poll/enable", "1"));
		idle_wait_cpu(ep);
		usleep(20000);
		ASSERT_EQ(0, ep_write_file(TRACING "/events/napi/napi_poll/enable", "0"));
		polls[prefer] = napi_polls(tail);
		close(ep);
	}
	ksft_print_msg("softirq polls after busy loop: %d with prefer_busy_poll=0, %d with 1\n",
		       polls[0], polls[1]);
	EXPECT_EQ(0, polls[0]) TH_LOG("without prefer_busy_poll no watchdog poll");
	EXPECT_LT(0, polls[1])
		TH_LOG("prefer_busy_poll=1 must reach napi_busy_loop (NAPI_F_PREFER_BUSY_POLL)");
}

TEST_HARNESS_MAIN
