// SPDX-License-Identifier: GPL-2.0
/*
 * epoll_bp_fuzz: many threads throw random EPIOCSPARAMS/EPIOCGPARAMS (and
 * other) ioctls at epoll instances, with payloads behind valid, NULL,
 * unmapped, kernel, misaligned and page-straddling pointers, while other
 * threads add and remove sockets that carry NAPI IDs, busy poll in
 * epoll_wait(), close instances that others are inside of, and fork.
 *
 * With netdevsim, side 1's port has NQ NAPI instances, and the threads
 * also set them random values over netdev netlink (napi-set: defer-hard-
 * irqs in and out of range, gro-flush-timeout, irq-suspend-timeout short
 * and long, left out, no or an unknown ID; and read them back), make
 * instances that prefer busy polling and suspend the NAPI's IRQs (epoll_wait
 * delivering a datagram), resume them (a busy loop finding nothing), close
 * them while suspended or keep them open, and signal themselves in the
 * middle of a long busy-polling wait (busy_poll_usecs 5 s), which must end
 * with EINTR at once; meanwhile a churn thread restarts
 * the port or deletes and re-creates the device (its NAPIs come back with
 * new IDs) every CHURN_MIN_MS..+CHURN_SPAN_MS.  Test 2 then checks that
 * traffic still flows: datagrams to a plain instance and to a preferring
 * one (irq-suspend-timeout 5 s) each come back from a blocking epoll_wait()
 * within FINAL_BOUND_MS.
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
#include <limits.h>
#include <poll.h>
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
#include "epoll_bp_genl.h"
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
#define NQ 2			/* rx queues, so NAPIs, of side 1's port */
#define PARKED 2		/* suspended instances a thread keeps open */
#define OWN_PORT (PORT + NSOCKS)	/* + thread index: each one's socket */
#define PROBE_PORT (OWN_PORT + MAX_THREADS)
#define CHURN_MIN_MS 200
#define CHURN_SPAN_MS 800
#define SETTLE_MS 10000		/* traffic passes again this soon after a churn */
#define FINAL_ROUNDS 5
#define FINAL_BOUND_MS 2000
#define SIGNAL_USECS 5000000	/* signal_op()'s busy-poll time: 5 s */
#define SIGNAL_BOUND_MS 250	/* its wait must end this soon after the signal */

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

/* Side 1's NAPI IDs as the churn thread left them: a reader has the IDs
 * of the port as it is, and the port passes traffic, if napi_gen was even
 * before and is unchanged after.
 */
static atomic_uint napi_id[NQ];
static atomic_ulong napi_gen;
/* netdev genl sockets in side 1's netns: one per thread, and a last one
 * for the churn thread (then the final check).
 */
static int genl[MAX_THREADS + 1], family;
static int own_rx[MAX_THREADS];	/* a socket of each thread's, on side 1 */
static int probe = -1, ctl1 = -1;	/* on side 1: a socket nothing watches, one for ioctls */
static int ifindex0, ifindex1;	/* the two ports */
static struct sockaddr mac1;	/* side 1's port's address, kept across re-creation */
static int nthreads = 8;
static atomic_ulong restarts, recreations, suspensions, lost, napi_sets;
static atomic_ulong signalled, signal_max_ms;
static long long settle_us, settle_max_us;	/* the churn thread's */

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
	int parked[PARKED];	/* instances that suspended, kept open */
	int nparked;
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

/* Whether the churn thread may have changed the NAPIs since @gen. */
static int churned(unsigned long gen)
{
	return (gen & 1) || atomic_load(&napi_gen) != gen;
}

/* A timeout in ns for napi-set: left out, off, short, long or anything. */
static long long random_timeout(struct thread *t)
{
	switch (below(t, 6)) {
	case 0:
		return -1;
	case 1:
		return 0;
	case 2:
	case 3:
		return below(t, 1000000);			/* under 1 ms */
	case 4:
		return 1000000000LL * (1 + below(t, 10));	/* 1 to 10 s */
	default:
		return (long long)(rnd(t) >> 1);
	}
}

/* napi-set on one of side 1's NAPIs: EPERM without CAP_NET_ADMIN; ERANGE
 * for defer-hard-irqs above S32_MAX; EINVAL without an ID; ENOENT for an
 * unknown one, or one the churn thread just took away.
 */
static void napi_set_op(struct thread *t)
{
	static const long long defers[] = {
		-1, 0, 1, 2, 10, 100, EP_S32_MAX, EP_S32_MAX + 1LL, UINT32_MAX,
	};
	long long defer = defers[below(t, 9)], gro = random_timeout(t);
	long long suspend = random_timeout(t);
	int q = below(t, NQ), kind = below(t, 16), ret, want;
	unsigned long gen = atomic_load(&napi_gen);
	uint32_t id = atomic_load(&napi_id[q]);
	struct ebp_genl_req req;

	if (kind == 0) {
		ebp_genl_req_init(&req, family, EBP_NETDEV_CMD_NAPI_SET, 0);
		if (defer >= 0)
			ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS, defer);
		if (suspend >= 0)
			ebp_genl_put_uint(&req, EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT, suspend);
		ret = ebp_genl_transact(genl[t->index], &req, NULL, NULL, NULL);
	} else {
		if (kind == 1)
			id = UINT32_MAX;
		ret = ebp_napi_set(genl[t->index], family, id, defer, gro, suspend);
	}
	t->calls++;
	if (!t->cap)
		want = -EPERM;
	else if (defer > EP_S32_MAX)
		want = -ERANGE;
	else if (kind == 0)
		want = -EINVAL;
	else if (kind == 1)
		want = -ENOENT;
	else
		want = 0;
	if (ret == want) {
		if (!ret)
			atomic_fetch_add(&napi_sets, 1);
		return;
	}
	if (ret == -ENOENT && !want && churned(gen))
		return;
	report("thread %d: napi-set %u (%s) %lld %lld %lld returned %d (%s), want %d",
	       t->index, id, kind ? "queue's" : "no ID", defer, gro, suspend, ret,
	       strerror(-ret), want);
}

/* napi-get: the three settings, never a refused defer-hard-irqs. */
static void napi_get_op(struct thread *t)
{
	int q = below(t, NQ), ret;
	unsigned long gen = atomic_load(&napi_gen);
	uint32_t id = atomic_load(&napi_id[q]);
	struct ebp_napi n;

	ret = ebp_napi_get(genl[t->index], family, id, &n);
	t->calls++;
	if (ret == -ENOENT && churned(gen))
		return;
	if (ret)
		report("thread %d: napi-get of %u returned %d (%s)", t->index, id, ret,
		       strerror(-ret));
	else if (n.id != id || !n.has_defer || !n.has_gro || !n.has_suspend ||
		 n.defer_hard_irqs > EP_S32_MAX)
		report("thread %d: napi-get of %u: NAPI %u, defer %u (%d), gro %d, suspend %d",
		       t->index, id, n.id, n.defer_hard_irqs, n.has_defer, n.has_gro,
		       n.has_suspend);
}

/*
 * A new instance with busy_poll_usecs @usecs, budget 8 and @prefer that
 * watches the thread's own socket, for suspend_op() and signal_op(); -1
 * (reported as @what) if that fails.  With the port in the middle of a
 * churn (@gen odd) there is nothing to do: -1, nothing reported.
 */
static int own_instance(struct thread *t, unsigned long gen, uint32_t usecs,
			uint8_t prefer, const char *what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = NSOCKS };
	int fd;

	if (gen & 1) {
		sched_yield();
		return -1;
	}
	fd = epoll_create1(0);
	t->calls += 6;
	if (fd < 0 || ep_set(fd, usecs, 8, prefer, 0) ||
	    epoll_ctl(fd, EPOLL_CTL_ADD, own_rx[t->index], &ev)) {
		report("thread %d: %s: %s", t->index, what, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * An instance that prefers busy polling gets a datagram on the thread's own
 * socket: the epoll_wait() that delivers it suspends the NAPI's IRQs (for
 * its irq-suspend-timeout, if any).  Unless the churn thread was at work
 * meanwhile, the datagram must come, within FINAL_BOUND_MS.  Then, at
 * times, a wait whose busy loop finds nothing (it resumes the IRQs); then
 * the instance is closed at once (freed while suspended) or kept open,
 * through restarts and re-creations of the device, until the thread has
 * more than PARKED of them.
 */
static void suspend_op(struct thread *t)
{
	struct epoll_event ev;
	unsigned long gen = atomic_load(&napi_gen);
	int fd, s = own_rx[t->index], n;
	char buf[8];

	fd = own_instance(t, gen, below(t, 2) ? below(t, 1000) : 0, 1,
			  "an instance preferring busy polling");
	if (fd < 0)
		return;
	nsim_send(tx, 2, OWN_PORT + t->index, "s", 1);
	n = epoll_wait(fd, &ev, 1, 50);
	if (!n && !churned(gen))
		n = epoll_wait(fd, &ev, 1, FINAL_BOUND_MS);
	if (n == 1)
		atomic_fetch_add(&suspensions, 1);
	else if (!n && churned(gen))
		atomic_fetch_add(&lost, 1);
	else if (!n)
		report("thread %d: datagram lost with the port up and untouched (%d ms)",
		       t->index, FINAL_BOUND_MS);
	else if (errno != EINTR)
		report("thread %d: epoll_wait on a preferring instance: %s", t->index,
		       strerror(errno));
	while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	if (!below(t, 3)) {
		n = epoll_wait(fd, &ev, 1, 1);
		if (n < 0 && errno != EINTR)
			report("thread %d: an empty wait on a preferring instance: %s",
			       t->index, strerror(errno));
		while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	if (below(t, 2)) {
		close(fd);
		return;
	}
	if (t->nparked == PARKED) {
		close(t->parked[0]);
		memmove(t->parked, t->parked + 1, (PARKED - 1) * sizeof(int));
		t->nparked--;
	}
	t->parked[t->nparked++] = fd;
}

static void on_signal(int sig)
{
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * A signal in the middle of a busy-polling wait: an instance with a 5 s
 * busy-poll time learns the NAPI ID of the thread's own socket, then waits
 * for ever on it while a timer sends the thread SIGUSR1 after 0-20 ms.  The
 * wait must end with EINTR within SIGNAL_BOUND_MS of the signal.
 */
static void signal_op(struct thread *t)
{
	struct epoll_event ev;
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	struct itimerspec its = { 0 };
	unsigned long gen = atomic_load(&napi_gen);
	int fd, s = own_rx[t->index], n, err;
	sigset_t usr1, old, waiting;
	long long fired, took;
	timer_t timer;
	char buf[8];

	fd = own_instance(t, gen, SIGNAL_USECS, 0, "a busy-polling instance");
	if (fd < 0)
		return;
	/* A datagram gives the instance the NAPI ID; lost ones are churn's. */
	nsim_send(tx, 2, OWN_PORT + t->index, "g", 1);
	n = epoll_wait(fd, &ev, 1, FINAL_BOUND_MS);
	while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	sev._sigev_un._tid = gettid();	/* sigev_notify_thread_id */
	its.it_value.tv_nsec = 1000000L * below(t, 21) + 1;
	if (n != 1 || timer_create(CLOCK_MONOTONIC, &sev, &timer)) {
		close(fd);
		return;
	}
	/*
	 * SIGUSR1 stays blocked but inside epoll_pwait(): one that fires
	 * before the wait begins (a slow kernel) is taken at its start, rather
	 * than lost before a wait that would then never end.
	 */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	waiting = old;
	sigdelset(&waiting, SIGUSR1);
	fired = ms_now() + its.it_value.tv_nsec / 1000000;
	timer_settime(timer, 0, &its, NULL);
	n = epoll_pwait(fd, &ev, 1, -1, &waiting);
	err = errno;
	took = ms_now() - fired;
	timer_delete(timer);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n < 0 && err == EINTR) {
		unsigned long max = atomic_load(&signal_max_ms);

		atomic_fetch_add(&signalled, 1);
		while (took > 0 && (unsigned long)took > max &&
		       !atomic_compare_exchange_weak(&signal_max_ms, &max, took))
			;
		if (took > SIGNAL_BOUND_MS)
			report("thread %d: EINTR %lld ms after the signal, in a busy-polling wait",
			       t->index, took);
	} else if (n < 0) {
		report("thread %d: a busy-polling wait: %s", t->index, strerror(err));
	}
	while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	close(fd);
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
		/* Without netdevsim, the NAPI operations are plain waits. */
		if (!have_nsim && op >= 87 && op < 99)
			op = 70;
		if (op < 26)
			shared_ioctl(t, s);
		else if (op < 48)
			private_op(t);
		else if (op < 61)
			shared_ctl(t, s);
		else if (op < 79)
			shared_wait(t, s);
		else if (op < 86)
			shared_replace(t, s);
		else if (op < 87)
			fork_op(t);
		else if (op < 92)
			napi_set_op(t);
		else if (op < 94)
			napi_get_op(t);
		else if (op < 98)
			suspend_op(t);
		else if (op < 99)
			signal_op(t);
		else
			sched_yield();
	}
	close(t->mine);
	while (t->nparked)
		close(t->parked[--t->nparked]);
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

/* On side 1: the watched sockets, one per thread, the probe socket, one
 * for ioctls, the netdev genl sockets; the port's ifindex and address.
 */
static int make_rx_sockets(void *arg)
{
	struct ifreq ifr;
	char name[IFNAMSIZ];
	int i;

	(void)arg;
	for (i = 0; i < NSOCKS; i++) {
		rx[i] = nsim_udp_socket(2, PORT + i);
		if (rx[i] < 0)
			return -errno;
	}
	for (i = 0; i < nthreads; i++) {
		own_rx[i] = nsim_udp_socket(2, OWN_PORT + i);
		if (own_rx[i] < 0)
			return -errno;
	}
	probe = nsim_udp_socket(2, PROBE_PORT);
	ctl1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0 || ctl1 < 0)
		return -errno;
	ifindex1 = nsim_ether_port(name);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (!ifindex1 || ioctl(ctl1, SIOCGIFHWADDR, &ifr))
		return -ENODEV;
	mac1 = ifr.ifr_hwaddr;
	for (i = 0; i <= nthreads; i++) {
		genl[i] = ebp_genl_open(&family);
		if (genl[i] < 0)
			return genl[i];
	}
	/* The churn thread's, at a fixed index. */
	genl[MAX_THREADS] = genl[nthreads];
	return 0;
}

static int find_port0(void *arg)
{
	char name[IFNAMSIZ];

	(void)arg;
	ifindex0 = nsim_ether_port(name);
	return ifindex0 ? 0 : -ENODEV;
}

/* Side 1's NAPI IDs, published for the threads. */
static int refresh_napis(void)
{
	struct ebp_napi n[NQ + 1];
	int count = ebp_napi_dump(genl[MAX_THREADS], family, ifindex1, n, NQ + 1), i;

	if (count != NQ)
		return count < 0 ? count : -EBADMSG;
	for (i = 0; i < NQ; i++)
		atomic_store(&napi_id[i], n[i].id);
	return 0;
}

static int setup_sockets(void)
{
	const char *why;
	int ret = nsim_pair_create_queues(&nsim, PORT - 1, NQ, &why), i, sv[2];

	if (!ret) {
		why = "side 1's sockets, its port, netdev generic netlink";
		ret = nsim_in_ns(&nsim, 1, make_rx_sockets, NULL);
	}
	if (!ret) {
		why = "side 0's port";
		ret = nsim_in_ns(&nsim, 0, find_port0, NULL);
	}
	if (!ret) {
		why = "napi-get dump of side 1's port";
		ret = refresh_napis();
	}
	if (!ret) {
		have_nsim = 1;
		tx = nsim.sock[0];
		printf("# sockets with NAPI IDs: %d behind netdevsim port %s (%d NAPIs)\n",
		       NSOCKS, nsim.port[1], NQ);
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

/* --- The churn thread, in side 1's netns ------------------------------ */

static int port_up(const char *name, int up)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(ctl1, SIOCGIFFLAGS, &ifr))
		return -errno;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ioctl(ctl1, SIOCSIFFLAGS, &ifr) ? -errno : 0;
}

/* Deletes side 1's device (its NAPIs, which instances may have suspended)
 * and makes it anew: same netdevsim ID, queues, address (so side 0's ARP
 * entry stays right), IP address, and link to side 0.
 */
static int recreate(void)
{
	char buf[64], name[IFNAMSIZ];
	struct ifreq ifr;
	int ret;

	snprintf(buf, sizeof(buf), "%d", nsim.id[1]);
	ret = ep_write_file("/sys/bus/netdevsim/del_device", buf);
	if (ret)
		return ret;
	snprintf(buf, sizeof(buf), "%d 1 %d", nsim.id[1], NQ);
	ret = ep_write_file("/sys/bus/netdevsim/new_device", buf);
	if (ret)
		return ret;
	ifindex1 = nsim_ether_port(name);
	if (!ifindex1)
		return -ENODEV;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_hwaddr = mac1;
	if (ioctl(ctl1, SIOCSIFHWADDR, &ifr))
		return -errno;
	ret = nsim_ifup(name, 2);
	if (ret)
		return ret;
	memcpy(nsim.port[1], name, IFNAMSIZ);
	snprintf(buf, sizeof(buf), "%d:%d %d:%d", nsim.ns[0], ifindex0, nsim.ns[1],
		 ifindex1);
	return ep_write_file("/sys/bus/netdevsim/link_device", buf);
}

/* Until a datagram to the probe socket gets through (linkwatch activates
 * the qdisc a moment after the carrier comes back); 0 or -ETIMEDOUT.
 */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int settle(void)
{
	struct pollfd pfd = { .fd = probe, .events = POLLIN };
	long long start = now_us(), took;
	char buf[8];
	int i;

	for (i = 0; i < SETTLE_MS / 20; i++) {
		nsim_send(tx, 2, PROBE_PORT, "p", 1);
		if (poll(&pfd, 1, 20) == 1) {
			while (recv(probe, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
			took = now_us() - start;
			settle_us += took;
			if (took > settle_max_us)
				settle_max_us = took;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

/* Restarts side 1's port (its NAPIs are deleted and added anew) or
 * re-creates its device, while the threads work on them.
 */
static void *port_churn(void *arg)
{
	struct thread *c = arg;
	const char *what = "entering side 1's netns";
	int ret = setns(nsim.ns[1], CLONE_NEWNET) ? -errno : 0;

	while (!ret && !atomic_load(&stop)) {
		usleep((CHURN_MIN_MS + below(c, CHURN_SPAN_MS)) * 1000);
		if (atomic_load(&stop))
			break;
		atomic_fetch_add(&napi_gen, 1);
		if (below(c, 3)) {
			what = "restarting the port";
			ret = port_up(nsim.port[1], 0);
			if (!ret && below(c, 2))
				usleep(below(c, 20000));
			if (!ret)
				ret = port_up(nsim.port[1], 1);
			atomic_fetch_add(&restarts, 1);
		} else {
			what = "re-creating the device";
			ret = recreate();
			atomic_fetch_add(&recreations, 1);
		}
		if (!ret) {
			what = "napi-get dump of the new NAPIs";
			ret = refresh_napis();
		}
		if (!ret) {
			what = "a datagram through the port";
			ret = settle();
		}
		atomic_fetch_add(&napi_gen, 1);
	}
	if (ret)
		report("the churn thread, %s: %s", what, strerror(-ret));
	return NULL;
}

/*
 * Test 2: after all that, datagrams still come back from a blocking
 * epoll_wait() in time, to a plain instance and to one that prefers busy
 * polling and suspends the IRQs (irq-suspend-timeout 5 s on both NAPIs).
 * Returns how many did not.
 */
static int final_check(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	long long t0, us, slowest = 0;
	int ep[2], i, r, n, q, ret, bad = 0;
	char buf[8];

	for (q = 0; q < NQ; q++) {
		ret = ebp_napi_set(genl[MAX_THREADS], family, atomic_load(&napi_id[q]), 2,
				   100000, 5000000000LL);
		if (ret) {
			printf("# napi-set of NAPI %u after the churn: %s\n",
			       atomic_load(&napi_id[q]), strerror(-ret));
			bad++;
		}
	}
	ep[0] = epoll_create1(0);
	ep[1] = epoll_create1(0);
	for (i = 0; i < 2; i++) {
		ev.data.u32 = i;
		if (ep[i] < 0 || (i && ep_set(ep[i], 1000, 8, 1, 0)) ||
		    epoll_ctl(ep[i], EPOLL_CTL_ADD, rx[i], &ev)) {
			printf("# an instance for the check: %s\n", strerror(errno));
			return bad + 1;
		}
	}
	for (r = 0; r < FINAL_ROUNDS; r++) {
		for (i = 0; i < 2; i++) {
			while (recv(rx[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
			t0 = now_us();
			nsim_send(tx, 2, PORT + i, "f", 1);
			n = epoll_wait(ep[i], &ev, 1, FINAL_BOUND_MS);
			us = now_us() - t0;
			if (us > slowest)
				slowest = us;
			if (n != 1) {
				printf("# datagram %d, %s instance: epoll_wait %d after %lld ms\n",
				       r, i ? "preferring" : "plain", n, us / 1000);
				bad++;
			}
		}
	}
	printf("# after the churn: %d datagrams to a plain and a preferring instance each,\n",
	       FINAL_ROUNDS);
	printf("# %d lost or late, the slowest in %lld us\n", bad, slowest);
	close(ep[0]);
	close(ep[1]);
	return bad;
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

/* Prints what the kernel logged since ep_kmsg_open() that is a report: a
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
	int secs = env ? atoi(env) : 10, opt, i, kmsg, found, lost_after = -1;
	uint64_t seed = (uint64_t)time(NULL);
	struct thread churner = { .index = -1 };
	pthread_t send_thread, churn_thread;
	struct timespec t0, t1;
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
	/* signal_op(): SIGUSR1 interrupts a wait (no SA_RESTART). */
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	printf("TAP version 13\n1..2\n");
	printf("# %d threads for %d s, seed %llu (-s to repeat)\n", nthreads,
	       secs, (unsigned long long)seed);
	page = sysconf(_SC_PAGESIZE);
	kmsg = ep_kmsg_open();
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
	churner.rnd = seed * 0x9e3779b97f4a7c15ULL + MAX_THREADS + 1;
	if (have_nsim)
		pthread_create(&churn_thread, NULL, port_churn, &churner);
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
	if (have_nsim)
		pthread_join(churn_thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (i = 0; i < NSLOTS; i++)
		close(slots[i].fd);
	if (have_nsim) {
		lost_after = final_check();
		for (i = 0; i < NSOCKS; i++)
			close(rx[i]);
		for (i = 0; i < nthreads; i++)
			close(own_rx[i]);
		for (i = 0; i <= nthreads; i++)
			close(genl[i]);
		close(probe);
		close(ctl1);
		nsim_pair_destroy(&nsim);
	}
	found = kernel_reports(kmsg);
	printf("# fuzzed %lu calls in %.1f s: %.0f calls/s; ", atomic_load(&calls),
	       elapsed, atomic_load(&calls) / elapsed);
	printf("%d unexpected results, %d kernel report lines\n", atomic_load(&reports), found);
	if (have_nsim) {
		printf("# churn: %lu port restarts, %lu device re-creations, %lu napi-sets\n",
		       atomic_load(&restarts), atomic_load(&recreations),
		       atomic_load(&napi_sets));
		i = atomic_load(&restarts) + atomic_load(&recreations);
		printf("# traffic back after a churn in %lld ms on average, %lld ms at most\n",
		       i ? settle_us / i / 1000 : 0, settle_max_us / 1000);
		printf("# %lu deliveries to preferring instances, %lu datagrams lost in churn\n",
		       atomic_load(&suspensions), atomic_load(&lost));
		printf("# %lu busy-polling waits ended by a signal, %lu ms after it at most\n",
		       atomic_load(&signalled), atomic_load(&signal_max_ms));
	}
	if (atomic_load(&reports) || found)
		printf("not ok 1 fuzz\n");
	else
		printf("ok 1 fuzz\n");
	if (lost_after < 0)
		printf("ok 2 delivery after churn # SKIP no netdevsim pair\n");
	else if (lost_after)
		printf("not ok 2 delivery after churn\n");
	else
		printf("ok 2 delivery after churn\n");
	return atomic_load(&reports) || found || lost_after > 0;
}
