// SPDX-License-Identifier: GPL-2.0
/*
 * Leaks under load: rounds of 10,000 epoll instances, each with busy-poll
 * params set, a socket watched, a wait and a read-back, all closed at the
 * end of the round.  After the first round (which warms the slab caches)
 * the kernel's slab usage must come back to where it was, and kmemleak,
 * where the kernel has it, must find nothing (whoever leaked it: the test
 * runner clears what booting left before the tests start).
 *
 * EPOLL_BP_STRESS_ROUNDS sets the number of rounds (default 3).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"

#define INSTANCES 10000
#define KMEMLEAK "/sys/kernel/debug/kmemleak"
/* The smallest leak per instance and round the slab check is sure to see:
 * the settled slab usage moves by up to ~160 KiB between rounds on its
 * own (measured), 2 x 10,000 x 32 bytes is 625 KiB.  kmemleak, on the
 * debug kernels, sees any leak.
 */
#define LEAK_BYTES_PER_INSTANCE 32
#define MAX_LEAKS_SHOWN 20

/* A /proc/meminfo field, in KiB; -1 if absent. */
static long meminfo_kib(const char *field)
{
	char line[128];
	size_t len = strlen(field);
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kib = atol(line + len + 1);
	fclose(f);
	return kib;
}

/* Asks every slab cache to give back what it can (kmem_cache_shrink()),
 * which also empties KASAN's quarantine of freed objects.
 */
static void shrink_slab_caches(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.') {
			snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
			ep_write_file(path, "1");
		}
	closedir(dir);
}

/* Slab in use once freed objects have settled: RCU callbacks have run,
 * reclaimable caches (dentries) are shrunk, quarantines emptied.
 */
static long settled_slab_kib(void)
{
	sync();
	usleep(500000);
	ep_write_file("/proc/sys/vm/drop_caches", "2");
	usleep(500000);
	shrink_slab_caches();
	return meminfo_kib("Slab");
}

/* Prints the caches of /proc/slabinfo, to compare by eye on a failure. */
static void print_slabinfo(const char *when)
{
	char line[256];
	FILE *f = fopen("/proc/slabinfo", "r");
	long active, total, size;
	char name[64];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &total, &size) == 4 &&
		    active * size >= 64 * 1024)
			ksft_print_msg("slabinfo %s: %-24s %8ld objects of %ld bytes\n",
				       when, name, active, size);
	fclose(f);
}

FIXTURE(stress)
{
	int ep[INSTANCES];
	int sv[2];
	int rounds;
};

FIXTURE_SETUP(stress)
{
	struct rlimit rl = { INSTANCES + 64, INSTANCES + 64 };
	const char *env = getenv("EPOLL_BP_STRESS_ROUNDS");

	self->rounds = env ? atoi(env) : 3;
	ASSERT_LE(2, self->rounds) TH_LOG("need 2 rounds: one warms up, one measures");
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl))
		TH_LOG("need %d open files: run as root", INSTANCES + 64);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, self->sv));
}

FIXTURE_TEARDOWN(stress)
{
	close(self->sv[0]);
	close(self->sv[1]);
}

/* One round: INSTANCES instances set up, used and closed.  Returns the
 * slab usage (KiB) with all of them open.
 */
static long round_of_instances(struct __test_metadata *_metadata,
			       FIXTURE_DATA(stress) *self)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_params p;
	long peak;
	int i;

	for (i = 0; i < INSTANCES; i++) {
		self->ep[i] = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, self->ep[i]) TH_LOG("instance %d", i);
		ASSERT_EQ(0, ep_set(self->ep[i], i % 1000, i % 128, i & 1, 0));
		ASSERT_EQ(0, epoll_ctl(self->ep[i], EPOLL_CTL_ADD, self->sv[0], &ev));
		ASSERT_EQ(0, epoll_wait(self->ep[i], &ev, 1, 0));
		ASSERT_EQ(0, ep_get(self->ep[i], &p));
		ASSERT_EQ(ep_pack(i % 1000, i % 128, i & 1), ep_packed(&p));
	}
	peak = meminfo_kib("Slab");
	for (i = 0; i < INSTANCES; i++)
		ASSERT_EQ(0, close(self->ep[i]));
	return peak;
}

TEST_F_TIMEOUT(stress, instances_come_and_go_without_leaks, 900)
{
	long base, peak = 0, now = 0, slack;
	int r, leaks = !access(KMEMLEAK, W_OK);
	int leaked = 0;
	char line[256];
	FILE *f;

	ASSERT_LE(0, meminfo_kib("Slab")) TH_LOG("no Slab: in /proc/meminfo");
	if (!leaks)
		ksft_print_msg("no %s (CONFIG_DEBUG_KMEMLEAK): checking slab usage only\n",
			       KMEMLEAK);
	round_of_instances(_metadata, self);
	if (_metadata->exit_code)
		return;
	base = settled_slab_kib();
	print_slabinfo("after the warm-up round");
	for (r = 2; r <= self->rounds; r++) {
		peak = round_of_instances(_metadata, self);
		if (_metadata->exit_code)
			return;
		now = settled_slab_kib();
		ksft_print_msg("round %d: slab %ld KiB open, %ld KiB closed, baseline %ld KiB\n",
			       r, peak, now, base);
	}
	/* A leak of LEAK_BYTES_PER_INSTANCE per instance, over the measured
	 * rounds, is more than this.
	 */
	slack = (long)(self->rounds - 1) * INSTANCES * LEAK_BYTES_PER_INSTANCE / 1024;
	EXPECT_GT(base + slack, now) {
		print_slabinfo("at the end");
		TH_LOG("slab usage grew by %ld KiB over %d rounds (limit %ld KiB)",
		       now - base, self->rounds - 1, slack);
	}
	EXPECT_LT(now + slack, peak)
		TH_LOG("%d open instances did not show in the slab usage", INSTANCES);
	if (!leaks)
		return;
	/* kmemleak reports objects older than 5 s: wait, then scan twice. */
	sleep(6);
	ASSERT_EQ(0, ep_write_file(KMEMLEAK, "scan"));
	ASSERT_EQ(0, ep_write_file(KMEMLEAK, "scan"));
	f = fopen(KMEMLEAK, "r");
	ASSERT_NE(NULL, f);
	/* The first MAX_LEAKS_SHOWN objects, each whole, and the count. */
	while (fgets(line, sizeof(line), f)) {
		leaked += !strncmp(line, "unreferenced object", 19);
		if (leaked && leaked <= MAX_LEAKS_SHOWN)
			printf("%s", line);
	}
	fclose(f);
	EXPECT_EQ(0, leaked)
		TH_LOG("kmemleak: %d unreferenced objects, the first %d above",
		       leaked, MAX_LEAKS_SHOWN);
}

TEST_HARNESS_MAIN
