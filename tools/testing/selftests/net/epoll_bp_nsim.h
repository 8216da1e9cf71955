/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A linked pair of netdevsim ports, one in each of two new network
 * namespaces, with UDP sockets behind them: packets between the two go
 * through netdevsim's NAPI instances, so the receiving sockets carry NAPI
 * IDs and epoll can busy poll them (TCP helpers at the end).  Shared by
 * the epoll_bp_*.c tests that need traffic.  Needs root in the initial
 * network namespace, and _GNU_SOURCE defined before the first #include
 * (for setns and unshare).
 */
#ifndef EPOLL_BP_NSIM_H
#define EPOLL_BP_NSIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epoll_bp_common.h"

/* The number in the file @path, or -1 if it cannot be read. */
static inline long nsim_read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return atol(buf);
}

/* The Ethernet port in the current netns (a new one may also hold sit0):
 * its ifindex, name in @name; 0 if there is none.
 */
static inline int nsim_ether_port(char *name)
{
	struct if_nameindex *ifs, *i;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), found = 0;

	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", i->if_name);
		if (!ioctl(s, SIOCGIFHWADDR, &ifr) &&
		    ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			snprintf(name, IFNAMSIZ, "%s", i->if_name);
			found = i->if_index;
			break;
		}
	}
	if_freenameindex(ifs);
	close(s);
	return found;
}

/* Brings @name up; 0 or -errno. */
static inline int nsim_link_up(const char *name)
{
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

/* Gives @name address 192.0.2.@host/24 (TEST-NET-1) and brings it up. */
static inline int nsim_ifup(const char *name, int host)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0xc0000200 | host);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		ret = -errno;
	sin->sin_addr.s_addr = htonl(0xffffff00);
	if (!ret && ioctl(s, SIOCSIFNETMASK, &ifr))
		ret = -errno;
	close(s);
	return ret ?: nsim_link_up(name);
}

static inline struct sockaddr_in nsim_addr(int host, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(0xc0000200 | host),
	};

	return sin;
}

/* A non-blocking UDP socket bound to 192.0.2.@host:@port, or -1. */
static inline int nsim_udp_socket(int host, int port)
{
	struct sockaddr_in sin = nsim_addr(host, port);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (s >= 0 && bind(s, (struct sockaddr *)&sin, sizeof(sin))) {
		close(s);
		return -1;
	}
	return s;
}

/* Sends @len bytes from socket @s to 192.0.2.@host:@port; 0 or -errno. */
static inline int nsim_send(int s, int host, int port, const void *buf,
			    size_t len)
{
	struct sockaddr_in sin = nsim_addr(host, port);

	return sendto(s, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) ==
	       (ssize_t)len ? 0 : -errno;
}

struct nsim_pair {
	int init_ns, ns[2];	/* the initial netns, and one per port */
	int sock[2];		/* a UDP socket on each side: 192.0.2.1, .2 */
	int id[2];		/* netdevsim device IDs */
	char port[2][IFNAMSIZ];	/* the port names */
};

/* Whether netdevsim's bus is there, after loading the module if needed:
 * the net selftests' config builds netdevsim as a module.
 */
static inline int nsim_bus_ready(void)
{
	const char *new_device = "/sys/bus/netdevsim/new_device";

	if (!access(new_device, W_OK))
		return 1;
	if (system("modprobe -q netdevsim 2>/dev/null"))
		return 0;
	return !access(new_device, W_OK);
}

/* Creates the pair, with a socket on @port on each side, side 1's port
 * with @queues rx queues (so as many NAPI instances; side 0's has one, so
 * every packet it sends lands on side 1's first queue).  Returns 0, or
 * -errno with what failed in @why.  Leaves the caller in the initial netns.
 * nsim_pair_destroy() undoes what was done, even after a failure.
 */
static inline int nsim_pair_create_queues(struct nsim_pair *p, int port,
					  int queues, const char **why)
{
	char name[IFNAMSIZ], link[64], buf[32];
	int ifindex[2], i, ret;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < 2; i++) {
		p->ns[i] = -1;
		p->sock[i] = -1;
	}
	p->init_ns = -1;
	*why = "no netdevsim (CONFIG_NETDEVSIM) or not root";
	if (!nsim_bus_ready())
		return -ENODEV;
	*why = "opening the initial netns";
	p->init_ns = open("/proc/self/ns/net", O_RDONLY);
	if (p->init_ns < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		/* A port created by new_device lands in the writer's netns. */
		*why = "entering a new netns";
		if (unshare(CLONE_NEWNET))
			return -errno;
		p->ns[i] = open("/proc/self/ns/net", O_RDONLY);
		if (p->ns[i] < 0)
			return -errno;
		/* No IPv6: its unsolicited packets would make NAPI polls. */
		ep_write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
		ep_write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
		p->id[i] = 1000 + getpid() % 1000 * 2 + i;
		snprintf(buf, sizeof(buf), "%d 1 %d", p->id[i], i ? queues : 1);
		*why = "creating a netdevsim device";
		ret = ep_write_file("/sys/bus/netdevsim/new_device", buf);
		if (ret) {
			p->id[i] = 0;
			return ret;
		}
		*why = "no Ethernet port in the new netns";
		ifindex[i] = nsim_ether_port(name);
		if (!ifindex[i])
			return -ENODEV;
		memcpy(p->port[i], name, IFNAMSIZ);
		*why = "configuring the port";
		ret = nsim_ifup(name, i + 1);
		if (ret)
			return ret;
		*why = "binding a UDP socket";
		p->sock[i] = nsim_udp_socket(i + 1, port);
		if (p->sock[i] < 0)
			return -errno;
		*why = "returning to the initial netns";
		if (setns(p->init_ns, CLONE_NEWNET))
			return -errno;
	}
	snprintf(link, sizeof(link), "%d:%d %d:%d", p->ns[0], ifindex[0],
		 p->ns[1], ifindex[1]);
	*why = "linking the two netdevsim ports";
	return ep_write_file("/sys/bus/netdevsim/link_device", link);
}

/* The pair with one rx queue on each side. */
static inline int nsim_pair_create(struct nsim_pair *p, int port,
				   const char **why)
{
	return nsim_pair_create_queues(p, port, 1, why);
}

static inline void nsim_pair_destroy(struct nsim_pair *p)
{
	char buf[16];
	int i;

	if (p->init_ns >= 0)
		setns(p->init_ns, CLONE_NEWNET);
	for (i = 0; i < 2; i++) {
		if (p->sock[i] >= 0)
			close(p->sock[i]);
		if (p->id[i]) {
			snprintf(buf, sizeof(buf), "%d", p->id[i]);
			ep_write_file("/sys/bus/netdevsim/del_device", buf);
		}
		if (p->ns[i] >= 0)
			close(p->ns[i]);
	}
	if (p->init_ns >= 0)
		close(p->init_ns);
}

/* Runs @fn(@arg) in side @i's netns (e.g. to make more sockets there). */
static inline int nsim_in_ns(struct nsim_pair *p, int i,
			     int (*fn)(void *arg), void *arg)
{
	int ret;

	if (setns(p->ns[i], CLONE_NEWNET))
		return -errno;
	ret = fn(arg);
	if (setns(p->init_ns, CLONE_NEWNET))
		return -errno;
	return ret;
}

/* TCP over the pair, through nsim_in_ns(), which creates the socket in a
 * side's netns (it stays there): nsim_tcp_listen() listens on
 * 192.0.2.@host:@port, nsim_tcp_connect() connects to it (blocking).
 * Both take a struct nsim_tcp and return 0 or -errno, the socket in @fd.
 */
struct nsim_tcp {
	int host, port;		/* the listening side's address */
	int fd;
};

static inline int nsim_tcp_socket(struct nsim_tcp *t, int listening)
{
	struct sockaddr_in sin = nsim_addr(t->host, t->port);
	int one = 1, ret = 0;

	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (t->fd < 0)
		return -errno;
	if (listening) {
		if (setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(t->fd, (struct sockaddr *)&sin, sizeof(sin)) ||
		    listen(t->fd, 1))
			ret = -errno;
	} else if (connect(t->fd, (struct sockaddr *)&sin, sizeof(sin))) {
		ret = -errno;
	}
	if (ret) {
		close(t->fd);
		t->fd = -1;
	}
	return ret;
}

static inline int nsim_tcp_listen(void *arg)
{
	return nsim_tcp_socket(arg, 1);
}

static inline int nsim_tcp_connect(void *arg)
{
	return nsim_tcp_socket(arg, 0);
}

#endif /* EPOLL_BP_NSIM_H */
