// SPDX-License-Identifier: GPL-2.0
/*
 * ABI conformance of EPIOCSPARAMS / EPIOCGPARAMS: every validation rule and
 * its errno, the state after a refused call, bad user pointers, foreign
 * commands and foreign files, and sharing of an instance across dup() and
 * fork().  Runs as root; built 64- and 32-bit.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"

/* The layout of the original v4 proposal: 16 bytes, with a u64 field. */
struct epoll_params_v4 {
	uint64_t busy_poll_usecs;
	uint16_t busy_poll_budget;
	uint8_t prefer_busy_poll;
	uint8_t __pad[5];
};

FIXTURE(abi)
{
	int ep;
	long page;
	char *rw;	/* a writable page */
	char *none;	/* the next page, PROT_NONE */
	char *ro;	/* a read-only page */
	char *gone;	/* an address that was unmapped */
};

FIXTURE_SETUP(abi)
{
	self->ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->ep) TH_LOG("epoll_create1: %s", strerror(errno));
	self->page = sysconf(_SC_PAGESIZE);
	self->rw = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(self->rw != MAP_FAILED);
	self->none = self->rw + self->page;
	self->ro = self->rw + 2 * self->page;
	self->gone = self->rw + 3 * self->page;
	ASSERT_EQ(0, mprotect(self->none, self->page, PROT_NONE));
	memset(self->ro, 0, self->page);
	ASSERT_EQ(0, mprotect(self->ro, self->page, PROT_READ));
	ASSERT_EQ(0, munmap(self->gone, self->page));
}

FIXTURE_TEARDOWN(abi)
{
	munmap(self->rw, 3 * self->page);
	close(self->ep);
}

TEST_F(abi, fresh_instance_reads_all_zero)
{
	struct epoll_params p;

	ASSERT_EQ(0, ep_get(self->ep, &p));
	EXPECT_EQ(0, p.busy_poll_usecs);
	EXPECT_EQ(0, p.busy_poll_budget);
	EXPECT_EQ(0, p.prefer_busy_poll);
	EXPECT_EQ(0, p.__pad) TH_LOG("the pad must read back as zero");
}

TEST_F(abi, get_writes_exactly_eight_bytes)
{
	unsigned char buf[16];
	int i;

	ASSERT_EQ(0, ep_set(self->ep, 0x01020304, 0x0506, 1, 0));
	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ(0, ep_ioctl(self->ep, EPIOCGPARAMS, buf + 4));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0x5a, buf[i]) TH_LOG("byte %d before the struct written", i);
	for (i = 12; i < 16; i++)
		EXPECT_EQ(0x5a, buf[i]) TH_LOG("byte %d after the struct written", i);
	EXPECT_EQ(0, buf[11]) TH_LOG("the pad byte must be written as zero");
}

TEST_F(abi, set_then_get_round_trips)
{
	static const struct epoll_params cases[] = {
		{ 1, 0, 0, 0 }, { 100, 16, 1, 0 }, { EP_S32_MAX, 64, 1, 0 },
		{ 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 0 },
	};
	struct epoll_params p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = cases[i];
		ASSERT_EQ(0, ep_ioctl(self->ep, EPIOCSPARAMS, &p));
		EXPECT_EQ(ep_packed(&cases[i]), ep_now(self->ep))
			TH_LOG("case %zu did not read back as set", i);
	}
}

/* The busy-poll lines of /proc/self/fdinfo/@fd into @p, and the number of
 * them and of "tfd:" lines found in @params and @tfds; 0 or -errno.
 */
static int fdinfo_params(int fd, struct epoll_params *p, int *params, int *tfds)
{
	char path[64], line[256];
	unsigned int v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	memset(p, 0xa5, sizeof(*p));
	*params = 0;
	*tfds = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "busy_poll_usecs: %u", &v) == 1)
			p->busy_poll_usecs = v, ++*params;
		else if (sscanf(line, "busy_poll_budget: %u", &v) == 1)
			p->busy_poll_budget = v, ++*params;
		else if (sscanf(line, "prefer_busy_poll: %u", &v) == 1)
			p->prefer_busy_poll = v, ++*params;
		else if (!strncmp(line, "tfd:", 4))
			++*tfds;
	}
	fclose(f);
	return 0;
}

TEST_F(abi, fdinfo_shows_the_params)
{
	static const struct epoll_params cases[] = {
		{ 100, 16, 1, 0 }, { EP_S32_MAX, 64, 0, 0 }, { 0, 1, 1, 0 },
		{ 50, 0, 0, 0 },
	};
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_params p;
	int params, tfds, efd = eventfd(0, 0);
	size_t i;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, fdinfo_params(self->ep, &p, &params, &tfds));
	ASSERT_EQ(3, params) TH_LOG("busy_poll_usecs, _budget and prefer_busy_poll lines");
	EXPECT_EQ(0, p.busy_poll_usecs);
	EXPECT_EQ(0, p.busy_poll_budget);
	EXPECT_EQ(0, p.prefer_busy_poll);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, ep_set(self->ep, cases[i].busy_poll_usecs,
				    cases[i].busy_poll_budget,
				    cases[i].prefer_busy_poll, 0));
		ASSERT_EQ(0, fdinfo_params(self->ep, &p, &params, &tfds));
		ASSERT_EQ(3, params);
		EXPECT_EQ(cases[i].busy_poll_usecs, p.busy_poll_usecs) TH_LOG("case %zu", i);
		EXPECT_EQ(cases[i].busy_poll_budget, p.busy_poll_budget) TH_LOG("case %zu", i);
		EXPECT_EQ(cases[i].prefer_busy_poll, p.prefer_busy_poll) TH_LOG("case %zu", i);
	}
	/* A refused call shows nothing new; the watched files stay listed. */
	ASSERT_EQ(-EINVAL, ep_set(self->ep, 7, 7, 2, 0));
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, efd, &ev));
	ASSERT_EQ(0, fdinfo_params(self->ep, &p, &params, &tfds));
	EXPECT_EQ(3, params);
	EXPECT_EQ(1, tfds);
	EXPECT_EQ(50, p.busy_poll_usecs);
	EXPECT_EQ(0, p.busy_poll_budget);
	EXPECT_EQ(0, p.prefer_busy_poll);
	close(efd);
}

TEST_F(abi, set_reads_from_a_read_only_page)
{
	struct epoll_params *p = (void *)self->ro;

	EXPECT_EQ(0, ep_ioctl(self->ep, EPIOCSPARAMS, p))
		TH_LOG("EPIOCSPARAMS only reads its argument");
	EXPECT_EQ(0, ep_now(self->ep));
}

TEST_F(abi, nonzero_pad_is_einval)
{
	int pad;

	ASSERT_EQ(0, ep_set(self->ep, 7, 8, 1, 0));
	for (pad = 1; pad < 256; pad++)
		EXPECT_EQ(-EINVAL, ep_set(self->ep, 10, 8, 0, pad))
			TH_LOG("__pad=%d must be refused", pad);
	EXPECT_EQ(ep_pack(7, 8, 1), ep_now(self->ep));
}

TEST_F(abi, usecs_above_s32_max_is_einval)
{
	EXPECT_EQ(0, ep_set(self->ep, EP_S32_MAX, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ep_set(self->ep, EP_S32_MAX + 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ep_set(self->ep, 0x80000001U, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ep_set(self->ep, UINT32_MAX, 0, 0, 0));
	EXPECT_EQ(ep_pack(EP_S32_MAX, 0, 0), ep_now(self->ep));
}

TEST_F(abi, prefer_above_one_is_einval)
{
	int prefer;

	ASSERT_EQ(0, ep_set(self->ep, 5, 0, 1, 0));
	for (prefer = 2; prefer < 256; prefer++)
		EXPECT_EQ(-EINVAL, ep_set(self->ep, 5, 0, prefer, 0))
			TH_LOG("prefer_busy_poll=%d must be refused", prefer);
	EXPECT_EQ(ep_pack(5, 0, 1), ep_now(self->ep));
}

TEST_F(abi, root_may_set_any_budget)
{
	if (geteuid() != 0)
		SKIP(return, "needs root (CAP_NET_ADMIN)");
	EXPECT_EQ(0, ep_set(self->ep, 0, 65, 0, 0));
	EXPECT_EQ(0, ep_set(self->ep, 0, 1000, 0, 0));
	EXPECT_EQ(0, ep_set(self->ep, 0, UINT16_MAX, 0, 0));
	EXPECT_EQ(ep_pack(0, UINT16_MAX, 0), ep_now(self->ep));
}

TEST_F(abi, set_efault_changes_nothing)
{
	void *straddle = self->none - 4;	/* 4 bytes readable, 4 not */

	ASSERT_EQ(0, ep_set(self->ep, 100, 16, 1, 0));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCSPARAMS, NULL));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCSPARAMS, self->gone))
		TH_LOG("an unmapped source must be EFAULT");
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCSPARAMS, self->none));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCSPARAMS, straddle))
		TH_LOG("a source straddling into a PROT_NONE page must be EFAULT");
	EXPECT_EQ(ep_pack(100, 16, 1), ep_now(self->ep));
}

TEST_F(abi, get_efault_changes_nothing)
{
	void *straddle = self->none - 4;

	ASSERT_EQ(0, ep_set(self->ep, 100, 16, 1, 0));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCGPARAMS, NULL));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCGPARAMS, self->gone));
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCGPARAMS, straddle))
		TH_LOG("a destination straddling into PROT_NONE must be EFAULT");
	EXPECT_EQ(-EFAULT, ep_ioctl(self->ep, EPIOCGPARAMS, self->ro))
		TH_LOG("a read-only destination must be EFAULT");
	EXPECT_EQ(ep_pack(100, 16, 1), ep_now(self->ep));
}

TEST_F(abi, other_commands_are_einval)
{
	const unsigned long cmds[] = {
		_IO(EPOLL_IOC_TYPE, 0x00),
		_IO(EPOLL_IOC_TYPE, 0x01),
		_IO(EPOLL_IOC_TYPE, 0x02),
		_IOW(EPOLL_IOC_TYPE, 0x01, struct epoll_params_v4),
		_IOR(EPOLL_IOC_TYPE, 0x02, struct epoll_params_v4),
		_IOR(EPOLL_IOC_TYPE, 0x01, struct epoll_params),
		_IOW(EPOLL_IOC_TYPE, 0x02, struct epoll_params),
		_IOWR(EPOLL_IOC_TYPE, 0x01, struct epoll_params),
		_IOWR(EPOLL_IOC_TYPE, 0x02, struct epoll_params),
		_IOW(EPOLL_IOC_TYPE, 0x03, struct epoll_params),
		_IOR(EPOLL_IOC_TYPE, 0xff, struct epoll_params),
		_IOW(EPOLL_IOC_TYPE + 1, 0x01, struct epoll_params),
		_IOR(EPOLL_IOC_TYPE - 1, 0x02, struct epoll_params),
		TCGETS, FIONREAD, 0, 0xffffffffUL,
	};
	struct epoll_params p;
	size_t i;

	ASSERT_EQ(0, ep_set(self->ep, 3, 2, 1, 0));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(&p, 0, sizeof(p));
		EXPECT_EQ(-EINVAL, ep_ioctl(self->ep, cmds[i], &p))
			TH_LOG("command %#lx on an epoll fd must be EINVAL", cmds[i]);
	}
	EXPECT_EQ(ep_pack(3, 2, 1), ep_now(self->ep));
}

TEST(non_epoll_files_are_enotty)
{
	char path[] = "/tmp/epoll_bp_abi.XXXXXX";
	struct epoll_params p = { 0 };
	int fds[7], pipefd[2], i;
	static const char * const what[] = {
		"unix socket", "udp socket", "pipe", "pipe (write end)",
		"eventfd", "regular file", "memfd",
	};

	ASSERT_EQ(0, pipe(pipefd));
	fds[0] = socket(AF_UNIX, SOCK_DGRAM, 0);
	fds[1] = socket(AF_INET, SOCK_DGRAM, 0);
	fds[2] = pipefd[0];
	fds[3] = pipefd[1];
	fds[4] = eventfd(0, 0);
	fds[5] = mkstemp(path);
	fds[6] = memfd_create("epoll_bp_abi", 0);
	unlink(path);
	for (i = 0; i < 7; i++) {
		ASSERT_LE(0, fds[i]) TH_LOG("cannot open a %s", what[i]);
		EXPECT_EQ(-ENOTTY, ep_ioctl(fds[i], EPIOCGPARAMS, &p))
			TH_LOG("EPIOCGPARAMS on a %s", what[i]);
		EXPECT_EQ(-ENOTTY, ep_ioctl(fds[i], EPIOCSPARAMS, &p))
			TH_LOG("EPIOCSPARAMS on a %s", what[i]);
		close(fds[i]);
	}
}

TEST(dup_shares_the_instance)
{
	int ep = epoll_create1(0), copy;

	ASSERT_LE(0, ep);
	copy = dup(ep);
	ASSERT_LE(0, copy);
	ASSERT_EQ(0, ep_set(ep, 11, 12, 1, 0));
	EXPECT_EQ(ep_pack(11, 12, 1), ep_now(copy));
	ASSERT_EQ(0, ep_set(copy, 21, 22, 0, 0));
	EXPECT_EQ(ep_pack(21, 22, 0), ep_now(ep));
	close(copy);
	EXPECT_EQ(ep_pack(21, 22, 0), ep_now(ep))
		TH_LOG("closing a dup must not reset the instance");
	close(ep);
}

TEST(fork_shares_the_instance)
{
	int ep = epoll_create1(0), status;
	pid_t pid;

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, ep_set(ep, 31, 32, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child sees the parent's params, then sets its own. */
		if (ep_now(ep) != ep_pack(31, 32, 1))
			_exit(1);
		_exit(ep_set(ep, 41, 42, 0, 0) ? 2 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 1 = did not see the parent's params, 2 = set failed");
	EXPECT_EQ(ep_pack(41, 42, 0), ep_now(ep))
		TH_LOG("the parent must see what the child set");
	close(ep);
}

TEST(instances_are_independent)
{
	int a = epoll_create1(0), b = epoll_create1(0);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, ep_set(a, 51, 52, 1, 0));
	EXPECT_EQ(0, ep_now(b));
	ASSERT_EQ(0, ep_set(b, 61, 0, 0, 0));
	EXPECT_EQ(ep_pack(51, 52, 1), ep_now(a));
	EXPECT_EQ(-EINVAL, ep_set(b, 1, 1, 9, 0));
	EXPECT_EQ(ep_pack(51, 52, 1), ep_now(a));
	EXPECT_EQ(ep_pack(61, 0, 0), ep_now(b));
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
