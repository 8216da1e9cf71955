// SPDX-License-Identifier: GPL-2.0
/*
 * The epoll-bp command (tools/epoll_busy_poll), run as a user would run it
 * against a server it did not start: a forked test server holds two epoll
 * instances and a pipe and never sets busy-poll params itself, and each
 * test runs epoll-bp (fork + exec, $EPOLL_BP_CLI or /bin/epoll-bp) and
 * checks its output, its exit status, and what the server sees: its own
 * EPIOCGPARAMS, /proc/PID/fdinfo, and, over a netdevsim pair, the CPU time
 * its epoll_wait() loop burns between datagrams once epoll-bp switches busy
 * polling on.
 * Errors are provoked for real: a reaped pid, a closed fd, a pipe, another
 * user (no ptrace rights), a seccomp filter making EPIOC*PARAMS ENOTTY (a
 * kernel without the ioctl), no CAP_NET_ADMIN in the bounding set.
 * 'epoll-bp napi' runs against a 2-queue netdevsim device in a netns of its
 * own, its output checked against napi-get read independently
 * (epoll_bp_genl.h), and against the server's socket in the busy fixture.
 * 'epoll-bp stats' is checked against the server's fdinfo parsed here (its
 * params, NAPI ID and busy-loop counts), once, as JSON, and every interval
 * while the server makes and closes an instance, and with the counts moving
 * while the server busy polls a netdevsim socket; 'epoll-bp set --all'
 * against both instances, read back through pidfd_getfd, with one of them
 * refused (a seccomp filter on pidfd_getfd) and the other still set.
 * Needs root; the busy-polling and napi tests need netdevsim.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_genl.h"
#include "epoll_bp_nsim.h"

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

#define PORT 4243
#define BUSY_USECS 50000	/* what epoll-bp sets: up to 50 ms per wait */
#define WINDOW_MS 1000		/* how long the server's CPU time is measured */
#define GAP_MS 50		/* while it gets a datagram this often */
#define NOBODY 65534
#define NAPI_QUEUES 2		/* rx queues, so NAPIs, of the napi tests' device */
#define NO_SUCH_NAPI 4294967295U	/* a NAPI ID no device has */

/* ------------------------------------------------------------------ */
/* The test server: an unmodified program holding epoll instances.     */

/* What the server answers on its control socket. */
struct reply {
	int ret;			/* 0 or -errno of EPIOCGPARAMS */
	struct epoll_params params;	/* of its first instance */
	int received;			/* datagrams taken through it */
};

struct server {
	pid_t pid;
	int ctl;		/* SOCK_SEQPACKET to the server */
	int ep, ep2, pipe;	/* its descriptors, as numbered in it */
};

/* The server's loop: epoll_wait() on @udp (if any) with 100 ms timeouts;
 * between waits, answer a 'g' on @ctl with its own EPIOCGPARAMS, an 'n' by
 * making one more epoll instance (its fd in .ret), an 'x' by closing it.
 */
static void __noreturn server_main(int ctl, int udp)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[3], p[2], fd, extra = -1;
	struct reply r = { 0 }, x;
	char c, buf[64];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (fd = 3; fd < 1024; fd++)
		if (fd != ctl && fd != udp)
			close(fd);
	fds[0] = epoll_create1(0);
	fds[1] = epoll_create1(0);
	if (fds[0] < 0 || fds[1] < 0 || pipe(p))
		_exit(1);
	fds[2] = p[0];
	if (udp >= 0 && epoll_ctl(fds[0], EPOLL_CTL_ADD, udp, &ev))
		_exit(1);
	if (send(ctl, fds, sizeof(fds), 0) != sizeof(fds))
		_exit(1);
	for (;;) {
		if (epoll_wait(fds[0], &ev, 1, 100) > 0)
			while (recv(udp, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				r.received++;
		switch (recv(ctl, &c, 1, MSG_DONTWAIT)) {
		case 0:		/* the test is gone */
			_exit(0);
		case 1:
			if (c == 'n' || c == 'x') {
				x = r;
				if (c == 'n') {
					if (extra < 0)
						extra = epoll_create1(0);
					x.ret = extra < 0 ? -errno : extra;
				} else {
					x.ret = extra < 0 || close(extra) ? -EBADF : 0;
					extra = -1;
				}
				if (send(ctl, &x, sizeof(x), 0) != sizeof(x))
					_exit(1);
				break;
			}
			r.ret = ep_get(fds[0], &r.params);
			if (send(ctl, &r, sizeof(r), 0) != sizeof(r))
				_exit(1);
		}
	}
}

/* Forks the server (taking @udp, or none with -1); 0 or -errno. */
static int server_start(struct server *s, int udp)
{
	struct timeval tv = { .tv_sec = 5 };
	int sv[2], fds[3];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		close(sv[0]);
		server_main(sv[1], udp);
	}
	close(sv[1]);
	s->ctl = sv[0];
	setsockopt(s->ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(s->ctl, fds, sizeof(fds), 0) != sizeof(fds))
		return -EIO;
	s->ep = fds[0];
	s->ep2 = fds[1];
	s->pipe = fds[2];
	return 0;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		close(s->ctl);
	}
	s->pid = 0;
}

/* Asks the server for its own view; 0 or -1. */
static int server_ask(struct server *s, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	if (send(s->ctl, "g", 1, 0) != 1)
		return -1;
	return recv(s->ctl, r, sizeof(*r), 0) == sizeof(*r) ? 0 : -1;
}

/* The server's EPIOCGPARAMS of its first instance, packed; all ones on error. */
static uint64_t server_params(struct server *s)
{
	struct reply r;

	if (server_ask(s, &r) || r.ret)
		return UINT64_MAX;
	return ep_packed(&r.params);
}

/* Has the server make one more epoll instance ('n': its fd) or close it
 * ('x': 0); -errno on error.
 */
static int server_cmd(struct server *s, char c)
{
	struct reply r;

	if (send(s->ctl, &c, 1, 0) != 1)
		return -errno;
	return recv(s->ctl, &r, sizeof(r), 0) == sizeof(r) ? r.ret : -EIO;
}

/* A copy of descriptor @fd of @pid (pidfd_getfd), or -1. */
static int remote_fd(pid_t pid, int fd)
{
	int pidfd = syscall(__NR_pidfd_open, pid, 0), copy;

	if (pidfd < 0)
		return -1;
	copy = syscall(__NR_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return copy;
}

/* EPIOCGPARAMS of epoll fd @fd of @pid, through a copy, packed; all ones
 * on error.
 */
static uint64_t remote_params(pid_t pid, int fd)
{
	int copy = remote_fd(pid, fd);
	uint64_t packed;

	if (copy < 0)
		return UINT64_MAX;
	packed = ep_now(copy);
	close(copy);
	return packed;
}

/* utime + stime of @pid in ms, from /proc/PID/stat; -1 on error. */
static long cpu_ms(pid_t pid)
{
	unsigned long utime, stime;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* After "pid (comm) ": state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &utime, &stime) != 2)
		return -1;
	return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Whether /proc/@pid/fdinfo/@fd has the line "@field:\t@value". */
static int fdinfo_has(pid_t pid, int fd, const char *field, unsigned int value)
{
	char path[64], buf[4096], want[64];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = open(path, O_RDONLY);
	if (f < 0)
		return 0;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	snprintf(want, sizeof(want), "\n%s:\t%u\n", field, value);
	return strstr(buf, want) != NULL;
}

/* The busy-poll lines of an epoll instance's fdinfo, parsed here, apart
 * from epoll-bp's parser.
 */
struct bp_info {
	int params;		/* how many of the 3 params' lines there are */
	int counters;		/* how many of the 4 counts' lines */
	unsigned int usecs, budget, prefer, napi_id;
	unsigned long long loops, timeouts, irq_suspensions;
};

/* Reads /proc/@pid/fdinfo/@fd into @b; 0 or -errno. */
static int bp_info_read(pid_t pid, int fd, struct bp_info *b)
{
	char path[64], line[512];
	FILE *f;

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		b->params += sscanf(line, "busy_poll_usecs: %u", &b->usecs) == 1;
		b->params += sscanf(line, "busy_poll_budget: %u", &b->budget) == 1;
		b->params += sscanf(line, "prefer_busy_poll: %u", &b->prefer) == 1;
		b->counters += sscanf(line, "busy_poll_napi_id: %u", &b->napi_id) == 1;
		b->counters += sscanf(line, "busy_poll_loops: %llu", &b->loops) == 1;
		b->counters += sscanf(line, "busy_poll_timeouts: %llu", &b->timeouts) == 1;
		b->counters += sscanf(line, "busy_poll_irq_suspensions: %llu",
				      &b->irq_suspensions) == 1;
	}
	fclose(f);
	return 0;
}

static unsigned long long bp_with_events(const struct bp_info *b)
{
	return b->loops > b->timeouts ? b->loops - b->timeouts : 0;
}

/* Appends the line 'epoll-bp stats' prints for epoll fd @fd to @buf. */
static void stats_line(char *buf, size_t size, int fd, const struct bp_info *b)
{
	size_t len = strlen(buf);

	len += snprintf(buf + len, size - len,
			"fd %d: busy_poll_usecs=%u busy_poll_budget=%u prefer_busy_poll=%u ",
			fd, b->usecs, b->budget, b->prefer);
	if (b->counters == 4)
		snprintf(buf + len, size - len,
			 "napi_id=%u loops=%llu timeouts=%llu loops_with_events=%llu irq_suspensions=%llu\n",
			 b->napi_id, b->loops, b->timeouts, bp_with_events(b),
			 b->irq_suspensions);
	else
		snprintf(buf + len, size - len,
			 "napi_id=unavailable loops=unavailable timeouts=unavailable loops_with_events=unavailable irq_suspensions=unavailable\n");
}

/* Appends the line 'epoll-bp stats --json' prints for it. */
static void stats_json(char *buf, size_t size, pid_t pid, int fd,
		       const struct bp_info *b)
{
	size_t len = strlen(buf);

	len += snprintf(buf + len, size - len,
			"{\"pid\":%d,\"fd\":%d,\"busy_poll_usecs\":%u,\"busy_poll_budget\":%u,\"prefer_busy_poll\":%u,",
			pid, fd, b->usecs, b->budget, b->prefer);
	if (b->counters == 4)
		snprintf(buf + len, size - len,
			 "\"napi_id\":%u,\"loops\":%llu,\"timeouts\":%llu,\"loops_with_events\":%llu,\"irq_suspensions\":%llu}\n",
			 b->napi_id, b->loops, b->timeouts, bp_with_events(b),
			 b->irq_suspensions);
	else
		snprintf(buf + len, size - len,
			 "\"napi_id\":null,\"loops\":null,\"timeouts\":null,\"loops_with_events\":null,\"irq_suspensions\":null}\n");
}

/* ------------------------------------------------------------------ */
/* Running epoll-bp.                                                   */

/* How the child that execs epoll-bp is set up first. */
enum how {
	AS_ROOT,
	AS_NOBODY,		/* uid and gid 65534: no ptrace rights on root */
	WITHOUT_IOCTL,		/* seccomp: EPIOCSPARAMS/EPIOCGPARAMS are ENOTTY */
	WITHOUT_NET_ADMIN,	/* root, CAP_NET_ADMIN dropped from the bounding set */
	DENY_GETFD,		/* seccomp: pidfd_getfd() of target fd denied_getfd is EPERM */
};

/* The descriptor (of the target process) DENY_GETFD refuses to copy. */
static int denied_getfd = -1;

struct run {
	int status;		/* exit status; 128 + signal if killed */
	char out[4096], err[4096];
};

/* A seccomp filter standing in for a kernel without the ioctls. */
static int no_epoll_ioctls(void)
{
#if defined(__x86_64__)
#define EP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define EP_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define EP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef EP_AUDIT_ARCH
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EP_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* The command's low 32 bits (all of it): little endian. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EPIOCSPARAMS, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EPIOCGPARAMS, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	errno = EOPNOTSUPP;
	return -1;
#endif
}

/* A seccomp filter refusing pidfd_getfd(_, @fd, _) with EPERM, as if the
 * caller had no ptrace rights, for that descriptor only.
 */
static int deny_getfd(int fd)
{
#ifdef EP_AUDIT_ARCH
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EP_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pidfd_getfd, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* The target fd's low 32 bits (all of it): little endian. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, fd, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	errno = EOPNOTSUPP;
	return -1;
#endif
}

static void child_setup(enum how how)
{
	int ret = 0;

	switch (how) {
	case AS_ROOT:
		break;
	case AS_NOBODY:
		ret = setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		      setresuid(NOBODY, NOBODY, NOBODY);
		break;
	case WITHOUT_IOCTL:
		ret = no_epoll_ioctls();
		break;
	case WITHOUT_NET_ADMIN:
		ret = prctl(PR_CAPBSET_DROP, EP_CAP_NET_ADMIN, 0, 0, 0);
		break;
	case DENY_GETFD:
		ret = deny_getfd(denied_getfd);
		break;
	}
	if (ret) {
		fprintf(stderr, "test: setting up the child (%d) failed: %s\n",
			how, strerror(errno));
		_exit(126);
	}
}

/* Reads what is left in @fd into @buf (NUL-terminated); 1 at EOF. */
static int drain(int fd, char *buf, size_t size)
{
	size_t len = strlen(buf);
	ssize_t n = read(fd, buf + len, size - 1 - len);

	if (n > 0)
		buf[len + n] = 0;
	return n <= 0;
}

/* Prints each line of @text as a diagnostic, after @prefix. */
static void print_lines(const char *prefix, const char *text)
{
	const char *end;

	for (; *text; text = *end ? end + 1 : end) {
		end = strchrnul(text, '\n');
		ksft_print_msg("%s%.*s\n", prefix, (int)(end - text), text);
	}
}

/* Runs epoll-bp with the space-separated arguments @fmt, its child set up as
 * @how, into @r.  Returns 0, or -1 if it could not be run at all.
 */
static int __printf(3, 4)
run_cli(struct run *r, enum how how, const char *fmt, ...)
{
	const char *cli = getenv("EPOLL_BP_CLI") ?: "/bin/epoll-bp";
	int out[2], err[2], status, open_fds = 2, argc = 0;
	char line[512], *argv[32], *save, *arg;
	struct pollfd pfd[2];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memset(r, 0, sizeof(*r));
	ksft_print_msg("$ epoll-bp %s\n", line);
	argv[argc++] = "epoll-bp";
	for (arg = strtok_r(line, " ", &save); arg && argc < 31;
	     arg = strtok_r(NULL, " ", &save))
		argv[argc++] = arg;
	argv[argc] = NULL;
	if (pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		child_setup(how);
		execv(cli, argv);
		fprintf(stderr, "test: cannot run %s: %s\n", cli, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	pfd[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
	while (open_fds && poll(pfd, 2, 10000) > 0) {
		if (pfd[0].fd >= 0 && pfd[0].revents &&
		    drain(out[0], r->out, sizeof(r->out))) {
			pfd[0].fd = -1;
			open_fds--;
		}
		if (pfd[1].fd >= 0 && pfd[1].revents &&
		    drain(err[0], r->err, sizeof(r->err))) {
			pfd[1].fd = -1;
			open_fds--;
		}
	}
	close(out[0]);
	close(err[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ksft_print_msg("exit %d\n", r->status);
	print_lines("stdout: ", r->out);
	print_lines("stderr: ", r->err);
	return 0;
}

/* The line epoll-bp prints for one instance. */
static const char *params_line(int fd, unsigned int usecs, unsigned int budget,
			       unsigned int prefer)
{
	static char buf[128];

	snprintf(buf, sizeof(buf),
		 "fd %d: busy_poll_usecs=%u busy_poll_budget=%u prefer_busy_poll=%u\n",
		 fd, usecs, budget, prefer);
	return buf;
}

/* A row of a block of 'epoll-bp stats --interval' about one instance. */
struct block_row {
	char kind;	/* 'n'umbers, 'N'ew, 'g'one, 'u'navailable, '?', or 0: none */
	unsigned int usecs, budget, prefer, napi_id;
	unsigned long long loops, timeouts, with_events, suspensions;
	double rate[4];	/* of the four counts, per second */
};

/* The number of blocks in @out, the output of 'epoll-bp stats --pid @pid
 * --interval ...'; and in @row the row of epoll fd @fd in block @n (from 1).
 */
static int stats_blocks(const char *out, pid_t pid, int n, int fd,
			struct block_row *row)
{
	int blocks = 0, y, mo, d, h, mi, sec, p, f;
	char line[256], colon[2];
	const char *end;
	double secs;

	memset(row, 0, sizeof(*row));
	for (; *out; out = *end ? end + 1 : end) {
		end = strchrnul(out, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(end - out), out);
		/* "2025-06-01 12:00:01 process 4242, last 1.00 s:" */
		if (sscanf(line, "%d-%d-%d %d:%d:%d process %d, last %lf s%1[:]",
			   &y, &mo, &d, &h, &mi, &sec, &p, &secs, colon) == 9 && p == pid) {
			blocks++;
			continue;
		}
		if (blocks != n || sscanf(line, "%d", &f) != 1 || f != fd)
			continue;
		if (strstr(line, "  gone"))
			row->kind = 'g';
		else if (strstr(line, "  new"))
			row->kind = 'N';
		else if (strstr(line, "  unavailable"))
			row->kind = 'u';
		else if (sscanf(line, "%*d %u %u %u %u %llu %llu %llu %llu %lf %lf %lf %lf",
				&row->usecs, &row->budget, &row->prefer, &row->napi_id,
				&row->loops, &row->timeouts, &row->with_events,
				&row->suspensions, &row->rate[0], &row->rate[1],
				&row->rate[2], &row->rate[3]) == 12)
			row->kind = 'n';
		else
			row->kind = '?';
	}
	return blocks;
}

/* A pid that is no process: a child, reaped. */
static pid_t reaped_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* ------------------------------------------------------------------ */
/* Against a server without network.                                  */

FIXTURE(cli)
{
	struct server srv;
	struct run r;
};

FIXTURE_SETUP(cli)
{
	memset(&self->srv, 0, sizeof(self->srv));
	if (geteuid() != 0)
		SKIP(return, "needs root: tests run epoll-bp as another user, or with fewer capabilities");
	if (access(getenv("EPOLL_BP_CLI") ?: "/bin/epoll-bp", X_OK))
		SKIP(return, "no epoll-bp to test: build tools/epoll_busy_poll, set EPOLL_BP_CLI");
	ASSERT_EQ(0, server_start(&self->srv, -1));
	ASSERT_EQ(0, server_params(&self->srv))
		TH_LOG("a new instance has all params zero, in the server's own EPIOCGPARAMS");
}

FIXTURE_TEARDOWN(cli)
{
	server_stop(&self->srv);
}

TEST_F(cli, get_shows_a_fresh_instance)
{
	struct server *s = &self->srv;

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "get --pid %d --fd %d", s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(params_line(s->ep, 0, 0, 0), self->r.out);
	EXPECT_STREQ("", self->r.err);
}

TEST_F(cli, set_reaches_the_server_and_keeps_fields_not_given)
{
	struct server *s = &self->srv;

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs 50 --budget 16 --prefer 1",
			     s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(params_line(s->ep, 50, 16, 1), self->r.out)
		TH_LOG("set prints the params read back");
	EXPECT_EQ(ep_pack(50, 16, 1), server_params(s))
		TH_LOG("the server's own EPIOCGPARAMS must show what epoll-bp set");
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep, "busy_poll_usecs", 50))
		TH_LOG("/proc/%d/fdinfo/%d must show the params epoll-bp set", s->pid, s->ep);
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep, "busy_poll_budget", 16));
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep, "prefer_busy_poll", 1));

	/* Read, modify, write: only the budget changes. */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --budget=8", s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(params_line(s->ep, 50, 8, 1), self->r.out);
	EXPECT_EQ(ep_pack(50, 8, 1), server_params(s));
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep, "busy_poll_budget", 8));

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "get --pid %d --fd %d", s->pid, s->ep));
	EXPECT_STREQ(params_line(s->ep, 50, 8, 1), self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs 0 --prefer 0",
			     s->pid, s->ep));
	EXPECT_EQ(ep_pack(0, 8, 0), server_params(s));
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep, "busy_poll_usecs", 0));
}

TEST_F(cli, list_shows_each_epoll_fd_and_no_other)
{
	struct server *s = &self->srv;
	char want[256];

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs 7", s->pid, s->ep2));
	ASSERT_EQ(0, self->r.status);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "list --pid %d", s->pid));
	EXPECT_EQ(0, self->r.status);
	snprintf(want, sizeof(want), "%s", params_line(s->ep, 0, 0, 0));
	strcat(want, params_line(s->ep2, 7, 0, 0));
	EXPECT_STREQ(want, self->r.out)
		TH_LOG("both instances in fd order; the pipe (fd %d), the control socket not", s->pipe);
	EXPECT_EQ(0, server_params(s)) TH_LOG("list changes nothing");
}

TEST_F(cli, list_says_when_there_are_no_epoll_fds)
{
	char want[64];
	pid_t pid = fork();

	if (pid == 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	ASSERT_LT(0, pid);
	usleep(100000);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "list --pid %d", pid));
	EXPECT_EQ(0, self->r.status);
	snprintf(want, sizeof(want), "process %d has no epoll fds\n", pid);
	EXPECT_STREQ(want, self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d", pid));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --json", pid));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("", self->r.out) TH_LOG("no instance, no JSON object");
	/* set --all has nothing to set: that fails. */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --all --usecs 5", pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(1, self->r.status);
	snprintf(want, sizeof(want), "epoll-bp: process %d: it has no epoll fds: nothing set", pid);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);
}

TEST_F(cli, no_such_process)
{
	pid_t pid = reaped_pid();
	char want[64];

	snprintf(want, sizeof(want), "epoll-bp: process %d: no such process (ESRCH)", pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "get --pid %d --fd 3", pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "list --pid %d", pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
}

TEST_F(cli, no_such_fd)
{
	struct server *s = &self->srv;
	char want[96];

	snprintf(want, sizeof(want), "epoll-bp: fd 900 of process %d: no such descriptor (EBADF)", s->pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd 900 --usecs 5", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "epoll-bp list --pid"))
		TH_LOG("the message says how to find the epoll fds");
}

TEST_F(cli, a_pipe_is_not_an_epoll_instance)
{
	struct server *s = &self->srv;
	char want[96];

	snprintf(want, sizeof(want), "epoll-bp: fd %d of process %d: not an epoll instance but pipe:[",
		 s->pipe, s->pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "get --pid %d --fd %d", s->pid, s->pipe));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);
}

TEST_F(cli, another_user_lacks_ptrace_rights)
{
	struct server *s = &self->srv;

	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "set --pid %d --fd %d --usecs 9", s->pid, s->ep));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "not allowed to take it (EPERM)"))
		TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "ptrace-attach rights"))
		TH_LOG("the message names the rights needed");
	EXPECT_NE(NULL, strstr(self->r.err, "CAP_SYS_PTRACE"));
	EXPECT_EQ(0, server_params(s)) TH_LOG("nothing set");
	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "list --pid %d", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "ptrace-attach rights")) TH_LOG("stderr: %s", self->r.err);
}

TEST_F(cli, a_kernel_without_the_ioctl)
{
	struct server *s = &self->srv;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		SKIP(return, "no seccomp (CONFIG_SECCOMP_FILTER) to make EPIOC*PARAMS ENOTTY");
	ASSERT_EQ(0, run_cli(&self->r, WITHOUT_IOCTL, "get --pid %d --fd %d", s->pid, s->ep));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "EPIOCGPARAMS: not supported by this kernel (ENOTTY)"))
		TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "Linux >= 6.9"));
	ASSERT_EQ(0, run_cli(&self->r, WITHOUT_IOCTL, "list --pid %d", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "(ENOTTY)")) TH_LOG("stderr: %s", self->r.err);
}

TEST_F(cli, budget_above_64_needs_cap_net_admin)
{
	struct server *s = &self->srv;

	ASSERT_EQ(0, run_cli(&self->r, WITHOUT_NET_ADMIN, "set --pid %d --fd %d --budget 128",
			     s->pid, s->ep));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "EPIOCSPARAMS: not permitted (EPERM)"))
		TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "CAP_NET_ADMIN"));
	EXPECT_EQ(0, server_params(s)) TH_LOG("a refused set changes nothing");
	ASSERT_EQ(0, run_cli(&self->r, WITHOUT_NET_ADMIN, "set --pid %d --fd %d --budget 64",
			     s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --budget 128", s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(ep_pack(0, 128, 0), server_params(s));
}

TEST_F(cli, usecs_above_s32_max_is_explained)
{
	struct server *s = &self->srv;

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs 2147483648",
			     s->pid, s->ep));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "EPIOCSPARAMS: invalid argument (EINVAL)"))
		TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "2147483647"));
	EXPECT_EQ(0, server_params(s));
}

TEST_F(cli, usage_errors_exit_2_before_any_syscall)
{
	static const char *const bad[] = {
		"",
		"frob --pid %d",
		"get --pid %d",
		"get --fd %d",
		"get --pid %d --fd %d --usecs 5",
		"set --pid %d --fd %d --usecs 4294967296",
		"set --pid %d --fd %d --budget 65536",
		"set --pid %d --fd %d --prefer 2",
		"set --pid %d --fd %d --usecs -1",
		"set --pid %d --fd %d --usecs",
		"set --pid %d --pid %d --fd 3",
		"list --pid 0",
		"list --pid x%d",
		"set --pid %d",
		"set --pid %d --fd %d --all",
		"set --pid %d --all --all",
		"set --pid %d --all=1",
		"get --pid %d --all",
		"stats",
		"stats --fd %d",
		"stats --pid 0",
		"stats --pid %d --fd -1",
		"stats --pid %d --count 2",
		"stats --pid %d --interval 0",
		"stats --pid %d --interval 1 --count 0",
		"stats --pid %d --interval 1 --json",
		"stats --pid %d --usecs 5",
	};
	struct server *s = &self->srv;
	char args[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(args, sizeof(args), bad[i], s->pid, s->ep);
		ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "%s", args));
		EXPECT_EQ(2, self->r.status) TH_LOG("epoll-bp %s", args);
		EXPECT_EQ(0, strncmp(self->r.err, "epoll-bp: ", 10)) TH_LOG("epoll-bp %s", args);
		EXPECT_NE(NULL, strstr(self->r.err, "\nUsage: epoll-bp ")) TH_LOG("epoll-bp %s", args);
		EXPECT_STREQ("", self->r.out);
	}
	EXPECT_EQ(0, server_params(s)) TH_LOG("no usage error may set anything");
}

TEST_F(cli, help_and_version)
{
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "--help"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp ", 16));
	EXPECT_NE(NULL, strstr(self->r.out, "\nCommands:\n"));
	EXPECT_NE(NULL, strstr(self->r.out, "CAP_SYS_PTRACE"));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid 1 --help"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp set ", 20));
	EXPECT_NE(NULL, strstr(self->r.out, "--budget BUDGET"));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "list -h"));
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp list ", 21));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --help"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp stats ", 22));
	EXPECT_NE(NULL, strstr(self->r.out, "--interval"));
	EXPECT_NE(NULL, strstr(self->r.out, "ptrace-read"));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "--help"));
	EXPECT_NE(NULL, strstr(self->r.out, "\n  stats --pid PID")) TH_LOG("the command list names stats");
	EXPECT_NE(NULL, strstr(self->r.out, "--fd FD|--all")) TH_LOG("and set --all");
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "--version"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "epoll-bp ", 9));
}

TEST_F(cli, set_all_sets_every_epoll_fd)
{
	struct server *s = &self->srv;
	char want[256];

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --all --usecs 30 --budget 4 --prefer 1",
			     s->pid));
	EXPECT_EQ(0, self->r.status);
	snprintf(want, sizeof(want), "%s", params_line(s->ep, 30, 4, 1));
	strcat(want, params_line(s->ep2, 30, 4, 1));
	EXPECT_STREQ(want, self->r.out) TH_LOG("a line per epoll fd as set prints it; the pipe not");
	EXPECT_STREQ("", self->r.err);
	EXPECT_EQ(ep_pack(30, 4, 1), server_params(s)) TH_LOG("the server's own EPIOCGPARAMS");
	EXPECT_EQ(ep_pack(30, 4, 1), remote_params(s->pid, s->ep2))
		TH_LOG("EPIOCGPARAMS of a pidfd_getfd copy of fd %d", s->ep2);
	EXPECT_TRUE(fdinfo_has(s->pid, s->ep2, "busy_poll_usecs", 30));

	/* Read, modify, write in each: only the budget changes. */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --all --pid %d --budget 8", s->pid));
	EXPECT_EQ(0, self->r.status);
	snprintf(want, sizeof(want), "%s", params_line(s->ep, 30, 8, 1));
	strcat(want, params_line(s->ep2, 30, 8, 1));
	EXPECT_STREQ(want, self->r.out);
	EXPECT_EQ(ep_pack(30, 8, 1), server_params(s));
	EXPECT_EQ(ep_pack(30, 8, 1), remote_params(s->pid, s->ep2));
}

TEST_F(cli, set_all_goes_on_when_one_fails_and_exits_1)
{
	struct server *s = &self->srv;
	char want[128];

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		SKIP(return, "no seccomp (CONFIG_SECCOMP_FILTER) to refuse one pidfd_getfd");
	/* The first one fails: the second must still be set after it. */
	denied_getfd = s->ep;
	ASSERT_EQ(0, run_cli(&self->r, DENY_GETFD, "set --pid %d --all --usecs 60", s->pid));
	if (self->r.status == 126)
		SKIP(return, "no seccomp filter for this architecture here");
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ(params_line(s->ep2, 60, 0, 0), self->r.out)
		TH_LOG("the instance whose copy was not refused is set and shown");
	snprintf(want, sizeof(want), "epoll-bp: fd %d of process %d: not allowed to take it (EPERM)",
		 s->ep, s->pid);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	snprintf(want, sizeof(want), "epoll-bp: process %d: 1 of its 2 epoll fds not set: fd %d ",
		 s->pid, s->ep);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_EQ(0, server_params(s)) TH_LOG("the refused instance is as it was");
	EXPECT_EQ(ep_pack(60, 0, 0), remote_params(s->pid, s->ep2));

	/* As another user every one fails, before any is taken. */
	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "set --pid %d --all --usecs 9", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "ptrace-attach rights")) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);
	EXPECT_EQ(0, server_params(s));
	EXPECT_EQ(ep_pack(60, 0, 0), remote_params(s->pid, s->ep2));
}

TEST_F(cli, stats_shows_what_fdinfo_shows)
{
	struct server *s = &self->srv;
	struct bp_info a, b, again;
	char want[1024];
	int copy;

	/* Params set through a copy made here, not by epoll-bp. */
	copy = remote_fd(s->pid, s->ep2);
	ASSERT_LE(0, copy) TH_LOG("pidfd_getfd: %s", strerror(errno));
	ASSERT_EQ(0, ep_set(copy, 40, 16, 1, 0));
	close(copy);
	ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &a));
	ASSERT_EQ(0, bp_info_read(s->pid, s->ep2, &b));
	if (a.params != 3)
		SKIP(return, "no busy-poll lines in epoll's fdinfo (CONFIG_NET_RX_BUSY_POLL)");
	ASSERT_EQ(3, b.params);
	EXPECT_EQ(40, b.usecs);
	EXPECT_EQ(16, b.budget);
	EXPECT_EQ(1, b.prefer);
	if (a.counters != 4)
		ksft_print_msg("fdinfo shows no busy-poll counts: epoll-bp must say unavailable\n");

	want[0] = 0;
	stats_line(want, sizeof(want), s->ep, &a);
	stats_line(want, sizeof(want), s->ep2, &b);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d", s->pid));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out)
		TH_LOG("a line per epoll fd (not the pipe) with fdinfo's numbers");
	EXPECT_STREQ("", self->r.err);

	want[0] = 0;
	stats_line(want, sizeof(want), s->ep2, &b);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --fd %d", s->pid, s->ep2));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out);

	want[0] = 0;
	stats_json(want, sizeof(want), s->pid, s->ep, &a);
	stats_json(want, sizeof(want), s->pid, s->ep2, &b);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --json", s->pid));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out) TH_LOG("one JSON object per line and epoll fd");

	/* Nothing busy polls here: nothing moved meanwhile. */
	ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &again));
	EXPECT_EQ(0, memcmp(&a, &again, sizeof(a)));
	if (a.counters == 4) {
		EXPECT_EQ(0, a.loops) TH_LOG("the instance watches nothing: no NAPI ID, no loop");
		EXPECT_EQ(0, a.napi_id);
	}
	EXPECT_EQ(0, server_params(s)) TH_LOG("stats changes nothing");
}

TEST_F(cli, stats_errors)
{
	struct server *s = &self->srv;
	char want[128];
	pid_t gone;

	snprintf(want, sizeof(want), "epoll-bp: fd %d of process %d: not an epoll instance but pipe:[",
		 s->pipe, s->pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --fd %d", s->pid, s->pipe));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);

	snprintf(want, sizeof(want), "epoll-bp: fd 900 of process %d: no such descriptor (ENOENT)",
		 s->pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --fd 900", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);

	/* fdinfo needs ptrace-read rights, as cat needs them. */
	snprintf(want, sizeof(want), "as 'cat /proc/%d/fdinfo/FD' does", s->pid);
	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "stats --pid %d", s->pid));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "permission denied (EACCES)"))
		TH_LOG("stderr: %s", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.err, "ptrace-read rights"));
	EXPECT_NE(NULL, strstr(self->r.err, want));
	EXPECT_STREQ("", self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "stats --pid %d --fd %d", s->pid, s->ep));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "ptrace-read rights")) TH_LOG("stderr: %s", self->r.err);

	gone = reaped_pid();
	snprintf(want, sizeof(want), "epoll-bp: process %d: no such process (ESRCH)", gone);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d", gone));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, want)) TH_LOG("stderr: %s", self->r.err);
}

TEST_F(cli, stats_interval_shows_instances_coming_and_going)
{
	struct server *s = &self->srv;
	int i, status, extra, new_at = 0, gone_at = 0;
	struct block_row row;
	struct bp_info a, b;
	pid_t child;

	ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &a));
	ASSERT_EQ(0, bp_info_read(s->pid, s->ep2, &b));
	if (a.params != 3)
		SKIP(return, "no busy-poll lines in epoll's fdinfo (CONFIG_NET_RX_BUSY_POLL)");
	/*
	 * While epoll-bp reads every 0.5 s for 2.5 s, the server makes one
	 * more instance at 0.9 s and closes it at 1.9 s: after the first read,
	 * before the last, and two intervals apart, so the instance shows in
	 * some block as new and in a later one as gone.
	 */
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		usleep(900000);
		extra = server_cmd(s, 'n');
		usleep(1000000);
		_exit(extra > 0 && extra < 255 && server_cmd(s, 'x') == 0 ? extra : 255);
	}
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --interval 0.5 --count 5", s->pid));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 255)
		TH_LOG("the server did not make and close an instance");
	extra = WEXITSTATUS(status);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("", self->r.err);
	EXPECT_EQ(5, stats_blocks(self->r.out, s->pid, 0, -1, &row))
		TH_LOG("a block per interval, --count of them, each with its time stamp");
	for (i = 1; i <= 5; i++) {
		stats_blocks(self->r.out, s->pid, i, s->ep, &row);
		EXPECT_EQ(a.counters == 4 ? 'n' : 'u', row.kind) TH_LOG("block %d, fd %d", i, s->ep);
		if (row.kind == 'n') {
			EXPECT_EQ(a.usecs, row.usecs);
			EXPECT_EQ(a.napi_id, row.napi_id);
			EXPECT_EQ(0, row.loops + row.timeouts + row.with_events + row.suspensions)
				TH_LOG("block %d: nothing busy polls here", i);
			EXPECT_EQ(0, row.rate[0] + row.rate[1] + row.rate[2] + row.rate[3]);
		}
		stats_blocks(self->r.out, s->pid, i, s->ep2, &row);
		EXPECT_EQ(b.counters == 4 ? 'n' : 'u', row.kind) TH_LOG("block %d, fd %d", i, s->ep2);
		stats_blocks(self->r.out, s->pid, i, extra, &row);
		if (row.kind == 'g') {
			EXPECT_EQ(0, gone_at) TH_LOG("fd %d gone twice", extra);
			gone_at = i;
		} else if (row.kind == 'N' || (row.kind == 'u' && !new_at)) {
			EXPECT_EQ(0, new_at) TH_LOG("fd %d new twice", extra);
			new_at = i;
		} else if (row.kind) {
			EXPECT_TRUE(new_at && !gone_at && row.kind == (a.counters == 4 ? 'n' : 'u'))
				TH_LOG("block %d: fd %d: row kind %c", i, extra, row.kind);
		}
	}
	EXPECT_LT(0, new_at) TH_LOG("the instance made meanwhile shows as new");
	EXPECT_LT(new_at, gone_at) TH_LOG("and once closed, as gone, in a later block");
}

TEST_F(cli, napi_usage_errors_exit_2_before_any_syscall)
{
	static const char *const bad[] = {
		"napi",
		"napi frob",
		"napi show --dev",
		"napi show --dev a/b",
		"napi show --dev eth0 --ifindex 1",
		"napi show --id 0",
		"napi show --pid %d",
		"napi show --fd %d",
		"napi show %d %d",
		"napi set --id 8193",
		"napi set --defer-hard-irqs 1",
		"napi set --id 8193 --dev eth0 --defer-hard-irqs 1",
		"napi set --id 8193 --defer-hard-irqs 2147483648",
		"napi set --id 8193 --defer-hard-irqs -1",
		"napi set --id 8193 --gro-flush-timeout 18446744073709551616",
		"napi set --id 8193 --id 8194 --irq-suspend-timeout 1",
		"napi set --id 8193 --usecs 5",
	};
	struct server *s = &self->srv;
	char args[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(args, sizeof(args), bad[i], s->pid, s->ep);
		ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "%s", args));
		EXPECT_EQ(2, self->r.status) TH_LOG("epoll-bp %s", args);
		EXPECT_EQ(0, strncmp(self->r.err, "epoll-bp: ", 10)) TH_LOG("epoll-bp %s", args);
		EXPECT_NE(NULL, strstr(self->r.err, "\nUsage: epoll-bp napi")) TH_LOG("epoll-bp %s", args);
		EXPECT_NE(NULL, strstr(self->r.err, "\nTry 'epoll-bp napi")) TH_LOG("epoll-bp %s", args);
		EXPECT_STREQ("", self->r.out);
	}
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi --help"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp napi ", 21));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set -h"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "Usage: epoll-bp napi set ", 25));
	EXPECT_NE(NULL, strstr(self->r.out, "--irq-suspend-timeout"));
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "--help"));
	EXPECT_NE(NULL, strstr(self->r.out, "\n  napi show ")) TH_LOG("the command list names napi");
}

/* ------------------------------------------------------------------ */
/* epoll-bp napi against a netdevsim device with 2 queues, in a netns  */
/* (and a sysfs) of its own: the CLI, forked from the test, runs there. */

/* Appends the line epoll-bp prints for NAPI @n of device @dev to @buf. */
static void napi_line(char *buf, size_t size, const struct ebp_napi *n,
		      const char *dev)
{
	size_t len = strlen(buf);

	len += snprintf(buf + len, size - len, "napi %u: dev=%s ifindex=%u irq=",
			n->id, dev, n->ifindex);
	if (n->irq >= 0)
		len += snprintf(buf + len, size - len, "%d", n->irq);
	else
		len += snprintf(buf + len, size - len, "none");
	if (n->pid)
		len += snprintf(buf + len, size - len, " pid=%u", n->pid);
	else
		len += snprintf(buf + len, size - len, " pid=none");
	if (n->has_defer)
		len += snprintf(buf + len, size - len, " defer_hard_irqs=%u",
				n->defer_hard_irqs);
	if (n->has_gro)
		len += snprintf(buf + len, size - len, " gro_flush_timeout=%llu",
				(unsigned long long)n->gro_flush_timeout);
	if (n->has_suspend)
		len += snprintf(buf + len, size - len, " irq_suspend_timeout=%llu",
				(unsigned long long)n->irq_suspend_timeout);
	snprintf(buf + len, size - len, "\n");
}

FIXTURE(napi)
{
	int dev;			/* netdevsim device ID; 0: none */
	int ifindex;
	char name[IFNAMSIZ];
	int genl, family;		/* the independent reader */
	int has_set;			/* whether the kernel has napi-set */
	__u32 id[NAPI_QUEUES];		/* the device's NAPI IDs, ascending */
	struct run r;
};

/* The device, up, in a new netns and mount namespace (for a sysfs of that
 * netns), and its NAPI IDs read with epoll_bp_genl.h.  0, or -errno with
 * what failed in @why; *@skip says the kernel or the machine lacks it.
 */
static int napi_make_device(FIXTURE_DATA(napi) *self, const char **why, int *skip)
{
	struct ebp_napi n[NAPI_QUEUES + 1];
	char buf[32];
	int ret, i;

	*skip = 1;
	*why = "needs root and epoll-bp (build tools/epoll_busy_poll, set EPOLL_BP_CLI)";
	if (geteuid() != 0 || access(getenv("EPOLL_BP_CLI") ?: "/bin/epoll-bp", X_OK))
		return -EPERM;
	*why = "no netdevsim (CONFIG_NETDEVSIM)";
	if (!nsim_bus_ready())
		return -ENODEV;
	*skip = 0;
	*why = "entering a new netns and mount namespace with its own sysfs";
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL))
		return -errno;
	/* "ID PORTS QUEUES": the port lands in the writer's netns. */
	*why = "creating a netdevsim device with 2 queues";
	i = 5000 + getpid() % 1000;
	snprintf(buf, sizeof(buf), "%d 1 %d", i, NAPI_QUEUES);
	ret = ep_write_file("/sys/bus/netdevsim/new_device", buf);
	if (ret)
		return ret;
	self->dev = i;
	*why = "no Ethernet port in the new netns";
	self->ifindex = nsim_ether_port(self->name);
	if (!self->ifindex)
		return -ENODEV;
	*why = "bringing the port up (its NAPIs are there while it is)";
	ret = nsim_ifup(self->name, 1);
	if (ret)
		return ret;
	*why = "no netdev generic netlink family";
	self->genl = ebp_genl_open(&self->family);
	if (self->genl < 0) {
		*skip = self->genl == -ENOENT;
		return self->genl;
	}
	*why = "napi-get dump of the port: not one NAPI per queue";
	ret = ebp_napi_dump(self->genl, self->family, self->ifindex, n, NAPI_QUEUES + 1);
	if (ret == -EOPNOTSUPP)
		*skip = 1;
	if (ret < 0)
		return ret;
	if (ret != NAPI_QUEUES)
		return -EBADMSG;
	self->id[0] = n[0].id < n[1].id ? n[0].id : n[1].id;
	self->id[1] = n[0].id < n[1].id ? n[1].id : n[0].id;
	/* A napi-set of the ID alone changes nothing: 0, or EOPNOTSUPP. */
	ret = ebp_napi_set(self->genl, self->family, self->id[0], -1, -1, -1);
	self->has_set = ret != -EOPNOTSUPP;
	*why = "napi-set of an ID alone";
	return self->has_set ? ret : 0;
}

static void napi_remove_device(FIXTURE_DATA(napi) *self)
{
	char buf[16];

	if (self->genl >= 0)
		close(self->genl);
	if (self->dev) {
		snprintf(buf, sizeof(buf), "%d", self->dev);
		ep_write_file("/sys/bus/netdevsim/del_device", buf);
	}
}

FIXTURE_SETUP(napi)
{
	const char *why;
	int ret, skip;

	self->dev = 0;
	self->genl = -1;
	ret = napi_make_device(self, &why, &skip);
	if (ret)
		napi_remove_device(self);
	if (ret && skip)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", why, strerror(-ret));
}

FIXTURE_TEARDOWN(napi)
{
	napi_remove_device(self);
}

/* What epoll-bp must print for these NAPI IDs of the device, read anew
 * through the independent client.
 */
static const char *napi_lines(struct __test_metadata *_metadata,
			      FIXTURE_DATA(napi) *self, int count,
			      const __u32 *ids)
{
	static char buf[1024];
	struct ebp_napi n;
	int i;

	buf[0] = 0;
	for (i = 0; i < count; i++) {
		EXPECT_EQ(0, ebp_napi_get(self->genl, self->family, ids[i], &n));
		napi_line(buf, sizeof(buf), &n, self->name);
	}
	return buf;
}

/* NAPI @id as the independent client reads it. */
static struct ebp_napi napi_read(struct __test_metadata *_metadata,
				 FIXTURE_DATA(napi) *self, __u32 id)
{
	struct ebp_napi n;

	memset(&n, 0, sizeof(n));
	EXPECT_EQ(0, ebp_napi_get(self->genl, self->family, id, &n)) TH_LOG("napi-get %u", id);
	return n;
}

TEST_F(napi, show_lists_each_queue_of_the_device)
{
	char args[64];

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --dev %s", self->name));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, NAPI_QUEUES, self->id), self->r.out)
		TH_LOG("one line per NAPI, ascending IDs, as napi-get reports them");
	EXPECT_STREQ("", self->r.err);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --ifindex %d", self->ifindex));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, NAPI_QUEUES, self->id), self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, NAPI_QUEUES, self->id), self->r.out)
		TH_LOG("the netns has no other NAPI");
	snprintf(args, sizeof(args), "napi show --id %u", self->id[1]);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "%s", args));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, 1, &self->id[1]), self->r.out);
	/* napi-get is no admin operation. */
	ASSERT_EQ(0, run_cli(&self->r, AS_NOBODY, "%s", args));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, 1, &self->id[1]), self->r.out);
}

TEST_F(napi, show_reads_what_sysfs_set_on_every_queue)
{
	struct ebp_napi n;
	char path[96];
	int i;

	n = napi_read(_metadata, self, self->id[0]);
	if (!n.has_defer || !n.has_gro)
		SKIP(return, "napi-get reports no settings (a kernel before per-NAPI settings)");
	snprintf(path, sizeof(path), "/sys/class/net/%s/napi_defer_hard_irqs", self->name);
	ASSERT_EQ(0, ep_write_file(path, "7"));
	snprintf(path, sizeof(path), "/sys/class/net/%s/gro_flush_timeout", self->name);
	ASSERT_EQ(0, ep_write_file(path, "30000"));
	for (i = 0; i < NAPI_QUEUES; i++) {
		n = napi_read(_metadata, self, self->id[i]);
		EXPECT_EQ(7, n.defer_hard_irqs)
			TH_LOG("a write of the device's sysfs file sets every NAPI of it (6.13)");
		EXPECT_EQ(30000, n.gro_flush_timeout);
	}
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --dev %s", self->name));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, NAPI_QUEUES, self->id), self->r.out);
	EXPECT_NE(NULL, strstr(self->r.out, " defer_hard_irqs=7 gro_flush_timeout=30000"));
}

TEST_F(napi, set_one_id_leaves_the_other_and_fields_not_given)
{
	struct ebp_napi before, a, b;

	if (!self->has_set)
		SKIP(return, "no napi-set (Linux 6.13+, or this patch)");
	before = napi_read(_metadata, self, self->id[1]);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT,
			     "napi set --id %u --defer-hard-irqs 3 --gro-flush-timeout 20000 --irq-suspend-timeout 5000000",
			     self->id[0]));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("", self->r.err);
	EXPECT_STREQ(napi_lines(_metadata, self, 1, &self->id[0]), self->r.out)
		TH_LOG("set prints the NAPI read back");
	a = napi_read(_metadata, self, self->id[0]);
	EXPECT_EQ(3, a.defer_hard_irqs);
	EXPECT_EQ(20000, a.gro_flush_timeout);
	if (a.has_suspend)
		EXPECT_EQ(5000000, a.irq_suspend_timeout);
	b = napi_read(_metadata, self, self->id[1]);
	EXPECT_EQ(before.defer_hard_irqs, b.defer_hard_irqs) TH_LOG("the other NAPI is left alone");
	EXPECT_EQ(before.gro_flush_timeout, b.gro_flush_timeout);

	/* One field, and a timeout above 32 bits (an 8-byte uint). */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --id %u --gro-flush-timeout 4294967296",
			     self->id[0]));
	EXPECT_EQ(0, self->r.status);
	a = napi_read(_metadata, self, self->id[0]);
	EXPECT_EQ(4294967296ULL, a.gro_flush_timeout);
	EXPECT_EQ(3, a.defer_hard_irqs) TH_LOG("fields not given keep their value");
	if (a.has_suspend)
		EXPECT_EQ(5000000, a.irq_suspend_timeout);
	EXPECT_STREQ(napi_lines(_metadata, self, 1, &self->id[0]), self->r.out);
}

TEST_F(napi, set_dev_sets_every_queue)
{
	struct ebp_napi n;
	int i;

	if (!self->has_set)
		SKIP(return, "no napi-set (Linux 6.13+, or this patch)");
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --dev %s --defer-hard-irqs 4",
			     self->name));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(napi_lines(_metadata, self, NAPI_QUEUES, self->id), self->r.out);
	for (i = 0; i < NAPI_QUEUES; i++) {
		n = napi_read(_metadata, self, self->id[i]);
		EXPECT_EQ(4, n.defer_hard_irqs) TH_LOG("NAPI %u", self->id[i]);
	}
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --ifindex %d --defer-hard-irqs 0",
			     self->ifindex));
	EXPECT_EQ(0, self->r.status);
	for (i = 0; i < NAPI_QUEUES; i++)
		EXPECT_EQ(0, napi_read(_metadata, self, self->id[i]).defer_hard_irqs);
}

TEST_F(napi, set_needs_cap_net_admin)
{
	struct ebp_napi before;
	enum how hows[] = { AS_NOBODY, WITHOUT_NET_ADMIN };
	size_t i;

	if (!self->has_set)
		SKIP(return, "no napi-set (Linux 6.13+, or this patch)");
	before = napi_read(_metadata, self, self->id[0]);
	for (i = 0; i < ARRAY_SIZE(hows); i++) {
		ASSERT_EQ(0, run_cli(&self->r, hows[i], "napi set --id %u --defer-hard-irqs 9",
				     self->id[0]));
		EXPECT_EQ(1, self->r.status);
		EXPECT_NE(NULL, strstr(self->r.err, ": napi-set: not permitted (EPERM)"))
			TH_LOG("stderr: %s", self->r.err);
		EXPECT_NE(NULL, strstr(self->r.err, "needs CAP_NET_ADMIN"));
		EXPECT_STREQ("", self->r.out);
		EXPECT_EQ(before.defer_hard_irqs,
			  napi_read(_metadata, self, self->id[0]).defer_hard_irqs)
			TH_LOG("a refused set changes nothing");
	}
}

TEST_F(napi, unknown_id_and_device)
{
	char want[128];

	snprintf(want, sizeof(want),
		 "epoll-bp: napi %u: napi-get: no NAPI instance with id %u in this network namespace (ENOENT)",
		 NO_SUCH_NAPI, NO_SUCH_NAPI);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --id %u", NO_SUCH_NAPI));
	EXPECT_EQ(1, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.err, want, strlen(want))) TH_LOG("stderr: %s", self->r.err);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --dev nosuchdev0"));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err,
			       "epoll-bp: device nosuchdev0: no such device in this network namespace (ENODEV)"))
		TH_LOG("stderr: %s", self->r.err);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --dev lo"));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("device lo has no NAPI instances (it is down, or its driver does not use NAPI)\n",
		     self->r.out);
	if (!self->has_set)
		SKIP(return, "no napi-set (Linux 6.13+, or this patch)");
	snprintf(want, sizeof(want),
		 "epoll-bp: napi %u: napi-set: no NAPI instance with id %u in this network namespace (ENOENT)",
		 NO_SUCH_NAPI, NO_SUCH_NAPI);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --id %u --defer-hard-irqs 1", NO_SUCH_NAPI));
	EXPECT_EQ(1, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.err, want, strlen(want))) TH_LOG("stderr: %s", self->r.err);
	EXPECT_STREQ("", self->r.out);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --dev lo --defer-hard-irqs 1"));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "epoll-bp: device lo: it has no NAPI instances"))
		TH_LOG("stderr: %s", self->r.err);
}

TEST_F(napi, a_kernel_without_napi_set)
{
	if (self->has_set)
		SKIP(return, "this kernel has napi-set");
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi set --id %u --defer-hard-irqs 1", self->id[0]));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err,
			       "napi-set: this kernel has no netdev napi-set (Linux 6.13+, or this patch)"))
		TH_LOG("stderr: %s", self->r.err);
}

/* ------------------------------------------------------------------ */
/* Against a server on a netdevsim port: its behaviour changes.        */

FIXTURE(busy)
{
	struct nsim_pair nsim;
	struct server srv;
	long saved_busy_poll;
	struct run r;
};

FIXTURE_SETUP(busy)
{
	const char *why;
	int ret;

	memset(&self->srv, 0, sizeof(self->srv));
	self->saved_busy_poll = -1;
	if (access(getenv("EPOLL_BP_CLI") ?: "/bin/epoll-bp", X_OK))
		SKIP(return, "no epoll-bp to test: build tools/epoll_busy_poll, set EPOLL_BP_CLI");
	ret = nsim_pair_create(&self->nsim, PORT, &why);
	if (ret == -ENODEV && access("/sys/bus/netdevsim/new_device", W_OK))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	self->saved_busy_poll = nsim_read_long("/proc/sys/net/core/busy_poll");
	ASSERT_LE(0, self->saved_busy_poll);
	ASSERT_EQ(0, ep_write_file("/proc/sys/net/core/busy_poll", "0"))
		TH_LOG("net.core.busy_poll must be 0: only the instance's params may turn polling on");
	ASSERT_EQ(0, server_start(&self->srv, self->nsim.sock[1]));
}

FIXTURE_TEARDOWN(busy)
{
	char buf[32];

	server_stop(&self->srv);
	nsim_pair_destroy(&self->nsim);
	if (self->saved_busy_poll >= 0) {
		snprintf(buf, sizeof(buf), "%ld", self->saved_busy_poll);
		ep_write_file("/proc/sys/net/core/busy_poll", buf);
	}
}

/* Sends the server a datagram through netdevsim and waits until it took
 * it through its epoll instance, which then knows the NAPI ID (if busy
 * polling is on for it).  0 or -1.
 */
static int poke(FIXTURE_DATA(busy) *self)
{
	struct reply before, now;
	int i;

	if (server_ask(&self->srv, &before) ||
	    nsim_send(self->nsim.sock[0], 2, PORT, "poke", 4))
		return -1;
	for (i = 0; i < 50; i++) {
		if (server_ask(&self->srv, &now))
			return -1;
		if (now.received > before.received)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* The CPU time (ms) the server burns in WINDOW_MS while it gets a datagram
 * every GAP_MS.  The traffic matters: epoll busy polls the NAPI ID its last
 * event came from, and forgets the ID when a busy loop times out, so an
 * instance busy polls in the waits that follow a packet, as a server under
 * load would.  -1 on error.
 */
static long cpu_under_traffic(FIXTURE_DATA(busy) *self)
{
	long before = cpu_ms(self->srv.pid);
	int i;

	for (i = 0; i < WINDOW_MS / GAP_MS; i++) {
		if (nsim_send(self->nsim.sock[0], 2, PORT, "tick", 4))
			return -1;
		usleep(GAP_MS * 1000);
	}
	return before < 0 ? -1 : cpu_ms(self->srv.pid) - before;
}

TEST_F(busy, set_switches_busy_polling_on_and_off_in_a_running_server)
{
	struct server *s = &self->srv;
	long idle, busy, off;

	ASSERT_EQ(0, poke(self));
	idle = cpu_under_traffic(self);

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs %d --budget 8",
			     s->pid, s->ep, BUSY_USECS));
	ASSERT_EQ(0, self->r.status);
	ASSERT_EQ(0, poke(self));
	busy = cpu_under_traffic(self);

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs 0", s->pid, s->ep));
	ASSERT_EQ(0, self->r.status);
	ASSERT_EQ(0, poke(self));
	off = cpu_under_traffic(self);

	ksft_print_msg("server CPU time in %d ms, a datagram every %d ms: %ld ms without params, %ld ms after set --usecs %d, %ld ms after set --usecs 0\n",
		       WINDOW_MS, GAP_MS, idle, busy, BUSY_USECS, off);
	ASSERT_LE(0, idle);
	EXPECT_GE(WINDOW_MS / 10, idle)
		TH_LOG("without params (and net.core.busy_poll=0) the server sleeps between datagrams");
	EXPECT_LE(WINDOW_MS / 4, busy)
		TH_LOG("with busy_poll_usecs=%d the server spins from one datagram to the next",
		       BUSY_USECS);
	EXPECT_GE(WINDOW_MS / 10, off)
		TH_LOG("busy_poll_usecs=0 again: the server sleeps again");
}

TEST_F(busy, stats_counts_what_busy_polling_did)
{
	struct server *s = &self->srv;
	struct bp_info before, a, b;
	char want[512];
	int i;

	ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &before));
	if (before.counters != 4)
		SKIP(return, "no busy-poll counts in epoll's fdinfo (a kernel without them)");
	EXPECT_EQ(0, before.loops) TH_LOG("no params (and net.core.busy_poll=0): no busy loop");

	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs %d --budget 8 --prefer 1",
			     s->pid, s->ep, BUSY_USECS));
	ASSERT_EQ(0, self->r.status);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, poke(self));
		usleep(GAP_MS * 1000);
	}
	/*
	 * The busy loop after the last datagram times out after BUSY_USECS
	 * and forgets the NAPI ID: nothing moves after that, so fdinfo read
	 * before and after epoll-bp must agree with it.
	 */
	for (i = 0; i < 5; i++) {
		usleep(300000);
		ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &a));
		ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --fd %d", s->pid, s->ep));
		ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &b));
		if (!memcmp(&a, &b, sizeof(a)))
			break;
	}
	ASSERT_EQ(0, memcmp(&a, &b, sizeof(a))) TH_LOG("the counts kept moving with no traffic");
	ksft_print_msg("fdinfo after 5 datagrams: NAPI %u, %llu busy loops, %llu without events, %llu suspensions\n",
		       a.napi_id, a.loops, a.timeouts, a.irq_suspensions);
	want[0] = 0;
	stats_line(want, sizeof(want), s->ep, &a);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out) TH_LOG("epoll-bp shows fdinfo's numbers");
	EXPECT_LE(1, a.loops) TH_LOG("busy loops after datagrams through netdevsim");
	EXPECT_LE(1, a.timeouts) TH_LOG("the loop after the last datagram found nothing");
	EXPECT_GE(a.loops, a.timeouts);
	EXPECT_EQ(0, a.napi_id) TH_LOG("forgotten when that loop timed out");
	EXPECT_LE(1, a.irq_suspensions)
		TH_LOG("prefer_busy_poll 1: each delivery with a NAPI ID asks for a suspension");
}

TEST_F(busy, stats_interval_shows_busy_loops_per_second)
{
	struct server *s = &self->srv;
	struct block_row row;
	struct bp_info a;
	pid_t traffic;
	int i;

	ASSERT_EQ(0, bp_info_read(s->pid, s->ep, &a));
	if (a.counters != 4)
		SKIP(return, "no busy-poll counts in epoll's fdinfo (a kernel without them)");
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "set --pid %d --fd %d --usecs %d --budget 8",
			     s->pid, s->ep, BUSY_USECS));
	ASSERT_EQ(0, self->r.status);
	/* A datagram every GAP_MS for 2.5 s: over both intervals. */
	traffic = fork();
	ASSERT_LE(0, traffic);
	if (traffic == 0) {
		for (i = 0; i < 2500 / GAP_MS; i++) {
			nsim_send(self->nsim.sock[0], 2, PORT, "tick", 4);
			usleep(GAP_MS * 1000);
		}
		_exit(0);
	}
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "stats --pid %d --fd %d --interval 1 --count 2",
			     s->pid, s->ep));
	waitpid(traffic, NULL, 0);
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ("", self->r.err);
	EXPECT_EQ(2, stats_blocks(self->r.out, s->pid, 0, -1, &row))
		TH_LOG("--interval 1 --count 2: two blocks");
	for (i = 1; i <= 2; i++) {
		stats_blocks(self->r.out, s->pid, i, s->ep, &row);
		ASSERT_EQ('n', row.kind) TH_LOG("block %d: a row of numbers for fd %d", i, s->ep);
		EXPECT_EQ(BUSY_USECS, row.usecs);
		EXPECT_EQ(8, row.budget);
		EXPECT_LE(1, row.loops)
			TH_LOG("block %d: busy loops while a datagram comes every %d ms", i, GAP_MS);
		EXPECT_LT(0, row.rate[0]) TH_LOG("block %d: loops/s", i);
		EXPECT_GE(row.loops, row.with_events);
	}
}

/* nsim_in_ns() callback: a netdev genl socket in that netns, for the
 * independent reader.
 */
struct genl_open_arg {
	int family;
};

static int genl_open_here(void *arg)
{
	return ebp_genl_open(&((struct genl_open_arg *)arg)->family);
}

TEST_F(busy, napi_show_names_the_napi_behind_a_servers_socket)
{
	struct server *s = &self->srv;
	struct genl_open_arg g;
	char want[512], line[64];
	socklen_t len = sizeof(__u32);
	struct ebp_napi n;
	__u32 id = 0;
	int fd;

	/* The server's UDP socket is ours too: the same number in it. */
	snprintf(want, sizeof(want),
		 "fd %d: napi_id=0 (no packet has come in through a NAPI device yet)\n",
		 self->nsim.sock[1]);
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --pid %d --fd %d", s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out);

	ASSERT_EQ(0, poke(self));
	ASSERT_EQ(0, getsockopt(self->nsim.sock[1], SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &len));
	ASSERT_NE(0, id) TH_LOG("a datagram through netdevsim marks the socket with its NAPI");
	fd = nsim_in_ns(&self->nsim, 1, genl_open_here, &g);
	if (fd == -ENOENT)
		SKIP(return, "no netdev generic netlink family");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ebp_napi_get(fd, g.family, id, &n));
	close(fd);
	snprintf(want, sizeof(want), "fd %d: napi_id=%u\n", self->nsim.sock[1], id);
	napi_line(want, sizeof(want), &n, self->nsim.port[1]);

	/* epoll-bp runs in the initial netns, the socket is in another. */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --pid %d --fd %d", s->pid, s->ep));
	EXPECT_EQ(0, self->r.status);
	EXPECT_STREQ(want, self->r.out)
		TH_LOG("the NAPI is asked for in the socket's network namespace");
	EXPECT_STREQ("", self->r.err);

	/* An epoll fd that watches nothing. */
	ASSERT_EQ(0, run_cli(&self->r, AS_ROOT, "napi show --pid %d --fd %d", s->pid, s->ep2));
	EXPECT_EQ(0, self->r.status);
	snprintf(line, sizeof(line), "fd %d of process %d watches no fds\n", s->ep2, s->pid);
	EXPECT_STREQ(line, self->r.out);
}

TEST_HARNESS_MAIN
