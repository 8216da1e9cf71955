// SPDX-License-Identifier: GPL-2.0
/*
 * IRQ suspension with epoll's per-instance busy polling, over the linked
 * netdevsim pair of epoll_bp_nsim.h: side 0 (192.0.2.1) is the client,
 * side 1 (192.0.2.2) the server, whose port's NAPI instances get their
 * settings over generic netlink "netdev" (napi-set: defer-hard-irqs,
 * gro-flush-timeout, irq-suspend-timeout; epoll_bp_genl.h).
 *
 * tcp.*: as mainline's busy_poll_test.sh and busy_poller.c do, 1 MiB
 * goes over TCP into a server that busy polls through an epoll instance
 * with params (busy_poll_usecs 1000, budget 16, prefer_busy_poll 1), the
 * server's NAPIs set to defer-hard-irqs 100 and gro-flush-timeout 50 us,
 * without (irq-suspend-timeout 0) and with (20 ms) suspension: the bytes
 * must arrive, all of them and in order.  How many packets busy polling
 * took off the NAPI is shown, not checked: netdevsim hands each packet to
 * the receiving NAPI in the sender's softirq, and with the window updates
 * and the data going back and forth on one CPU the server mostly finds
 * data ready and does not spin at all.
 *
 * suspend.*: suspension seen from outside epoll, in a tracefs instance.
 * netdevsim ignores what napi_complete_done() answers, so the NAPI's
 * hrtimer is what shows it: napi_suspend_irqs() starts it (function
 * napi_watchdog) irq-suspend-timeout ahead.  With prefer_busy_poll and
 * a distinctive irq-suspend-timeout T, each epoll_wait() that delivers
 * events starts that timer T ahead, whether the datagram was there
 * before the call (no busy loop runs: only napi_suspend_irqs() can start
 * it then, and the trace shows no busy-poll napi_poll) or arrived during
 * it; also with busy_poll_usecs 0.  With T = 0, or on an instance
 * without prefer_busy_poll, no timer is ever started T ahead (those with
 * the gro-flush-timeout G, another distinctive value, are).  Freeing a
 * suspended instance schedules the NAPI (napi_resume_irqs()): a
 * napi:napi_poll of the server's port within close(), long before T.
 * Needs root in the initial network namespace, netdevsim and tracefs.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_genl.h"
#include "epoll_bp_nsim.h"

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

#define UDP_PORT 4245
#define TCP_PORT 4246
#define MAX_NAPIS 16
#define SERVER_PORT_NAME "ebpsrv0"	/* side 1's port, renamed */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int set_busy_poll_sysctl(long usecs)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", usecs);
	return ep_write_file("/proc/sys/net/core/busy_poll", buf);
}

/* The server side: the pair, and netlink "netdev" in side 1's netns. */
struct server {
	struct nsim_pair nsim;
	int genl, family;
	int ifindex;			/* side 1's port, in its netns */
	__u32 napi[MAX_NAPIS];		/* that port's NAPI IDs */
	int napis;
	long saved_busy_poll;
	char trace[96];			/* suspend.*: our tracefs instance */
};

static int open_genl(void *arg)
{
	struct server *s = arg;

	s->genl = ebp_genl_open(&s->family);
	return s->genl < 0 ? s->genl : 0;
}

/* Renames side 1's port, so that napi:napi_poll events name it alone (a
 * new netns's first netdevsim port is eth0 on both sides).
 */
static int rename_server_port(void *arg)
{
	struct server *s = arg;
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", s->nsim.port[1]);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags &= ~IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	snprintf(ifr.ifr_newname, IFNAMSIZ, "%s", SERVER_PORT_NAME);
	if (!ret && ioctl(fd, SIOCSIFNAME, &ifr))
		ret = -errno;
	close(fd);
	if (!ret) {
		snprintf(s->nsim.port[1], IFNAMSIZ, "%s", SERVER_PORT_NAME);
		ret = nsim_ifup(SERVER_PORT_NAME, 2);
	}
	s->ifindex = ret ? 0 : if_nametoindex(SERVER_PORT_NAME);
	return ret ? ret : s->ifindex ? 0 : -ENODEV;
}

static void server_destroy(struct server *s)
{
	if (s->genl >= 0)
		close(s->genl);
	nsim_pair_destroy(&s->nsim);
	if (s->saved_busy_poll >= 0)
		set_busy_poll_sysctl(s->saved_busy_poll);
}

/* The pair, its server port renamed, net.core.busy_poll 0 (so only the
 * instances' params busy poll), and the port's NAPI IDs.  Returns 0, or
 * -errno with what failed in @why, having undone what it did.
 */
static int server_create(struct server *s, const char **why)
{
	struct ebp_napi napis[MAX_NAPIS];
	int ret, i;

	s->genl = -1;
	s->saved_busy_poll = -1;
	ret = nsim_pair_create(&s->nsim, UDP_PORT, why);
	if (!ret) {
		*why = "renaming the server's port";
		ret = nsim_in_ns(&s->nsim, 1, rename_server_port, s);
	}
	if (!ret) {
		*why = "opening generic netlink \"netdev\" in the server's netns";
		ret = nsim_in_ns(&s->nsim, 1, open_genl, s);
	}
	if (!ret) {
		*why = "napi-get dump of the server's port";
		ret = ebp_napi_dump(s->genl, s->family, s->ifindex, napis, MAX_NAPIS);
		if (!ret)
			ret = -ENOENT;	/* a port up has a NAPI */
		if (ret > MAX_NAPIS)
			ret = -E2BIG;
	}
	if (ret > 0) {
		s->napis = ret;
		for (i = 0; i < s->napis; i++)
			s->napi[i] = napis[i].id;
		*why = "reading net.core.busy_poll (initial netns only)";
		s->saved_busy_poll = nsim_read_long("/proc/sys/net/core/busy_poll");
		ret = s->saved_busy_poll < 0 ? -ENOENT : set_busy_poll_sysctl(0);
	}
	if (ret)
		server_destroy(s);
	return ret;
}

/* napi-set on every NAPI of the server's port; then napi-get must show
 * the three settings.  0, -errno, or -EBADE if napi-get shows others.
 */
static int server_napi_set(struct server *s, long long defer, long long gro,
			   long long suspend)
{
	struct ebp_napi n;
	int i, ret = 0;

	for (i = 0; i < s->napis && !ret; i++) {
		ret = ebp_napi_set(s->genl, s->family, s->napi[i], defer, gro,
				   suspend);
		if (!ret)
			ret = ebp_napi_get(s->genl, s->family, s->napi[i], &n);
		if (!ret && (!n.has_defer || !n.has_gro || !n.has_suspend ||
			     n.defer_hard_irqs != defer || n.gro_flush_timeout != gro ||
			     n.irq_suspend_timeout != suspend))
			ret = -EBADE;
	}
	return ret;
}

/* --- 1. 1 MiB over TCP, as busy_poll_test.sh ------------------------- */

#define TCP_BYTES (1024 * 1024)
#define TCP_USECS 1000
#define TCP_BUDGET 16
#define TCP_DEFER 100
#define TCP_GRO_NS 50000LL
#define TCP_DEADLINE_NS 20000000000LL	/* a transfer that stalls fails */

FIXTURE(tcp)
{
	struct server s;
};

FIXTURE_VARIANT(tcp)
{
	long long suspend_ns;
	uint64_t seed;
};

FIXTURE_VARIANT_ADD(tcp, no_suspension)
{
	.suspend_ns = 0,
	.seed = 0x9e3779b97f4a7c15ULL,
};

FIXTURE_VARIANT_ADD(tcp, suspension)
{
	.suspend_ns = 20000000,
	.seed = 0xd1b54a32d192ed03ULL,
};

FIXTURE_SETUP(tcp)
{
	const char *why;
	int ret = server_create(&self->s, &why);

	if (ret == -ENODEV && access("/sys/bus/netdevsim/new_device", W_OK))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(tcp)
{
	server_destroy(&self->s);
}

/* Pseudo-random bytes (xorshift64), different for each variant. */
static void fill(unsigned char *buf, size_t len, uint64_t x)
{
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x >> 32;
	}
}

/* FNV-1a, 64 bits. */
static uint64_t fnv1a(const unsigned char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ULL;
	return h;
}

/* BusyPollRxPackets of the netns it runs in (nsim_in_ns()): packets that
 * busy polling took off a NAPI there.  0, or -errno; the count in @arg.
 */
#define SEP "\n\t "

/* BusyPollRxPackets of the netns it runs in (nsim_in_ns()): packets that
 * busy polling took off a NAPI there.  0, or -errno; the count in @arg.
 * /proc/net/netstat has pairs of lines, names and values.
 */
static int busy_poll_rx_packets(void *arg)
{
	char *names = NULL, *values = NULL, *n, *v, *sn, *sv;
	size_t names_len = 0, values_len = 0;
	long long *count = arg;
	int ret = -ENOENT;
	FILE *f = fopen("/proc/self/net/netstat", "r");

	if (!f)
		return -errno;
	while (ret && getline(&names, &names_len, f) > 0 &&
	       getline(&values, &values_len, f) > 0) {
		n = strtok_r(names, SEP, &sn);
		v = strtok_r(values, SEP, &sv);
		while (n && v) {
			if (!strcmp(n, "BusyPollRxPackets")) {
				*count = atoll(v);
				ret = 0;
			}
			n = strtok_r(NULL, SEP, &sn);
			v = strtok_r(NULL, SEP, &sv);
		}
	}
	free(names);
	free(values);
	fclose(f);
	return ret;
}

struct tcp_client {
	int fd;
	const unsigned char *buf;
	size_t sent;
	int err;
};

/* Writes all of the buffer, then closes the sending direction. */
static void *tcp_send(void *arg)
{
	struct tcp_client *c = arg;
	ssize_t n;

	while (c->sent < TCP_BYTES) {
		n = write(c->fd, c->buf + c->sent, TCP_BYTES - c->sent);
		if (n <= 0) {
			c->err = n ? errno : EPIPE;
			return NULL;
		}
		c->sent += n;
	}
	if (shutdown(c->fd, SHUT_WR))
		c->err = errno;
	return NULL;
}

TEST_F_TIMEOUT(tcp, one_mib_arrives_intact, 60)
{
	unsigned char *out = malloc(TCP_BYTES), *in = malloc(TCP_BYTES + 1);
	struct nsim_tcp listener = { .host = 2, .port = TCP_PORT, .fd = -1 };
	struct nsim_tcp client = { .host = 2, .port = TCP_PORT, .fd = -1 };
	struct tcp_client c = { .buf = out };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, plain, conn, waits = 0, ready = 0, eof = 0, i, known;
	struct ep_counters cnt, plain_cnt;
	unsigned int napi_id = 0;
	socklen_t len = sizeof(napi_id);
	long long deadline, busy_rx[2];
	struct pollfd pfd;
	pthread_t sender;
	size_t got = 0;
	ssize_t n;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	fill(out, TCP_BYTES, variant->seed);
	ASSERT_EQ(0, server_napi_set(&self->s, TCP_DEFER, TCP_GRO_NS,
				     variant->suspend_ns))
		TH_LOG("napi-set %d %lld %lld (defer, gro, suspend), then napi-get",
		       TCP_DEFER, TCP_GRO_NS, variant->suspend_ns);

	ASSERT_EQ(0, nsim_in_ns(&self->s.nsim, 1, nsim_tcp_listen, &listener));
	ASSERT_EQ(0, nsim_in_ns(&self->s.nsim, 0, nsim_tcp_connect, &client))
		TH_LOG("connecting to 192.0.2.2:%d", TCP_PORT);
	pfd.fd = listener.fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	conn = accept4(listener.fd, NULL, NULL, SOCK_NONBLOCK);
	ASSERT_LE(0, conn);

	ep = epoll_create1(0);
	ASSERT_EQ(0, ep_set(ep, TCP_USECS, TCP_BUDGET, 1, 0));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, conn, &ev));
	/* Watches the same socket without params: must count nothing. */
	plain = epoll_create1(0);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, epoll_ctl(plain, EPOLL_CTL_ADD, conn, &ev));

	ASSERT_EQ(0, nsim_in_ns(&self->s.nsim, 1, busy_poll_rx_packets, &busy_rx[0]));
	c.fd = client.fd;
	ASSERT_EQ(0, pthread_create(&sender, NULL, tcp_send, &c));
	deadline = now_ns() + TCP_DEADLINE_NS;
	while (!eof && got <= TCP_BYTES && now_ns() < deadline) {
		waits++;
		epoll_wait(plain, &ev, 1, 0);
		if (epoll_wait(ep, &ev, 1, 1000) < 1)
			continue;
		ready++;
		for (;;) {
			n = read(conn, in + got, TCP_BYTES + 1 - got);
			if (n > 0)
				got += n;
			if (n == 0)
				eof = 1;
			if (n <= 0 || got > TCP_BYTES)
				break;
		}
		if (n < 0 && errno != EAGAIN)
			break;
	}
	if (!eof)	/* unblock the writer, if it waits */
		shutdown(client.fd, SHUT_RDWR);
	pthread_join(sender, NULL);
	ASSERT_EQ(0, nsim_in_ns(&self->s.nsim, 1, busy_poll_rx_packets, &busy_rx[1]));
	getsockopt(conn, SOL_SOCKET, SO_INCOMING_NAPI_ID, &napi_id, &len);
	for (i = 0, known = 0; i < self->s.napis; i++)
		known |= self->s.napi[i] == napi_id;
	ASSERT_EQ(0, ep_counters(ep, &cnt)) TH_LOG("no busy-poll counters in fdinfo");
	ASSERT_EQ(0, ep_counters(plain, &plain_cnt));

	ksft_print_msg("irq-suspend-timeout %lld: %zu of %d bytes, NAPI %u\n",
		       variant->suspend_ns, got, TCP_BYTES, napi_id);
	ksft_print_msg("fnv1a %016llx sent, %016llx received\n",
		       (unsigned long long)fnv1a(out, TCP_BYTES),
		       (unsigned long long)fnv1a(in, got));
	ksft_print_msg("%d epoll_wait() calls, %d with events; %lld packets busy polled\n",
		       waits, ready, busy_rx[1] - busy_rx[0]);
	ksft_print_msg("fdinfo: NAPI %u, %lu busy loops, %lu without events, %lu suspensions\n",
		       cnt.napi_id, cnt.loops, cnt.timeouts, cnt.irq_suspensions);
	EXPECT_EQ(0, c.err) TH_LOG("the client's write: %s", strerror(c.err));
	EXPECT_EQ(TCP_BYTES, c.sent);
	EXPECT_EQ(1, eof) TH_LOG("no end of stream within %lld s", TCP_DEADLINE_NS / 1000000000);
	ASSERT_EQ(TCP_BYTES, got);
	EXPECT_EQ(fnv1a(out, TCP_BYTES), fnv1a(in, got));
	EXPECT_EQ(0, memcmp(out, in, TCP_BYTES)) TH_LOG("the bytes differ");
	EXPECT_TRUE(known)
		TH_LOG("the connection's NAPI %u is not one of the server port's", napi_id);
	/*
	 * One busy loop at most per epoll_wait() (none when the data is
	 * there already: the whole MiB may come in one call); every call
	 * that returned events asked for a suspension (prefer_busy_poll 1),
	 * but for one whose NAPI ID a busy loop without events had just
	 * forgotten.
	 */
	EXPECT_GE(waits, cnt.loops);
	EXPECT_GE(cnt.loops, cnt.timeouts);
	EXPECT_GE(ready, cnt.irq_suspensions);
	EXPECT_LE(ready - (long)cnt.timeouts, (long)cnt.irq_suspensions)
		TH_LOG("%d deliveries, %lu suspensions asked", ready, cnt.irq_suspensions);
	EXPECT_TRUE(cnt.napi_id == 0 || cnt.napi_id == napi_id)
		TH_LOG("fdinfo's NAPI %u, the socket's %u", cnt.napi_id, napi_id);
	/* Without params (and net.core.busy_poll 0), nothing busy polls. */
	EXPECT_EQ(0, plain_cnt.napi_id);
	EXPECT_EQ(0, plain_cnt.loops);
	EXPECT_EQ(0, plain_cnt.timeouts);
	EXPECT_EQ(0, plain_cnt.irq_suspensions);

	close(plain);
	close(ep);
	close(conn);
	close(client.fd);
	close(listener.fd);
	free(out);
	free(in);
}

/* --- 2. The NAPI's timer, in a tracefs instance ---------------------- */

#define TRACING "/sys/kernel/tracing"
#define T_NS 37000000LL		/* irq-suspend-timeout: 37 ms */
#define G_NS 11000000LL		/* gro-flush-timeout: 11 ms */
#define DEFER 2			/* defer-hard-irqs */
#define BUSY_USECS 20000	/* long enough to outlast LATE_US */
#define LATE_US 3000		/* the late sender's delay */
#define ROUNDS 8
/*
 * A hrtimer_start event's expires is the hrtimer base's clock read in
 * hrtimer_start_range_ns() plus the timeout; the event's timestamp
 * (trace_clock mono: CLOCK_MONOTONIC, as the NAPI timer's base) is taken
 * a few hundred instructions later, with the base's lock held and
 * interrupts off.  So expires - timestamp is the timeout less that lag:
 * microseconds even under TCG, unless the host stops the vCPU thread in
 * that window.  LAG_NS allows 1 ms.  Above, SLACK_NS allows the 1 us the
 * trace output truncates the timestamp to, and the fast mono accessor's
 * skew (ns).
 */
#define LAG_NS 1000000LL
#define SLACK_NS 10000LL

FIXTURE(suspend)
{
	struct server s;
};

FIXTURE_SETUP(suspend)
{
	const char *why;
	char path[160];
	int ret;

	self->s.trace[0] = 0;
	if (access(TRACING "/instances", F_OK))
		mount("tracefs", TRACING, "tracefs", 0, NULL);
	if (access(TRACING "/events/timer/hrtimer_start/enable", F_OK) ||
	    access(TRACING "/events/napi/napi_poll/enable", F_OK))
		SKIP(return,
		     "no tracefs, or no timer:hrtimer_start or napi:napi_poll (CONFIG_TRACING)");
	ret = server_create(&self->s, &why);
	if (ret == -ENODEV && access("/sys/bus/netdevsim/new_device", W_OK))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	snprintf(self->s.trace, sizeof(self->s.trace),
		 TRACING "/instances/epoll_bp_suspend.%d", getpid());
	ret = mkdir(self->s.trace, 0700) ? -errno : 0;
	if (ret) {
		server_destroy(&self->s);
		ASSERT_EQ(0, ret) TH_LOG("creating %s", self->s.trace);
	}
	snprintf(path, sizeof(path), "%s/trace_clock", self->s.trace);
	ret = ep_write_file(path, "mono");
	if (ret) {
		rmdir(self->s.trace);
		server_destroy(&self->s);
		ASSERT_EQ(0, ret) TH_LOG("trace_clock mono");
	}
}

/* Turns @event (e.g. "napi/napi_poll") of our instance on or off. */
static int trace_event(struct server *s, const char *event, const char *on)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/events/%s/enable", s->trace, event);
	return ep_write_file(path, on);
}

static int trace_events(struct server *s, const char *on)
{
	return trace_event(s, "timer/hrtimer_start", on) ?:
	       trace_event(s, "napi/napi_poll", on);
}

FIXTURE_TEARDOWN(suspend)
{
	if (self->s.trace[0]) {
		trace_events(&self->s, "0");
		rmdir(self->s.trace);
	}
	server_destroy(&self->s);
}

/* Empties the instance's buffer (only an open with O_TRUNC does) and
 * turns the two events on.
 */
static int trace_start(struct server *s)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/trace", s->trace);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	close(fd);
	return trace_events(s, "1");
}

/* An event of interest: a hrtimer_start of napi_watchdog (any NAPI), or
 * a napi:napi_poll of the server's port.
 */
struct tev {
	long long ts;		/* ns, CLOCK_MONOTONIC, to the us */
	long long left;		/* hrtimer_start: expires - ts */
	int budget;		/* napi_poll: its budget; 0 for a timer */
};

struct trace {
	struct tev ev[16384];
	int n;
	int lost;	/* events overwritten, dropped, or over ARRAY_SIZE(ev) */
};

/* The timestamp before @event, the ": name: " of a line of @line. */
static int trace_ts(const char *line, const char *event, long long *ts)
{
	const char *p = event;
	unsigned long sec, usec;

	while (p > line && p[-1] != ' ')
		p--;
	if (sscanf(p, "%lu.%lu:", &sec, &usec) != 2)
		return -1;
	*ts = sec * 1000000000LL + usec * 1000LL;
	return 0;
}

/* Turns the events off and reads what the instance recorded. */
static int trace_stop(struct server *s, struct trace *t)
{
	char path[160], line[512], dev[64];
	unsigned long in_buffer, written;
	const char *e, *x;
	long long expires;
	struct tev *ev;
	FILE *f;
	int ret = trace_events(s, "0");

	t->n = 0;
	t->lost = 0;
	snprintf(path, sizeof(path), "%s/trace", s->trace);
	snprintf(dev, sizeof(dev), " device %s work ", s->nsim.port[1]);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* The ring buffer overwrites its oldest events when full. */
		if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
			   &in_buffer, &written) == 2 && in_buffer != written)
			t->lost = 1;
		if (line[0] == '#')
			continue;
		if (strstr(line, "LOST"))
			t->lost = 1;
		ev = &t->ev[t->n];
		e = strstr(line, ": hrtimer_start: ");
		if (e) {
			x = strstr(e, " expires=");
			if (!strstr(e, " function=napi_watchdog ") || !x ||
			    sscanf(x, " expires=%lld", &expires) != 1 ||
			    trace_ts(line, e, &ev->ts))
				continue;
			ev->left = expires - ev->ts;
			ev->budget = 0;
		} else {
			e = strstr(line, ": napi_poll: ");
			x = e ? strstr(e, dev) : NULL;
			if (!x || trace_ts(line, e, &ev->ts) ||
			    sscanf(x + strlen(dev), "%*d budget %d", &ev->budget) != 1)
				continue;
			ev->left = 0;
		}
		if (t->n < (int)ARRAY_SIZE(t->ev) - 1)
			t->n++;
		else
			t->lost = 1;
	}
	fclose(f);
	return ret;
}

/* Whether timer event @ev was started @timeout ahead, within the lag. */
static int started_ahead(const struct tev *ev, long long timeout)
{
	return !ev->budget && ev->left >= timeout - LAG_NS &&
	       ev->left <= timeout + SLACK_NS;
}

struct window {
	long long start, end;	/* around one epoll_wait() */
};

static int in_window(const struct tev *ev, const struct window *w)
{
	return ev->ts >= w->start - SLACK_NS && ev->ts <= w->end + SLACK_NS;
}

static int count_ahead(const struct trace *t, const struct window *w,
		       long long timeout)
{
	int i, n = 0;

	for (i = 0; i < t->n; i++)
		n += started_ahead(&t->ev[i], timeout) && (!w || in_window(&t->ev[i], w));
	return n;
}

static void *send_late(void *arg)
{
	struct server *s = arg;

	usleep(LATE_US);
	nsim_send(s->nsim.sock[0], 2, UDP_PORT, "late", 4);
	return NULL;
}

/*
 * One epoll_wait() on @ep that delivers a datagram to side 1's socket,
 * timed in @w; 0, or -1 if it did not.  @late: the datagram is sent
 * LATE_US after the call starts (it comes during the busy loop, or
 * wakes the sleeping waiter); else it is in the socket before the call
 * (netdevsim delivers during the send; poll() waits for it, without busy
 * polling: net.core.busy_poll is 0), so that epoll_wait() returns it
 * without a busy loop.
 */
static int deliver(struct server *s, int ep, int late, struct window *w)
{
	struct pollfd pfd = { .fd = s->nsim.sock[1], .events = POLLIN };
	struct epoll_event ev;
	pthread_t sender;
	char buf[16];
	int n;

	if (late) {
		if (pthread_create(&sender, NULL, send_late, s))
			return -1;
	} else if (nsim_send(s->nsim.sock[0], 2, UDP_PORT, "ready", 5) ||
		   poll(&pfd, 1, 5000) != 1) {
		return -1;
	}
	w->start = now_ns();
	n = epoll_wait(ep, &ev, 1, 5000);
	w->end = now_ns();
	if (late)
		pthread_join(sender, NULL);
	if (recv(s->nsim.sock[1], buf, sizeof(buf), MSG_DONTWAIT) <= 0)
		return -1;
	return n == 1 ? 0 : -1;
}

/* An instance watching side 1's socket, with these params, that has
 * delivered one datagram (so it holds the socket's NAPI ID).
 */
static int primed_instance(struct server *s, uint32_t usecs, int prefer)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct window w;
	int ep = epoll_create1(0);

	if (ep < 0 || ep_set(ep, usecs, 16, prefer, 0) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->nsim.sock[1], &ev) ||
	    deliver(s, ep, 0, &w)) {
		close(ep);
		return -1;
	}
	return ep;
}

/*
 * ROUNDS deliveries with the datagram there before epoll_wait(), then
 * ROUNDS with it late, on an instance with @usecs and @prefer, the
 * server's NAPIs set to DEFER, G_NS and irq-suspend-timeout @t; the
 * events in @tr, the windows in @w (2 * ROUNDS).
 */
static void run_rounds(struct __test_metadata *_metadata, struct server *s,
		       uint32_t usecs, int prefer, long long t, struct trace *tr,
		       struct window *w)
{
	int ep, i, j, g, busy = 0;
	struct ep_counters c0, c;

	ASSERT_EQ(0, server_napi_set(s, DEFER, G_NS, t));
	ep = primed_instance(s, usecs, prefer);
	ASSERT_LE(0, ep);
	usleep(100000);	/* past T, G and the timers' chain of DEFER polls */
	ASSERT_EQ(0, ep_counters(ep, &c0)) TH_LOG("no busy-poll counters in fdinfo");
	ASSERT_EQ(0, trace_start(s));
	for (i = 0; i < 2 * ROUNDS; i++) {
		/* A late round's busy loop polls the NAPI thousands of times
		 * (under TCG): keep those polls out of the buffer.
		 */
		if (i == ROUNDS)
			ASSERT_EQ(0, trace_event(s, "napi/napi_poll", "0"));
		ASSERT_EQ(0, deliver(s, ep, i >= ROUNDS, &w[i]))
			TH_LOG("delivery %d (%s)", i, i >= ROUNDS ? "late" : "ready");
	}
	ASSERT_EQ(0, trace_stop(s, tr));
	ASSERT_EQ(0, ep_counters(ep, &c));
	close(ep);
	EXPECT_EQ(0, tr->lost) TH_LOG("the trace lost events: the counts below are short");

	/* The premise of the ready rounds: no busy loop (budget 16) in them. */
	for (i = 0; i < tr->n; i++)
		for (j = 0; j < ROUNDS; j++)
			busy += tr->ev[i].budget == 16 && in_window(&tr->ev[i], &w[j]);
	g = count_ahead(tr, NULL, G_NS);
	ksft_print_msg("usecs %u prefer %d irq-suspend-timeout %lld\n", usecs, prefer, t);
	ksft_print_msg("napi_watchdog started %d times %lld ms ahead, %d times %lld ms ahead\n",
		       count_ahead(tr, NULL, T_NS), T_NS / 1000000, g, G_NS / 1000000);
	EXPECT_EQ(0, busy) TH_LOG("busy-poll napi polls in the ready rounds");

	/*
	 * fdinfo's counts over the rounds: a busy loop in each late round
	 * only; a suspension asked on each delivery with prefer_busy_poll
	 * (whatever T: it is asked, napi_suspend_irqs() does nothing at 0),
	 * but after a loop that found no events and forgot the NAPI ID;
	 * none without.
	 */
	c.loops -= c0.loops;
	c.timeouts -= c0.timeouts;
	c.irq_suspensions -= c0.irq_suspensions;
	ksft_print_msg("fdinfo: NAPI %u, %lu busy loops, %lu without events, %lu suspensions\n",
		       c.napi_id, c.loops, c.timeouts, c.irq_suspensions);
	EXPECT_EQ(ROUNDS, c.loops);
	EXPECT_GE(c.loops, c.timeouts);
	if (prefer) {
		EXPECT_GE(2 * ROUNDS, c.irq_suspensions);
		EXPECT_LE(2 * ROUNDS - c.timeouts, c.irq_suspensions);
	} else {
		EXPECT_EQ(0, c.irq_suspensions);
	}
	for (i = 0, j = 0; i < s->napis; i++)
		j |= s->napi[i] == c.napi_id;
	EXPECT_TRUE(j) TH_LOG("fdinfo's NAPI %u is not one of the server port's", c.napi_id);
}

static void print_lag(const struct trace *tr, long long t)
{
	long long min = LLONG_MAX, max = LLONG_MIN;
	int i;

	for (i = 0; i < tr->n; i++) {
		if (!started_ahead(&tr->ev[i], t))
			continue;
		if (t - tr->ev[i].left < min)
			min = t - tr->ev[i].left;
		if (t - tr->ev[i].left > max)
			max = t - tr->ev[i].left;
	}
	if (min <= max)
		ksft_print_msg("timeout - (expires - timestamp): %lld..%lld ns\n", min, max);
}

/* Each delivery, ready or late, has a timer started T ahead within it. */
static void expect_suspension(struct __test_metadata *_metadata,
			      struct trace *tr, struct window *w)
{
	int i;

	print_lag(tr, T_NS);
	for (i = 0; i < 2 * ROUNDS; i++) {
		EXPECT_LE(1, count_ahead(tr, &w[i], T_NS))
			TH_LOG("delivery %d (%s, %lld us): no napi_watchdog %lld ms ahead",
			       i, i >= ROUNDS ? "late" : "ready",
			       (w[i].end - w[i].start) / 1000, T_NS / 1000000);
	}
}

/* No timer started T ahead, though the trace sees the NAPI's timers. */
static void expect_no_suspension(struct __test_metadata *_metadata,
				 struct trace *tr)
{
	EXPECT_EQ(0, count_ahead(tr, NULL, T_NS));
	EXPECT_LT(0, count_ahead(tr, NULL, G_NS))
		TH_LOG("no napi_watchdog started gro-flush-timeout ahead: is the trace blind?");
}

TEST_F(suspend, each_delivery_starts_the_timer_irq_suspend_timeout_ahead)
{
	struct window w[2 * ROUNDS];
	struct trace *tr = malloc(sizeof(*tr));

	ASSERT_NE(NULL, tr);
	run_rounds(_metadata, &self->s, BUSY_USECS, 1, T_NS, tr, w);
	expect_suspension(_metadata, tr, w);
	free(tr);
}

TEST_F(suspend, prefer_busy_poll_alone_suspends)
{
	struct window w[2 * ROUNDS];
	struct trace *tr = malloc(sizeof(*tr));

	/* busy_poll_usecs 0: prefer_busy_poll turns busy polling on. */
	ASSERT_NE(NULL, tr);
	run_rounds(_metadata, &self->s, 0, 1, T_NS, tr, w);
	expect_suspension(_metadata, tr, w);
	free(tr);
}

TEST_F(suspend, no_suspension_with_irq_suspend_timeout_0)
{
	struct window w[2 * ROUNDS];
	struct trace *tr = malloc(sizeof(*tr));

	ASSERT_NE(NULL, tr);
	run_rounds(_metadata, &self->s, BUSY_USECS, 1, 0, tr, w);
	expect_no_suspension(_metadata, tr);
	free(tr);
}

TEST_F(suspend, no_suspension_without_prefer_busy_poll)
{
	struct window w[2 * ROUNDS];
	struct trace *tr = malloc(sizeof(*tr));

	ASSERT_NE(NULL, tr);
	run_rounds(_metadata, &self->s, BUSY_USECS, 0, T_NS, tr, w);
	expect_no_suspension(_metadata, tr);
	free(tr);
}

/*
 * close() frees the instance, which calls napi_resume_irqs(): with an
 * irq-suspend-timeout set, that is napi_schedule() between
 * local_bh_disable() and local_bh_enable(), and local_bh_enable() runs
 * the NET_RX softirq there: a napi:napi_poll of the server's port within
 * close() (fput()'s task work runs before the syscall returns), where
 * otherwise the suspension's timer, 2 s away, would have scheduled it.
 * With 0 it does nothing.  Nothing else polls the NAPI meanwhile: no
 * traffic, defer-hard-irqs 0 (no gro-flush-timeout timers); the quiet
 * QUIET_US before close() show it.  Polls are counted from close() to
 * QUIET_US after it, in case NET_RX ran in ksoftirqd instead.
 */
#define CLOSE_T_NS 2000000000LL
#define QUIET_US 30000

TEST_F(suspend, freeing_a_suspended_instance_schedules_the_napi)
{
	static const long long timeouts[] = { 0, CLOSE_T_NS };
	struct trace *tr = malloc(sizeof(*tr));
	int i, j, quiet, in_close, after, armed;
	long long first;
	struct window w;

	ASSERT_NE(NULL, tr);
	for (j = 0; j < 2; j++) {
		ASSERT_EQ(0, server_napi_set(&self->s, 0, 0, timeouts[j]));
		usleep(QUIET_US);
		ASSERT_EQ(0, trace_start(&self->s));
		i = primed_instance(&self->s, BUSY_USECS, 1);
		ASSERT_LE(0, i);
		usleep(QUIET_US);
		w.start = now_ns();
		close(i);
		w.end = now_ns();
		usleep(QUIET_US);
		ASSERT_EQ(0, trace_stop(&self->s, tr));
		EXPECT_EQ(0, tr->lost);

		armed = count_ahead(tr, NULL, CLOSE_T_NS);
		quiet = 0;
		in_close = 0;
		after = 0;
		first = -1;
		for (i = 0; i < tr->n; i++) {
			if (!tr->ev[i].budget)
				continue;
			if (tr->ev[i].ts > w.start - QUIET_US * 1000LL + SLACK_NS &&
			    tr->ev[i].ts < w.start - SLACK_NS)
				quiet++;
			if (tr->ev[i].ts < w.start - SLACK_NS)
				continue;
			if (first < 0)
				first = tr->ev[i].ts - w.start;
			if (in_window(&tr->ev[i], &w))
				in_close++;
			else
				after++;
		}
		ksft_print_msg("irq-suspend-timeout %lld: %d timer start(s) that far ahead\n",
			       timeouts[j], armed);
		ksft_print_msg("polls of %s: %d in the %d ms before close(), %d in it (%lld us)\n",
			       self->s.nsim.port[1], quiet, QUIET_US / 1000, in_close,
			       (w.end - w.start) / 1000);
		ksft_print_msg("%d in the %d ms after; the first %lld us after close() began\n",
			       after, QUIET_US / 1000, first / 1000);
		EXPECT_EQ(0, quiet) TH_LOG("something polls the NAPI: the test cannot tell");
		if (timeouts[j]) {
			EXPECT_LE(1, armed) TH_LOG("the delivery did not suspend");
			EXPECT_LE(1, in_close + after)
				TH_LOG("freeing the suspended instance did not schedule the NAPI");
		} else {
			EXPECT_EQ(0, armed);
			EXPECT_EQ(0, in_close + after)
				TH_LOG("timeout 0: napi_resume_irqs() must not schedule");
		}
	}
	free(tr);
}

TEST_HARNESS_MAIN
