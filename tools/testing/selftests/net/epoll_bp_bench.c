// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of per-epoll busy polling, run in the guest by `make bench` on
 * the Rust and the C kernel alike:
 *
 *   micro  the cost of one call: the two ioctls (get, set accepted, set
 *          refused) next to an unknown ioctl on a pipe (the bare syscall
 *          and fd lookup), and the epoll hot path (epoll_wait with timeout
 *          0, epoll_ctl ADD+DEL of a socket, the wakeup callback), each on
 *          an instance with and without params; then the cost of one spin
 *          of the busy loop.  Under QEMU -icount shift=0 a guest
 *          nanosecond is one instruction, so the same numbers are
 *          instructions per call (per spin) there.
 *   net    request/response round trips over a linked netdevsim pair
 *          with no busy polling, with the net.core.busy_poll sysctl and
 *          with per-epoll params; latency quantiles and CPU per message;
 *          and the CPU another instance burns meanwhile (isolation).
 *
 * The micro part runs in three phases, because the Rust kernel only calls
 * into Rust on the paths every epoll user takes while the params of some
 * epoll instance in the system turn busy polling on (busy_poll_usecs; a
 * static key): an epoll user who never busy polls must pay nothing, and
 * that is measured only if no instance anywhere busy polls at the time.
 *
 *   plain   before any instance of ours ever had params: the ".plain"
 *           rows (wakeup, epoll_wait(0) none/ready, epoll_ctl ADD+DEL),
 *           the unknown ioctls, EPIOCGPARAMS on a plain instance and the
 *           refused EPIOCSPARAMS (prefer_busy_poll=2: refused, it stores
 *           nothing).  It fails unless net.core.busy_poll is 0 and no
 *           epoll fd of any process shows non-zero params in its
 *           /proc/PID/fdinfo, both checked when the phase starts and
 *           again when it ends (so a refused call that stored something
 *           would fail it too).
 *   tuned   the same rows (".tuned") on instances whose params do not
 *           turn busy polling on (budget 16, prefer 0, usecs 0; since
 *           Linux 6.13 prefer_busy_poll alone does): still nothing busy
 *           polls, checked again at the end.
 *   params  then the two accepted EPIOCSPARAMS (budget 8, and 128 which
 *           asks capable()), which store non-zero params and so turn the
 *           key on, and the ".params" rows on instances created with
 *           params (usecs 200, budget 8).
 *
 * The set calls come after the plain rows rather than setting params and
 * restoring zero: that the key goes off again when the last instance
 * drops its params (or is closed) is the kernel's business, possibly
 * deferred, and this way the plain rows do not depend on it.  The micro
 * part closes its instances at its end, before the net part.
 *
 * The busy loop: epoll_wait() on an instance whose socket has a NAPI ID
 * (the netdevsim pair's), with no traffic, spins in napi_busy_loop() for
 * busy_poll_usecs = 200 (then epoll drops the NAPI ID and sleeps out the
 * wait's 1 ms timeout; epoll_ctl ADD gives it the ID back for the next
 * loop).  Each spin polls the NAPI once, which fires the napi:napi_poll
 * tracepoint, and calls ep_busy_loop_end() (events available? timed
 * out?); the loop's last event is busy_poll_stop()'s extra poll.  A
 * tracefs instance (trace_clock mono, the raw format: a timestamp in ns
 * per event) records those events: the time between two consecutive
 * polls of one loop is one spin, and per loop the spin is the mean of
 * those intervals (elapsed ns / spins), leaving out the few more than
 * twice the median long (a timer interrupt between two polls).  Recording
 * an event costs time the loop without tracing does not spend, so that
 * cost is measured in the same boot on the same tracepoint and NAPI (a
 * non-blocking recv() on a socket with SO_BUSY_POLL polls twice: with
 * the event on and off) and taken off: busyloop.MODE.spin is what one
 * spin costs untraced, busyloop.MODE.traced what it took.  MODE epoll:
 * the instance's own busy_poll_usecs (with net.core.busy_poll 0, run in
 * the params phase); sysctl: net.core.busy_poll = 200 and no instance
 * with params (run between the two phases, the sysctl set back to 0).
 *
 * Output, one result a line, for scripts/ebp/bench_report.py:
 *   metric NAME VALUE UNIT
 *   cdf MODE Q1 ... Q1000     (round trip in ns at quantiles i/1000)
 * Exits non-zero when a call does not return what it should (so the
 * numbers are known to measure the intended path), when a phase's
 * condition does not hold, when a busy loop does not poll, or when the
 * network fails.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "epoll_bp_nsim.h"

#define PORT		4242	/* the request/response pair */
#define PORT_OTHER	4243	/* the other instance's socket */
#define PORT_CALIB	4244	/* the socket that measures a trace event */
#define BUSY_USECS	200	/* busy_poll_usecs, net.core.busy_poll */
#define TRACING		"/sys/kernel/tracing"
#define TRACE_DIR	TRACING "/instances/epoll_bp_bench"
#define NAPI_POLL_EVENT	"/events/napi/napi_poll"
#define QUANTILES	1000
#define EP_UNKNOWN_CMD	_IOR(EPOLL_IOC_TYPE, 0x03, struct epoll_params)
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static long iters = 20000;	/* calls per repetition (micro) */
static int reps = 7;		/* measured repetitions, after a warm-up */
static long round_trips = 10000;	/* per mode (net) */
static unsigned int order_seed;	/* shuffles the order of the modes */

static void die(const char *what, int err)
{
	printf("# error: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t cpu_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % sysconf(_SC_NPROCESSORS_ONLN), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct nsim_pair pair;

static void set_sysctl(long usecs)
{
	char buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%ld", usecs);
	ret = ep_write_file("/proc/sys/net/core/busy_poll", buf);
	if (ret)
		die("writing net.core.busy_poll", -ret);
}

/* --- micro --------------------------------------------------------- */

struct micro {
	int pipe_rd;
	int ep_target;		/* the target of the ioctls */
	int ep[3];		/* [PLAIN] without, [TUNED], [PARAMS] with params */
	int ep_idle[3];		/* an idle eventfd registered */
	int ep_ready[3];	/* a readable eventfd registered */
	int efd_idle[3], efd_ready[3];
	int ep_wake[3], efd_wake[3];
	int sock;		/* a UDP socket, with a NAPI ID if possible */
};

/* The three phases of the micro part (see the top of the file), which are
 * also the three sides of each set of instances.
 */
enum phase { PLAIN, TUNED, PARAMS };
static const char *const phase_name[] = { "plain", "tuned", "params" };

static struct micro m;
static int side;		/* which instance of each pair an op uses */

static long op_getppid(void)
{
	return getppid() > 0 ? 0 : -1;
}

static long op_pipe_unknown(void)
{
	struct epoll_params p;

	return ep_ioctl(m.pipe_rd, EP_UNKNOWN_CMD, &p);
}

static long op_epoll_unknown(void)
{
	struct epoll_params p;

	return ep_ioctl(m.ep_target, EP_UNKNOWN_CMD, &p);
}

static long op_get(void)
{
	struct epoll_params p;

	return ep_ioctl(m.ep_target, EPIOCGPARAMS, &p);
}

static long op_set(void)
{
	return ep_set(m.ep_target, 200, 8, 0, 0);
}

static long op_set_cap(void)
{
	return ep_set(m.ep_target, 200, 128, 0, 0);
}

static long op_set_refused(void)
{
	return ep_set(m.ep_target, 200, 8, 2, 0);
}

static long op_wait0_none(void)
{
	struct epoll_event ev[4];

	return epoll_wait(m.ep_idle[side], ev, 4, 0);
}

static long op_wait0_ready(void)
{
	struct epoll_event ev[4];

	return epoll_wait(m.ep_ready[side], ev, 4, 0);
}

static long op_add_del(void)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (epoll_ctl(m.ep[side], EPOLL_CTL_ADD, m.sock, &ev))
		return -errno;
	return epoll_ctl(m.ep[side], EPOLL_CTL_DEL, m.sock, NULL) ? -errno : 0;
}

static long op_wakeup(void)
{
	uint64_t one = 1;

	return write(m.efd_wake[side], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/*
 * Emulator calibration, not a kernel path: one call and return to a
 * function in the caller's page, and one to a function in another page.
 * QEMU's TCG chains translated blocks only within a guest page, so a jump
 * to another page pays a lookup that hardware does not; the difference
 * is what each crossing between fs/eventpoll.o and the Rust object costs
 * in the wall boots on top of its instructions.
 */
/* User space has no <linux/compiler.h>: the attributes, once. */
#define CALIBRATION_FN(sect, align) \
	__attribute__((noinline, noclone, section(sect), aligned(align)))

CALIBRATION_FN(".text.ebp_same", 4096)
static long callee_same_page(long x)
{
	__asm__ volatile("" : "+r"(x));	/* no constant folding */
	return x + 1;
}

CALIBRATION_FN(".text.ebp_other", 4096)
static long callee_other_page(long x)
{
	__asm__ volatile("" : "+r"(x));	/* no constant folding */
	return x + 1;
}

CALIBRATION_FN(".text.ebp_same", 16)
static long op_call_same_page(void)
{
	long x = callee_same_page(-1);

	__asm__ volatile("" : "+r"(x));	/* a call, not a tail jump */
	return x;
}

CALIBRATION_FN(".text.ebp_same", 16)
static long op_call_other_page(void)
{
	long x = callee_other_page(-1);

	__asm__ volatile("" : "+r"(x));	/* a call, not a tail jump */
	return x;
}

struct micro_op {
	const char *name;
	long (*fn)(void);
	long expect;		/* the return value every call must have */
	bool per_side;		/* run in both phases, on that phase's instance */
	enum phase phase;	/* otherwise, the phase it runs in */
};

static const struct micro_op micro_ops[] = {
	{ "tcg.call_same_page", op_call_same_page, 0, false, PLAIN },
	{ "tcg.call_other_page", op_call_other_page, 0, false, PLAIN },
	{ "syscall.getppid", op_getppid, 0, false, PLAIN },
	{ "ioctl.pipe_unknown", op_pipe_unknown, -ENOTTY, false, PLAIN },
	{ "ioctl.epoll_unknown", op_epoll_unknown, -EINVAL, false, PLAIN },
	{ "ioctl.get", op_get, 0, false, PLAIN },
	/* Refused: stores nothing, so the plain phase stays plain. */
	{ "ioctl.set_refused", op_set_refused, -EINVAL, false, PLAIN },
	/* These store non-zero params on ep_target. */
	{ "ioctl.set", op_set, 0, false, PARAMS },
	{ "ioctl.set_cap", op_set_cap, 0, false, PARAMS },
	{ "wait0.none", op_wait0_none, 0, true },
	{ "wait0.ready", op_wait0_ready, 1, true },
	{ "ctl.add_del", op_add_del, 0, true },
	{ "wakeup", op_wakeup, 0, true },
};

/* Median and minimum ns per call of @op over @reps repetitions. */
static void time_op(const struct micro_op *op, const char *name)
{
	double per_call[64];
	long i, ret;
	int r;

	ret = op->fn();
	if (ret != op->expect) {
		printf("# error: %s returned %ld, not %ld\n", name, ret, op->expect);
		exit(1);
	}
	for (r = -1; r < reps; r++) {
		uint64_t start = now_ns();

		for (i = 0; i < iters; i++)
			op->fn();
		if (r >= 0)	/* the first one warms the caches up */
			per_call[r] = (double)(now_ns() - start) / iters;
	}
	qsort(per_call, reps, sizeof(per_call[0]), cmp_double);
	printf("metric %s %.2f ns\n", name, per_call[reps / 2]);
	printf("metric %s.min %.2f ns\n", name, per_call[0]);
}

/* An instance of phase @ph: no params, params that do not busy poll
 * (budget 16), or params that do (usecs 200, budget 8).
 */
static int new_instance(enum phase ph)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		die("epoll_create1", errno);
	if (ph == TUNED && ep_set(ep, 0, 16, 0, 0))
		die("EPIOCSPARAMS", errno);
	if (ph == PARAMS && ep_set(ep, 200, 8, 0, 0))
		die("EPIOCSPARAMS", errno);
	return ep;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The number of epoll fds, in any process, whose /proc/PID/fdinfo shows
 * a non-zero busy_poll_usecs (both kernels print the three after the tfd:
 * lines).  Exits if an epoll fd's fdinfo has no such lines: then this is
 * not a kernel the benchmark can vouch for.
 */
static int busy_polling_instances(void)
{
	struct dirent *p, *f;
	DIR *proc, *fds;
	char path[600], link[64], line[128];
	int found = 0;

	proc = opendir("/proc");
	if (!proc)
		die("opening /proc", errno);
	while ((p = readdir(proc))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;	/* gone, or a kernel thread */
		while ((f = readdir(fds))) {
			ssize_t n;
			int fields = 0, nonzero = 0;
			unsigned long v;
			FILE *info;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = 0;
			if (strcmp(link, "anon_inode:[eventpoll]"))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s",
				 p->d_name, f->d_name);
			info = fopen(path, "r");
			if (!info)
				continue;	/* closed meanwhile */
			while (fgets(line, sizeof(line), info)) {
				if (sscanf(line, "busy_poll_usecs: %lu", &v) == 1) {
					fields++;
					nonzero |= v != 0;
				} else if (sscanf(line, "busy_poll_budget: %lu", &v) == 1 ||
					   sscanf(line, "prefer_busy_poll: %lu", &v) == 1) {
					fields++;
				}
			}
			fclose(info);
			if (fields != 3) {
				printf("# error: %s shows %d of the 3 busy-poll params: ",
				       path, fields);
				printf("not a kernel with this patch\n");
				exit(1);
			}
			found += nonzero;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* What the plain phase needs: nothing in the system busy polls. */
static void check_nothing_busy_polls(const char *when)
{
	long sysctl = nsim_read_long("/proc/sys/net/core/busy_poll");
	int n;

	if (sysctl != 0) {
		printf("# error: %s: net.core.busy_poll is %ld, not 0\n",
		       when, sysctl);
		exit(1);
	}
	n = busy_polling_instances();
	if (n) {
		printf("# error: %s: %d epoll fds have a non-zero busy_poll_usecs\n",
		       when, n);
		exit(1);
	}
}

/* The instances of side @s (see new_instance()). */
static void make_side(int s)
{
	uint64_t one = 1;
	int efd;

	m.ep[s] = new_instance(s);
	m.ep_idle[s] = new_instance(s);
	efd = eventfd(0, EFD_NONBLOCK);
	m.efd_idle[s] = efd;
	if (efd < 0 || add_fd(m.ep_idle[s], efd))
		die("idle eventfd", errno);
	m.ep_ready[s] = new_instance(s);
	efd = eventfd(0, EFD_NONBLOCK);
	m.efd_ready[s] = efd;
	if (efd < 0 || write(efd, &one, sizeof(one)) != sizeof(one) ||
	    add_fd(m.ep_ready[s], efd))
		die("ready eventfd", errno);
	m.ep_wake[s] = new_instance(s);
	m.efd_wake[s] = eventfd(0, EFD_NONBLOCK);
	if (m.efd_wake[s] < 0 || add_fd(m.ep_wake[s], m.efd_wake[s]))
		die("wakeup eventfd", errno);
}

/* The ops of phase @ph: its own, and every per-side op on its side. */
static void run_phase(enum phase ph)
{
	char name[64];
	size_t i;

	side = ph;
	for (i = 0; i < ARRAY_SIZE(micro_ops); i++) {
		const struct micro_op *op = &micro_ops[i];

		if (!op->per_side) {
			if (op->phase == ph)
				time_op(op, op->name);
			continue;
		}
		snprintf(name, sizeof(name), "%s.%s", op->name, phase_name[ph]);
		time_op(op, name);
	}
}

static void busy_loop_setup(void);
static void busy_loop_mode(const char *mode, int ep, int sock);
static void busy_loop_teardown(void);

static void run_micro(int sock)
{
	int pipefd[2], s, ep;

	if (pipe(pipefd))
		die("pipe", errno);
	m.pipe_rd = pipefd[0];
	m.sock = sock;
	printf("# micro: %d x %ld calls per op, median of the repetitions\n",
	       reps, iters);

	printf("# micro, plain phase: net.core.busy_poll 0, no epoll instance with params\n");
	check_nothing_busy_polls("before the plain phase");
	m.ep_target = new_instance(PLAIN);
	make_side(PLAIN);
	run_phase(PLAIN);
	check_nothing_busy_polls("at the end of the plain phase");

	printf("# micro, tuned phase: instances with params that do not busy poll (budget 16)\n");
	make_side(TUNED);
	run_phase(TUNED);
	check_nothing_busy_polls("at the end of the tuned phase");

	/* The busy loop through the sysctl: still no instance with params. */
	busy_loop_setup();
	set_sysctl(BUSY_USECS);
	ep = new_instance(PLAIN);
	busy_loop_mode("sysctl", ep, sock);
	close(ep);
	set_sysctl(0);

	printf("# micro, params phase: instances with params (usecs 200, budget 8)\n");
	make_side(PARAMS);
	run_phase(PARAMS);
	ep = new_instance(PARAMS);
	busy_loop_mode("epoll", ep, sock);
	close(ep);
	busy_loop_teardown();

	close(m.pipe_rd);
	close(pipefd[1]);
	close(m.ep_target);
	for (s = 0; s < 3; s++) {
		close(m.ep[s]);
		close(m.ep_idle[s]);
		close(m.efd_idle[s]);
		close(m.ep_ready[s]);
		close(m.efd_ready[s]);
		close(m.ep_wake[s]);
		close(m.efd_wake[s]);
	}
}

/* --- busy loop ----------------------------------------------------- */

static int napi_poll_type;	/* the event's id, as tracefs numbers it */
static int calib_sock = -1;	/* SO_BUSY_POLL, with a NAPI ID */
static double trace_event_ns;	/* what recording one event costs */
static uint64_t trace_ts[1 << 16];	/* timestamps of one loop's polls */

static void trace_write(const char *file, const char *s)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), TRACE_DIR "%s", file);
	ret = ep_write_file(path, s);
	if (ret)
		die(path, -ret);
}

/* Empties the instance's buffer. */
static void trace_clear(void)
{
	int fd = open(TRACE_DIR "/trace", O_WRONLY | O_TRUNC);

	if (fd < 0)
		die("clearing " TRACE_DIR "/trace", errno);
	close(fd);
}

/* The napi:napi_poll events this thread recorded since the last clear:
 * their timestamps (ns, trace_clock mono) into trace_ts; their number.
 * With the raw option a line is "PID CPU TS type: ID".
 */
static int trace_read(void)
{
	FILE *f = fopen(TRACE_DIR "/trace", "r");
	int pid, cpu, type, n = 0, tid = gettid();
	unsigned long long ts;
	char line[256];

	if (!f)
		die("reading " TRACE_DIR "/trace", errno);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (strstr(line, "LOST")) {
			printf("# error: the trace buffer lost events: %s", line);
			exit(1);
		}
		if (sscanf(line, "%d %d %llu type: %d", &pid, &cpu, &ts, &type) != 4 ||
		    pid != tid || type != napi_poll_type)
			continue;
		if (n == ARRAY_SIZE(trace_ts)) {
			printf("# error: over %zu napi polls in one busy loop\n",
			       ARRAY_SIZE(trace_ts));
			exit(1);
		}
		trace_ts[n++] = ts;
	}
	fclose(f);
	return n;
}

static int calib_socket(void *arg)
{
	return nsim_udp_socket(1, PORT_CALIB);
}

/* ns per non-blocking recv() on the empty calibration socket; each call
 * busy polls once (two napi polls: the loop's and busy_poll_stop()'s).
 * With the event on, checks that each call recorded its two events.
 */
static double recv_ns(bool traced, long calls)
{
	uint64_t start;
	char buf[8];
	long i;
	int n;

	trace_write(NAPI_POLL_EVENT "/enable", traced ? "1" : "0");
	trace_clear();
	start = now_ns();
	for (i = 0; i < calls; i++)
		recv(calib_sock, buf, sizeof(buf), MSG_DONTWAIT);
	start = now_ns() - start;
	n = traced ? trace_read() : 2 * calls;
	if (n != 2 * calls) {
		printf("# error: %ld busy-polling recv() calls made %d napi polls, not %ld\n",
		       calls, n, 2 * calls);
		exit(1);
	}
	return (double)start / calls;
}

/* The tracefs instance, and what recording one napi:napi_poll event costs:
 * non-blocking recv() calls on a socket that busy polls the same NAPI
 * (two polls each), with the event on and off, interleaved.
 */
static void busy_loop_setup(void)
{
	long calls = iters < 2000 ? iters : 2000, usecs = BUSY_USECS;
	double on[64], off[64];
	char buf[8];
	int r;

	pin(0);
	napi_poll_type = nsim_read_long(TRACING NAPI_POLL_EVENT "/id");
	if (napi_poll_type <= 0) {
		printf("# error: no napi:napi_poll tracepoint in %s (CONFIG_TRACING, tracefs)\n",
		       TRACING);
		exit(1);
	}
	if (mkdir(TRACE_DIR, 0755) && errno != EEXIST)
		die("creating the tracefs instance " TRACE_DIR, errno);
	trace_write("/trace_clock", "mono");	/* ns: instructions under icount */
	trace_write("/options/raw", "1");	/* the timestamp in ns */

	calib_sock = nsim_in_ns(&pair, 0, calib_socket, NULL);
	if (calib_sock < 0)
		die("the calibration socket", errno);
	if (setsockopt(calib_sock, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(int)))
		die("SO_BUSY_POLL", errno);
	/* A datagram gives it the NAPI ID of the pair's side 0. */
	nsim_send(pair.sock[1], 1, PORT_CALIB, "x", 1);
	usleep(100000);
	while (recv(calib_sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	recv_ns(true, calls);	/* warm up, and check the two polls */
	recv_ns(false, calls);
	for (r = 0; r < reps; r++) {
		on[r] = recv_ns(true, calls);
		off[r] = recv_ns(false, calls);
	}
	qsort(on, reps, sizeof(on[0]), cmp_double);
	qsort(off, reps, sizeof(off[0]), cmp_double);
	trace_event_ns = (on[reps / 2] - off[reps / 2]) / 2;
	printf("# busy loop: usecs %d, no traffic; napi:napi_poll events (trace_clock mono), ",
	       BUSY_USECS);
	printf("%d loops per mode after a warm-up\n", reps);
	printf("metric busyloop.trace_event %.2f ns\n", trace_event_ns);
}

/* One busy loop of @ep on @sock: the mean ns between two consecutive
 * polls of the loop (intervals over twice the median left out: an
 * interrupt), and its number of polls in @spins.
 */
static double busy_loop_once(int ep, int sock, int *spins)
{
	static uint64_t gap[ARRAY_SIZE(trace_ts)], sorted[ARRAY_SIZE(trace_ts)];
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t sum = 0, median;
	int n, i, kept = 0, ret, attempt;

	/* A busy loop also ends when the task should reschedule, which a
	 * timer or a kworker can ask for at any spin when the guest runs in
	 * real time (TCG without -icount): a loop cut short is tried again.
	 */
	for (attempt = 0; attempt < 10; attempt++) {
		/* ADD gives the instance the socket's NAPI ID (epoll dropped
		 * it when the last loop timed out).
		 */
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sock, &ev))
			die("EPOLL_CTL_ADD of the busy-polled socket", errno);
		trace_clear();
		ret = epoll_wait(ep, &ev, 1, 1);
		if (ret < 0)
			die("busy-polling epoll_wait", errno);
		n = trace_read();
		if (epoll_ctl(ep, EPOLL_CTL_DEL, sock, NULL))
			die("EPOLL_CTL_DEL of the busy-polled socket", errno);
		if (ret != 0) {
			printf("# error: busy-polling epoll_wait returned %d, not 0: traffic?\n",
			       ret);
			exit(1);
		}
		/* The last event is busy_poll_stop()'s poll, after the loop. */
		n--;
		if (n >= 3)
			break;
	}
	if (n < 3) {
		printf("# error: the busy loop polled %d times, %d times in a row: no NAPI ID, or no busy polling\n",
		       n < 0 ? 0 : n, attempt);
		exit(1);
	}
	for (i = 0; i < n - 1; i++) {
		gap[i] = trace_ts[i + 1] - trace_ts[i];
		sorted[i] = gap[i];
	}
	qsort(sorted, n - 1, sizeof(sorted[0]), cmp_u64);
	median = sorted[(n - 1) / 2];
	for (i = 0; i < n - 1; i++) {
		if (gap[i] <= 2 * median) {
			sum += gap[i];
			kept++;
		}
	}
	*spins = n;
	return (double)sum / kept;
}

/* Busy loops of @ep on @sock: the median over the loops of ns per spin,
 * traced and with the event's cost taken off, and of the spins per loop.
 */
static void busy_loop_mode(const char *mode, int ep, int sock)
{
	double per_spin[64];
	int spins[64], r;

	pin(0);
	trace_write(NAPI_POLL_EVENT "/enable", "1");
	busy_loop_once(ep, sock, &spins[0]);	/* warm up */
	for (r = 0; r < reps; r++)
		per_spin[r] = busy_loop_once(ep, sock, &spins[r]);
	trace_write(NAPI_POLL_EVENT "/enable", "0");
	qsort(per_spin, reps, sizeof(per_spin[0]), cmp_double);
	qsort(spins, reps, sizeof(spins[0]), cmp_int);
	printf("metric busyloop.%s.traced %.2f ns\n", mode, per_spin[reps / 2]);
	printf("metric busyloop.%s.spin %.2f ns\n", mode,
	       per_spin[reps / 2] - trace_event_ns);
	printf("metric busyloop.%s.spins %d count\n", mode, spins[reps / 2]);
}

static void busy_loop_teardown(void)
{
	close(calib_sock);
	calib_sock = -1;
	trace_write(NAPI_POLL_EVENT "/enable", "0");
	/* The numbers are taken: a left-over instance only holds memory. */
	if (rmdir(TRACE_DIR))
		printf("# note: removing the tracefs instance %s: %s\n", TRACE_DIR,
		       strerror(errno));
}

/* --- net ----------------------------------------------------------- */

static atomic_bool stop;

/* Echoes every datagram on side 1 back to its sender; exits on "q". */
static void *server(void *arg)
{
	int s = pair.sock[1];
	char buf[64];

	pin(1);
	fcntl(s, F_SETFL, 0);	/* blocking: it sleeps between requests */
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &len);

		if (n == 1 && buf[0] == 'q')
			return NULL;
		if (n > 0)
			sendto(s, buf, n, 0, (struct sockaddr *)&from, len);
	}
}

struct mode {
	const char *name;
	long sysctl;		/* net.core.busy_poll, us */
	int usecs, budget, prefer;	/* per-epoll params; usecs 0: none */
};

static const struct mode modes[] = {
	{ "none", 0, 0, 0, 0 },
	{ "sysctl-50", 50, 0, 0, 0 },
	{ "sysctl-200", 200, 0, 0, 0 },
	{ "epoll-50-8-0", 0, 50, 8, 0 },
	{ "epoll-50-8-1", 0, 50, 8, 1 },
	{ "epoll-50-64-0", 0, 50, 64, 0 },
	{ "epoll-50-64-1", 0, 50, 64, 1 },
	{ "epoll-200-8-0", 0, 200, 8, 0 },
	{ "epoll-200-8-1", 0, 200, 8, 1 },
	{ "epoll-200-64-0", 0, 200, 64, 0 },
	{ "epoll-200-64-1", 0, 200, 64, 1 },
};

static int mode_instance(const struct mode *mo, int sock)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		die("epoll_create1", errno);
	if (mo->usecs && ep_set(ep, mo->usecs, mo->budget, mo->prefer, 0))
		die("EPIOCSPARAMS", errno);
	if (add_fd(ep, sock))
		die("EPOLL_CTL_ADD", errno);
	return ep;
}

/* One round trip from the client socket; its time in ns, 0 if lost. */
static uint64_t round_trip(int ep, int sock, uint32_t seq)
{
	struct epoll_event ev;
	uint64_t start = now_ns();
	uint32_t got;

	if (nsim_send(sock, 2, PORT, &seq, sizeof(seq)))
		die("sending a request", errno);
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, 1000);

		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			die("epoll_wait", errno);
		while (recv(sock, &got, sizeof(got), 0) == sizeof(got))
			if (got == seq)
				return now_ns() - start;
	}
}

/* What one mode measured, over all its blocks. */
struct mode_result {
	uint64_t *lat;		/* round trips, ns */
	long n, lost;
	uint64_t cpu, srv_cpu;	/* client and server thread CPU time, ns */
};

/* One block of @count round trips in mode @mo, added to @res. */
static void run_block(const struct mode *mo, pthread_t srv, long count,
		      struct mode_result *res)
{
	clockid_t srv_clock;
	uint64_t cpu0, srv0;
	int ep, sock = pair.sock[0];
	static uint32_t seq;
	long i;

	pthread_getcpuclockid(srv, &srv_clock);
	set_sysctl(mo->sysctl);
	ep = mode_instance(mo, sock);
	for (i = 0; i < 50; i++)	/* warm up, and learn the NAPI ID */
		round_trip(ep, sock, ++seq);
	cpu0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	srv0 = cpu_ns(srv_clock);
	for (i = 0; i < count; i++) {
		uint64_t t = round_trip(ep, sock, ++seq);

		if (t)
			res->lat[res->n++] = t;
		else
			res->lost++;
	}
	res->cpu += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	res->srv_cpu += cpu_ns(srv_clock) - srv0;
	close(ep);
	set_sysctl(0);
}

static void report_mode(const struct mode *mo, struct mode_result *res)
{
	uint64_t *lat = res->lat;
	long i, n = res->n;

	if (n < round_trips * 99 / 100) {
		printf("# error: %s: %ld of %ld round trips lost\n", mo->name,
		       res->lost, round_trips);
		exit(1);
	}
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	printf("metric rtt.%s.p50 %llu ns\n", mo->name,
	       (unsigned long long)lat[n / 2]);
	printf("metric rtt.%s.p99 %llu ns\n", mo->name,
	       (unsigned long long)lat[n * 99 / 100]);
	printf("metric rtt.%s.p99.9 %llu ns\n", mo->name,
	       (unsigned long long)lat[n * 999 / 1000]);
	printf("metric rtt.%s.cpu_client %.0f ns\n", mo->name,
	       (double)res->cpu / n);
	printf("metric rtt.%s.cpu_server %.0f ns\n", mo->name,
	       (double)res->srv_cpu / n);
	printf("metric rtt.%s.lost %ld count\n", mo->name, res->lost);
	printf("cdf %s", mo->name);
	for (i = 1; i <= QUANTILES; i++)
		printf(" %llu", (unsigned long long)lat[(n - 1) * i / QUANTILES]);
	printf("\n");
	fflush(stdout);
}

/* The other instance: no params, one socket that a ticker pokes every
 * 2 ms.  It counts its wakeups until told to stop.
 */
struct other {
	int sock, ticker;
	atomic_long wakeups;
	pthread_t thread, tick_thread;
};

static void *other_waiter(void *arg)
{
	struct other *o = arg;
	struct epoll_event ev;
	int ep = epoll_create1(0);
	char buf[8];

	pin(1);
	if (ep < 0 || add_fd(ep, o->sock))
		die("the other instance", errno);
	while (!stop) {
		if (epoll_wait(ep, &ev, 1, 50) > 0) {
			o->wakeups++;
			while (recv(o->sock, buf, sizeof(buf), 0) > 0)
				;
		}
	}
	close(ep);
	return NULL;
}

static void *ticker(void *arg)
{
	struct other *o = arg;
	struct timespec ts = { 0, 2000000 };

	pin(1);
	while (!stop) {
		nsim_send(o->ticker, 1, PORT_OTHER, "t", 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int other_socket(void *arg)
{
	return nsim_udp_socket(1, PORT_OTHER);
}

static int ticker_socket(void *arg)
{
	return socket(AF_INET, SOCK_DGRAM, 0);
}

/* The CPU share another instance (no params) takes while the client busy
 * polls through its own params, or through the sysctl, for 1 s each.
 */
static void run_isolation(pthread_t srv)
{
	static const struct mode iso[] = {
		{ "none", 0, 0, 0, 0 },
		{ "epoll-200-8-0", 0, 200, 8, 0 },
		{ "sysctl-200", 200, 0, 0, 0 },
	};
	struct other o = { 0 };
	clockid_t other_clock;
	size_t i;

	o.sock = nsim_in_ns(&pair, 0, other_socket, NULL);
	o.ticker = nsim_in_ns(&pair, 1, ticker_socket, NULL);
	if (o.sock < 0 || o.ticker < 0)
		die("the other instance's sockets", errno);
	stop = false;
	if (pthread_create(&o.thread, NULL, other_waiter, &o) ||
	    pthread_create(&o.tick_thread, NULL, ticker, &o))
		die("pthread_create", errno);
	pthread_getcpuclockid(o.thread, &other_clock);
	for (i = 0; i < ARRAY_SIZE(iso); i++) {
		const struct mode *mo = &iso[i];
		uint64_t t0, cpu0, other0, wall, cpu, other;
		long wake0 = o.wakeups, trips = 0;
		int ep;
		static uint32_t seq = 1u << 31;

		set_sysctl(mo->sysctl);
		ep = mode_instance(mo, pair.sock[0]);
		round_trip(ep, pair.sock[0], ++seq);
		t0 = now_ns();
		cpu0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
		other0 = cpu_ns(other_clock);
		while (now_ns() - t0 < 1000000000ULL) {
			round_trip(ep, pair.sock[0], ++seq);
			trips++;
		}
		wall = now_ns() - t0;
		cpu = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
		other = cpu_ns(other_clock) - other0;
		close(ep);
		set_sysctl(0);
		printf("metric iso.%s.poller_cpu %.2f %%\n", mo->name,
		       100.0 * cpu / wall);
		printf("metric iso.%s.other_cpu %.2f %%\n", mo->name,
		       100.0 * other / wall);
		printf("metric iso.%s.other_cpu_per_wakeup %.0f ns\n", mo->name,
		       (double)other / (o.wakeups - wake0 ? o.wakeups - wake0 : 1));
		printf("metric iso.%s.round_trips %ld count\n", mo->name, trips);
	}
	stop = true;
	pthread_join(o.thread, NULL);
	pthread_join(o.tick_thread, NULL);
	close(o.sock);
	close(o.ticker);
}

/* The round trips of every mode, in BLOCKS interleaved blocks: each block
 * runs every mode once, in an order shuffled by -s and the block number,
 * so a drift during the boot spreads over all modes alike.
 */
#define BLOCKS 5

static void run_net(void)
{
	static struct mode_result res[ARRAY_SIZE(modes)];
	size_t i, b, n_modes = ARRAY_SIZE(modes), order[ARRAY_SIZE(modes)];
	long per_block = (round_trips + BLOCKS - 1) / BLOCKS;
	pthread_t srv;

	for (i = 0; i < n_modes; i++) {
		res[i].lat = calloc(per_block * BLOCKS, sizeof(uint64_t));
		if (!res[i].lat)
			die("calloc", ENOMEM);
		order[i] = i;
	}
	pin(0);
	if (pthread_create(&srv, NULL, server, NULL))
		die("pthread_create", errno);
	printf("# net: %ld round trips per mode in %d interleaved blocks; ",
	       per_block * BLOCKS, BLOCKS);
	printf("client on CPU 0, server on CPU 1; order seed %u\n", order_seed);
	srand(order_seed);
	for (b = 0; b < BLOCKS; b++) {
		for (i = n_modes - 1; i > 0; i--) {
			size_t j = rand() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < n_modes; i++)
			run_block(&modes[order[i]], srv, per_block, &res[order[i]]);
	}
	for (i = 0; i < n_modes; i++) {
		report_mode(&modes[i], &res[i]);
		free(res[i].lat);
	}
	run_isolation(srv);
	nsim_send(pair.sock[0], 2, PORT, "q", 1);
	pthread_join(srv, NULL);
}

int main(int argc, char **argv)
{
	const char *what = "all", *why;
	long saved_sysctl;
	int c, ret;

	while ((c = getopt(argc, argv, "m:i:r:n:s:")) != -1) {
		switch (c) {
		case 'm':
			what = optarg;
			break;
		case 'i':
			iters = atol(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			round_trips = atol(optarg);
			break;
		case 's':
			order_seed = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-m micro|net|all] [-i CALLS] [-r REPS] [-n ROUND_TRIPS] [-s ORDER_SEED]\n",
				argv[0]);
			return 2;
		}
	}
	if (iters < 1 || reps < 1 || reps > 64 || round_trips < 100) {
		fprintf(stderr, "%s: -i >= 1, 1 <= -r <= 64, -n >= 100\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = nsim_pair_create(&pair, PORT, &why);
	if (ret)
		die(why, -ret);
	/* One datagram each way gives both sockets their NAPI IDs. */
	nsim_send(pair.sock[0], 2, PORT, "x", 1);
	nsim_send(pair.sock[1], 1, PORT, "x", 1);
	usleep(100000);
	{
		char buf[8];

		while (recv(pair.sock[0], buf, sizeof(buf), 0) > 0)
			;
		while (recv(pair.sock[1], buf, sizeof(buf), 0) > 0)
			;
	}
	saved_sysctl = nsim_read_long("/proc/sys/net/core/busy_poll");
	if (!strcmp(what, "micro") || !strcmp(what, "all"))
		run_micro(pair.sock[0]);
	if (!strcmp(what, "net") || !strcmp(what, "all"))
		run_net();
	set_sysctl(saved_sysctl > 0 ? saved_sysctl : 0);
	nsim_pair_destroy(&pair);
	printf("# done\n");
	return 0;
}
