// SPDX-License-Identifier: GPL-2.0
/*
 * An epoll busy loop obeys its caller.  An instance with a long
 * busy_poll_usecs (5 s here; an unprivileged user may set up to S32_MAX us,
 * 35.8 minutes) that busy polls the NAPI instance of a netdevsim port, with
 * nothing to read, must still end its busy loop on the first of:
 *  - the caller's epoll_wait() or epoll_pwait2() timeout (200 ms, 50 ms),
 *  - a signal: SIGUSR1 with a handler (no SA_RESTART) gives EINTR at once,
 *    SIGKILL kills the task at once,
 *  - its own busy-poll time, when that is shorter than the wait.
 * Times are measured from outside the instance (CLOCK_MONOTONIC, the
 * thread's CPU time, waitpid()), and the instance's fdinfo shows that a
 * busy loop did run each time.  Needs root and netdevsim.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_nsim.h"

#define LONG_USECS 5000000	/* the instance's busy-poll time: 5 s */
#define PORT 4243
/* How late a stop may come: far below LONG_USECS, far above TCG's jitter. */
#define LATE_MS 1500

static long now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Set by the handler; read after epoll_wait() returned. */
static sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	got_usr1 = 1;
}

FIXTURE(sig)
{
	struct nsim_pair nsim;
	int ep;
};

FIXTURE_SETUP(sig)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const char *why;
	int ret;

	self->ep = -1;
	ret = nsim_pair_create(&self->nsim, PORT, &why);
	if (ret == -ENODEV && access("/sys/bus/netdevsim/new_device", W_OK))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	self->ep = epoll_create1(0);
	ASSERT_LE(0, self->ep);
	ASSERT_EQ(0, ep_set(self->ep, LONG_USECS, 16, 0, 0));
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->nsim.sock[1], &ev));
}

FIXTURE_TEARDOWN(sig)
{
	if (self->ep >= 0)
		close(self->ep);
	nsim_pair_destroy(&self->nsim);
}

/*
 * One datagram through @ep, which learns the NAPI ID of side 1's port from
 * it: the next wait with nothing to read busy polls.  Returns the busy
 * loops the instance had started by then, or -1.
 */
static long prime(struct nsim_pair *nsim, int ep)
{
	struct ep_counters c;
	struct epoll_event ev;
	char buf[8];

	if (nsim_send(nsim->sock[0], 2, PORT, "prime", 5) ||
	    epoll_wait(ep, &ev, 1, 5000) != 1 ||
	    recv(nsim->sock[1], buf, sizeof(buf), 0) != 5 ||
	    ep_counters(ep, &c) || c.napi_id == 0)
		return -1;
	return c.loops;
}

/* Busy loops started since prime() returned @before. */
static long loops_since(int ep, long before)
{
	struct ep_counters c;

	return ep_counters(ep, &c) ? -1 : (long)c.loops - before;
}

/* An idle epoll_wait() of @ms: returns its result; @wall and @cpu in ms. */
static int timed_wait(int ep, int ms, long *wall, long *cpu)
{
	long w = now_ms(CLOCK_MONOTONIC), c = now_ms(CLOCK_THREAD_CPUTIME_ID);
	struct epoll_event ev;
	int ret = epoll_wait(ep, &ev, 1, ms);

	*wall = now_ms(CLOCK_MONOTONIC) - w;
	*cpu = now_ms(CLOCK_THREAD_CPUTIME_ID) - c;
	return ret;
}

/* The caller's timeout ends the busy loop, not the instance's 5 s. */
static void check_timeout(struct __test_metadata *_metadata,
			  FIXTURE_DATA(sig) *self, int ms)
{
	long loops, wall, cpu;

	loops = prime(&self->nsim, self->ep);
	ASSERT_LE(0, loops) TH_LOG("a datagram must give the instance a NAPI ID");
	EXPECT_EQ(0, timed_wait(self->ep, ms, &wall, &cpu));
	ksft_print_msg("epoll_wait(%d ms), busy_poll_usecs=%d: %ld ms, %ld ms CPU\n",
		       ms, LONG_USECS, wall, cpu);
	EXPECT_EQ(1, loops_since(self->ep, loops))
		TH_LOG("the wait must have busy polled");
	EXPECT_LE(ms, wall) TH_LOG("the wait must last its timeout");
	EXPECT_GT(ms + LATE_MS, wall)
		TH_LOG("epoll_wait(%d ms) must return at its timeout, not after %d us",
		       ms, LONG_USECS);
	EXPECT_LE(ms / 2, cpu) TH_LOG("it must busy poll until its timeout");
}

TEST_F(sig, wait_200ms_ends_the_busy_loop_at_its_timeout)
{
	check_timeout(_metadata, self, 200);
}

TEST_F(sig, wait_50ms_ends_the_busy_loop_at_its_timeout)
{
	check_timeout(_metadata, self, 50);
}

TEST_F(sig, epoll_pwait2_ends_the_busy_loop_at_its_timeout)
{
	struct timespec ts = { .tv_nsec = 200 * 1000000L };
	struct epoll_event ev;
	long loops, wall;
	int ret;

	loops = prime(&self->nsim, self->ep);
	ASSERT_LE(0, loops);
	wall = now_ms(CLOCK_MONOTONIC);
	ret = syscall(__NR_epoll_pwait2, self->ep, &ev, 1, &ts, NULL, 0);
	wall = now_ms(CLOCK_MONOTONIC) - wall;
	ksft_print_msg("epoll_pwait2(200 ms), busy_poll_usecs=%d: %ld ms\n",
		       LONG_USECS, wall);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(1, loops_since(self->ep, loops));
	EXPECT_LE(200, wall);
	EXPECT_GT(200 + LATE_MS, wall)
		TH_LOG("epoll_pwait2()'s timeout must end the busy loop");
}

/* Sends SIGUSR1 to @arg's thread after 100 ms. */
static void *usr1_later(void *arg)
{
	usleep(100 * 1000);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

TEST_F(sig, sigusr1_gives_eintr_at_once)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	pthread_t self_thread = pthread_self(), sender;
	long loops, wall, cpu;
	int ret, err;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	loops = prime(&self->nsim, self->ep);
	ASSERT_LE(0, loops);
	got_usr1 = 0;
	ASSERT_EQ(0, pthread_create(&sender, NULL, usr1_later, &self_thread));
	ret = timed_wait(self->ep, -1, &wall, &cpu);
	err = errno;
	pthread_join(sender, NULL);
	signal(SIGUSR1, SIG_DFL);
	ksft_print_msg("SIGUSR1 100 ms into an endless wait: %s after %ld ms\n",
		       ret < 0 ? strerror(err) : "no error", wall);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINTR, err);
	EXPECT_EQ(1, got_usr1);
	EXPECT_EQ(1, loops_since(self->ep, loops));
	EXPECT_GT(100 + LATE_MS, wall)
		TH_LOG("a signal must end the busy loop, not the %d us busy-poll time",
		       LONG_USECS);
}

TEST_F(sig, sigkill_kills_at_once)
{
	long killed, reaped;
	int status, go[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct epoll_event ev;

		if (prime(&self->nsim, self->ep) < 0)
			_exit(2);
		if (write(go[1], "x", 1) != 1)
			_exit(4);
		epoll_wait(self->ep, &ev, 1, -1);
		_exit(3);
	}
	close(go[1]);
	ASSERT_EQ(1, read(go[0], &c, 1)) TH_LOG("the child must learn the NAPI ID");
	close(go[0]);
	/* Well into its busy loop. */
	usleep(100 * 1000);
	killed = now_ms(CLOCK_MONOTONIC);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	reaped = now_ms(CLOCK_MONOTONIC) - killed;
	ksft_print_msg("SIGKILL 100 ms into an endless wait: reaped %ld ms later\n",
		       reaped);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("status %#x", status);
	EXPECT_GT(LATE_MS, reaped)
		TH_LOG("SIGKILL must end the busy loop, not the %d us busy-poll time",
		       LONG_USECS);
}

TEST_F(sig, a_shorter_busy_poll_time_still_ends_the_loop)
{
	long loops, wall, cpu;

	/* 50 ms of busy polling in a 1 s wait: it spins 50 ms, then sleeps. */
	ASSERT_EQ(0, ep_set(self->ep, 50000, 16, 0, 0));
	loops = prime(&self->nsim, self->ep);
	ASSERT_LE(0, loops);
	EXPECT_EQ(0, timed_wait(self->ep, 1000, &wall, &cpu));
	ksft_print_msg("epoll_wait(1000 ms), busy_poll_usecs=50000: %ld ms, %ld ms CPU\n",
		       wall, cpu);
	EXPECT_EQ(1, loops_since(self->ep, loops));
	EXPECT_LE(1000, wall) TH_LOG("the wait must last its timeout");
	EXPECT_LE(25, cpu) TH_LOG("it must busy poll for its 50 ms");
	EXPECT_GT(500, cpu)
		TH_LOG("the busy loop must end after busy_poll_usecs, not at the wait's timeout");
}

TEST_HARNESS_MAIN
