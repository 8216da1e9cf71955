// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_bp_fuzz: many threads throw random EPIOCSPARAMS/EPIOCGPARAMS (and
 * other) ioctls at epoll instances, with payloads behind valid, NULL,
 * unmapped, kernel, misaligned and page-straddling pointers, while other
 * threads add and remove sockets that carry NAPI IDs, busy poll in
 * epoll_wait(), close instances that others are inside of, and fork.
 *
 * Every call's result is checked: exactly, on each thread's private
 * instance (a model of its params); on shared instances, against what any
 * interleaving allows.  Exits non-zero on an unexpected result or on a
 * kernel report (BUG, WARNING, KASAN, ...) in /dev/kmsg during the run.
 * Prints its result as KTAP, for the test runner.
 *
 *   epoll_bp_fuzz [-t SECONDS] [-j THREADS] [-s SEED]
 *
 * SECONDS defaults to $EPOLL_BP_FUZZ_SECS, else 10.  KCSAN data races
 * between functions outside epoll are printed, not counted.  Sockets with NAPI IDs
 * come from a linked netdevsim pair (root, CONFIG_NETDEVSIM); without it the
 * fuzzer says so and uses AF_UNIX sockets, which have none.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "../kselftest.h"
#include "epoll_bp_common.h"
#include "epoll_bp_nsim.h"

#define PORT 4300
#define NSOCKS 8		/* sockets to watch; sock 0 stays in every slot */
#define NSLOTS 4		/* shared epoll instances */
#define MAX_THREADS 64
#define MAX_REPORTS 20
/* busy_poll_usecs stored on shared instances stays below this, so a busy
 * loop with no events to end it cannot hold a waiter for long.
 */
#define SHARED_USECS_MAX 20000
/* Shared instances live at fixed fd numbers far above the ones the kernel
 * hands out (lowest free first), so a number never changes its meaning:
 * it is a shared instance, or closed for a moment.  A thread that took a
 * number and then found the instance replaced never hits a private one.
 */
#define SLOT_FD_BASE 500

struct slot {
	int fd;			/* SLOT_FD_BASE + index */
	atomic_ulong gen;	/* odd while the fd is closed */
	pthread_mutex_t replace;	/* serialises replacers (and fork) */
};

static struct slot slots[NSLOTS];
static int rx[NSOCKS], tx = -1;	/* watched sockets; the sender's socket */
static int unix_tx[NSOCKS];	/* without netdevsim: the peers of rx[] */
static struct nsim_pair nsim;
static int have_nsim;
static atomic_int stop, reports;
static atomic_ulong calls;
static long page;
static char *hole;		/* a page with no mapping */

/* Pointer kinds, and whether the kernel can read or write through them. */
enum ptr_kind {
	P_VALID, P_MISALIGNED, P_STRADDLE, P_READONLY,
	P_NULL, P_HOLE, P_KERNEL, P_NONCANONICAL, P_STRADDLE_GUARD,
	P_KINDS
};

static const char *const ptr_names[P_KINDS] = {
	"valid", "misaligned", "straddling two pages", "read-only", "NULL",
	"unmapped", "kernel", "non-canonical", "straddling into a guard page",
};

static int faults(enum ptr_kind k, int writes)
{
	return k >= P_NULL || (writes && k == P_READONLY);
}

struct thread {
	pthread_t id;
	int index, cap;		/* cap: has CAP_NET_ADMIN in its effective set */
	uint64_t rnd;
	int mine;		/* the private instance */
	struct epoll_params model;	/* and its params */
	char *mem;		/* [page][page][guard page] */
	char *ro;		/* a read-only page holding a valid payload */
	unsigned long calls;
};

static uint64_t rnd(struct thread *t)
{
	/* xorshift64* */
	t->rnd ^= t->rnd >> 12;
	t->rnd ^= t->rnd << 25;
	t->rnd ^= t->rnd >> 27;
	return t->rnd * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct thread *t, uint32_t n)
{
	return (uint32_t)(rnd(t) >> 32) % n;
}

/* Prints an unexpected result (the first MAX_REPORTS) and counts it. */
static __printf(1, 2) void report(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	printf("# FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* A pointer of kind @k to 8 bytes, and @p copied there if it is writable. */
static void *pointer(struct thread *t, enum ptr_kind k,
		     const struct epoll_params *p)
{
	char *at;

	switch (k) {
	case P_VALID:
		at = t->mem + 8 * below(t, 16);
		break;
	case P_MISALIGNED:
		at = t->mem + 8 * below(t, 16) + 1 + below(t, 7);
		break;
	case P_STRADDLE:
		at = t->mem + page - 1 - below(t, 7);
		break;
	case P_READONLY:
		return t->ro;
	case P_NULL:
		return NULL;
	case P_HOLE:
		return hole + 8 * below(t, 16);
	case P_KERNEL:
		/* The direct map or the kernel text; past TASK_SIZE in compat. */
		if (sizeof(void *) == 4)
			return (void *)(uintptr_t)(below(t, 2) ? 0xffffe000U : 0xfffffff8U);
		return (void *)(uintptr_t)(below(t, 2) ? 0xffff888000000000ULL :
					   0xffffffff81000000ULL);
	case P_NONCANONICAL:
		if (sizeof(void *) == 4)
			return (void *)(uintptr_t)0xfffffffcU;
		return (void *)(uintptr_t)0x8000000000000000ULL;
	case P_STRADDLE_GUARD:
		/* Starts 1..7 bytes before the guard page: copy what fits. */
		at = t->mem + 2 * page - 1 - below(t, 7);
		memcpy(at, p, t->mem + 2 * page - at);
		return at;
	default:
		return NULL;
	}
	memcpy(at, p, sizeof(*p));
	return at;
}

/* A payload for EPIOCSPARAMS: mostly edge values, some random. */
static struct epoll_params payload(struct thread *t)
{
	static const uint32_t usecs[] = { 0, 1, 100, EP_S32_MAX, EP_S32_MAX + 1U,
					  UINT32_MAX };
	static const uint16_t budget[] = { 0, 1, 8, 64, 65, UINT16_MAX };
	struct epoll_params p;

	p.busy_poll_usecs = below(t, 3) ? usecs[below(t, 6)] : (uint32_t)rnd(t);
	p.busy_poll_budget = below(t, 3) ? budget[below(t, 6)] : (uint16_t)rnd(t);
	p.prefer_busy_poll = below(t, 8) ? below(t, 2) : (uint8_t)rnd(t);
	p.__pad = below(t, 8) ? 0 : (uint8_t)rnd(t) | 1;
	return p;
}

/* What EPIOCSPARAMS with readable payload @p must return. */
static int set_result(const struct epoll_params *p, int cap)
{
	if (p->__pad || p->busy_poll_usecs > EP_S32_MAX || p->prefer_busy_poll > 1)
		return -EINVAL;
	if (p->busy_poll_budget > EP_NAPI_POLL_WEIGHT && !cap)
		return -EPERM;
	return 0;
}

/* Other commands: neighbours of ours (type 0x8A, other numbers, sizes or
 * directions) and other types that no generic ioctl code claims.  An
 * epoll fd refuses them all with EINVAL.
 */
static unsigned long other_cmd(struct thread *t)
{
	static const unsigned int types[] = { EPOLL_IOC_TYPE, EPOLL_IOC_TYPE + 1,
					      'E', 0x7f, 0xfe };
	unsigned long cmd;

	do {
		cmd = _IOC(below(t, 4), types[below(t, 5)], below(t, 5),
			   below(t, 3) ? 8 : below(t, 64));
	} while (cmd == EPIOCSPARAMS || cmd == EPIOCGPARAMS);
	return cmd;
}

struct call {
	unsigned long cmd;
	enum ptr_kind kind;
	struct epoll_params sent;
	int want;		/* the result if the arguments are readable */
};

/* One random ioctl on @fd; returns its result, and what it asked in @c. */
static int random_ioctl(struct thread *t, int fd, struct call *c, int shared)
{
	void *arg;
	int ret;

	c->kind = below(t, 3) ? P_VALID + below(t, 4) : below(t, P_KINDS);
	c->sent = payload(t);
	if (shared && !set_result(&c->sent, t->cap) &&
	    c->sent.busy_poll_usecs > SHARED_USECS_MAX)
		c->sent.busy_poll_usecs = below(t, SHARED_USECS_MAX);
	switch (below(t, 8)) {
	case 0:
		c->cmd = other_cmd(t);
		c->want = -EINVAL;
		break;
	case 1:
	case 2:
	case 3:
		c->cmd = EPIOCGPARAMS;
		c->want = faults(c->kind, 1) ? -EFAULT : 0;
		break;
	default:
		c->cmd = EPIOCSPARAMS;
		c->want = faults(c->kind, 0) ? -EFAULT : set_result(&c->sent, t->cap);
		if (c->kind == P_READONLY)
			c->want = set_result((struct epoll_params *)t->ro, t->cap);
		break;
	}
	arg = pointer(t, c->kind, &c->sent);
	ret = ep_ioctl(fd, c->cmd, arg);
	if (c->cmd == EPIOCGPARAMS && !ret)
		memcpy(&c->sent, arg, sizeof(c->sent));
	t->calls++;
	return ret;
}

/* @p as text, in @buf, for reports. */
static const char *show(char buf[64], const struct epoll_params *p)
{
	snprintf(buf, 64, "usecs %u budget %u prefer %u pad %u", p->busy_poll_usecs,
		 p->busy_poll_budget, p->prefer_busy_poll, p->__pad);
	return buf;
}

static void bad_call(struct thread *t, const char *where, const struct call *c,
		     int got)
{
	char buf[64];

	report("thread %d, %s: ioctl %#lx through a %s pointer (%s) returned %d (%s), want %d",
	       t->index, where, c->cmd, ptr_names[c->kind], show(buf, &c->sent),
	       got, strerror(-got), c->want);
}

static int params_equal(const struct epoll_params *a, const struct epoll_params *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* The private instance: every result, and the params, exactly. */
static void private_op(struct thread *t)
{
	struct epoll_params now;
	char buf[64], buf2[64];
	struct call c;
	int ret;

	if (!below(t, 64)) {
		close(t->mine);
		t->mine = epoll_create1(0);
		memset(&t->model, 0, sizeof(t->model));
		t->calls += 2;
	}
	ret = random_ioctl(t, t->mine, &c, 0);
	if (ret != c.want)
		bad_call(t, "private instance", &c, ret);
	else if (c.cmd == EPIOCSPARAMS && !ret)
		t->model = c.kind == P_READONLY ? *(struct epoll_params *)t->ro : c.sent;
	else if (c.cmd == EPIOCGPARAMS && !ret && !params_equal(&c.sent, &t->model))
		report("thread %d: EPIOCGPARAMS gave %s, last set %s", t->index,
		       show(buf, &c.sent), show(buf2, &t->model));
	/* Whatever failed left the params alone. */
	if (below(t, 4))
		return;
	ret = ep_get(t->mine, &now);
	t->calls++;
	if (ret || !params_equal(&now, &t->model))
		report("thread %d: after ioctl %#lx (%d), params are %s (get %d), want %s",
		       t->index, c.cmd, c.want, show(buf, &now), ret, show(buf2, &t->model));
}

/* A shared slot's fd and generation.  The fd was open all through a
 * call if the generation was even before it and is unchanged after it;
 * otherwise EBADF is allowed.
 */
static int slot_fd(struct slot *s, unsigned long *gen)
{
	*gen = atomic_load(&s->gen);
	return s->fd;
}

static int slot_changed(struct slot *s, unsigned long gen)
{
	return (gen & 1) || atomic_load(&s->gen) != gen;
}

static void shared_ioctl(struct thread *t, struct slot *s)
{
	unsigned long gen;
	char buf[64];
	struct call c;
	int ret = random_ioctl(t, slot_fd(s, &gen), &c, 1);

	if (ret == -EBADF && slot_changed(s, gen))
		return;
	if (ret != c.want) {
		bad_call(t, "shared instance", &c, ret);
		return;
	}
	/* Whatever any thread stored is valid. */
	if (c.cmd == EPIOCGPARAMS && !ret &&
	    (c.sent.__pad || c.sent.prefer_busy_poll > 1 ||
	     c.sent.busy_poll_usecs > EP_S32_MAX))
		report("thread %d: a shared instance holds %s", t->index, show(buf, &c.sent));
}

static void shared_ctl(struct thread *t, struct slot *s)
{
	static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD };
	int i = 1 + below(t, NSOCKS - 1), op = ops[below(t, 3)];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	unsigned long gen;
	int fd = slot_fd(s, &gen);
	int ret = epoll_ctl(fd, op, rx[i], &ev) ? -errno : 0;

	t->calls++;
	if (!ret || ret == (op == EPOLL_CTL_ADD ? -EEXIST : -ENOENT))
		return;
	if (ret == -EBADF && slot_changed(s, gen))
		return;
	report("thread %d: epoll_ctl(%d, %d, socket %d) returned %d (%s)", t->index,
	       fd, op, i, ret, strerror(-ret));
}

/* Reads what the sockets in @ev hold, so their next packets wake again. */
static void drain(struct epoll_event *ev, int n)
{
	char buf[64];
	int i;

	for (i = 0; i < n; i++)
		if (ev[i].data.u32 < NSOCKS)
			while (recv(rx[ev[i].data.u32], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
}

static void shared_wait(struct thread *t, struct slot *s)
{
	struct epoll_event ev[NSOCKS];
	enum ptr_kind kind = below(t, 16) ? P_VALID : P_HOLE + below(t, 2);
	void *events = kind == P_VALID ? (void *)ev : kind == P_HOLE ? (void *)hole :
		       pointer(t, P_KERNEL, NULL);
	unsigned long gen;
	int fd = slot_fd(s, &gen), timeout = below(t, 3);
	int ret = epoll_wait(fd, events, NSOCKS, timeout);

	ret = ret < 0 ? -errno : ret;
	t->calls++;
	if (ret > 0 && kind == P_VALID) {
		drain(ev, ret);
		return;
	}
	/* Unmapped: only a wakeup that writes an event finds out.  So in a
	 * 32-bit process for "kernel" addresses, which are only unmapped
	 * user addresses to a 64-bit kernel's access_ok().
	 */
	if (ret == 0 && (kind != P_KERNEL || sizeof(void *) == 4))
		return;
	if (ret == -EFAULT && kind != P_VALID)
		return;
	if (ret == -EINTR || (ret == -EBADF && slot_changed(s, gen)))
		return;
	report("thread %d: epoll_wait(%d, %s events, %d ms) returned %d (%s)",
	       t->index, fd, ptr_names[kind], timeout, ret, ret < 0 ? strerror(-ret) : "");
}

/* A new instance with busy polling on, watching sock 0; at a low fd. */
static int new_instance(struct thread *t)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	uint32_t usecs = t ? below(t, SHARED_USECS_MAX) : 1000;
	int fd = epoll_create1(0);

	if (fd < 0)
		return -errno;
	if (ep_set(fd, usecs, 8, t ? below(t, 2) : 0, 0) ||
	    epoll_ctl(fd, EPOLL_CTL_ADD, rx[0], &ev)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Replaces a shared instance while others may be inside it: the old one
 * is closed by dup2() over it, or by close() and then dup2().
 */
static void shared_replace(struct thread *t, struct slot *s)
{
	int fd = new_instance(t), ret = 0;

	t->calls += 5;
	if (fd < 0) {
		report("thread %d: a new instance failed: %s", t->index, strerror(-fd));
		return;
	}
	pthread_mutex_lock(&s->replace);
	if (below(t, 2)) {
		atomic_fetch_add(&s->gen, 1);
		ret = close(s->fd);
		ret |= dup2(fd, s->fd) != s->fd;
		atomic_fetch_add(&s->gen, 1);
	} else {
		ret = dup2(fd, s->fd) != s->fd;
		atomic_fetch_add(&s->gen, 2);
	}
	pthread_mutex_unlock(&s->replace);
	if (ret)
		report("thread %d: replacing shared instance %d: %s", t->index, s->fd,
		       strerror(errno));
	close(fd);
}

/* A child shares the instances' files: it sets, gets and waits on them
 * after the fork, then exits with what it saw.  Only system calls here.
 */
static void fork_op(struct thread *t)
{
	int fds[NSLOTS], i, status, bad = 0;
	struct epoll_params p;
	struct epoll_event ev;
	pid_t pid;

	/* No replacing during the fork: the child gets the instances. */
	for (i = 0; i < NSLOTS; i++) {
		pthread_mutex_lock(&slots[i].replace);
		fds[i] = slots[i].fd;
	}
	pid = fork();
	if (pid)
		for (i = 0; i < NSLOTS; i++)
			pthread_mutex_unlock(&slots[i].replace);
	t->calls++;
	if (pid < 0) {
		report("thread %d: fork: %s", t->index, strerror(errno));
		return;
	}
	if (!pid) {
		for (i = 0; i < 3 * NSLOTS; i++) {
			int fd = fds[i % NSLOTS], ret;

			ret = ep_set(fd, i * 10, i, i & 1, 0);
			bad |= ret && ret != -EBADF;
			ret = ep_get(fd, &p);
			bad |= ret && ret != -EBADF;
			bad |= !ret && p.__pad;
			ret = epoll_wait(fd, &ev, 1, 0);
			bad |= ret < 0 && errno != EBADF;
		}
		_exit(bad);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		report("thread %d: a forked child found unexpected results (status %#x)",
		       t->index, status);
}

static void *fuzz_thread(void *arg)
{
	struct thread *t = arg;
	struct slot *s;
	unsigned int op;

	/* Odd threads work without CAP_NET_ADMIN (capset is per thread). */
	if (t->index & 1 && ep_drop_effective_cap(EP_CAP_NET_ADMIN))
		report("thread %d: dropping CAP_NET_ADMIN failed", t->index);
	t->cap = ep_has_effective_cap(EP_CAP_NET_ADMIN) == 1;
	t->mine = epoll_create1(0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		s = &slots[below(t, NSLOTS)];
		op = below(t, 100);
		if (op < 30)
			shared_ioctl(t, s);
		else if (op < 55)
			private_op(t);
		else if (op < 70)
			shared_ctl(t, s);
		else if (op < 90)
			shared_wait(t, s);
		else if (op < 97)
			shared_replace(t, s);
		else if (op < 98)
			fork_op(t);
		else
			sched_yield();
	}
	close(t->mine);
	atomic_fetch_add(&calls, t->calls);
	return NULL;
}

/* Keeps packets flowing to the watched sockets, so that their NAPI IDs
 * stay set, waiters wake up and busy loops end.
 */
static void *sender(void *arg)
{
	unsigned int i = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		i = (i + 1) % NSOCKS;
		if (have_nsim)
			nsim_send(tx, 2, PORT + i, "x", 1);
		else
			send(unix_tx[i], "x", 1, MSG_DONTWAIT);
		usleep(200);
	}
	return NULL;
}

static int make_rx_sockets(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NSOCKS; i++) {
		rx[i] = nsim_udp_socket(2, PORT + i);
		if (rx[i] < 0)
			return -errno;
	}
	return 0;
}

static int setup_sockets(void)
{
	const char *why;
	int ret = nsim_pair_create(&nsim, PORT - 1, &why), i, sv[2];

	if (!ret)
		ret = nsim_in_ns(&nsim, 1, make_rx_sockets, NULL);
	if (!ret) {
		have_nsim = 1;
		tx = nsim.sock[0];
		printf("# sockets with NAPI IDs: %d behind netdevsim port %s\n", NSOCKS,
		       nsim.port[1]);
		return 0;
	}
	printf("# no netdevsim pair (%s: %s): AF_UNIX sockets, without NAPI IDs\n",
	       why, strerror(-ret));
	nsim_pair_destroy(&nsim);
	for (i = 0; i < NSOCKS; i++) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv))
			return -errno;
		rx[i] = sv[0];
		unix_tx[i] = sv[1];
	}
	return 0;
}

/* The kernel log from now on, read at the end by kernel_reports(). */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Whether @rec is a KCSAN data race between functions outside epoll:
 * races in the code the fuzzer drives (netdevsim, NAPI, IPIs), not in
 * the code under test.  The test runner lists them as skips.
 */
static int upstream_race(const char *rec)
{
	const char *title = strstr(rec, "BUG: KCSAN: data-race in ");

	return title && !strstr(title, "epoll") && !strstr(title, " ep_") &&
	       !strstr(title, "/ ep_");
}

/* Prints what the kernel logged since kmsg_open() that is a report: a
 * sanitizer, lockdep, a WARN or BUG.  Returns how many such lines, less
 * upstream races.
 */
static int kernel_reports(int fd)
{
	static const char *const marks[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN", "KCSAN",
		"kernel BUG", "general protection", "possible circular",
		"possible recursive", "INFO:", "unreferenced object", "Call Trace",
	};
	char rec[2048];
	ssize_t n;
	int found = 0;
	size_t i;

	if (fd < 0)
		return 0;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = 0;
		for (i = 0; i < ARRAY_SIZE(marks); i++)
			if (strstr(rec, marks[i])) {
				if (upstream_race(rec)) {
					printf("# kernel (a race outside epoll): %s", rec);
					break;
				}
				printf("# kernel: %s", rec);
				found++;
				break;
			}
	}
	return found;
}

/* The pages pointers point into: [page][page][guard] per thread, a
 * read-only page, and a hole where nothing is mapped.
 */
static int map_memory(struct thread *t, int n)
{
	const struct epoll_params ro = { 100, 8, 1, 0 };
	char *ro_page, *three;
	int i;

	ro_page = mmap(NULL, page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	three = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_page == MAP_FAILED || three == MAP_FAILED)
		return -1;
	memcpy(ro_page, &ro, sizeof(ro));
	if (mprotect(ro_page, page, PROT_READ) || munmap(three + page, page))
		return -1;
	hole = three + page;
	for (i = 0; i < n; i++) {
		t[i].ro = ro_page;
		t[i].mem = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t[i].mem == MAP_FAILED ||
		    mprotect(t[i].mem + 2 * page, page, PROT_NONE))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct thread threads[MAX_THREADS];
	const char *env = getenv("EPOLL_BP_FUZZ_SECS");
	int secs = env ? atoi(env) : 10, nthreads = 8, opt, i, kmsg, found;
	uint64_t seed = (uint64_t)time(NULL);
	struct timespec t0, t1;
	pthread_t send_thread;
	double elapsed;

	while ((opt = getopt(argc, argv, "t:j:s:")) != -1) {
		switch (opt) {
		case 't':
			secs = atoi(optarg);
			break;
		case 'j':
			nthreads = atoi(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-t SECONDS] [-j THREADS] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	if (secs < 1 || nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "need -t >= 1 and 1 <= -j <= %d\n", MAX_THREADS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..1\n");
	printf("# %d threads for %d s, seed %llu (-s to repeat)\n", nthreads,
	       secs, (unsigned long long)seed);
	page = sysconf(_SC_PAGESIZE);
	kmsg = kmsg_open();
	if (kmsg < 0)
		printf("# /dev/kmsg unreadable (%s): kernel reports go unchecked here\n",
		       strerror(errno));
	if (setup_sockets() || map_memory(threads, nthreads)) {
		printf("not ok 1 fuzz # setup failed: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NSLOTS; i++) {
		int fd = new_instance(NULL);

		pthread_mutex_init(&slots[i].replace, NULL);
		slots[i].fd = SLOT_FD_BASE + i;
		if (fd < 0 || dup2(fd, slots[i].fd) != slots[i].fd) {
			printf("not ok 1 fuzz # no epoll instance: %s\n", strerror(errno));
			return 1;
		}
		close(fd);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&send_thread, NULL, sender, NULL);
	for (i = 0; i < nthreads; i++) {
		threads[i].index = i;
		threads[i].rnd = seed * 0x9e3779b97f4a7c15ULL + i + 1;
		pthread_create(&threads[i].id, NULL, fuzz_thread, &threads[i]);
	}
	sleep(secs);
	atomic_store(&stop, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i].id, NULL);
	pthread_join(send_thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (i = 0; i < NSLOTS; i++)
		close(slots[i].fd);
	if (have_nsim) {
		for (i = 0; i < NSOCKS; i++)
			close(rx[i]);
		nsim_pair_destroy(&nsim);
	}
	found = kernel_reports(kmsg);
	printf("# fuzzed %lu calls in %.1f s: %.0f calls/s; ", atomic_load(&calls),
	       elapsed, atomic_load(&calls) / elapsed);
	printf("%d unexpected results, %d kernel report lines\n", atomic_load(&reports), found);
	if (atomic_load(&reports) || found) {
		printf("not ok 1 fuzz\n");
		return 1;
	}
	printf("ok 1 fuzz\n");
	return 0;
}
