// SPDX-License-Identifier: GPL-2.0
/*
 * Differential stream: a seeded random sequence of calls whose outcomes
 * are folded into a digest.  The host runs it on the Rust and the C kernel
 * and compares the digests, printed every CHECKPOINT calls:
 *
 *   EBP-DIFF bits=64 seed=7 calls=1000 digest=0123456789abcdef
 *
 * Seeds below NET_SEED_BASE: epoll ioctls (EPIOCSPARAMS and EPIOCGPARAMS
 * with near-valid payloads, other type-0x8A commands, bad pointers); the
 * digest takes each call's return value, errno, bytes written back and
 * the params after it.
 *
 * Seeds from NET_SEED_BASE up, the net stream (see below): those ioctls on
 * three instances, mixed with napi-set and napi-get (valid and refused) on
 * the NAPI instances of a netdevsim port, restarts of that port (its NAPIs
 * come back with new IDs), datagrams sent to and read from four UDP
 * sockets behind it, epoll_ctl() and epoll_wait() on the instances watching
 * them, and instances replaced (freed, suspended or not).  Only outcomes
 * that both kernels must give whatever the timing go into the digest; a
 * model of each answer is checked too, and an answer it does not expect is
 * printed (EBP-DIFF-MODEL) and fails the run.
 *
 * Odd seeds run without CAP_NET_ADMIN (in a child).
 *
 * usage: epoll_bp_diff [-s SEED]... [-n CALLS] [-N CALLS] [-v]
 *   -n calls of each seed; -N calls of each net seed (default: -n's)
 *   -v prints every call instead (to find the first call that differs).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest.h"
#include "epoll_bp_common.h"
#include "epoll_bp_genl.h"
#include "epoll_bp_nsim.h"

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

/* The stream being run: its seed, the call number, the digest so far. */
static const int bits = (int)sizeof(long) * 8;
static uint32_t cur_seed;
static long cur_call;
static int verbose;
static uint64_t digest;

/* One random ioctl on @ep, its outcome folded into the digest. */
static void ioctl_call(int ep, char *none)
{
	struct epoll_params buf[2], *arg;
	unsigned long cmd;
	int ret;

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
		       bits, cur_seed, cur_call, cmd,
		       !arg ? "null" : arg == (void *)none ? "prot_none" :
		       arg == (void *)(none - 4) ? "straddle" : "valid",
		       (unsigned long long)ep_packed(&buf[0]), ret,
		       (unsigned long long)ep_packed(&buf[1]),
		       (unsigned long long)ep_now(ep));
}

static void checkpoint(void)
{
	if (!verbose && cur_call % CHECKPOINT == 0)
		printf("EBP-DIFF bits=%d seed=%u calls=%ld digest=%016llx\n",
		       bits, cur_seed, cur_call, (unsigned long long)digest);
}

static int run(uint32_t seed, long calls, char *none)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		return -errno;
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	digest = 0xcbf29ce484222325ULL;
	cur_seed = seed;
	for (cur_call = 1; cur_call <= calls; cur_call++) {
		ioctl_call(ep, none);
		checkpoint();
	}
	close(ep);
	return 0;
}

/* --- The net stream ---------------------------------------------------
 *
 * A linked netdevsim pair (epoll_bp_nsim.h): side 0 sends, side 1's port
 * has NQ rx queues, so NQ NAPI instances; its first one gets every
 * datagram.  NEP epoll instances watch NSOCK UDP sockets there, and the
 * random ioctls give them any params, prefer_busy_poll among them: an
 * instance that prefers busy polling suspends the NAPI's IRQs after each
 * epoll_wait() that returns events, resumes them when a busy loop finds
 * nothing, and when it is freed.
 *
 * What is timing-dependent, and what the stream does about it:
 * - when a datagram reaches its socket, and when the instances watching
 *   it hear of it: after each send the stream waits until the "witness"
 *   has seen it.  The witness is an edge-triggered instance that watched
 *   the sockets before any other did, so its wait queue entry is the
 *   oldest on each socket's queue; a wakeup walks the queue newest first,
 *   under the queue's lock, so once the witness has the event, every
 *   instance has had its callback.  epoll_wait() then finds exactly the
 *   sockets that hold a datagram, whatever its timeout, and nothing else
 *   sends to them: its return value and which sockets it names (when all
 *   ready ones fit in maxevents) are deterministic.
 * - the first datagrams after the pair is made or the port restarted can
 *   be lost (the qdisc waits for linkwatch, ARP resolves): settle() sends
 *   to a probe socket, which nothing watches, until one gets through.
 * - NAPI IDs are global counters (other tests, a restart): only which
 *   queue's NAPI a call named goes into the digest, never the number.
 * - a busy loop with nothing to find runs for the instance's usecs, not
 *   the wait's timeout: a wait has a timeout only when the instance's
 *   usecs (read back first) and net.core.busy_poll are at most
 *   WAIT_USECS_MAX; how long it spun is not folded.
 * - the suspensions themselves (timers on the NAPI, which netdevsim does
 *   not need for delivery) are not visible from here: not folded.
 */
#define NET_SEED_BASE 1000
#define NET_PORT 4470		/* side 0's socket; side 1's follow */
#define NSOCK 4			/* watched UDP sockets on side 1 */
#define NEP 3			/* epoll instances watching them */
#define NQ 2			/* rx queues, so NAPIs, of side 1's port */
#define PROBE_PORT (NET_PORT + 1 + NSOCK)
#define WAIT_USECS_MAX 2000
#define ARRIVAL_MS 3000		/* a datagram later than that is lost */
#define MODEL_REPORTS 20

enum net_op {
	OP_IOCTL = 1, OP_NAPI_SET, OP_NAPI_GET, OP_NAPI_DUMP, OP_SEND, OP_RECV,
	OP_WAIT, OP_CTL, OP_REPLACE, OP_RESTART,
};

/* Which NAPI ID a napi-set or napi-get names. */
enum target {
	T_NAPI,		/* one of side 1's port, by rx queue */
	T_STALE,	/* side 1's first, from before the last restart */
	T_PEER,		/* side 0's: another netns's */
	T_UNKNOWN,	/* 0, 1 or U32_MAX */
	T_NO_ID,	/* no ID attribute */
	T_BAD_LEN,	/* a gro-flush-timeout of 2 bytes after the ID */
};

static const char *const target_names[] = {
	"napi", "stale", "peer", "unknown", "no-id", "bad-length",
};

struct settings {
	uint64_t defer, gro, suspend;
};

static struct net {
	struct nsim_pair pair;
	int genl, family;	/* netdev genl in side 1's netns */
	int ctl;		/* an AF_INET socket there, for the port's flags */
	char port[IFNAMSIZ];	/* side 1's port */
	int ifindex;
	uint32_t napi[NQ];	/* its NAPI IDs, ascending (rx queue order) */
	int napis;		/* how many there are */
	struct settings set[NQ];	/* what napi-get must show */
	uint32_t stale, peer;
	long sysctl_busy_poll;
	int rx[NSOCK], probe;
	int witness;
	int ep[NEP];
	unsigned int watch[NEP];	/* the sockets each instance watches */
	unsigned int ready;	/* the sockets holding a datagram */
	int cap;		/* CAP_NET_ADMIN in the effective set */
	int model_errors;
} net;

static __printf(1, 2) void say(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	printf("EBP-DIFF-CALL bits=%d seed=%u call=%ld ", bits, cur_seed, cur_call);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* An answer the model does not expect: printed (the first few), counted. */
static __printf(1, 2) void model_error(const char *fmt, ...)
{
	va_list ap;

	if (net.model_errors++ >= MODEL_REPORTS)
		return;
	printf("EBP-DIFF-MODEL bits=%d seed=%u call=%ld: ", bits, cur_seed, cur_call);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void fold_op(enum net_op op, uint64_t a, uint64_t b)
{
	digest = fold(digest, (uint64_t)op << 56 ^ a);
	digest = fold(digest, b);
}

static int popcount(unsigned int v)
{
	return __builtin_popcount(v);
}

static int server_side(void *arg)
{
	struct net *n = arg;
	int i;

	for (i = 0; i < NSOCK; i++) {
		n->rx[i] = nsim_udp_socket(2, NET_PORT + 1 + i);
		if (n->rx[i] < 0)
			return -errno;
	}
	n->probe = nsim_udp_socket(2, PROBE_PORT);
	if (n->probe < 0)
		return -errno;
	n->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->ctl < 0)
		return -errno;
	n->ifindex = nsim_ether_port(n->port);
	if (!n->ifindex)
		return -ENODEV;
	n->genl = ebp_genl_open(&n->family);
	return n->genl < 0 ? n->genl : 0;
}

/* Side 0's NAPI ID, for a napi call from side 1's netns: ENOENT there. */
static int client_side(void *arg)
{
	struct net *n = arg;
	char name[IFNAMSIZ];
	struct ebp_napi napi;
	int fd, family, ret;

	fd = ebp_genl_open(&family);
	if (fd < 0)
		return fd;
	ret = ebp_napi_dump(fd, family, nsim_ether_port(name), &napi, 1);
	close(fd);
	if (ret != 1)
		return ret < 0 ? ret : -EBADMSG;
	n->peer = napi.id;
	return 0;
}

/* napi-get dump of side 1's port into @got (at most NQ + 1), sorted by
 * ID; returns how many the kernel sent, or -errno.
 */
static int dump_napis(struct ebp_napi *got)
{
	int count = ebp_napi_dump(net.genl, net.family, net.ifindex, got, NQ + 1);
	struct ebp_napi v;
	int i, j;

	for (i = 1; i < count && i < NQ + 1; i++) {
		v = got[i];
		for (j = i; j > 0 && got[j - 1].id > v.id; j--)
			got[j] = got[j - 1];
		got[j] = v;
	}
	return count;
}

/* Fresh NAPIs (the pair made, the port restarted): their IDs from a dump,
 * the settings they must start with (the device's: all 0 here), and the
 * count and the settings they show folded.
 */
static int refresh_napis(void)
{
	struct ebp_napi got[NQ + 1];
	int count = dump_napis(got), i;

	fold_op(OP_RESTART, (uint32_t)count, 0);
	net.napis = 0;
	for (i = 0; i < count && i < NQ; i++) {
		net.napi[i] = got[i].id;
		memset(&net.set[i], 0, sizeof(net.set[i]));
		fold_op(OP_RESTART, got[i].defer_hard_irqs, got[i].gro_flush_timeout);
		fold_op(OP_RESTART, got[i].irq_suspend_timeout,
			got[i].has_defer | got[i].has_gro << 1 | got[i].has_suspend << 2);
		if (!got[i].has_defer || !got[i].has_gro || !got[i].has_suspend ||
		    got[i].defer_hard_irqs || got[i].gro_flush_timeout ||
		    got[i].irq_suspend_timeout)
			model_error("new NAPI %d: %u %llu %llu (has %d%d%d), not the device's 0s",
				    i, got[i].defer_hard_irqs,
				    (unsigned long long)got[i].gro_flush_timeout,
				    (unsigned long long)got[i].irq_suspend_timeout,
				    got[i].has_defer, got[i].has_gro, got[i].has_suspend);
		net.napis++;
	}
	if (count != NQ)
		model_error("side 1's port has %d NAPIs, want %d", count, NQ);
	return count;
}

/* Until a datagram gets through to the probe socket.  A late duplicate of
 * a probe lands where nothing watches and no digest looks.
 */
static int settle(void)
{
	struct pollfd pfd = { .fd = net.probe, .events = POLLIN };
	char buf[8];
	int i;

	for (i = 0; i < 250; i++) {
		nsim_send(net.pair.sock[0], 2, PROBE_PORT, "p", 1);
		if (poll(&pfd, 1, 20) == 1) {
			while (recv(net.probe, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

/* Reads all that socket @i holds; returns how many datagrams. */
static int drain(int i)
{
	char buf[8];
	int n = 0;

	while (recv(net.rx[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* Whether the witness hears of a datagram for socket @i in time. */
static int witnessed(int i)
{
	struct epoll_event ev[NSOCK];
	int n, j, tries;

	for (tries = 0; tries < 4; tries++) {
		n = epoll_wait(net.witness, ev, NSOCK, ARRIVAL_MS);
		if (n <= 0)
			return 0;
		for (j = 0; j < n; j++)
			if (ev[j].data.u32 == (uint32_t)i)
				return 1;
	}
	return 0;
}

static int watch(int k, int i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

	return epoll_ctl(net.ep[k], EPOLL_CTL_ADD, net.rx[i], &ev) ? -errno : 0;
}

/* A new instance in slot @k, watching the sockets in @mask. */
static int new_instance(int k, unsigned int mask)
{
	int i, ret;

	net.ep[k] = epoll_create1(0);
	if (net.ep[k] < 0)
		return -errno;
	net.watch[k] = 0;
	for (i = 0; i < NSOCK; i++) {
		if (!(mask & 1U << i))
			continue;
		ret = watch(k, i);
		fold_op(OP_REPLACE, i, (uint32_t)ret);
		if (ret)
			model_error("instance %d: adding socket %d: %d", k, i, ret);
		else
			net.watch[k] |= 1U << i;
	}
	return 0;
}

static void net_teardown(void)
{
	int i;

	for (i = 0; i < NEP; i++)
		if (net.ep[i] >= 0)
			close(net.ep[i]);
	for (i = 0; i < NSOCK; i++)
		if (net.rx[i] >= 0)
			close(net.rx[i]);
	if (net.witness >= 0)
		close(net.witness);
	if (net.probe >= 0)
		close(net.probe);
	if (net.ctl >= 0)
		close(net.ctl);
	if (net.genl >= 0)
		close(net.genl);
	nsim_pair_destroy(&net.pair);
}

static int net_setup(const char **why)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	int ret, i;

	memset(&net, 0, sizeof(net));
	net.genl = -1;
	net.ctl = -1;
	net.probe = -1;
	net.witness = -1;
	for (i = 0; i < NSOCK; i++)
		net.rx[i] = -1;
	for (i = 0; i < NEP; i++)
		net.ep[i] = -1;
	ret = nsim_pair_create_queues(&net.pair, NET_PORT, NQ, why);
	if (ret)
		return ret;
	*why = "side 1's sockets and netdev generic netlink";
	ret = nsim_in_ns(&net.pair, 1, server_side, &net);
	if (ret)
		return ret;
	*why = "napi-get dump of side 0's port";
	ret = nsim_in_ns(&net.pair, 0, client_side, &net);
	if (ret)
		return ret;
	*why = "napi-get dump of side 1's port";
	ret = refresh_napis();
	if (ret != NQ)
		return ret < 0 ? ret : -EBADMSG;
	net.sysctl_busy_poll = nsim_read_long("/proc/sys/net/core/busy_poll");
	/* The witness first: its wait queue entries are the oldest. */
	*why = "the witness instance";
	net.witness = epoll_create1(0);
	if (net.witness < 0)
		return -errno;
	for (i = 0; i < NSOCK; i++) {
		ev.data.u32 = i;
		if (epoll_ctl(net.witness, EPOLL_CTL_ADD, net.rx[i], &ev))
			return -errno;
	}
	*why = "the instances";
	for (i = 0; i < NEP; i++) {
		ret = new_instance(i, next() % (1U << NSOCK));
		if (ret)
			return ret;
	}
	*why = "the first datagram through the pair";
	return settle();
}

/* A NAPI ID to name, and which kind of target it is. */
static enum target pick_target(int bad_length, int *q, uint32_t *id)
{
	static const uint32_t unknown[] = { 0, 1, UINT32_MAX };
	unsigned int r = next() % 16;

	*q = next() % NQ;
	*id = *q < net.napis ? net.napi[*q] : 0;
	if (r < 10)
		return T_NAPI;
	if (r < 12) {
		*id = net.stale;
		return T_STALE;
	}
	if (r == 12) {
		*id = net.peer;
		return T_PEER;
	}
	if (r == 13) {
		*id = unknown[next() % 3];
		return T_UNKNOWN;
	}
	return r == 15 && bad_length ? T_BAD_LEN : T_NO_ID;
}

/* napi-set: any target, values in range and not (defer-hard-irqs is at
 * most S32_MAX), each setting left out now and then; and without
 * CAP_NET_ADMIN.
 */
static void net_napi_set(void)
{
	static const long long defers[] = {
		-1, 0, 1, 2, 100, EP_S32_MAX, EP_S32_MAX + 1LL, UINT32_MAX,
	};
	static const long long timeouts[] = {
		-1, 0, 1, 10000, 200000, 20000000, 2000000000, 1LL << 40, LLONG_MAX,
	};
	long long defer = defers[next() % 8], gro = timeouts[next() % 9];
	long long suspend = timeouts[next() % 9];
	struct ebp_genl_req req;
	enum target kind;
	int q, ret, want;
	uint32_t id;

	kind = pick_target(1, &q, &id);
	if (kind == T_NO_ID || kind == T_BAD_LEN) {
		ebp_genl_req_init(&req, net.family, EBP_NETDEV_CMD_NAPI_SET, 0);
		if (kind == T_BAD_LEN) {
			ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
			ebp_genl_put(&req, EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, "\x01\x01", 2);
		}
		if (defer >= 0)
			ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS, defer);
		if (gro >= 0 && kind == T_NO_ID)
			ebp_genl_put_uint(&req, EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, gro);
		if (suspend >= 0)
			ebp_genl_put_uint(&req, EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT, suspend);
		ret = ebp_genl_transact(net.genl, &req, NULL, NULL, NULL);
	} else {
		ret = ebp_napi_set(net.genl, net.family, id, defer, gro, suspend);
	}
	/* Permission, then the policy (in attribute order), then the doit. */
	if (!net.cap)
		want = -EPERM;
	else if (kind == T_BAD_LEN)
		want = -EINVAL;
	else if (defer > EP_S32_MAX)
		want = -ERANGE;
	else if (kind == T_NO_ID)
		want = -EINVAL;
	else if (kind != T_NAPI || q >= net.napis)
		want = -ENOENT;
	else
		want = 0;
	fold_op(OP_NAPI_SET, (uint64_t)kind << 8 | q, (uint32_t)ret);
	say("op=napi-set target=%s queue=%d defer=%lld gro=%lld suspend=%lld ret=%d",
	    target_names[kind], q, defer, gro, suspend, ret);
	if (ret != want) {
		model_error("napi-set %s (queue %d) %lld %lld %lld: %d, want %d",
			    target_names[kind], q, defer, gro, suspend, ret, want);
		return;
	}
	if (ret)
		return;
	if (defer >= 0)
		net.set[q].defer = defer;
	if (gro >= 0)
		net.set[q].gro = gro;
	if (suspend >= 0)
		net.set[q].suspend = suspend;
}

static void fold_napi(enum net_op op, const struct ebp_napi *n)
{
	fold_op(op, n->defer_hard_irqs, n->gro_flush_timeout);
	fold_op(op, n->irq_suspend_timeout,
		n->has_defer | n->has_gro << 1 | n->has_suspend << 2 |
		(n->ifindex == (uint32_t)net.ifindex) << 3);
}

static int napi_shows(const struct ebp_napi *n, const struct settings *s)
{
	return n->has_defer && n->has_gro && n->has_suspend &&
	       n->ifindex == (uint32_t)net.ifindex && n->defer_hard_irqs == s->defer &&
	       n->gro_flush_timeout == s->gro && n->irq_suspend_timeout == s->suspend;
}

/* napi-get: needs no CAP_NET_ADMIN; shows the last settings stored. */
static void net_napi_get(void)
{
	struct ebp_genl_req req;
	struct ebp_napi got;
	enum target kind;
	int q, ret, want;
	uint32_t id;

	memset(&got, 0, sizeof(got));
	kind = pick_target(0, &q, &id);
	if (kind == T_NO_ID) {
		ebp_genl_req_init(&req, net.family, EBP_NETDEV_CMD_NAPI_GET, 0);
		ret = ebp_genl_transact(net.genl, &req, NULL, NULL, NULL);
		want = -EINVAL;
	} else {
		ret = ebp_napi_get(net.genl, net.family, id, &got);
		want = kind == T_NAPI && q < net.napis ? 0 : -ENOENT;
	}
	fold_op(OP_NAPI_GET, (uint64_t)kind << 8 | q, (uint32_t)ret);
	if (!ret)
		fold_napi(OP_NAPI_GET, &got);
	say("op=napi-get target=%s queue=%d ret=%d defer=%u gro=%llu suspend=%llu",
	    target_names[kind], q, ret, got.defer_hard_irqs,
	    (unsigned long long)got.gro_flush_timeout,
	    (unsigned long long)got.irq_suspend_timeout);
	if (ret != want)
		model_error("napi-get of %s (queue %d): %d, want %d", target_names[kind],
			    q, ret, want);
	else if (!ret && (got.id != id || !napi_shows(&got, &net.set[q])))
		model_error("napi-get of queue %d: %u %llu %llu, want %llu %llu %llu",
			    q, got.defer_hard_irqs, (unsigned long long)got.gro_flush_timeout,
			    (unsigned long long)got.irq_suspend_timeout,
			    (unsigned long long)net.set[q].defer,
			    (unsigned long long)net.set[q].gro,
			    (unsigned long long)net.set[q].suspend);
}

static void net_napi_dump(void)
{
	struct ebp_napi got[NQ + 1];
	int count = dump_napis(got), i;

	fold_op(OP_NAPI_DUMP, (uint32_t)count, 0);
	for (i = 0; i < count && i < NQ + 1; i++)
		fold_napi(OP_NAPI_DUMP, &got[i]);
	say("op=napi-dump count=%d", count);
	if (count != net.napis) {
		model_error("napi-get dump: %d NAPIs, want %d", count, net.napis);
		return;
	}
	for (i = 0; i < count; i++)
		if (got[i].id != net.napi[i] || !napi_shows(&got[i], &net.set[i]))
			model_error("napi-get dump: queue %d shows defer %u gro %llu suspend %llu",
				    i, got[i].defer_hard_irqs,
				    (unsigned long long)got[i].gro_flush_timeout,
				    (unsigned long long)got[i].irq_suspend_timeout);
}

/* A datagram to socket @i (emptied first), once the witness has it. */
static void net_send(void)
{
	struct epoll_event ev[NSOCK];
	int i = next() % NSOCK, was = !!(net.ready & 1U << i);
	int drained = was ? drain(i) : 0, ret, arrived;

	net.ready &= ~(1U << i);
	while (epoll_wait(net.witness, ev, NSOCK, 0) > 0)
		;
	ret = nsim_send(net.pair.sock[0], 2, NET_PORT + 1 + i, "d", 1);
	arrived = !ret && witnessed(i);
	if (arrived)
		net.ready |= 1U << i;
	fold_op(OP_SEND, i, (uint64_t)drained << 40 | (uint64_t)arrived << 32 | (uint32_t)ret);
	say("op=send socket=%d drained=%d ret=%d arrived=%d", i, drained, ret, arrived);
	if (drained != was || ret || !arrived)
		model_error("send to socket %d: drained %d (want %d), send %d, %s", i, drained,
			    was, ret, arrived ? "arrived" : "lost");
}

static void net_recv(void)
{
	int i = next() % NSOCK, was = !!(net.ready & 1U << i), n = drain(i);

	net.ready &= ~(1U << i);
	fold_op(OP_RECV, i, n);
	say("op=recv socket=%d datagrams=%d", i, n);
	if (n != was)
		model_error("socket %d held %d datagrams, want %d", i, n, was);
}

static void net_wait(void)
{
	static const int timeouts[] = { 0, 0, 1, 3 };
	struct epoll_event ev[NSOCK];
	int k = next() % NEP, max = 1 + next() % NSOCK;
	int timeout = timeouts[next() % 4], ret, want, i;
	unsigned int expect = net.watch[k] & net.ready, mask = 0;
	uint64_t usecs = ep_now(net.ep[k]) >> 32;

	if (usecs > WAIT_USECS_MAX || net.sysctl_busy_poll > WAIT_USECS_MAX)
		timeout = 0;
	ret = epoll_wait(net.ep[k], ev, max, timeout);
	ret = ret < 0 ? -errno : ret;
	for (i = 0; i < ret; i++)
		mask |= ev[i].data.u32 < NSOCK ? 1U << ev[i].data.u32 : 1U << 31;
	want = popcount(expect) < max ? popcount(expect) : max;
	/* Which ones come out of a longer list depends on its order. */
	if (popcount(expect) > max)
		mask = 0;
	fold_op(OP_WAIT, (uint64_t)k << 8 | max, (uint64_t)mask << 32 | (uint32_t)ret);
	say("op=wait instance=%d maxevents=%d timeout=%d ret=%d sockets=%#x", k, max,
	    timeout, ret, mask);
	if (ret != want || (popcount(expect) <= max && mask != expect))
		model_error("epoll_wait(%d, max %d): %d, sockets %#x (%#x ready of %#x)",
			    k, max, ret, mask, net.ready, net.watch[k]);
}

static void net_ctl(void)
{
	static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD };
	int k = next() % NEP, i = next() % NSOCK, o = next() % 3, ret, want;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	int watched = !!(net.watch[k] & 1U << i);

	ret = epoll_ctl(net.ep[k], ops[o], net.rx[i], &ev) ? -errno : 0;
	if (ops[o] == EPOLL_CTL_ADD)
		want = watched ? -EEXIST : 0;
	else
		want = watched ? 0 : -ENOENT;
	fold_op(OP_CTL, (uint64_t)k << 16 | i << 8 | o, (uint32_t)ret);
	say("op=ctl instance=%d socket=%d op=%d ret=%d", k, i, ops[o], ret);
	if (ret != want)
		model_error("epoll_ctl(instance %d, %d, socket %d): %d, want %d", k, ops[o], i,
			    ret, want);
	else if (!ret && ops[o] == EPOLL_CTL_ADD)
		net.watch[k] |= 1U << i;
	else if (!ret && ops[o] == EPOLL_CTL_DEL)
		net.watch[k] &= ~(1U << i);
}

/* Frees an instance (suspended or not) and makes a new one in its slot,
 * with valid params (or none) and sockets to watch.
 */
static int net_replace(void)
{
	static const uint32_t usecs[] = { 0, 10, 100, 1000 };
	static const uint16_t budgets[] = { 0, 8, 64 };
	int k = next() % NEP, ret = 0;
	unsigned int mask;

	close(net.ep[k]);
	mask = next() % (1U << NSOCK);
	ret = new_instance(k, mask);
	if (ret)
		return ret;
	if (next() % 2) {
		uint32_t u = usecs[next() % 4];
		uint16_t b = budgets[next() % 3];
		uint8_t prefer = next() % 2;

		ret = ep_set(net.ep[k], u, b, prefer, 0);
		if (ret)
			model_error("instance %d: EPIOCSPARAMS %u %u %u: %d", k, u, b, prefer, ret);
	}
	fold_op(OP_REPLACE, k, (uint64_t)mask << 32 | (uint32_t)ret);
	fold_op(OP_REPLACE, ep_now(net.ep[k]), 0);
	say("op=replace instance=%d sockets=%#x params=%#llx", k, mask,
	    (unsigned long long)ep_now(net.ep[k]));
	return 0;
}

static int port_up(int up)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", net.port);
	if (ioctl(net.ctl, SIOCGIFFLAGS, &ifr))
		return -errno;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ioctl(net.ctl, SIOCSIFFLAGS, &ifr) ? -errno : 0;
}

/* Side 1's port down and up: netdevsim deletes its NAPIs and adds new
 * ones, with new IDs and the device's settings.  The instances keep the
 * old IDs until a datagram brings a new one.
 */
static int net_restart(void)
{
	struct ebp_napi got[NQ + 1];
	int down, up, gone, count, settled;

	down = port_up(0);
	fold_op(OP_RESTART, (uint32_t)down, 0);
	say("op=restart down=%d", down);
	if (down != (net.cap ? 0 : -EPERM))
		model_error("port down: %d", down);
	if (down)
		return 0;
	gone = ebp_napi_get(net.genl, net.family, net.napi[0], &got[0]);
	count = dump_napis(got);
	up = port_up(1);
	settled = settle();
	fold_op(OP_RESTART, (uint64_t)(uint32_t)gone << 32 | (uint32_t)count,
		(uint64_t)(uint32_t)up << 32 | (uint32_t)settled);
	say("op=restart napi-get=%d napis=%d up=%d settled=%d", gone, count, up, settled);
	if (gone != -ENOENT || count || up || settled) {
		model_error("while down: napi-get %d, %d NAPIs; up %d, settled %d", gone,
			    count, up, settled);
		if (up || settled)
			return up ? up : settled;
	}
	net.stale = net.napi[0];
	return refresh_napis() == NQ ? 0 : -EBADMSG;
}

static int run_net(uint32_t seed, long calls, char *none, int drop_cap)
{
	const char *why = "";
	unsigned int op;
	int ret;

	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	digest = 0xcbf29ce484222325ULL;
	cur_seed = seed;
	cur_call = 0;
	ret = net_setup(&why);
	if (!ret && drop_cap) {
		why = "dropping CAP_NET_ADMIN";
		ret = ep_drop_effective_cap(EP_CAP_NET_ADMIN);
	}
	net.cap = ep_has_effective_cap(EP_CAP_NET_ADMIN) == 1;
	for (cur_call = 1; !ret && cur_call <= calls; cur_call++) {
		op = next() % 100;
		if (op < 34) {
			ioctl_call(net.ep[next() % NEP], none);
		} else if (op < 46) {
			net_napi_set();
		} else if (op < 54) {
			net_napi_get();
		} else if (op < 56) {
			net_napi_dump();
		} else if (op < 70) {
			net_send();
		} else if (op < 76) {
			net_recv();
		} else if (op < 92) {
			net_wait();
		} else if (op < 96) {
			net_ctl();
		} else if (op < 99) {
			why = "replacing an instance";
			ret = net_replace();
		} else {
			why = "restarting the port";
			ret = net_restart();
		}
		if (!ret)
			checkpoint();
	}
	net_teardown();
	if (ret) {
		printf("EBP-DIFF-ERROR bits=%d seed=%u call=%ld: %s: %s\n", bits, seed,
		       cur_call, why, strerror(-ret));
		return ret;
	}
	if (net.model_errors) {
		printf("EBP-DIFF-ERROR bits=%d seed=%u: %d answers not as the model says\n",
		       bits, seed, net.model_errors);
		return -EBADE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t seeds[64];
	int nseeds = 0, opt, i, failed = 0;
	long page = sysconf(_SC_PAGESIZE), calls = 10000, net_calls = -1;
	char *map;

	while ((opt = getopt(argc, argv, "s:n:N:v")) != -1) {
		switch (opt) {
		case 's':
			if (nseeds < 64)
				seeds[nseeds++] = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			calls = atol(optarg);
			break;
		case 'N':
			net_calls = atol(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SEED]... [-n CALLS] [-N CALLS] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (!nseeds)
		seeds[nseeds++] = 1;
	if (net_calls < 0)
		net_calls = calls;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A writable page followed by a PROT_NONE one. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE))
		return perror("mmap"), 1;
	for (i = 0; i < nseeds; i++) {
		/* Odd seeds run without CAP_NET_ADMIN, in a child. */
		pid_t pid = seeds[i] % 2 ? fork() : 0;
		int status = 0, ret;

		if (pid < 0)
			return perror("fork"), 1;
		if (pid > 0) {
			waitpid(pid, &status, 0);
			failed |= !WIFEXITED(status) || WEXITSTATUS(status);
			continue;
		}
		if (seeds[i] >= NET_SEED_BASE) {
			/* The netdevsim pair first: that needs the capability. */
			ret = run_net(seeds[i], net_calls, map + page, seeds[i] % 2);
		} else {
			if (seeds[i] % 2 && ep_drop_effective_cap(EP_CAP_NET_ADMIN))
				return perror("capset"), 1;
			ret = run(seeds[i], calls, map + page);
			if (ret)
				printf("EBP-DIFF-ERROR bits=%d seed=%u: epoll_create1: %s\n",
				       bits, seeds[i], strerror(-ret));
		}
		if (seeds[i] % 2)
			_exit(!!ret);
		failed |= !!ret;
	}
	return failed;
}
