// SPDX-License-Identifier: GPL-2.0
/*
 * Differential ioctl stream: a seeded random sequence of epoll ioctls
 * (EPIOCSPARAMS and EPIOCGPARAMS with near-valid payloads, other type-0x8A
 * commands, bad pointers, with and without CAP_NET_ADMIN) whose outcomes
 * (return value, errno, bytes written back, params after the call) are
 * folded into a digest.  The host runs it on the Rust and the C kernel and
 * compares the digests, printed every CHECKPOINT calls:
 *
 *   EBP-DIFF bits=64 seed=7 calls=1000 digest=0123456789abcdef
 *
 * usage: epoll_bp_diff [-s SEED]... [-n CALLS] [-v]
 *   -v prints every call instead (to find the first call that differs).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "epoll_bp_common.h"

#define CHECKPOINT 1000
/* -v: one line per call. */
#define CALL_FORMAT "EBP-DIFF-CALL bits=%d seed=%u call=%ld cmd=%#lx arg=%s in=0x%016llx ret=%d out=0x%016llx now=0x%016llx\n"

static uint64_t rng;

static uint32_t next(void)
{
	/* xorshift64*: the same stream on 32- and 64-bit. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545F4914F6CDD1DULL) >> 32;
}

static uint32_t pick32(const uint32_t *v, int n)
{
	return v[next() % n];
}

/* Field values that sit on and next to every boundary, or anything. */
static void random_params(struct epoll_params *p)
{
	static const uint32_t usecs[] = { 0, 1, 100, EP_S32_MAX, EP_S32_MAX + 1, UINT32_MAX };
	static const uint32_t budget[] = { 0, 1, 8, 64, 65, 65535 };
	static const uint32_t small[] = { 0, 0, 0, 1, 1, 2, 255 };

	p->busy_poll_usecs = next() % 4 ? pick32(usecs, 6) : next();
	p->busy_poll_budget = next() % 4 ? pick32(budget, 6) : next();
	p->prefer_busy_poll = next() % 4 ? pick32(small, 7) : next();
	p->__pad = next() % 8 ? 0 : pick32(small, 7);
}

static unsigned long random_cmd(void)
{
	static const unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
					     _IOC_READ | _IOC_WRITE };
	unsigned int r = next() % 16;

	if (r < 10)
		return r < 6 ? EPIOCSPARAMS : EPIOCGPARAMS;
	/* Another command of type 0x8A: near the real ones, or anything. */
	return _IOC(dirs[next() % 4], EPOLL_IOC_TYPE,
		    next() % 2 ? next() % 4 : next() % 256,
		    next() % 2 ? (next() % 3) * 8 : next() % 64);
}

static uint64_t fold(uint64_t digest, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		digest ^= (v >> (8 * i)) & 0xff;
		digest *= 0x100000001b3ULL;	/* FNV-1a */
	}
	return digest;
}

static int run(uint32_t seed, long calls, int verbose, char *none)
{
	struct epoll_params buf[2], *arg;
	int ep = epoll_create1(0), bits = (int)sizeof(long) * 8;
	uint64_t digest = 0xcbf29ce484222325ULL;
	unsigned long cmd;
	long i;
	int ret;

	if (ep < 0)
		return -errno;
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (i = 1; i <= calls; i++) {
		cmd = random_cmd();
		random_params(&buf[0]);
		memset(&buf[1], 0x5a, sizeof(buf[1]));
		switch (next() % 16) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (void *)none;			/* PROT_NONE */
			break;
		case 2:
			arg = (void *)(none - 4);		/* straddles into it */
			break;
		default:
			arg = cmd == EPIOCGPARAMS ? &buf[1] : &buf[0];
		}
		if (arg == (void *)(none - 4))
			memcpy(none - 4, &buf[0], 4);
		ret = ep_ioctl(ep, cmd, arg);
		digest = fold(digest, (uint64_t)(cmd & 0xffffffff) << 32 | (uint32_t)ret);
		digest = fold(digest, ep_packed(&buf[1]));
		digest = fold(digest, ep_now(ep));
		if (verbose)
			printf(CALL_FORMAT,
			       bits, seed, i, cmd,
			       !arg ? "null" : arg == (void *)none ? "prot_none" :
			       arg == (void *)(none - 4) ? "straddle" : "valid",
			       (unsigned long long)ep_packed(&buf[0]), ret,
			       (unsigned long long)ep_packed(&buf[1]),
			       (unsigned long long)ep_now(ep));
		if (!verbose && i % CHECKPOINT == 0)
			printf("EBP-DIFF bits=%d seed=%u calls=%ld digest=%016llx\n",
			       bits, seed, i, (unsigned long long)digest);
	}
	close(ep);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t seeds[64];
	int nseeds = 0, verbose = 0, opt, i;
	long page = sysconf(_SC_PAGESIZE), calls = 10000;
	char *map;

	while ((opt = getopt(argc, argv, "s:n:v")) != -1) {
		switch (opt) {
		case 's':
			if (nseeds < 64)
				seeds[nseeds++] = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			calls = atol(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SEED]... [-n CALLS] [-v]\n", argv[0]);
			return 2;
		}
	}
	if (!nseeds)
		seeds[nseeds++] = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A writable page followed by a PROT_NONE one. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE))
		return perror("mmap"), 1;
	for (i = 0; i < nseeds; i++) {
		/* Odd seeds run without CAP_NET_ADMIN, in a child. */
		pid_t pid = seeds[i] % 2 ? fork() : 0;
		int status = 0;

		if (pid < 0)
			return perror("fork"), 1;
		if (pid > 0) {
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				return 1;
			continue;
		}
		if (seeds[i] % 2 && ep_drop_effective_cap(EP_CAP_NET_ADMIN))
			return perror("capset"), 1;
		if (run(seeds[i], calls, verbose, map + page))
			return perror("epoll_create1"), 1;
		if (seeds[i] % 2)
			_exit(0);
	}
	return 0;
}
