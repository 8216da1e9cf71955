/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the per-epoll busy-poll selftests (epoll_bp_*.c): the uapi
 * definitions, for C libraries whose headers predate Linux 6.9, and small
 * helpers around the two ioctls.
 */
#ifndef EPOLL_BP_COMMON_H
#define EPOLL_BP_COMMON_H

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef EPOLL_IOC_TYPE
struct epoll_params {
	uint32_t busy_poll_usecs;
	uint16_t busy_poll_budget;
	uint8_t prefer_busy_poll;
	uint8_t __pad;
};

#define EPOLL_IOC_TYPE 0x8A
#define EPIOCSPARAMS _IOW(EPOLL_IOC_TYPE, 0x01, struct epoll_params)
#define EPIOCGPARAMS _IOR(EPOLL_IOC_TYPE, 0x02, struct epoll_params)
#endif

#define EP_NAPI_POLL_WEIGHT 64
#define EP_S32_MAX 0x7fffffffU
#define EP_CAP_NET_ADMIN 12

static_assert(sizeof(struct epoll_params) == 8, "the ABI is 8 bytes");

/* Writes @s to the sysfs, procfs or debugfs file @path; 0 or -errno. */
static inline int ep_write_file(const char *path, const char *s)
{
	/* O_TRUNC: writing "" to tracefs's trace clears it only with it. */
	int fd = open(path, O_WRONLY | O_TRUNC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The kernel log from now on: /dev/kmsg, non-blocking, at its end. */
static inline int ep_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* What busy polling did, from the last lines of an epoll fdinfo. */
struct ep_counters {
	unsigned int napi_id;
	unsigned long loops;		/* busy loops started */
	unsigned long timeouts;		/* of them, ended without events */
	unsigned long irq_suspensions;	/* asked after delivering events */
};

/* Reads @c from /proc/self/fdinfo/@fd; 0, or -1 if a line is missing. */
static inline int ep_counters(int fd, struct ep_counters *c)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		found += sscanf(line, "busy_poll_napi_id: %u", &c->napi_id) == 1;
		found += sscanf(line, "busy_poll_loops: %lu", &c->loops) == 1;
		found += sscanf(line, "busy_poll_timeouts: %lu", &c->timeouts) == 1;
		found += sscanf(line, "busy_poll_irq_suspensions: %lu",
				&c->irq_suspensions) == 1;
	}
	fclose(f);
	return found == 4 ? 0 : -1;
}

/* ioctl() returning 0 or -errno, so an EXPECT_EQ shows the errno. */
static inline int ep_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int ep_set(int fd, uint32_t usecs, uint16_t budget,
			 uint8_t prefer, uint8_t pad)
{
	struct epoll_params p = {
		.busy_poll_usecs = usecs,
		.busy_poll_budget = budget,
		.prefer_busy_poll = prefer,
		.__pad = pad,
	};

	return ep_ioctl(fd, EPIOCSPARAMS, &p);
}

/* EPIOCGPARAMS into a buffer poisoned first, so unwritten bytes show. */
static inline int ep_get(int fd, struct epoll_params *p)
{
	memset(p, 0xa5, sizeof(*p));
	return ep_ioctl(fd, EPIOCGPARAMS, p);
}

/* The params as one comparable number: usecs, budget, prefer, pad. */
static inline uint64_t ep_packed(const struct epoll_params *p)
{
	return (uint64_t)p->busy_poll_usecs << 32 |
	       (uint64_t)p->busy_poll_budget << 16 |
	       (uint64_t)p->prefer_busy_poll << 8 | p->__pad;
}

static inline uint64_t ep_pack(uint32_t usecs, uint16_t budget,
			       uint8_t prefer)
{
	struct epoll_params p = { usecs, budget, prefer, 0 };

	return ep_packed(&p);
}

/* Current params of @fd, packed; all ones when EPIOCGPARAMS fails. */
static inline uint64_t ep_now(int fd)
{
	struct epoll_params p;

	return ep_get(fd, &p) ? UINT64_MAX : ep_packed(&p);
}

struct ep_cap_header {
	uint32_t version;
	int pid;
};

struct ep_cap_data {
	uint32_t effective, permitted, inheritable;
};

/* The calling thread's capabilities, as capget() gives them; 0 or -errno. */
static inline int ep_capget(struct ep_cap_header *hdr, struct ep_cap_data data[2])
{
	hdr->version = 0x20080522;	/* _LINUX_CAPABILITY_VERSION_3 */
	hdr->pid = 0;
	return syscall(SYS_capget, hdr, data) ? -errno : 0;
}

/* Whether the calling thread has @cap in its effective set; or -errno. */
static inline int ep_has_effective_cap(int cap)
{
	struct ep_cap_header hdr;
	struct ep_cap_data data[2];
	int ret = ep_capget(&hdr, data);

	return ret ? ret : !!(data[cap / 32].effective & (1U << (cap % 32)));
}

/* Drops @cap from the calling thread's effective set; 0 or -errno. */
static inline int ep_drop_effective_cap(int cap)
{
	struct ep_cap_header hdr;
	struct ep_cap_data data[2];
	int ret = ep_capget(&hdr, data);

	if (ret)
		return ret;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

#endif /* EPOLL_BP_COMMON_H */
