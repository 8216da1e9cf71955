// SPDX-License-Identifier: GPL-2.0
/*
 * IRQ suspension on a device that really masks its interrupt: two
 * virtio-net ports that QEMU joins with a hub (virtme-ng's --network
 * loop), each moved into a network namespace of its own.  virtio-net
 * leaves its receive queue's interrupt off while napi_complete_done()
 * answers false (virtqueue_napi_complete()), so the count of the server
 * port's virtioN-input.0 vector in /proc/interrupts shows what suspension
 * does; netdevsim ignores that answer (epoll_bp_suspend.c sees timers
 * instead).  The server port (192.0.2.1) has that vector pinned to CPU 1,
 * where the server thread runs; the client (192.0.2.2) runs on CPU 0.
 *
 * The server answers UDP requests through an epoll instance that busy
 * polls its port's NAPI (prefer_busy_poll 1, budget 16, busy_poll_usecs
 * 0: one pass per epoll_wait()).  After answering it stays away from
 * epoll_wait() until the client, GAP_US after the answer, has sent the
 * next request, as a server busy with other work would: the request
 * reaches the port while nobody polls, and raises the interrupt unless
 * that is masked.
 *
 * suspension_masks_the_interrupt: the same requests with the server's
 * NAPI at defer-hard-irqs D and gro-flush-timeout G, irq-suspend-timeout
 * 0, then T.  Without suspension, deferral keeps the interrupt off for D
 * polls G apart after each request (tens of ms under TCG, whose timers
 * fire milliseconds late), well under GAP_US: about one interrupt per
 * request.  With it, each epoll_wait() that returns events holds the
 * interrupt off for T, longer than the server stays away, and the next
 * request is busy polled; each busy poll that hands the NAPI back
 * reloads the deferral (busy_poll_stop() with prefer_busy_poll), so the
 * interrupt can stay off for the whole run.  The fall must be at least
 * MIN_FALL (a run without a single interrupt counts as one).  The pair
 * with D and G 0 is only reported: without deferral nothing keeps the
 * interrupt masked, suspension or not.
 *
 * interrupts_come_back_after_the_timeout: with suspension on, the server
 * stops calling epoll_wait() for PAUSE_T times T.  The client sends a
 * request at once, which must wait in the ring, interrupt masked, until
 * the NAPI watchdog ends the suspension after T, and LATE_SENDS more
 * from 2T on, which must raise the interrupt.  After the pause, all of
 * them must be in the socket (the server waits for them with poll(),
 * which does not busy poll) and get their answers.
 *
 * device_removed_while_an_instance_suspends: no NAPI timer outlives its
 * NAPI when the server port goes down and its PCI device is removed while
 * an instance keeps suspending the port's interrupts (see the test).
 *
 * Every answer must match its request and none may be lost.  Needs root,
 * two CPUs, two virtio-net ports that are down, with MSI-X vectors of
 * their own (CONFIG_PCI_MSI), and napi-set with irq-suspend-timeout;
 * skips otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <libgen.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <stdatomic.h>
#include <time.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_genl.h"
#include "epoll_bp_nsim.h"

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

#define UDP_PORT 4247
#define SERVER 0		/* port 0 is the server's: 192.0.2.1, CPU 1 */
#define CLIENT 1		/* port 1 the client's: 192.0.2.2, CPU 0 */
#define SERVER_CPU 1
#define CLIENT_CPU 0
#define MAX_NAPIS 8

/* The server's epoll instance. */
#define BUSY_USECS 0
#define BUDGET 16
/*
 * The client waits GAP_US after each answer before its next request; the
 * server waits for that send, then SETTLE_US for the request to arrive.
 */
#define GAP_US 80000
#define SETTLE_US 3000
/*
 * The settings under test: G as the documentation's example; D so that
 * D late timer polls end well within GAP_US; T longer than the server
 * stays away (GAP_US and the round trip, about 90 ms under TCG).
 */
#define DEFER 10
#define GRO_NS 20000LL
#define SUSPEND_NS 200000000LL
/* Requests: a warm-up, then the measured ones. */
#define WARMUP 20
#define REQUESTS 200
#define REQUESTS_NO_DEFER 20
#define REPLY_TIMEOUT_MS 2000
/*
 * Interrupts per request must fall at least MIN_FALL-fold with
 * suspension (no interrupt at all in 200 requests seen under TCG), from at
 * least MIN_OFF per request without (1.0 seen).
 */
#define MIN_FALL 4
#define MIN_OFF 0.5
/*
 * The pause: PAUSE_T times T, with LATE_SENDS requests from 2T on, up to
 * PAUSES times, AFTER_PAUSE round trips after each.  The first request
 * must have been sent HELD_MARGIN_NS before T/2 to count as held then.
 */
#define PAUSE_T 4
#define LATE_SENDS 3
#define PAUSES 3
#define AFTER_PAUSE 5
#define HELD_MARGIN_NS 20000000LL

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long t)
{
	struct timespec ts = { .tv_sec = t / 1000000000LL,
			       .tv_nsec = t % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* --- The ports ------------------------------------------------------- */

struct port {
	char name[IFNAMSIZ];
	char virtio[32];	/* its virtio device, e.g. virtio7 */
	int irq;		/* the vector of its input queue 0 */
	char saved_affinity[64];
	int ns;			/* its netns, once moved */
	int ifindex;		/* there */
	unsigned char mac[6];
	int sock;		/* a UDP socket on it */
};

/* Whether /sys/class/net/@name is a virtio-net port; its virtio device. */
static int is_virtio_net(const char *name, char *virtio, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	if (strcmp(basename(link), "virtio_net"))
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	snprintf(virtio, len, "%s", basename(link));
	return 1;
}

static int if_flags(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ret = ioctl(s, SIOCGIFFLAGS, &ifr) ? -errno : ifr.ifr_flags;
	close(s);
	return ret;
}

/*
 * /proc/interrupts: the number of the IRQ whose action is named @action,
 * or with @action NULL, the count of IRQ @irq summed over the CPUs; -1
 * if there is no such line.
 */
static long long proc_interrupts(const char *action, int irq)
{
	char line[4096], *p, *end, *last;
	long long sum = -1;
	int cpus = 0, n, i;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f))
		for (p = strstr(line, "CPU"); p; p = strstr(p + 3, "CPU"))
			cpus++;
	while (sum < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %d:", &n) != 1)
			continue;
		if (action) {
			line[strcspn(line, "\n")] = 0;
			last = strrchr(line, ' ');
			if (last && !strcmp(last + 1, action))
				sum = n;
			continue;
		}
		if (n != irq)
			continue;
		p = strchr(line, ':') + 1;
		for (i = 0, sum = 0; i < cpus; i++, p = end)
			sum += strtoll(p, &end, 10);
	}
	fclose(f);
	return sum;
}

static long long irq_count(const struct port *p)
{
	return proc_interrupts(NULL, p->irq);
}

/*
 * The first two virtio-net ports that are down, in the order of their
 * ifindex, each with the IRQ of its virtioN-input.0 vector.  0, or a
 * reason to skip in @why.
 */
static int find_ports(struct port port[2], const char **why)
{
	struct if_nameindex *ifs, *i;
	char action[64];
	int found = 0, flags;

	ifs = if_nameindex();
	for (i = ifs; i && i->if_index && found < 2; i++) {
		struct port *p = &port[found];

		if (!is_virtio_net(i->if_name, p->virtio, sizeof(p->virtio)))
			continue;
		flags = if_flags(i->if_name);
		if (flags < 0 || (flags & IFF_UP))
			continue;	/* someone else's */
		snprintf(p->name, IFNAMSIZ, "%s", i->if_name);
		snprintf(action, sizeof(action), "%s-input.0", p->virtio);
		p->irq = proc_interrupts(action, 0);
		if (p->irq < 0) {
			*why = "no virtioN-input.0 MSI-X vector (CONFIG_PCI_MSI)";
			if_freenameindex(ifs);
			return -ENOENT;
		}
		found++;
	}
	if_freenameindex(ifs);
	*why = "needs two virtio-net ports that are down: boot with vng --network loop";
	return found == 2 ? 0 : -ENODEV;
}

/* How many devices the virtio_net driver has, in any netns. */
static int virtio_net_devices(void)
{
	DIR *d = opendir("/sys/bus/virtio/drivers/virtio_net");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, "virtio", 6);
	if (d)
		closedir(d);
	return n;
}

/* RTM_NEWLINK: moves interface @ifindex into the netns of @ns_fd. */
static int move_to_netns(int ifindex, int ns_fd)
{
	struct {
		struct nlmsghdr nlh;
		struct ifinfomsg ifi;
		struct nlattr nla;
		__u32 fd;
	} req;
	__u32 buf[1024];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int s, n, ret;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = RTM_NEWLINK;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = ifindex;
	req.nla.nla_len = NLA_HDRLEN + sizeof(req.fd);
	req.nla.nla_type = IFLA_NET_NS_FD;
	req.fd = ns_fd;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	ret = send(s, &req, sizeof(req), 0) == sizeof(req) ? 0 : -errno;
	n = ret ? 0 : recv(s, buf, sizeof(buf), 0);
	if (!ret && (n < (int)NLMSG_LENGTH(sizeof(int)) ||
		     nlh->nlmsg_type != NLMSG_ERROR))
		ret = n < 0 ? -errno : -EBADMSG;
	if (!ret)
		ret = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
	close(s);
	return ret;
}

static int mac_of(const char *name, unsigned char *mac)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ret = ioctl(s, SIOCGIFHWADDR, &ifr) ? -errno : 0;
	if (!ret)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return ret;
}

/* A permanent ARP entry on @dev: 192.0.2.@host is at @mac (no ARP). */
static int static_arp(const char *dev, int host, const unsigned char *mac)
{
	struct sockaddr_in sin = nsim_addr(host, 0);
	struct arpreq req;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret;

	memset(&req, 0, sizeof(req));
	memcpy(&req.arp_pa, &sin, sizeof(sin));
	req.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(req.arp_ha.sa_data, mac, 6);
	req.arp_flags = ATF_PERM | ATF_COM;
	snprintf(req.arp_dev, sizeof(req.arp_dev), "%s", dev);
	ret = ioctl(s, SIOCSARP, &req) ? -errno : 0;
	close(s);
	return ret;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int set_affinity(int irq, const char *cpus)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	return ep_write_file(path, cpus);
}

/* --- The fixture: both ports moved, addressed and pinned ------------ */

struct pair {
	struct port port[2];
	int init_ns;
	int moved[2];
	int genl, family;
	__u32 napi;		/* the server port's NAPI */
	struct ebp_napi saved;	/* its settings before the test */
	long saved_busy_poll, saved_busy_read;
	int skip;		/* what failed is a reason to skip */
};

FIXTURE(virtio)
{
	struct pair p;
};

/* Runs in port @i's netns: gives it its address and a socket. */
static int port_up(struct pair *p, int i, const char **why)
{
	struct port *port = &p->port[i];
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_MS / 1000,
			      .tv_usec = REPLY_TIMEOUT_MS % 1000 * 1000 };
	char path[128];
	int ret;

	*why = "entering a port's netns";
	if (setns(port->ns, CLONE_NEWNET))
		return -errno;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 port->name);
	ep_write_file(path, "1");
	*why = "configuring a port (192.0.2.x/24, up)";
	port->ifindex = if_nametoindex(port->name);
	ret = port->ifindex ? nsim_ifup(port->name, i + 1) : -ENODEV;
	if (!ret) {
		*why = "binding the UDP socket";
		port->sock = nsim_udp_socket(i + 1, UDP_PORT);
		ret = port->sock < 0 ? -errno : 0;
	}
	/* The client blocks for each answer, for at most REPLY_TIMEOUT_MS. */
	if (!ret && i == CLIENT) {
		ret = fcntl(port->sock, F_SETFL, 0) ||
		      setsockopt(port->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ?
		      -errno : 0;
	}
	if (!ret && i == SERVER) {
		*why = "opening generic netlink \"netdev\" in the server's netns";
		p->genl = ebp_genl_open(&p->family);
		ret = p->genl < 0 ? p->genl : 0;
	}
	if (setns(p->init_ns, CLONE_NEWNET) && !ret)
		ret = -errno;
	return ret;
}

static int arp_entries(struct pair *p)
{
	int i, ret = 0;

	for (i = 0; i < 2 && !ret; i++) {
		if (setns(p->port[i].ns, CLONE_NEWNET))
			return -errno;
		ret = static_arp(p->port[i].name, 2 - i, p->port[1 - i].mac);
		if (setns(p->init_ns, CLONE_NEWNET) && !ret)
			ret = -errno;
	}
	return ret;
}

static int pair_create(struct pair *p, const char **why)
{
	struct ebp_napi napis[MAX_NAPIS];
	int i, ret;

	memset(p, 0, sizeof(*p));
	p->init_ns = -1;
	p->genl = -1;
	p->saved_busy_poll = -1;
	p->saved_busy_read = -1;
	for (i = 0; i < 2; i++) {
		p->port[i].ns = -1;
		p->port[i].sock = -1;
	}
	/* A previous test's netns may still be handing its port back. */
	for (i = 0; i < 50; i++) {
		ret = find_ports(p->port, why);
		if (ret != -ENODEV || virtio_net_devices() < 2)
			break;
		usleep(100000);
	}
	if (ret) {
		p->skip = 1;
		return ret;
	}
	*why = "opening the initial netns";
	p->init_ns = open("/proc/self/ns/net", O_RDONLY);
	if (p->init_ns < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		struct port *port = &p->port[i];

		*why = "reading a port's MAC address";
		ret = mac_of(port->name, port->mac);
		if (ret)
			return ret;
		*why = "making a netns";
		if (unshare(CLONE_NEWNET))
			return -errno;
		port->ns = open("/proc/self/ns/net", O_RDONLY);
		if (port->ns < 0)
			return -errno;
		/* No IPv6: its unsolicited packets would raise interrupts. */
		ep_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
		ep_write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
		if (setns(p->init_ns, CLONE_NEWNET))
			return -errno;
		*why = "moving a port into its netns (RTM_NEWLINK IFLA_NET_NS_FD)";
		ret = move_to_netns(if_nametoindex(port->name), port->ns);
		if (ret)
			return ret;
		p->moved[i] = 1;
		ret = port_up(p, i, why);
		if (ret)
			return ret;
	}
	*why = "adding permanent ARP entries";
	ret = arp_entries(p);
	if (ret)
		return ret;
	*why = "pinning the input vectors (/proc/irq/N/smp_affinity_list)";
	for (i = 0; i < 2 && !ret; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list",
			 p->port[i].irq);
		ret = read_file(path, p->port[i].saved_affinity,
				sizeof(p->port[i].saved_affinity));
		if (!ret)
			ret = set_affinity(p->port[i].irq, i == SERVER ? "1" : "0");
	}
	if (ret)
		return ret;
	*why = "napi-get dump of the server's port";
	ret = ebp_napi_dump(p->genl, p->family, p->port[SERVER].ifindex, napis,
			    MAX_NAPIS);
	if (ret != 1)	/* one queue pair; TX NAPIs have no ID */
		return ret < 0 ? ret : -EBADE;
	p->napi = napis[0].id;
	p->saved = napis[0];
	if (!p->saved.has_suspend) {
		*why = "napi-get has no irq-suspend-timeout: a kernel without IRQ suspension";
		p->skip = 1;
		return -EOPNOTSUPP;
	}
	/* Only the epoll instance's params may busy poll. */
	*why = "net.core.busy_poll and busy_read to 0";
	p->saved_busy_poll = nsim_read_long("/proc/sys/net/core/busy_poll");
	p->saved_busy_read = nsim_read_long("/proc/sys/net/core/busy_read");
	ret = ep_write_file("/proc/sys/net/core/busy_poll", "0");
	return ret ? ret : ep_write_file("/proc/sys/net/core/busy_read", "0");
}

static void restore_long(const char *path, long v)
{
	char buf[32];

	if (v < 0)
		return;
	snprintf(buf, sizeof(buf), "%ld", v);
	ep_write_file(path, buf);
}

/* Undoes what pair_create() did, as far as it got. */
static void pair_destroy(struct pair *p)
{
	int i;

	if (p->napi)
		ebp_napi_set(p->genl, p->family, p->napi, p->saved.defer_hard_irqs,
			     p->saved.gro_flush_timeout, p->saved.irq_suspend_timeout);
	if (p->genl >= 0)
		close(p->genl);
	restore_long("/proc/sys/net/core/busy_poll", p->saved_busy_poll);
	restore_long("/proc/sys/net/core/busy_read", p->saved_busy_read);
	for (i = 0; i < 2; i++) {
		struct port *port = &p->port[i];

		if (port->saved_affinity[0])
			set_affinity(port->irq, port->saved_affinity);
		if (port->sock >= 0)
			close(port->sock);
		/* Back to the initial netns, down, as vng left it. */
		if (p->moved[i] && !setns(port->ns, CLONE_NEWNET)) {
			int ifindex = if_nametoindex(port->name), r;

			r = ifindex ? move_to_netns(ifindex, p->init_ns) : -ENODEV;
			if (r)
				ksft_print_msg("moving %s back: %s\n", port->name,
					       strerror(-r));
		}
		if (p->init_ns >= 0)
			setns(p->init_ns, CLONE_NEWNET);
		if (port->ns >= 0)
			close(port->ns);
	}
	if (p->init_ns >= 0)
		close(p->init_ns);
}

FIXTURE_SETUP(virtio)
{
	const char *why = "";
	int ret;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs (the server's and the client's)");
	ret = pair_create(&self->p, &why);
	if (ret && self->p.skip) {
		pair_destroy(&self->p);
		SKIP(return, "%s", why);
	}
	if (ret)
		pair_destroy(&self->p);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", why, strerror(-ret));
	ksft_print_msg("server %s (%s, IRQ %d, NAPI %u), client %s (%s, IRQ %d)\n",
		       self->p.port[SERVER].name, self->p.port[SERVER].virtio,
		       self->p.port[SERVER].irq, self->p.napi,
		       self->p.port[CLIENT].name, self->p.port[CLIENT].virtio,
		       self->p.port[CLIENT].irq);
}

FIXTURE_TEARDOWN(virtio)
{
	pair_destroy(&self->p);
}

/* napi-set of the server's NAPI, then napi-get must show the settings. */
static int napi_set(struct pair *p, long long defer, long long gro,
		    long long suspend)
{
	struct ebp_napi n;
	int ret = ebp_napi_set(p->genl, p->family, p->napi, defer, gro, suspend);

	if (!ret)
		ret = ebp_napi_get(p->genl, p->family, p->napi, &n);
	if (!ret && (n.defer_hard_irqs != defer || n.gro_flush_timeout != gro ||
		     n.irq_suspend_timeout != suspend))
		ret = -EBADE;
	return ret;
}

/* BusyPollRxPackets of the netns the calling thread is in; -1 if none. */
#define SEP "\n\t "

static long long busy_poll_rx(void)
{
	static char names[16384], values[16384];
	char *n, *v, *sn, *sv;
	long long count = -1;
	FILE *f = fopen("/proc/thread-self/net/netstat", "r");

	if (!f)
		return -1;
	while (count < 0 && fgets(names, sizeof(names), f) &&
	       fgets(values, sizeof(values), f)) {
		n = strtok_r(names, SEP, &sn);
		v = strtok_r(values, SEP, &sv);
		for (; n && v; n = strtok_r(NULL, SEP, &sn), v = strtok_r(NULL, SEP, &sv))
			if (!strcmp(n, "BusyPollRxPackets"))
				count = atoll(v);
	}
	fclose(f);
	return count;
}

static long long server_busy_poll_rx(struct pair *p)
{
	long long n;

	if (setns(p->port[SERVER].ns, CLONE_NEWNET))
		return -1;
	n = busy_poll_rx();
	setns(p->init_ns, CLONE_NEWNET);
	return n;
}

/* --- Requests and answers ------------------------------------------- */

#define REQ_MAGIC 0x45425052	/* "EBPR" */
#define ANS_MAGIC 0x45425041	/* "EBPA" */

enum { CMD_ECHO, CMD_PAUSE, CMD_STOP };

struct msg {
	__u32 magic, seq, cmd, pad;
	unsigned char data[48];
};

static void fill(struct msg *m, __u32 magic, __u32 seq, __u32 cmd)
{
	__u64 x = 0x9e3779b97f4a7c15ULL * (seq + 1);
	size_t i;

	memset(m, 0, sizeof(*m));
	m->magic = magic;
	m->seq = seq;
	m->cmd = cmd;
	for (i = 0; i < sizeof(m->data); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		m->data[i] = x >> 32;
	}
	if (magic == ANS_MAGIC)	/* the answer: the request's bytes inverted */
		for (i = 0; i < sizeof(m->data); i++)
			m->data[i] = ~m->data[i];
}

static int valid(const struct msg *m, ssize_t len, __u32 magic)
{
	struct msg want;

	if (len != sizeof(*m))
		return 0;
	fill(&want, magic, m->seq, m->cmd);
	return !memcmp(m, &want, sizeof(want));
}

/* What the server thread does during a pause (recovery). */
struct pause_log {
	long long t_events;	/* epoll_wait() returned the pause request */
	long long irq_start, irq_mid, irq_end;
	long long t_mid;	/* when irq_mid was read */
	int empty;		/* at T/2, the socket had nothing */
	int received;		/* requests found after the pause */
	int bad;
};

struct server {
	struct pair *p;
	int ep;
	atomic_long sent;	/* requests the client sent */
	int wake;		/* eventfd: the client sent one */
	long long suspend_ns;
	atomic_int client_done;	/* the client sent its pause requests */
	atomic_int pause_done;	/* the server wrote its pause_log */
	int expected;		/* how many the pause brings */
	struct pause_log pause;
	/* counts */
	long waits, received, bad, err;
};

static int answer(struct server *s, const struct msg *req,
		  const struct sockaddr_in *to)
{
	struct msg ans;

	fill(&ans, ANS_MAGIC, req->seq, req->cmd);
	return sendto(s->p->port[SERVER].sock, &ans, sizeof(ans), 0,
		      (const struct sockaddr *)to, sizeof(*to)) == sizeof(ans) ? 0 : -errno;
}

/*
 * Away from epoll_wait() until the client has sent a request the server
 * has not received, and SETTLE_US more for it to reach the server's port.
 */
static void work(struct server *s)
{
	struct pollfd pfd = { .fd = s->wake, .events = POLLIN };
	long long end = now_ns() + REPLY_TIMEOUT_MS * 1000000LL;
	uint64_t n;

	while (atomic_load(&s->sent) <= s->received && now_ns() < end)
		if (poll(&pfd, 1, 100) == 1 && read(s->wake, &n, sizeof(n)) < 0)
			break;
	sleep_until(now_ns() + SETTLE_US * 1000LL);
}

/*
 * The pause, from the answer to the pause request @req: no epoll_wait()
 * for PAUSE_T times T.  Notes the interrupt count before that answer and
 * at T/2, and whether the socket is empty then (the client's first
 * request waiting in the ring); after the pause and the client's last
 * send, poll() waits for every request, which then all get answers.
 */
static void server_pause(struct server *s, long long t_events,
			 const struct msg *req, const struct sockaddr_in *to)
{
	struct pause_log *l = &s->pause;
	int sock = s->p->port[SERVER].sock;
	struct sockaddr_in from[1 + LATE_SENDS];
	struct msg reqs[1 + LATE_SENDS], peek;
	socklen_t len;
	ssize_t n;
	int i;

	l->t_events = t_events;
	l->irq_start = irq_count(&s->p->port[SERVER]);
	if (answer(s, req, to))
		s->err++;
	sleep_until(t_events + s->suspend_ns / 2);
	l->irq_mid = irq_count(&s->p->port[SERVER]);
	l->empty = recv(sock, &peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT) < 0 &&
		   errno == EAGAIN;
	l->t_mid = now_ns();
	sleep_until(t_events + PAUSE_T * s->suspend_ns);
	while (!atomic_load(&s->client_done) && now_ns() < t_events + 10 * s->suspend_ns)
		usleep(1000);
	for (i = 0; i < s->expected; i++) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };

		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) != 1)
			break;
		len = sizeof(from[i]);
		n = recvfrom(sock, &reqs[i], sizeof(reqs[i]), MSG_DONTWAIT,
			     (struct sockaddr *)&from[i], &len);
		if (n < 0)
			break;
		if (!valid(&reqs[i], n, REQ_MAGIC))
			l->bad++;
		l->received++;
	}
	l->irq_end = irq_count(&s->p->port[SERVER]);
	s->received += l->received;
	atomic_store(&s->pause_done, 1);
	for (i = 0; i < l->received; i++)
		if (answer(s, &reqs[i], &from[i]))
			s->err++;
}

static void *server_thread(void *arg)
{
	struct server *s = arg;
	int sock = s->p->port[SERVER].sock;
	struct epoll_event ev[8];
	struct sockaddr_in from;
	struct msg req;
	long long t;
	socklen_t len;
	int n, stop = 0;
	ssize_t got;

	if (pin_to_cpu(SERVER_CPU)) {
		s->err++;
		return NULL;
	}
	while (!stop) {
		s->waits++;
		n = epoll_wait(s->ep, ev, 8, REPLY_TIMEOUT_MS * 2);
		t = now_ns();
		if (n < 0) {
			s->err++;
			break;
		}
		if (!n)
			continue;
		for (;;) {
			len = sizeof(from);
			got = recvfrom(sock, &req, sizeof(req), MSG_DONTWAIT,
				       (struct sockaddr *)&from, &len);
			if (got < 0)
				break;
			s->received++;
			if (!valid(&req, got, REQ_MAGIC)) {
				s->bad++;
				continue;
			}
			if (req.cmd == CMD_PAUSE) {
				server_pause(s, t, &req, &from);
				continue;
			}
			if (answer(s, &req, &from))
				s->err++;
			if (req.cmd == CMD_STOP)
				stop = 1;
		}
		/* Away from epoll_wait(), working on what it got. */
		if (!stop)
			work(s);
	}
	return NULL;
}

/* An epoll instance for the server, with the params above. */
static int server_start(struct server *s, struct pair *p, pthread_t *thread)
{
	struct epoll_event ev = { .events = EPOLLIN };

	s->p = p;
	s->wake = eventfd(0, EFD_CLOEXEC);
	if (s->wake < 0)
		return -errno;
	s->ep = epoll_create1(0);
	if (s->ep < 0 || ep_set(s->ep, BUSY_USECS, BUDGET, 1, 0) ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, p->port[SERVER].sock, &ev) ||
	    pthread_create(thread, NULL, server_thread, s)) {
		if (s->ep >= 0)
			close(s->ep);
		close(s->wake);
		return -EIO;
	}
	return 0;
}

struct client {
	struct pair *p;
	struct server *s;	/* told of each request sent */
	__u32 seq;
	long answered, lost, bad, stale;
};

/* Sends request @cmd; 0 or -errno. */
static int client_send(struct client *c, __u32 cmd)
{
	struct msg req;

	uint64_t one = 1;
	int ret;

	fill(&req, REQ_MAGIC, c->seq++, cmd);
	ret = nsim_send(c->p->port[CLIENT].sock, SERVER + 1, UDP_PORT, &req,
			sizeof(req));
	if (!ret) {
		atomic_fetch_add(&c->s->sent, 1);
		if (write(c->s->wake, &one, sizeof(one)) != sizeof(one))
			ret = -errno;
	}
	return ret;
}

/* Waits for the answer to request @seq (older answers are skipped). */
static void client_answer(struct client *c, __u32 seq)
{
	struct msg ans;
	ssize_t n;

	for (;;) {
		n = recv(c->p->port[CLIENT].sock, &ans, sizeof(ans), 0);
		if (n < 0) {
			c->lost++;
			return;
		}
		if (valid(&ans, n, ANS_MAGIC) && ans.seq == seq) {
			c->answered++;
			return;
		}
		if (valid(&ans, n, ANS_MAGIC))
			c->stale++;
		else
			c->bad++;
	}
}

/* One request and its answer, then GAP_US. */
static void round_trip(struct client *c, __u32 cmd)
{
	__u32 seq = c->seq;

	if (client_send(c, cmd))
		c->lost++;
	else
		client_answer(c, seq);
	usleep(GAP_US);
}

struct result {
	long requests;
	long long irqs, client_irqs, busy_polled, ns;
};

/*
 * Runs @requests round trips after WARMUP with the server's NAPI set to
 * @defer, @gro and @suspend: the server port's interrupts in @r.
 */
static void measure(struct __test_metadata *_metadata, struct pair *p,
		    long long defer, long long gro, long long suspend,
		    long requests, struct result *r)
{
	struct client c = { .p = p };
	struct server s = { .suspend_ns = suspend };
	long long irq0, cirq0, bp0, t0;
	pthread_t thread;
	long i;

	ASSERT_EQ(0, napi_set(p, defer, gro, suspend))
		TH_LOG("napi-set %lld %lld %lld (defer, gro, suspend), then napi-get",
		       defer, gro, suspend);
	ASSERT_EQ(0, pin_to_cpu(CLIENT_CPU));
	ASSERT_EQ(0, server_start(&s, p, &thread));
	c.s = &s;
	for (i = 0; i < WARMUP; i++)
		round_trip(&c, CMD_ECHO);
	irq0 = irq_count(&p->port[SERVER]);
	cirq0 = irq_count(&p->port[CLIENT]);
	bp0 = server_busy_poll_rx(p);
	t0 = now_ns();
	for (i = 0; i < requests; i++)
		round_trip(&c, CMD_ECHO);
	r->ns = now_ns() - t0;
	r->irqs = irq_count(&p->port[SERVER]) - irq0;
	r->client_irqs = irq_count(&p->port[CLIENT]) - cirq0;
	r->busy_polled = server_busy_poll_rx(p) - bp0;
	r->requests = requests;
	round_trip(&c, CMD_STOP);
	pthread_join(thread, NULL);
	close(s.ep);
	close(s.wake);

	ksft_print_msg("defer %lld gro %lld suspend %lld: %lld interrupts/%ld requests: %.3f\n",
		       defer, gro, suspend, r->irqs, requests, (double)r->irqs / requests);
	ksft_print_msg("  client port %lld, busy polled %lld, epoll_wait() %ld, %.1f ms/request\n",
		       r->client_irqs, r->busy_polled, s.waits, r->ns / 1e6 / requests);
	EXPECT_EQ(WARMUP + requests + 1, c.answered)
		TH_LOG("%ld lost, %ld bad answers", c.lost, c.bad);
	EXPECT_EQ(0, c.lost);
	EXPECT_EQ(0, c.bad);
	EXPECT_EQ(0, c.stale);
	EXPECT_EQ(WARMUP + requests + 1, s.received);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(0, s.err);
}

static double per_request(const struct result *r)
{
	return (double)r->irqs / r->requests;
}

TEST_F_TIMEOUT(virtio, suspension_masks_the_interrupt, 150)
{
	struct result off, on, off0, on0;
	unsigned int napi_id = 0;
	socklen_t len = sizeof(napi_id);
	double fall;

	/* Without deferral, for the record. */
	measure(_metadata, &self->p, 0, 0, 0, REQUESTS_NO_DEFER, &off0);
	measure(_metadata, &self->p, 0, 0, SUSPEND_NS, REQUESTS_NO_DEFER, &on0);
	/* The comparison: the same deferral, suspension off and on. */
	measure(_metadata, &self->p, DEFER, GRO_NS, 0, REQUESTS, &off);
	measure(_metadata, &self->p, DEFER, GRO_NS, SUSPEND_NS, REQUESTS, &on);

	getsockopt(self->p.port[SERVER].sock, SOL_SOCKET, SO_INCOMING_NAPI_ID,
		   &napi_id, &len);
	EXPECT_EQ(self->p.napi, napi_id)
		TH_LOG("the server's socket's NAPI is not its port's");
	fall = per_request(&off) / (per_request(&on) ?: 1.0 / REQUESTS);
	ksft_print_msg("interrupts/request, defer %d gro %lld: %.3f unsuspended, %.3f suspended\n",
		       DEFER, GRO_NS, per_request(&off), per_request(&on));
	ksft_print_msg("  a %.1f-fold fall (at least %d wanted); defer 0 gro 0: %.3f and %.3f\n",
		       fall, MIN_FALL, per_request(&off0), per_request(&on0));
	ASSERT_TRUE(per_request(&off) >= MIN_OFF)
		TH_LOG("under %.1f interrupts per request without suspension: the test cannot tell",
		       MIN_OFF);
	EXPECT_TRUE(fall >= MIN_FALL)
		TH_LOG("interrupts per request fell %.1f-fold with suspension, less than %d-fold",
		       fall, MIN_FALL);
}

/*
 * One pause: the server answers CMD_PAUSE and stays away from
 * epoll_wait() for PAUSE_T times T; the client sends one request at once
 * and LATE_SENDS from 2T on.  Whether the first was held (see the test)
 * in @held.
 */
static void pause_round(struct __test_metadata *_metadata, struct server *s,
			struct client *c, int *held)
{
	struct pause_log *l = &s->pause;
	long long t0, sent[1 + LATE_SENDS], end;
	__u32 seq = c->seq;
	char at[128];
	int i;

	memset(l, 0, sizeof(*l));
	atomic_store(&s->client_done, 0);
	atomic_store(&s->pause_done, 0);
	ASSERT_EQ(0, client_send(c, CMD_PAUSE));
	client_answer(c, seq);
	t0 = now_ns();
	for (i = 0; i <= LATE_SENDS; i++) {
		if (i)
			sleep_until(t0 + 2 * SUSPEND_NS + (i - 1) * SUSPEND_NS / 2);
		sent[i] = now_ns();
		EXPECT_EQ(0, client_send(c, CMD_ECHO));
	}
	atomic_store(&s->client_done, 1);
	for (i = 0; i <= LATE_SENDS; i++)
		client_answer(c, seq + 1 + i);
	end = now_ns() + REPLY_TIMEOUT_MS * 1000000LL;
	while (!atomic_load(&s->pause_done) && now_ns() < end)
		usleep(1000);
	ASSERT_TRUE(atomic_load(&s->pause_done));

	for (i = 0, at[0] = 0; i <= LATE_SENDS; i++)
		snprintf(at + strlen(at), sizeof(at) - strlen(at), " +%.0f",
			 (sent[i] - l->t_events) / 1e6);
	ksft_print_msg("pause of %lld ms after epoll_wait() returned; requests sent at%s ms\n",
		       PAUSE_T * SUSPEND_NS / 1000000, at);
	ksft_print_msg("  interrupts: %lld until +%lld ms (socket %s then), %lld after\n",
		       l->irq_mid - l->irq_start, (l->t_mid - l->t_events) / 1000000,
		       l->empty ? "empty" : "not empty", l->irq_end - l->irq_mid);
	ksft_print_msg("  %d of %d requests in the socket after the pause\n",
		       l->received, 1 + LATE_SENDS);

	/* No stall: every request reached the socket, without busy polling. */
	EXPECT_EQ(1 + LATE_SENDS, l->received)
		TH_LOG("requests stuck in the ring after the timeout");
	EXPECT_EQ(0, l->bad);
	/* The late requests raised the interrupt: it is back. */
	EXPECT_LE(1, l->irq_end - l->irq_mid)
		TH_LOG("no interrupt of the server's port after the timeout");
	*held = l->irq_mid == l->irq_start && l->empty &&
		sent[0] < l->t_mid - HELD_MARGIN_NS;
}

/*
 * Recovery.  During the first half of T the first request must wait in
 * the ring: the socket empty, no interrupt (suspension holds the
 * interrupt off).  A pause that begins in one of the cycles in which the
 * interrupt comes back anyway (1 in DEFER + 1, see suspension_masks_*)
 * lets it in at once, so up to PAUSES pauses are made, of which one must
 * hold it.  Every pause must end with all the requests in the socket and
 * the late ones counted on the interrupt.
 */
TEST_F_TIMEOUT(virtio, interrupts_come_back_after_the_timeout, 60)
{
	struct server s = { .suspend_ns = SUSPEND_NS, .expected = 1 + LATE_SENDS };
	struct client c = { .p = &self->p };
	int i, round, held = 0;
	pthread_t thread;

	ASSERT_EQ(0, napi_set(&self->p, DEFER, GRO_NS, SUSPEND_NS));
	ASSERT_EQ(0, pin_to_cpu(CLIENT_CPU));
	ASSERT_EQ(0, server_start(&s, &self->p, &thread));
	c.s = &s;
	for (i = 0; i < WARMUP; i++)
		round_trip(&c, CMD_ECHO);
	for (round = 0; round < PAUSES && !held; round++) {
		pause_round(_metadata, &s, &c, &held);
		for (i = 0; i < AFTER_PAUSE; i++)
			round_trip(&c, CMD_ECHO);
	}
	round_trip(&c, CMD_STOP);
	pthread_join(thread, NULL);
	close(s.ep);
	close(s.wake);

	EXPECT_TRUE(held)
		TH_LOG("in none of %d pauses did the first request wait until T/2", round);
	/* Nothing was lost, before, during or after the pauses. */
	EXPECT_EQ(c.seq, c.answered)
		TH_LOG("%ld lost, %ld bad", c.lost, c.bad);
	EXPECT_EQ(0, c.lost);
	EXPECT_EQ(0, c.bad);
	EXPECT_EQ(0, c.stale);
	EXPECT_EQ(c.seq, s.received);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(0, s.err);
}

/* NAPI watchdog timers pending on any CPU, from /proc/timer_list. */
static int napi_timers(void)
{
	FILE *f = fopen("/proc/timer_list", "r");
	char line[256];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, "napi_watchdog");
	fclose(f);
	return n;
}

/* The first record since ep_kmsg_open() that says the kernel went wrong. */
static int kmsg_trouble(int fd, char *buf, size_t len)
{
	static const char *const marks[] = {
		"ODEBUG", "BUG:", "WARNING:", "general protection", "Oops",
		"KASAN", "UBSAN",
	};
	ssize_t n;
	size_t i;

	while ((n = read(fd, buf, len - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n < 0)
			continue;	/* records were overwritten: go on */
		buf[n] = 0;
		for (i = 0; i < ARRAY_SIZE(marks); i++)
			if (strstr(buf, marks[i]))
				return 1;
	}
	return 0;
}

/* Takes port @i's link down, in its netns. */
static int port_down(struct pair *p, int i)
{
	struct ifreq ifr = { 0 };
	int s, ret = 0;

	if (setns(p->port[i].ns, CLONE_NEWNET))
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", p->port[i].name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags &= ~IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	if (s >= 0)
		close(s);
	if (setns(p->init_ns, CLONE_NEWNET) && !ret)
		ret = -errno;
	return ret;
}

/* Writes "1" to @what (e.g. "remove") of the PCI device behind @virtio. */
static int virtio_pci_write(const char *virtio, const char *what)
{
	char path[PATH_MAX], dev[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s", virtio);
	if (!realpath(path, dev))
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dirname(dev), what);
	return ep_write_file(path, "1");
}

struct deliverer {
	int ep, efd;
	atomic_bool stop;
	atomic_long deliveries;
};

/* Delivers eventfd events in a tight loop: each delivery suspends IRQs. */
static void *deliver(void *arg)
{
	struct deliverer *d = arg;
	struct epoll_event ev[2];
	eventfd_t v;

	while (!atomic_load(&d->stop)) {
		eventfd_write(d->efd, 1);
		if (epoll_wait(d->ep, ev, 2, 0) > 0)
			atomic_fetch_add(&d->deliveries, 1);
		eventfd_read(d->efd, &v);
	}
	return NULL;
}

#define REMOVE_SUSPEND_NS 3000000000LL	/* irq-suspend-timeout: 3 s */

/*
 * device_removed_while_an_instance_suspends: an instance that prefers busy
 * polling learns the server NAPI's ID from a request, then delivers eventfd
 * events in a tight loop, each delivery suspending that NAPI's interrupts
 * (irq-suspend-timeout 3 s), while the port goes down and, 1.5 s later,
 * its PCI device is removed.  virtio-net keeps a NAPI findable by ID while
 * its link is down, so napi_suspend_irqs() must not arm the timer of a
 * disabled NAPI: once the link is down, and again once the device is gone,
 * no NAPI watchdog may be pending (/proc/timer_list), and the kernel log
 * shows nothing wrong.  Re-arming it after napi_disable() left a timer
 * that fired in freed memory 3 s after the removal.  The device then comes
 * back (PCI rescan).  Last in this file: it takes the server port away.
 */
TEST_F_TIMEOUT(virtio, device_removed_while_an_instance_suspends, 60)
{
	struct pair *p = &self->p;
	struct deliverer d = { .ep = -1, .efd = -1 };
	struct epoll_event ev = { .events = EPOLLIN };
	int kmsg, down_timers, gone_timers, trouble, i;
	struct ep_counters c;
	struct msg req;
	pthread_t t;
	char buf[1024];

	ASSERT_EQ(0, napi_set(p, 0, 0, REMOVE_SUSPEND_NS));
	d.ep = epoll_create1(0);
	d.efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, d.ep);
	ASSERT_LE(0, d.efd);
	ASSERT_EQ(0, ep_set(d.ep, 0, BUDGET, 1, 0));
	ASSERT_EQ(0, epoll_ctl(d.ep, EPOLL_CTL_ADD, p->port[SERVER].sock, &ev));
	/* A request gives the instance the server NAPI's ID. */
	fill(&req, REQ_MAGIC, 1, 0);
	ASSERT_EQ(0, nsim_send(p->port[CLIENT].sock, SERVER + 1, UDP_PORT, &req, sizeof(req)));
	ASSERT_EQ(1, epoll_wait(d.ep, &ev, 1, REPLY_TIMEOUT_MS));
	ASSERT_LT(0, recv(p->port[SERVER].sock, buf, sizeof(buf), 0));
	ASSERT_EQ(0, ep_counters(d.ep, &c));
	ASSERT_EQ(p->napi, c.napi_id) TH_LOG("the instance must busy poll the server's NAPI");
	ev.events = EPOLLIN;
	ASSERT_EQ(0, epoll_ctl(d.ep, EPOLL_CTL_ADD, d.efd, &ev));
	kmsg = ep_kmsg_open();
	ASSERT_LE(0, kmsg);

	ASSERT_EQ(0, pthread_create(&t, NULL, deliver, &d));
	usleep(200000);
	ASSERT_EQ(0, port_down(p, SERVER));
	usleep(1500000);
	down_timers = napi_timers();
	ASSERT_EQ(0, virtio_pci_write(p->port[SERVER].virtio, "remove"))
		TH_LOG("removing the server port's PCI device");
	/* It is gone: nothing of it to restore. */
	p->napi = 0;
	p->moved[SERVER] = 0;
	p->port[SERVER].saved_affinity[0] = 0;
	usleep(500000);
	atomic_store(&d.stop, 1);
	pthread_join(t, NULL);
	gone_timers = napi_timers();
	/* Past the 3 s a timer armed before the removal would run for. */
	usleep(REMOVE_SUSPEND_NS / 1000 + 500000);
	trouble = kmsg_trouble(kmsg, buf, sizeof(buf));
	ksft_print_msg("%ld deliveries; NAPI watchdogs pending: %d link down, %d removed%s%s\n",
		       atomic_load(&d.deliveries), down_timers, gone_timers,
		       trouble ? "; kernel log: " : "", trouble ? buf : "");
	close(kmsg);
	close(d.efd);
	close(d.ep);
	ASSERT_EQ(0, ep_write_file("/sys/bus/pci/rescan", "1"));
	for (i = 0; i < 50 && virtio_net_devices() < 2; i++)
		usleep(100000);

	EXPECT_LT(1000, atomic_load(&d.deliveries));
	EXPECT_EQ(0, down_timers)
		TH_LOG("napi_suspend_irqs() armed a timer after napi_disable()");
	EXPECT_EQ(0, gone_timers)
		TH_LOG("a removed device's NAPI timer is still pending");
	EXPECT_EQ(0, trouble) TH_LOG("the kernel log: %s", buf);
	EXPECT_EQ(2, virtio_net_devices()) TH_LOG("the device must come back on a PCI rescan");
}

TEST_HARNESS_MAIN
