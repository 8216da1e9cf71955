// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of per-epoll busy polling, run in the guest by `make bench` on
 * the Rust and the C kernel alike:
 *
 *   micro  the cost of one call: the two ioctls (get, set accepted, set
 *          refused) next to an unknown ioctl on a pipe (the bare syscall
 *          and fd lookup), and the epoll hot path (epoll_wait with timeout
 *          0, epoll_ctl ADD+DEL of a socket, the wakeup callback), each on
 *          an instance with and without params.  Under QEMU -icount
 *          shift=0 a guest nanosecond is one instruction, so the same
 *          numbers are instructions per call there.
 *   net    request/response round trips over a linked netdevsim pair
 *          with no busy polling, with the net.core.busy_poll sysctl and
 *          with per-epoll params; latency quantiles and CPU per message;
 *          and the CPU another instance burns meanwhile (isolation).
 *
 * Output, one result a line, for scripts/ebp/bench_report.py:
 *   metric NAME VALUE UNIT
 *   cdf MODE Q1 ... Q1000     (round trip in ns at quantiles i/1000)
 * Exits non-zero when a call does not return what it should (so the
 * numbers are known to measure the intended path) or the network fails.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>

#include "epoll_bp_nsim.h"

#define PORT		4242	/* the request/response pair */
#define PORT_OTHER	4243	/* the other instance's socket */
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* --- micro --------------------------------------------------------- */

struct micro {
	int pipe_rd;
	int ep_target;		/* the target of the ioctls */
	int ep[2];		/* without, with params */
	int ep_idle[2];		/* an idle eventfd registered */
	int ep_ready[2];	/* a readable eventfd registered */
	int ep_wake[2], efd_wake[2];
	int sock;		/* a UDP socket, with a NAPI ID if possible */
};

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
	bool per_side;		/* run on the instance without and with params */
};

static const struct micro_op micro_ops[] = {
	{ "tcg.call_same_page", op_call_same_page, 0, false },
	{ "tcg.call_other_page", op_call_other_page, 0, false },
	{ "syscall.getppid", op_getppid, 0, false },
	{ "ioctl.pipe_unknown", op_pipe_unknown, -ENOTTY, false },
	{ "ioctl.epoll_unknown", op_epoll_unknown, -EINVAL, false },
	{ "ioctl.get", op_get, 0, false },
	{ "ioctl.set", op_set, 0, false },
	{ "ioctl.set_cap", op_set_cap, 0, false },
	{ "ioctl.set_refused", op_set_refused, -EINVAL, false },
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

static int new_instance(int with_params)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		die("epoll_create1", errno);
	if (with_params && ep_set(ep, 200, 8, 0, 0))
		die("EPIOCSPARAMS", errno);
	return ep;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void run_micro(int sock)
{
	int pipefd[2], s, efd;
	uint64_t one = 1;
	size_t i;
	char name[64];

	if (pipe(pipefd))
		die("pipe", errno);
	m.pipe_rd = pipefd[0];
	m.sock = sock;
	m.ep_target = new_instance(0);
	for (s = 0; s < 2; s++) {
		m.ep[s] = new_instance(s);
		m.ep_idle[s] = new_instance(s);
		efd = eventfd(0, EFD_NONBLOCK);
		if (efd < 0 || add_fd(m.ep_idle[s], efd))
			die("idle eventfd", errno);
		m.ep_ready[s] = new_instance(s);
		efd = eventfd(0, EFD_NONBLOCK);
		if (efd < 0 || write(efd, &one, sizeof(one)) != sizeof(one) ||
		    add_fd(m.ep_ready[s], efd))
			die("ready eventfd", errno);
		m.ep_wake[s] = new_instance(s);
		m.efd_wake[s] = eventfd(0, EFD_NONBLOCK);
		if (m.efd_wake[s] < 0 || add_fd(m.ep_wake[s], m.efd_wake[s]))
			die("wakeup eventfd", errno);
	}
	printf("# micro: %d x %ld calls per op, median of the repetitions\n",
	       reps, iters);
	for (i = 0; i < ARRAY_SIZE(micro_ops); i++) {
		const struct micro_op *op = &micro_ops[i];

		if (!op->per_side) {
			side = 0;
			time_op(op, op->name);
			continue;
		}
		for (s = 0; s < 2; s++) {
			side = s;
			snprintf(name, sizeof(name), "%s.%s", op->name,
				 s ? "params" : "plain");
			time_op(op, name);
		}
	}
}

/* --- net ----------------------------------------------------------- */

static struct nsim_pair pair;
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

static void set_sysctl(long usecs)
{
	char buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%ld", usecs);
	ret = ep_write_file("/proc/sys/net/core/busy_poll", buf);
	if (ret)
		die("writing net.core.busy_poll", -ret);
}

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
