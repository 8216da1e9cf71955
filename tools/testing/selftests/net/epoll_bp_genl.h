/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal generic netlink client for the per-NAPI settings of the netdev
 * family (napi-get, napi-set), on a raw NETLINK_GENERIC socket: no libmnl,
 * libnl or YNL, so that static test binaries need nothing but the C library.
 *
 * The NAPI calls are ebp_napi_get(), ebp_napi_dump() and ebp_napi_set().
 * Below them, ebp_genl_req_init(), ebp_genl_put*() and ebp_genl_transact()
 * send a hand-built request (any attribute, any length, even malformed) and
 * return the kernel's errno with its extended ACK (struct ebp_genl_ack).
 *
 * Requests go out with send(), without a destination address: the kernel
 * then checks the capabilities of both the socket's opener and the sender
 * (netlink_capable()).
 */
#ifndef EPOLL_BP_GENL_H
#define EPOLL_BP_GENL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/types.h>

/*
 * The netdev family as include/uapi/linux/netdev.h of Linux 6.13 numbers
 * it: C libraries' headers may predate the NAPI settings, or the family.
 */
#define EBP_NETDEV_FAMILY_NAME		"netdev"
#define EBP_NETDEV_FAMILY_VERSION	1

#define EBP_NETDEV_A_QUEUE_ID		1
#define EBP_NETDEV_A_QUEUE_IFINDEX	2
#define EBP_NETDEV_A_QUEUE_TYPE		3
#define EBP_NETDEV_A_QUEUE_NAPI_ID	4
#define EBP_NETDEV_QUEUE_TYPE_RX	0

#define EBP_NETDEV_A_NAPI_IFINDEX		1
#define EBP_NETDEV_A_NAPI_ID			2
#define EBP_NETDEV_A_NAPI_IRQ			3
#define EBP_NETDEV_A_NAPI_PID			4
#define EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS	5
#define EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT	6
#define EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT	7

#define EBP_NETDEV_CMD_QUEUE_GET	10
#define EBP_NETDEV_CMD_NAPI_GET		11
#define EBP_NETDEV_CMD_NAPI_SET		14

/* enum netlink_attribute_type, include/uapi/linux/netlink.h (6.7+) */
#define EBP_NL_ATTR_TYPE_U32	4
#define EBP_NL_ATTR_TYPE_UINT	17

#define EBP_GENL_ATTR_SPACE	1024	/* attribute bytes in a request */
#define EBP_GENL_RECV_SIZE	32768	/* one read of replies */
#define EBP_GENL_TIMEOUT_SECS	5	/* a reply later than that: -ETIMEDOUT */

/* A request under construction: the attributes follow the headers. */
struct ebp_genl_req {
	struct nlmsghdr nlh;
	struct genlmsghdr genl;
	unsigned char attrs[EBP_GENL_ATTR_SPACE];
};

/* What the kernel answered: the NLMSG_ERROR (or NLMSG_DONE) code and TLVs. */
struct ebp_genl_ack {
	int error;		/* 0 or -errno */
	char msg[128];		/* NLMSGERR_ATTR_MSG, "" if none */
	int has_offs, has_miss_type, has_miss_nest, has_policy;
	__u32 offs;		/* NLMSGERR_ATTR_OFFS: bad attribute's offset */
	__u32 miss_type;	/* NLMSGERR_ATTR_MISS_TYPE */
	__u32 miss_nest;	/* NLMSGERR_ATTR_MISS_NEST */
	/* NLMSGERR_ATTR_POLICY of the bad attribute, in part */
	__u32 policy_type;	/* NL_POLICY_TYPE_ATTR_TYPE */
	int has_policy_min, has_policy_max;
	__u64 policy_min, policy_max;	/* NL_POLICY_TYPE_ATTR_{MIN,MAX}_VALUE_U */
};

/* A generic netlink family, as CTRL_CMD_GETFAMILY describes it. */
struct ebp_genl_family {
	__u16 id;
	__u32 version, hdrsize, maxattr;
	__u32 op_flags[256];	/* CTRL_ATTR_OP_FLAGS by command; 0: no such op */
};

/* One NAPI instance, as napi-get reports it. */
struct ebp_napi {
	__u32 id, ifindex;
	__s32 irq;		/* -1 when not reported */
	__u32 pid;		/* 0 when not reported */
	__u32 defer_hard_irqs;
	__u64 gro_flush_timeout, irq_suspend_timeout;
	int has_defer, has_gro, has_suspend;
};

/* Attributes: the one at @pos if a whole one fits before @end, or NULL. */
static inline const struct nlattr *ebp_nla_at(const void *pos, const void *end)
{
	const struct nlattr *a = pos;
	long room = (const char *)end - (const char *)pos;

	if (room < (long)NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
	    a->nla_len > room)
		return NULL;
	return a;
}

static inline const struct nlattr *ebp_nla_next(const struct nlattr *a,
						const void *end)
{
	return ebp_nla_at((const char *)a + NLA_ALIGN(a->nla_len), end);
}

static inline __u16 ebp_nla_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *ebp_nla_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline int ebp_nla_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

/* The end of the payload of @a, for walking a nest. */
static inline const void *ebp_nla_end(const struct nlattr *a)
{
	return (const char *)a + a->nla_len;
}

/* A u32 attribute's value; 0 if it is shorter. */
static inline __u32 ebp_nla_u32(const struct nlattr *a)
{
	__u32 v = 0;

	if (ebp_nla_len(a) >= (int)sizeof(v))
		memcpy(&v, ebp_nla_data(a), sizeof(v));
	return v;
}

/* A u64 attribute's value; 0 if it is shorter. */
static inline __u64 ebp_nla_u64(const struct nlattr *a)
{
	__u64 v = 0;

	if (ebp_nla_len(a) >= (int)sizeof(v))
		memcpy(&v, ebp_nla_data(a), sizeof(v));
	return v;
}

/* A "uint" attribute (4 or 8 bytes, as nla_put_uint() writes it). */
static inline __u64 ebp_nla_uint(const struct nlattr *a)
{
	return ebp_nla_len(a) == sizeof(__u64) ? ebp_nla_u64(a) : ebp_nla_u32(a);
}

/* The first attribute @type in the nest @nest, or NULL. */
static inline const struct nlattr *ebp_nla_find(const struct nlattr *nest,
						__u16 type)
{
	const void *end = ebp_nla_end(nest);
	const struct nlattr *a;

	for (a = ebp_nla_at(ebp_nla_data(nest), end); a; a = ebp_nla_next(a, end))
		if (ebp_nla_type(a) == type)
			return a;
	return NULL;
}

/* The first top-level attribute of a generic netlink message, or NULL. */
static inline const struct nlattr *ebp_genl_first(const struct nlmsghdr *nlh)
{
	return ebp_nla_at((const char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
			  (const char *)nlh + nlh->nlmsg_len);
}

static inline const void *ebp_genl_end(const struct nlmsghdr *nlh)
{
	return (const char *)nlh + nlh->nlmsg_len;
}

/* The first top-level attribute @type of a generic netlink message. */
static inline const struct nlattr *ebp_genl_attr(const struct nlmsghdr *nlh,
						 __u16 type)
{
	const void *end = ebp_genl_end(nlh);
	const struct nlattr *a;

	for (a = ebp_genl_first(nlh); a; a = ebp_nla_next(a, end))
		if (ebp_nla_type(a) == type)
			return a;
	return NULL;
}

/*
 * Starts a request for command @cmd of family @family.  NLM_F_REQUEST and
 * NLM_F_ACK are always set (the ACK ends a do request's answer); @flags adds
 * others, e.g. NLM_F_DUMP.
 */
static inline void ebp_genl_req_init(struct ebp_genl_req *req, __u16 family,
				     __u8 cmd, __u16 flags)
{
	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req->nlh.nlmsg_type = family;
	req->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req->genl.cmd = cmd;
	req->genl.version = EBP_NETDEV_FAMILY_VERSION;
}

/*
 * Appends @len bytes verbatim (no header, no padding), e.g. a malformed
 * attribute.  Returns where they start, as an offset from the start of the
 * message (what NLMSGERR_ATTR_OFFS counts in), or -ENOSPC.
 */
static inline int ebp_genl_put_raw(struct ebp_genl_req *req, const void *data,
				   size_t len)
{
	__u32 off = req->nlh.nlmsg_len;

	if (len > sizeof(*req) || off > sizeof(*req) - len)
		return -ENOSPC;
	memcpy((char *)req + off, data, len);
	req->nlh.nlmsg_len = off + len;
	return off;
}

/*
 * Appends attribute @type with the @len bytes at @data as its payload
 * (@len need not be what the type calls for), padded to 4 bytes.  Returns
 * the attribute's offset from the start of the message, or -ENOSPC.
 */
static inline int ebp_genl_put(struct ebp_genl_req *req, __u16 type,
			       const void *data, __u16 len)
{
	__u32 off = NLMSG_ALIGN(req->nlh.nlmsg_len);
	struct nlattr a = { .nla_len = NLA_HDRLEN + len, .nla_type = type };

	if ((size_t)off + NLA_ALIGN(NLA_HDRLEN + (size_t)len) > sizeof(*req))
		return -ENOSPC;
	memset((char *)req + req->nlh.nlmsg_len, 0, off - req->nlh.nlmsg_len);
	memcpy((char *)req + off, &a, sizeof(a));
	memcpy((char *)req + off + NLA_HDRLEN, data, len);
	memset((char *)req + off + a.nla_len, 0,
	       NLA_ALIGN(a.nla_len) - a.nla_len);
	req->nlh.nlmsg_len = off + NLA_ALIGN(a.nla_len);
	return off;
}

static inline int ebp_genl_put_u32(struct ebp_genl_req *req, __u16 type,
				   __u32 v)
{
	return ebp_genl_put(req, type, &v, sizeof(v));
}

static inline int ebp_genl_put_u64(struct ebp_genl_req *req, __u16 type,
				   __u64 v)
{
	return ebp_genl_put(req, type, &v, sizeof(v));
}

/* As nla_put_uint() does: 4 bytes if @v fits in them, else 8. */
static inline int ebp_genl_put_uint(struct ebp_genl_req *req, __u16 type,
				    __u64 v)
{
	if (v == (__u32)v)
		return ebp_genl_put_u32(req, type, v);
	return ebp_genl_put_u64(req, type, v);
}

static inline int ebp_genl_put_str(struct ebp_genl_req *req, __u16 type,
				   const char *s)
{
	return ebp_genl_put(req, type, s, strlen(s) + 1);
}

/* Reads NLMSGERR_ATTR_POLICY: the policy of the attribute found bad. */
static inline void ebp_genl_ack_policy(const struct nlattr *nest,
				       struct ebp_genl_ack *ack)
{
	const void *end = ebp_nla_end(nest);
	const struct nlattr *a;

	ack->has_policy = 1;
	for (a = ebp_nla_at(ebp_nla_data(nest), end); a; a = ebp_nla_next(a, end)) {
		switch (ebp_nla_type(a)) {
		case NL_POLICY_TYPE_ATTR_TYPE:
			ack->policy_type = ebp_nla_u32(a);
			break;
		case NL_POLICY_TYPE_ATTR_MIN_VALUE_U:
			ack->has_policy_min = 1;
			ack->policy_min = ebp_nla_u64(a);
			break;
		case NL_POLICY_TYPE_ATTR_MAX_VALUE_U:
			ack->has_policy_max = 1;
			ack->policy_max = ebp_nla_u64(a);
			break;
		}
	}
}

/*
 * Reads an NLMSG_ERROR or NLMSG_DONE message into @ack: the code, then the
 * extended ACK TLVs, which follow the code (NLMSG_DONE), or struct nlmsgerr
 * and, unless NETLINK_CAP_ACK capped it, the echoed request's payload.
 */
static inline void ebp_genl_parse_ack(const struct nlmsghdr *nlh,
				      struct ebp_genl_ack *ack)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	const void *end = ebp_genl_end(nlh);
	const struct nlattr *a;
	size_t off = sizeof(int);
	int code = 0;

	memset(ack, 0, sizeof(*ack));
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
		ack->error = -EBADMSG;
		return;
	}
	memcpy(&code, NLMSG_DATA(nlh), sizeof(code));
	ack->error = code;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return;
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	}
	off = NLMSG_ALIGN(off);
	for (a = ebp_nla_at((const char *)NLMSG_DATA(nlh) + off, end); a;
	     a = ebp_nla_next(a, end)) {
		switch (ebp_nla_type(a)) {
		case NLMSGERR_ATTR_MSG:
			snprintf(ack->msg, sizeof(ack->msg), "%.*s",
				 (int)strnlen(ebp_nla_data(a), ebp_nla_len(a)),
				 (const char *)ebp_nla_data(a));
			break;
		case NLMSGERR_ATTR_OFFS:
			ack->has_offs = 1;
			ack->offs = ebp_nla_u32(a);
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			ack->has_miss_type = 1;
			ack->miss_type = ebp_nla_u32(a);
			break;
		case NLMSGERR_ATTR_MISS_NEST:
			ack->has_miss_nest = 1;
			ack->miss_nest = ebp_nla_u32(a);
			break;
		case NLMSGERR_ATTR_POLICY:
			ebp_genl_ack_policy(a, ack);
			break;
		}
	}
}

/* A sequence number for the next request (per program and process). */
static inline __u32 ebp_genl_next_seq(void)
{
	static __u32 seq;

	if (!seq)
		seq = (__u32)getpid() << 16;
	return ++seq;
}

/* Sends @req, numbered anew; 0 or -errno. */
static inline int ebp_genl_send(int fd, struct ebp_genl_req *req)
{
	ssize_t n;

	req->nlh.nlmsg_seq = ebp_genl_next_seq();
	n = send(fd, req, req->nlh.nlmsg_len, 0);
	if (n < 0)
		return -errno;
	return n == req->nlh.nlmsg_len ? 0 : -EMSGSIZE;
}

/*
 * Reads the answer to request @seq up to its NLMSG_ERROR or NLMSG_DONE,
 * which it parses into @ack (if not NULL), and hands every other message of
 * the answer to @cb (if not NULL).  Messages of other requests are skipped.
 * Returns the kernel's code (0 or -errno), else the first error @cb
 * returned, else -errno of the socket (-ETIMEDOUT: no answer in time).
 * Its buffer, on the stack, is 32 KiB: the most a netlink dump sends at once.
 */
static inline int ebp_genl_recv(int fd, __u32 seq,
				int (*cb)(const struct nlmsghdr *nlh, void *arg),
				void *arg, struct ebp_genl_ack *ack)
{
	__u32 buf[EBP_GENL_RECV_SIZE / sizeof(__u32)];	/* NLMSG_ALIGNTO */
	struct ebp_genl_ack local;
	struct nlmsghdr *nlh;
	int n, cb_err = 0;

	if (!ack)
		ack = &local;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n > (int)sizeof(buf))
			return -EMSGSIZE;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				ebp_genl_parse_ack(nlh, ack);
				return ack->error ? ack->error : cb_err;
			}
			if (cb && !cb_err)
				cb_err = cb(nlh, arg);
		}
	}
}

/* ebp_genl_send() and ebp_genl_recv() of its answer. */
static inline int ebp_genl_transact(int fd, struct ebp_genl_req *req,
				    int (*cb)(const struct nlmsghdr *nlh,
					      void *arg),
				    void *arg, struct ebp_genl_ack *ack)
{
	int ret = ebp_genl_send(fd, req);

	if (ret) {
		if (ack) {
			memset(ack, 0, sizeof(*ack));
			ack->error = ret;
		}
		return ret;
	}
	return ebp_genl_recv(fd, req->nlh.nlmsg_seq, cb, arg, ack);
}

static inline int ebp_genl_family_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ebp_genl_family *fam = arg;
	const void *end = ebp_genl_end(nlh);
	const struct nlattr *a, *op, *id, *flags;

	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return 0;
	for (a = ebp_genl_first(nlh); a; a = ebp_nla_next(a, end)) {
		switch (ebp_nla_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (ebp_nla_len(a) >= (int)sizeof(fam->id))
				memcpy(&fam->id, ebp_nla_data(a), sizeof(fam->id));
			break;
		case CTRL_ATTR_VERSION:
			fam->version = ebp_nla_u32(a);
			break;
		case CTRL_ATTR_HDRSIZE:
			fam->hdrsize = ebp_nla_u32(a);
			break;
		case CTRL_ATTR_MAXATTR:
			fam->maxattr = ebp_nla_u32(a);
			break;
		case CTRL_ATTR_OPS:
			for (op = ebp_nla_at(ebp_nla_data(a), ebp_nla_end(a)); op;
			     op = ebp_nla_next(op, ebp_nla_end(a))) {
				id = ebp_nla_find(op, CTRL_ATTR_OP_ID);
				flags = ebp_nla_find(op, CTRL_ATTR_OP_FLAGS);
				if (id && flags && ebp_nla_u32(id) < 256)
					fam->op_flags[ebp_nla_u32(id)] =
						ebp_nla_u32(flags);
			}
			break;
		}
	}
	return 0;
}

/* Describes the family @name: 0, or -errno (-ENOENT: no such family). */
static inline int ebp_genl_resolve(int fd, const char *name,
				   struct ebp_genl_family *fam)
{
	struct ebp_genl_req req;
	int ret;

	memset(fam, 0, sizeof(*fam));
	ebp_genl_req_init(&req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	ret = ebp_genl_put_str(&req, CTRL_ATTR_FAMILY_NAME, name);
	if (ret < 0)
		return ret;
	ret = ebp_genl_transact(fd, &req, ebp_genl_family_cb, fam, NULL);
	if (!ret && !fam->id)
		ret = -ENOENT;
	return ret;
}

/* A NETLINK_GENERIC socket with extended, capped ACKs; fd or -errno. */
static inline int ebp_genl_socket(void)
{
	struct timeval tv = { .tv_sec = EBP_GENL_TIMEOUT_SECS };
	int fd, one = 1, ret = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * A NETLINK_GENERIC socket in the caller's network namespace, with the
 * netdev family's ID in @family.  Returns the socket, or -errno (-ENOENT:
 * the kernel has no netdev family).
 */
static inline int ebp_genl_open(int *family)
{
	struct ebp_genl_family fam;
	int fd = ebp_genl_socket(), ret;

	if (fd < 0)
		return fd;
	ret = ebp_genl_resolve(fd, EBP_NETDEV_FAMILY_NAME, &fam);
	if (ret) {
		close(fd);
		return ret;
	}
	*family = fam.id;
	return fd;
}

/* Reads a napi-get answer (do or dump) into @n. */
static inline void ebp_napi_parse(const struct nlmsghdr *nlh,
				  struct ebp_napi *n)
{
	const void *end = ebp_genl_end(nlh);
	const struct nlattr *a;

	memset(n, 0, sizeof(*n));
	n->irq = -1;
	for (a = ebp_genl_first(nlh); a; a = ebp_nla_next(a, end)) {
		switch (ebp_nla_type(a)) {
		case EBP_NETDEV_A_NAPI_IFINDEX:
			n->ifindex = ebp_nla_u32(a);
			break;
		case EBP_NETDEV_A_NAPI_ID:
			n->id = ebp_nla_u32(a);
			break;
		case EBP_NETDEV_A_NAPI_IRQ:
			n->irq = ebp_nla_u32(a);
			break;
		case EBP_NETDEV_A_NAPI_PID:
			n->pid = ebp_nla_u32(a);
			break;
		case EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS:
			n->has_defer = 1;
			n->defer_hard_irqs = ebp_nla_u32(a);
			break;
		case EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT:
			n->has_gro = 1;
			n->gro_flush_timeout = ebp_nla_uint(a);
			break;
		case EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT:
			n->has_suspend = 1;
			n->irq_suspend_timeout = ebp_nla_uint(a);
			break;
		}
	}
}

/* Where ebp_napi_get() and ebp_napi_dump() collect what napi-get says. */
struct ebp_napi_list {
	__u16 family;
	struct ebp_napi *out;
	int max, count;
};

static inline int ebp_napi_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ebp_napi_list *l = arg;

	if (nlh->nlmsg_type != l->family)
		return 0;
	if (l->count < l->max)
		ebp_napi_parse(nlh, &l->out[l->count]);
	l->count++;
	return 0;
}

/* napi-get (do) of NAPI @id into @out: 0 or -errno. */
static inline int ebp_napi_get(int fd, int family, __u32 id,
			       struct ebp_napi *out)
{
	struct ebp_napi_list l = { .family = family, .out = out, .max = 1 };
	struct ebp_genl_req req;
	int ret;

	ebp_genl_req_init(&req, family, EBP_NETDEV_CMD_NAPI_GET, 0);
	ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
	ret = ebp_genl_transact(fd, &req, ebp_napi_list_cb, &l, NULL);
	if (!ret && l.count != 1)
		ret = -EBADMSG;
	return ret;
}

/*
 * napi-get (dump) of the NAPIs of device @ifindex, or of all the devices
 * of the socket's network namespace if @ifindex is 0 (the attribute is
 * then left out).  Stores up to @max of them in @out.  Returns how many the
 * kernel reported (more than @max if they did not all fit), or -errno.
 */
static inline int ebp_napi_dump(int fd, int family, __u32 ifindex,
				struct ebp_napi *out, int max)
{
	struct ebp_napi_list l = { .family = family, .out = out, .max = max };
	struct ebp_genl_req req;
	int ret;

	ebp_genl_req_init(&req, family, EBP_NETDEV_CMD_NAPI_GET, NLM_F_DUMP);
	if (ifindex)
		ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_IFINDEX, ifindex);
	ret = ebp_genl_transact(fd, &req, ebp_napi_list_cb, &l, NULL);
	return ret ? ret : l.count;
}

/*
 * napi-set of NAPI @id: each setting that is not -1 is sent, defer-hard-irqs
 * as a u32, the timeouts as uints (4 bytes if the value fits, else 8).
 * Returns 0 or -errno from the kernel, or -EOVERFLOW (nothing sent) for a
 * value the attribute cannot carry.
 */
static inline int ebp_napi_set(int fd, int family, __u32 id, long long defer,
			       long long gro, long long suspend)
{
	struct ebp_genl_req req;

	if (defer < -1 || defer > UINT32_MAX || gro < -1 || suspend < -1)
		return -EOVERFLOW;
	ebp_genl_req_init(&req, family, EBP_NETDEV_CMD_NAPI_SET, 0);
	ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
	if (defer >= 0)
		ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS, defer);
	if (gro >= 0)
		ebp_genl_put_uint(&req, EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, gro);
	if (suspend >= 0)
		ebp_genl_put_uint(&req, EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,
				  suspend);
	return ebp_genl_transact(fd, &req, NULL, NULL, NULL);
}

#endif /* EPOLL_BP_GENL_H */
