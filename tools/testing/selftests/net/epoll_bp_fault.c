// SPDX-License-Identifier: GPL-2.0
/*
 * EPIOCSPARAMS and EPIOCGPARAMS when copying from or to userspace fails:
 * usercopy fault injection (CONFIG_FAULT_INJECTION_USERCOPY) makes the
 * copy of one call fail, at a random point of a sequence of calls (with
 * /proc/self/task/TID/fail-nth) or at random calls (with fail_usercopy's
 * probability).  The failing call returns EFAULT, stores nothing and
 * writes nothing; the calls around it work as usual.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"

#define DEBUGFS "/sys/kernel/debug/fail_usercopy/"

/* While fail_usercopy is armed for this task, the write() itself may be
 * the copy that fails: retry until it goes through.
 */
static int write_retry(const char *path, const char *s)
{
	int ret, tries = 1000;

	do
		ret = ep_write_file(path, s);
	while (ret == -EFAULT && --tries);
	return ret;
}

FIXTURE(fault)
{
	int ep;
	char fail_nth[64];
	uint64_t rnd;
};

FIXTURE_SETUP(fault)
{
	snprintf(self->fail_nth, sizeof(self->fail_nth),
		 "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	if (access(self->fail_nth, W_OK))
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION) or not root", self->fail_nth);
	if (access(DEBUGFS "verbose", W_OK))
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION_USERCOPY, debugfs)", DEBUGFS);
	/* An injected fault is no kernel problem: no stack dump for it. */
	ASSERT_EQ(0, ep_write_file(DEBUGFS "verbose", "0"));
	self->ep = epoll_create1(0);
	ASSERT_LE(0, self->ep);
	self->rnd = 0x2545f4914f6cdd1dULL ^ (uint64_t)getpid() << 20;
	TH_LOG("random sequence seed %#llx", (unsigned long long)self->rnd);
}

FIXTURE_TEARDOWN(fault)
{
	ep_write_file("/proc/self/make-it-fail", "0");
	ep_write_file(DEBUGFS "probability", "0");
	ep_write_file(self->fail_nth, "0");
	close(self->ep);
}

static uint32_t below(FIXTURE_DATA(fault) *self, uint32_t n)
{
	self->rnd ^= self->rnd << 13;
	self->rnd ^= self->rnd >> 7;
	self->rnd ^= self->rnd << 17;
	return (uint32_t)(self->rnd >> 32) % n;
}

/* Random params that EPIOCSPARAMS accepts (root: any budget). */
static struct epoll_params valid(FIXTURE_DATA(fault) *self)
{
	struct epoll_params p = {
		.busy_poll_usecs = below(self, 1000000),
		.busy_poll_budget = below(self, 200),
		.prefer_busy_poll = below(self, 2),
	};

	return p;
}

enum op { OP_SET, OP_SET_INVALID, OP_GET };

TEST_F(fault, the_nth_copy_fails_and_changes_nothing)
{
	struct epoll_params model, sent[8], got[8], now;
	int trial, k, n, i, ret[8];
	enum op ops[8];
	char buf[16];

	for (trial = 0; trial < 300; trial++) {
		model = valid(self);
		ASSERT_EQ(0, ep_ioctl(self->ep, EPIOCSPARAMS, &model));
		/* k calls, one copy each; the n-th copy fails. */
		k = 1 + below(self, 8);
		n = 1 + below(self, k);
		for (i = 0; i < k; i++) {
			ops[i] = below(self, 3);
			sent[i] = valid(self);
			if (ops[i] == OP_SET_INVALID)
				sent[i].__pad = 1;
			memset(&got[i], 0x5a, sizeof(got[i]));
		}
		snprintf(buf, sizeof(buf), "%d", n);
		ASSERT_EQ(0, ep_write_file(self->fail_nth, buf));
		for (i = 0; i < k; i++)
			ret[i] = ep_ioctl(self->ep, ops[i] == OP_GET ? EPIOCGPARAMS :
					  EPIOCSPARAMS, ops[i] == OP_GET ? &got[i] : &sent[i]);
		/* Reading fail-nth copies out: after the sequence, so it is
		 * not one of the n; 0 once the fault fired.
		 */
		memset(buf, 0, sizeof(buf));
		i = open(self->fail_nth, O_RDONLY);
		ASSERT_LT(0, read(i, buf, sizeof(buf) - 1));
		close(i);
		EXPECT_EQ(0, atoi(buf)) TH_LOG("the fault did not fire");

		for (i = 0; i < k; i++) {
			int want = i == n - 1 ? -EFAULT :
				   ops[i] == OP_SET_INVALID ? -EINVAL : 0;

			EXPECT_EQ(want, ret[i])
				TH_LOG("trial %d: call %d of %d (op %d), fault at %d",
				       trial, i + 1, k, ops[i], n);
			if (ops[i] == OP_SET && !ret[i])
				model = sent[i];
			if (ops[i] != OP_GET)
				continue;
			if (ret[i]) {
				memset(&now, 0x5a, sizeof(now));
				EXPECT_EQ(0, memcmp(&now, &got[i], sizeof(now)))
					TH_LOG("trial %d: a failed get wrote", trial);
			} else {
				EXPECT_EQ(ep_packed(&model), ep_packed(&got[i]))
					TH_LOG("trial %d: call %d got other params", trial, i + 1);
			}
		}
		EXPECT_EQ(ep_packed(&model), ep_now(self->ep))
			TH_LOG("trial %d: params after the sequence", trial);
		if (_metadata->exit_code)
			return;
	}
}

TEST_F(fault, random_copies_fail_and_change_nothing)
{
	struct epoll_params model = { 0 }, p;
	int i, ret, set, faults = 0, calls = 2000;

	/* From now on half of this task's usercopies fail, at random. */
	ASSERT_EQ(0, ep_write_file(DEBUGFS "interval", "1"));
	ASSERT_EQ(0, ep_write_file(DEBUGFS "times", "-1"));
	ASSERT_EQ(0, ep_write_file(DEBUGFS "space", "0"));
	ASSERT_EQ(0, ep_write_file(DEBUGFS "task-filter", "Y"));
	ASSERT_EQ(0, ep_write_file(DEBUGFS "probability", "50"));
	ASSERT_EQ(0, ep_write_file("/proc/self/make-it-fail", "1"));
	for (i = 0; i < calls; i++) {
		set = below(self, 2);
		p = valid(self);
		ret = ep_ioctl(self->ep, set ? EPIOCSPARAMS : EPIOCGPARAMS, &p);
		if (ret == -EFAULT) {
			faults++;
			continue;
		}
		if (ret)
			break;
		if (set)
			model = p;
		else if (ep_packed(&p) != ep_packed(&model))
			break;
	}
	/* Disarm before reporting: printing copies from userspace too. */
	ASSERT_EQ(0, write_retry("/proc/self/make-it-fail", "0"));
	ASSERT_EQ(0, ep_write_file(DEBUGFS "probability", "0"));
	EXPECT_EQ(calls, i)
		TH_LOG("call %d (%s) returned %d; params %#llx, last stored %#llx", i,
		       set ? "set" : "get", ret, (unsigned long long)ep_packed(&p),
		       (unsigned long long)ep_packed(&model));
	EXPECT_EQ(ep_packed(&model), ep_now(self->ep));
	ksft_print_msg("%d of %d calls failed by injection\n", faults, calls);
	/* Both outcomes happen, or the test saw nothing of the fault path. */
	EXPECT_LT(calls / 4, faults);
	EXPECT_GT(calls * 3 / 4, faults);
}

TEST_HARNESS_MAIN
