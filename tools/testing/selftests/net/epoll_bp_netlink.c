// SPDX-License-Identifier: GPL-2.0
/*
 * Netlink conformance of the per-NAPI settings: napi-set, and the three
 * settings napi-get reports (defer-hard-irqs, gro-flush-timeout,
 * irq-suspend-timeout), held to the netdev family's user ABI as Linux 6.13
 * has it (Documentation/netlink/specs/netdev.yaml).  What each test expects
 * comes from the kernel's own code: lib/nlattr.c's strict validation for
 * the attribute types, lengths and ranges; genetlink's GENL_ADMIN_PERM
 * check, netlink_capable(), for the permission; GENL_REQ_ATTR_CHECK() and
 * NL_SET_BAD_ATTR() for the missing and the unknown NAPI ID.
 *
 * Each test runs in a network namespace of its own with two netdevsim
 * devices, A with NQ_A rx queues and B with NQ_B, both up: each rx queue
 * has a NAPI instance.  Needs root in the initial user namespace, netdevsim,
 * and user namespaces for two of the permission tests.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"
#include "epoll_bp_genl.h"
#include "epoll_bp_nsim.h"

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

#define NQ_A 4			/* rx queues, so NAPIs, of device A */
#define NQ_B 2			/* and of device B */
#define NAPIS (NQ_A + NQ_B)
#define UNKNOWN_ID 0xffffffffU	/* a NAPI ID no device has */
#define NO_SUCH_IFINDEX 0x7fffffff
#define PAIR_PORT 4343
#define NOBODY 65534

#define A_DEFER EBP_NETDEV_A_NAPI_DEFER_HARD_IRQS
#define A_GRO EBP_NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT
#define A_SUSPEND EBP_NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT

static const int queues[2] = { NQ_A, NQ_B };

/* What the tests work on: the fixture's data, for helpers to take. */
struct nl_test {
	int fd, family;		/* a netdev genl socket in the test's netns */
	int netns;		/* the test's netns */
	int dev[2];		/* netdevsim device IDs of A and B; 0: none */
	int ifindex[2];
	char name[2][IFNAMSIZ];
	__u32 napi[2][NQ_A];	/* the NAPI IDs of A and of B, ascending */
	struct nsim_pair pair;	/* a linked pair, for the tests needing one */
	int pair_made;
};

FIXTURE(nl)
{
	struct nl_test t;
};

/* The name of netdevsim device @id's port, as this netns's sysfs shows. */
static int nsim_port_name(int id, char *name)
{
	struct dirent *d;
	char path[64];
	int ret = -ENODEV;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/netdevsim/devices/netdevsim%d/net",
		 id);
	dir = opendir(path);
	if (!dir)
		return -errno;
	for (d = readdir(dir); d; d = readdir(dir)) {
		if (d->d_name[0] != '.' && strlen(d->d_name) < IFNAMSIZ) {
			memcpy(name, d->d_name, strlen(d->d_name) + 1);
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

static void sort_ids(__u32 *ids, int n)
{
	__u32 v;
	int i, j;

	for (i = 1; i < n; i++) {
		v = ids[i];
		for (j = i; j > 0 && ids[j - 1] > v; j--)
			ids[j] = ids[j - 1];
		ids[j] = v;
	}
}

/*
 * A netns (and a mount namespace, for a sysfs showing that netns's
 * devices) with devices A and B up, and their NAPI IDs.  Returns 0, or
 * -errno with what failed in @why; *@skip says the kernel lacks something.
 */
static int make_devices(struct nl_test *self, const char **why, int *skip)
{
	struct ebp_napi n[NQ_A + 1];
	struct ebp_genl_req req;
	int i, j, ret;
	char buf[32];

	self->fd = -1;
	self->netns = -1;
	*skip = 1;
	*why = "no netdevsim (CONFIG_NETDEVSIM) or not root";
	if (!nsim_bus_ready())
		return -ENODEV;
	*skip = 0;
	*why = "entering a new netns and mount namespace with its own sysfs";
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL))
		return -errno;
	self->netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self->netns < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		/* "ID PORTS QUEUES"; the port lands in the writer's netns. */
		*why = "creating a netdevsim device";
		j = 3000 + getpid() % 1000 * 2 + i;
		snprintf(buf, sizeof(buf), "%d 1 %d", j, queues[i]);
		ret = ep_write_file("/sys/bus/netdevsim/new_device", buf);
		if (ret)
			return ret;
		self->dev[i] = j;
		*why = "finding the netdevsim port";
		ret = nsim_port_name(self->dev[i], self->name[i]);
		if (ret)
			return ret;
		self->ifindex[i] = if_nametoindex(self->name[i]);
		if (!self->ifindex[i])
			return -errno;
		*why = "bringing the port up (NAPIs are there while it is)";
		ret = nsim_link_up(self->name[i]);
		if (ret)
			return ret;
	}
	*why = "no netdev generic netlink family";
	self->fd = ebp_genl_open(&self->family);
	if (self->fd < 0) {
		*skip = self->fd == -ENOENT;
		return self->fd;
	}
	/* A napi-set without the ID: EINVAL, or EOPNOTSUPP with no such op. */
	*why = "no napi-set command: EOPNOTSUPP (a kernel without per-NAPI settings)";
	ebp_genl_req_init(&req, self->family, EBP_NETDEV_CMD_NAPI_SET, 0);
	ret = ebp_genl_transact(self->fd, &req, NULL, NULL, NULL);
	if (ret == -EOPNOTSUPP) {
		*skip = 1;
		return ret;
	}
	for (i = 0; i < 2; i++) {
		*why = "napi-get dump of a netdevsim port: not one NAPI per rx queue";
		ret = ebp_napi_dump(self->fd, self->family, self->ifindex[i], n,
				    NQ_A + 1);
		if (ret < 0)
			return ret;
		if (ret != queues[i])
			return -EBADMSG;
		for (j = 0; j < queues[i]; j++)
			self->napi[i][j] = n[j].id;
		sort_ids(self->napi[i], queues[i]);
	}
	return 0;
}

static void remove_devices(struct nl_test *self)
{
	char buf[16];
	int i;

	if (self->pair_made)
		nsim_pair_destroy(&self->pair);
	if (self->fd >= 0)
		close(self->fd);
	for (i = 0; i < 2; i++) {
		if (self->dev[i]) {
			snprintf(buf, sizeof(buf), "%d", self->dev[i]);
			ep_write_file("/sys/bus/netdevsim/del_device", buf);
		}
	}
	if (self->netns >= 0)
		close(self->netns);
}

FIXTURE_SETUP(nl)
{
	const char *why;
	int ret, skip;

	ret = make_devices(&self->t, &why, &skip);
	if (ret)
		remove_devices(&self->t);
	if (ret && skip)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(nl)
{
	remove_devices(&self->t);
}

/* NAPI @id reports all three settings, with these values. */
static void expect_settings(struct __test_metadata *_metadata,
			    struct nl_test *self, __u32 id, __u32 defer,
			    __u64 gro, __u64 suspend)
{
	struct ebp_napi n;

	ASSERT_EQ(0, ebp_napi_get(self->fd, self->family, id, &n))
		TH_LOG("napi-get of NAPI %u", id);
	EXPECT_EQ(id, n.id);
	EXPECT_TRUE(n.has_defer && n.has_gro && n.has_suspend)
		TH_LOG("NAPI %u: napi-get must report the three settings", id);
	EXPECT_EQ(defer, n.defer_hard_irqs) TH_LOG("NAPI %u", id);
	EXPECT_EQ(gro, n.gro_flush_timeout) TH_LOG("NAPI %u", id);
	EXPECT_EQ(suspend, n.irq_suspend_timeout) TH_LOG("NAPI %u", id);
}

/* Every NAPI of device @dev (0: A, 1: B) but @except has these values. */
static void expect_device(struct __test_metadata *_metadata,
			  struct nl_test *self, int dev, __u32 except,
			  __u32 defer, __u64 gro, __u64 suspend)
{
	int i;

	for (i = 0; i < queues[dev]; i++)
		if (self->napi[dev][i] != except)
			expect_settings(_metadata, self, self->napi[dev][i],
					defer, gro, suspend);
}

static long long read_sysfs(struct nl_test *self, int dev, const char *file)
{
	char path[128], buf[32] = "";
	long long v = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", self->name[dev],
		 file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtoull(buf, NULL, 0);
	close(fd);
	return v;
}

static int write_sysfs(struct nl_test *self, int dev, const char *file,
		       const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", self->name[dev],
		 file);
	return ep_write_file(path, value);
}

/* A napi-set request for NAPI @id, the ID first: the ID's offset. */
static int set_req(struct nl_test *self, struct ebp_genl_req *req, __u32 id)
{
	ebp_genl_req_init(req, self->family, EBP_NETDEV_CMD_NAPI_SET, 0);
	return ebp_genl_put_u32(req, EBP_NETDEV_A_NAPI_ID, id);
}

/* How the control family describes the family and its two NAPI commands:
 * ctrl_fill_info() reports an op's do and dump flags or'ed, with
 * GENL_CMD_CAP_HASPOL if either has a policy.  napi-set is do only and
 * GENL_ADMIN_PERM; napi-get is do and dump, for everyone.
 */
TEST_F(nl, family_describes_napi_ops)
{
	struct ebp_genl_family fam;

	ASSERT_EQ(0, ebp_genl_resolve(self->t.fd, EBP_NETDEV_FAMILY_NAME, &fam));
	EXPECT_EQ(self->t.family, fam.id);
	EXPECT_EQ(EBP_NETDEV_FAMILY_VERSION, fam.version);
	EXPECT_EQ(GENL_ADMIN_PERM | GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL,
		  fam.op_flags[EBP_NETDEV_CMD_NAPI_SET]);
	EXPECT_EQ(GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL,
		  fam.op_flags[EBP_NETDEV_CMD_NAPI_GET]);
}

#define POL_IDX 4
#define POL_ATTRS 16

struct pol_attr {
	int present;
	__u32 type;
	__u64 min, max;
};

/* One op's policies, as CTRL_CMD_GETPOLICY dumps them. */
struct op_policy {
	int do_idx, dump_idx;	/* -1: none */
	struct pol_attr attr[POL_IDX][POL_ATTRS];
};

/* CTRL_ATTR_OP_POLICY: { cmd: { CTRL_ATTR_POLICY_DO, _DUMP: index } } */
static void op_policy_indexes(const struct nlattr *a, struct op_policy *p)
{
	const struct nlattr *op, *x;

	for (op = ebp_nla_at(ebp_nla_data(a), ebp_nla_end(a)); op;
	     op = ebp_nla_next(op, ebp_nla_end(a))) {
		x = ebp_nla_find(op, CTRL_ATTR_POLICY_DO);
		if (x)
			p->do_idx = ebp_nla_u32(x);
		x = ebp_nla_find(op, CTRL_ATTR_POLICY_DUMP);
		if (x)
			p->dump_idx = ebp_nla_u32(x);
	}
}

/* CTRL_ATTR_POLICY: { index: { attribute: { NL_POLICY_TYPE_ATTR_* } } } */
static void op_policy_attrs(const struct nlattr *a, struct op_policy *p)
{
	const struct nlattr *idx, *at, *x;
	struct pol_attr *pa;

	for (idx = ebp_nla_at(ebp_nla_data(a), ebp_nla_end(a)); idx;
	     idx = ebp_nla_next(idx, ebp_nla_end(a))) {
		if (ebp_nla_type(idx) >= POL_IDX)
			continue;
		for (at = ebp_nla_at(ebp_nla_data(idx), ebp_nla_end(idx)); at;
		     at = ebp_nla_next(at, ebp_nla_end(idx))) {
			if (ebp_nla_type(at) >= POL_ATTRS)
				continue;
			pa = &p->attr[ebp_nla_type(idx)][ebp_nla_type(at)];
			pa->present = 1;
			x = ebp_nla_find(at, NL_POLICY_TYPE_ATTR_TYPE);
			pa->type = x ? ebp_nla_u32(x) : 0;
			x = ebp_nla_find(at, NL_POLICY_TYPE_ATTR_MIN_VALUE_U);
			pa->min = x ? ebp_nla_u64(x) : 0;
			x = ebp_nla_find(at, NL_POLICY_TYPE_ATTR_MAX_VALUE_U);
			pa->max = x ? ebp_nla_u64(x) : 0;
		}
	}
}

static int op_policy_cb(const struct nlmsghdr *nlh, void *arg)
{
	const void *end = ebp_genl_end(nlh);
	const struct nlattr *a;

	for (a = ebp_genl_first(nlh); a; a = ebp_nla_next(a, end)) {
		if (ebp_nla_type(a) == CTRL_ATTR_OP_POLICY)
			op_policy_indexes(a, arg);
		else if (ebp_nla_type(a) == CTRL_ATTR_POLICY)
			op_policy_attrs(a, arg);
	}
	return 0;
}

static int get_op_policy(struct nl_test *self, __u8 cmd,
			 struct op_policy *p)
{
	struct ebp_genl_req req;
	__u16 family = self->family;

	memset(p, 0, sizeof(*p));
	p->do_idx = -1;
	p->dump_idx = -1;
	ebp_genl_req_init(&req, GENL_ID_CTRL, CTRL_CMD_GETPOLICY, NLM_F_DUMP);
	ebp_genl_put(&req, CTRL_ATTR_FAMILY_ID, &family, sizeof(family));
	ebp_genl_put_u32(&req, CTRL_ATTR_OP, cmd);
	return ebp_genl_transact(self->fd, &req, op_policy_cb, p, NULL);
}

/*
 * The attributes of the NAPI set (1 to 7) that policy @idx has, bit N for
 * attribute N.  Later kernels add more (threaded, 8, in 6.16): not here.
 */
static unsigned int policy_attrs(const struct op_policy *p, int idx)
{
	unsigned int mask = 0;
	int i;

	for (i = 0; i <= A_SUSPEND; i++)
		if (p->attr[idx][i].present)
			mask |= 1U << i;
	return mask;
}

static void expect_pol(struct __test_metadata *_metadata,
		       const struct pol_attr *pa, __u32 type, __u64 min,
		       __u64 max)
{
	EXPECT_EQ(type, pa->type);
	EXPECT_EQ(min, pa->min);
	EXPECT_EQ(max, pa->max);
}

/* The policies as the netlink spec gives them, dumped by the kernel
 * (net/netlink/policy.c): of the NAPI attributes, napi-set takes id (u32),
 * defer-hard-irqs (u32, at most S32_MAX), gro-flush-timeout and
 * irq-suspend-timeout (uint), not ifindex, irq or pid, and has no dump;
 * napi-get takes id (do) or ifindex (dump, at least 1).
 */
TEST_F(nl, policies_match_spec)
{
	struct op_policy p;

	ASSERT_EQ(0, get_op_policy(&self->t, EBP_NETDEV_CMD_NAPI_SET, &p));
	ASSERT_LE(0, p.do_idx);
	ASSERT_GT(POL_IDX, p.do_idx);
	EXPECT_EQ(-1, p.dump_idx);
	EXPECT_EQ(1U << EBP_NETDEV_A_NAPI_ID | 1U << A_DEFER | 1U << A_GRO |
		  1U << A_SUSPEND, policy_attrs(&p, p.do_idx));
	expect_pol(_metadata, &p.attr[p.do_idx][EBP_NETDEV_A_NAPI_ID],
		   EBP_NL_ATTR_TYPE_U32, 0, UINT32_MAX);
	expect_pol(_metadata, &p.attr[p.do_idx][A_DEFER],
		   EBP_NL_ATTR_TYPE_U32, 0, EP_S32_MAX);
	expect_pol(_metadata, &p.attr[p.do_idx][A_GRO],
		   EBP_NL_ATTR_TYPE_UINT, 0, UINT64_MAX);
	expect_pol(_metadata, &p.attr[p.do_idx][A_SUSPEND],
		   EBP_NL_ATTR_TYPE_UINT, 0, UINT64_MAX);

	ASSERT_EQ(0, get_op_policy(&self->t, EBP_NETDEV_CMD_NAPI_GET, &p));
	ASSERT_LE(0, p.do_idx);
	ASSERT_GT(POL_IDX, p.do_idx);
	ASSERT_LE(0, p.dump_idx);
	ASSERT_GT(POL_IDX, p.dump_idx);
	EXPECT_EQ(1U << EBP_NETDEV_A_NAPI_ID, policy_attrs(&p, p.do_idx));
	expect_pol(_metadata, &p.attr[p.do_idx][EBP_NETDEV_A_NAPI_ID],
		   EBP_NL_ATTR_TYPE_U32, 0, UINT32_MAX);
	EXPECT_EQ(1U << EBP_NETDEV_A_NAPI_IFINDEX, policy_attrs(&p, p.dump_idx));
	expect_pol(_metadata, &p.attr[p.dump_idx][EBP_NETDEV_A_NAPI_IFINDEX],
		   EBP_NL_ATTR_TYPE_U32, 1, UINT32_MAX);
}

/* napi-get, do and dump, reports the three settings of every NAPI: zero
 * on new devices (the device-wide defaults are 0).
 */
TEST_F(nl, napi_get_reports_settings)
{
	struct ebp_napi n[NAPIS + 1];
	int i, count;

	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
	expect_device(_metadata, &self->t, 1, 0, 0, 0, 0);
	count = ebp_napi_dump(self->t.fd, self->t.family, 0, n, NAPIS + 1);
	ASSERT_EQ(NAPIS, count) TH_LOG("only A and B have NAPIs in this netns");
	for (i = 0; i < count; i++) {
		EXPECT_TRUE(n[i].has_defer && n[i].has_gro && n[i].has_suspend)
			TH_LOG("dump: NAPI %u lacks a setting", n[i].id);
		EXPECT_EQ(0, n[i].defer_hard_irqs);
		EXPECT_EQ(0, n[i].gro_flush_timeout);
		EXPECT_EQ(0, n[i].irq_suspend_timeout);
	}
}

/* defer-hard-irqs: NLA_POLICY_FULL_RANGE(NLA_U32, max S32_MAX): 0 and
 * S32_MAX are taken, anything above is ERANGE ("integer out of range",
 * nla_validate_range_unsigned()), the extack pointing at the attribute and
 * carrying its policy.  A refused request changes nothing, not even the
 * valid settings before the bad one (genetlink validates before the doit).
 */
TEST_F(nl, defer_hard_irqs_range)
{
	static const __u32 too_big[] = { EP_S32_MAX + 1, UINT32_MAX };
	__u32 id = self->t.napi[0][0];
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	int i, off;

	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, id, 0, -1, -1));
	expect_settings(_metadata, &self->t, id, 0, 0, 0);
	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, id, EP_S32_MAX, -1,
				  -1));
	expect_settings(_metadata, &self->t, id, EP_S32_MAX, 0, 0);

	for (i = 0; i < 2; i++) {
		set_req(&self->t, &req, id);
		ebp_genl_put_uint(&req, A_GRO, 777);
		off = ebp_genl_put_u32(&req, A_DEFER, too_big[i]);
		EXPECT_EQ(-ERANGE, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("%u", too_big[i]);
		EXPECT_TRUE(ack.has_offs);
		EXPECT_EQ(off, ack.offs);
		EXPECT_STREQ("integer out of range", ack.msg);
		EXPECT_TRUE(ack.has_policy);
		EXPECT_EQ(EBP_NL_ATTR_TYPE_U32, ack.policy_type);
		EXPECT_TRUE(ack.has_policy_max);
		EXPECT_EQ(EP_S32_MAX, ack.policy_max);
		expect_settings(_metadata, &self->t, id, EP_S32_MAX, 0, 0);
	}
}

/* Wrong lengths are EINVAL "invalid attribute length" under the strict
 * validation genetlink applies (NL_VALIDATE_STRICT_ATTRS): a u32 must be 4
 * bytes, a uint 4 or 8.  Each bad request also carries valid settings
 * (and, for a bad ID, payload bytes that a lax parser would take as the
 * ID), which must not be applied.
 */
TEST_F(nl, wrong_lengths_refused)
{
	static const struct {
		__u16 type, len;
		__u32 policy_type;
	} bad[] = {
		{ EBP_NETDEV_A_NAPI_ID, 0, EBP_NL_ATTR_TYPE_U32 },
		{ EBP_NETDEV_A_NAPI_ID, 2, EBP_NL_ATTR_TYPE_U32 },
		{ EBP_NETDEV_A_NAPI_ID, 8, EBP_NL_ATTR_TYPE_U32 },
		{ A_DEFER, 0, EBP_NL_ATTR_TYPE_U32 },
		{ A_DEFER, 1, EBP_NL_ATTR_TYPE_U32 },
		{ A_DEFER, 2, EBP_NL_ATTR_TYPE_U32 },
		{ A_DEFER, 8, EBP_NL_ATTR_TYPE_U32 },
		{ A_GRO, 0, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 1, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 2, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 3, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 5, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 6, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 7, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 12, EBP_NL_ATTR_TYPE_UINT },
		{ A_GRO, 16, EBP_NL_ATTR_TYPE_UINT },
		{ A_SUSPEND, 0, EBP_NL_ATTR_TYPE_UINT },
		{ A_SUSPEND, 2, EBP_NL_ATTR_TYPE_UINT },
		{ A_SUSPEND, 7, EBP_NL_ATTR_TYPE_UINT },
		{ A_SUSPEND, 12, EBP_NL_ATTR_TYPE_UINT },
	};
	__u32 id = self->t.napi[0][0], payload[4] = { id, id, id, id };
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	unsigned int i;
	int off;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_SET, 0);
		ebp_genl_put_u32(&req, A_DEFER, 5);
		if (bad[i].type == EBP_NETDEV_A_NAPI_ID) {
			off = ebp_genl_put(&req, bad[i].type, payload, bad[i].len);
		} else {
			ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
			ebp_genl_put_u32(&req, A_GRO, 5);
			/* A bad defer-hard-irqs comes after the good one. */
			off = ebp_genl_put(&req, bad[i].type, "\x01\x01\x01\x01"
					   "\x01\x01\x01\x01\x01\x01\x01\x01"
					   "\x01\x01\x01\x01", bad[i].len);
		}
		EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack))
			TH_LOG("attribute %u, %u bytes", bad[i].type, bad[i].len);
		EXPECT_TRUE(ack.has_offs);
		EXPECT_EQ(off, ack.offs);
		EXPECT_STREQ("invalid attribute length", ack.msg);
		EXPECT_TRUE(ack.has_policy);
		EXPECT_EQ(bad[i].policy_type, ack.policy_type);
	}
	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
}

/* The reply's attribute: its length and value (last of that type). */
struct raw_napi {
	int len[8];
	__u64 val[8];
};

static int raw_napi_cb(const struct nlmsghdr *nlh, void *arg)
{
	const void *end = ebp_genl_end(nlh);
	struct raw_napi *r = arg;
	const struct nlattr *a;

	for (a = ebp_genl_first(nlh); a; a = ebp_nla_next(a, end)) {
		if (ebp_nla_type(a) < 8) {
			r->len[ebp_nla_type(a)] = ebp_nla_len(a);
			r->val[ebp_nla_type(a)] = ebp_nla_uint(a);
		}
	}
	return 0;
}

static int raw_get(struct nl_test *self, __u32 id, struct raw_napi *r)
{
	struct ebp_genl_req req;

	memset(r, 0, sizeof(*r));
	ebp_genl_req_init(&req, self->family, EBP_NETDEV_CMD_NAPI_GET, 0);
	ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
	return ebp_genl_transact(self->fd, &req, raw_napi_cb, r, NULL);
}

/* The timeouts are uints: taken as 4 or 8 bytes, u64 values round-trip,
 * and replies use nla_put_uint(): 4 bytes when the value fits, else 8.
 */
TEST_F(nl, uint_timeouts_take_4_and_8_bytes)
{
	static const struct {
		__u64 gro, suspend;
		int gro_len, suspend_len;	/* bytes sent */
	} set[] = {
		{ 1000, 2000, 4, 8 },
		{ 3000, 4000, 8, 4 },
		{ 0x123456789abcdef0ULL, UINT64_MAX, 8, 8 },
		{ 1ULL << 32, UINT32_MAX, 8, 8 },
		{ 5, 6, 4, 4 },
	};
	__u32 id = self->t.napi[0][1];
	struct ebp_genl_req req;
	struct raw_napi r;
	struct ebp_napi n[NQ_A];
	unsigned int i;
	int j, count;

	for (i = 0; i < ARRAY_SIZE(set); i++) {
		set_req(&self->t, &req, id);
		if (set[i].gro_len == 4)
			ebp_genl_put_u32(&req, A_GRO, set[i].gro);
		else
			ebp_genl_put_u64(&req, A_GRO, set[i].gro);
		if (set[i].suspend_len == 4)
			ebp_genl_put_u32(&req, A_SUSPEND, set[i].suspend);
		else
			ebp_genl_put_u64(&req, A_SUSPEND, set[i].suspend);
		ASSERT_EQ(0, ebp_genl_transact(self->t.fd, &req, NULL, NULL, NULL))
			TH_LOG("case %u", i);

		ASSERT_EQ(0, raw_get(&self->t, id, &r));
		EXPECT_EQ(set[i].gro, r.val[A_GRO]) TH_LOG("case %u", i);
		EXPECT_EQ(set[i].gro == (__u32)set[i].gro ? 4 : 8, r.len[A_GRO])
			TH_LOG("case %u", i);
		EXPECT_EQ(set[i].suspend, r.val[A_SUSPEND]) TH_LOG("case %u", i);
		EXPECT_EQ(set[i].suspend == (__u32)set[i].suspend ? 4 : 8,
			  r.len[A_SUSPEND]) TH_LOG("case %u", i);
		EXPECT_EQ(4, r.len[A_DEFER]);
		expect_settings(_metadata, &self->t, id, 0, set[i].gro,
				set[i].suspend);

		count = ebp_napi_dump(self->t.fd, self->t.family, self->t.ifindex[0],
				      n, NQ_A);
		ASSERT_EQ(NQ_A, count);
		for (j = 0; j < count; j++) {
			if (n[j].id != id)
				continue;
			EXPECT_EQ(set[i].gro, n[j].gro_flush_timeout);
			EXPECT_EQ(set[i].suspend, n[j].irq_suspend_timeout);
		}
	}
	expect_device(_metadata, &self->t, 0, id, 0, 0, 0);
}

/* A value set on one NAPI shows on it, through napi-get and dump, and on
 * no other NAPI of the device or of another device; a napi-set without a
 * setting changes nothing, one with a single setting only that one.  The
 * device-wide sysfs values stay as they were.
 */
TEST_F(nl, settings_are_per_napi)
{
	__u32 a0 = self->t.napi[0][0], a2 = self->t.napi[0][2];

	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a0, 3, 4000, 5000000));
	expect_settings(_metadata, &self->t, a0, 3, 4000, 5000000);
	expect_device(_metadata, &self->t, 0, a0, 0, 0, 0);
	expect_device(_metadata, &self->t, 1, 0, 0, 0, 0);

	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a2, -1, 6000, -1));
	expect_settings(_metadata, &self->t, a2, 0, 6000, 0);
	expect_settings(_metadata, &self->t, a0, 3, 4000, 5000000);

	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a0, -1, -1, -1));
	expect_settings(_metadata, &self->t, a0, 3, 4000, 5000000);
	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a0, 7, -1, -1));
	expect_settings(_metadata, &self->t, a0, 7, 4000, 5000000);
	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a0, -1, -1, 0));
	expect_settings(_metadata, &self->t, a0, 7, 4000, 0);

	EXPECT_EQ(0, read_sysfs(&self->t, 0, "napi_defer_hard_irqs"));
	EXPECT_EQ(0, read_sysfs(&self->t, 0, "gro_flush_timeout"));
}

/* No ID: GENL_REQ_ATTR_CHECK() fails with EINVAL and names the missing
 * attribute (NLMSGERR_ATTR_MISS_TYPE; top level, so no MISS_NEST), for
 * napi-set with or without settings and for napi-get (do).
 */
TEST_F(nl, missing_id_is_einval)
{
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	int i;

	for (i = 0; i < 3; i++) {
		ebp_genl_req_init(&req, self->t.family, i < 2 ?
				  EBP_NETDEV_CMD_NAPI_SET :
				  EBP_NETDEV_CMD_NAPI_GET, 0);
		if (i == 1) {
			ebp_genl_put_u32(&req, A_DEFER, 5);
			ebp_genl_put_uint(&req, A_GRO, 5);
		}
		EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("case %d", i);
		EXPECT_TRUE(ack.has_miss_type) TH_LOG("case %d", i);
		EXPECT_EQ(EBP_NETDEV_A_NAPI_ID, ack.miss_type);
		EXPECT_FALSE(ack.has_miss_nest);
		EXPECT_FALSE(ack.has_offs);
	}
	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
	expect_device(_metadata, &self->t, 1, 0, 0, 0, 0);
}

/* An ID no NAPI has is ENOENT, with NL_SET_BAD_ATTR() on the ID: the
 * extack's offset is the ID attribute's, wherever it is in the request.
 */
TEST_F(nl, unknown_id_is_enoent)
{
	static const __u32 ids[] = { UNKNOWN_ID, 0 };
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	int i, off;

	for (i = 0; i < 2; i++) {
		ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_SET, 0);
		ebp_genl_put_u32(&req, A_DEFER, 1);
		off = ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, ids[i]);
		ebp_genl_put_uint(&req, A_GRO, 1);
		EXPECT_EQ(-ENOENT, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("ID %u", ids[i]);
		EXPECT_TRUE(ack.has_offs);
		EXPECT_EQ(off, ack.offs);
		EXPECT_FALSE(ack.has_miss_type);

		ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_GET, 0);
		off = ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, ids[i]);
		EXPECT_EQ(-ENOENT, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("ID %u", ids[i]);
		EXPECT_TRUE(ack.has_offs);
		EXPECT_EQ(off, ack.offs);
	}
	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
}

/* Attributes napi-set does not take: types 0 and above the maximum are
 * "Unknown attribute type" (NL_VALIDATE_MAXTYPE), the NAPI attributes
 * outside its policy "Unsupported attribute" (NL_VALIDATE_UNSPEC), a u32
 * flagged NLA_F_NESTED "NLA_F_NESTED not expected" (NL_VALIDATE_NESTED):
 * all EINVAL with the offset of the attribute.  An attribute whose length
 * is below its header or past the message leaves "bytes leftover after
 * parsing attributes" (NL_VALIDATE_TRAILING): EINVAL, no offset.
 */
TEST_F(nl, malformed_attributes_refused)
{
	static const struct {
		__u16 type;
		const char *msg;
	} bad[] = {
		{ 0, "Unknown attribute type" },
		{ 100, "Unknown attribute type" },
		{ 0x3fff, "Unknown attribute type" },	/* the highest */
		{ EBP_NETDEV_A_NAPI_IFINDEX, "Unsupported attribute" },
		{ EBP_NETDEV_A_NAPI_IRQ, "Unsupported attribute" },
		{ EBP_NETDEV_A_NAPI_PID, "Unsupported attribute" },
		{ EBP_NETDEV_A_NAPI_ID | NLA_F_NESTED, "NLA_F_NESTED not expected" },
		{ A_DEFER | NLA_F_NESTED, "NLA_F_NESTED not expected" },
	};
	static const struct nlattr short_hdr = { .nla_len = 3, .nla_type = A_DEFER };
	static const struct nlattr long_hdr = { .nla_len = 64, .nla_type = A_DEFER };
	__u32 id = self->t.napi[0][0], one = 1;
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	unsigned int i;
	int off;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		set_req(&self->t, &req, id);
		ebp_genl_put_u32(&req, A_DEFER, 5);
		off = ebp_genl_put_u32(&req, bad[i].type, id);
		EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("type %#x", bad[i].type);
		EXPECT_TRUE(ack.has_offs);
		EXPECT_EQ(off, ack.offs);
		EXPECT_STREQ(bad[i].msg, ack.msg);
	}
	for (i = 0; i < 2; i++) {
		set_req(&self->t, &req, id);
		ebp_genl_put_u32(&req, A_DEFER, 5);
		ebp_genl_put_raw(&req, i ? &long_hdr : &short_hdr, NLA_HDRLEN);
		ebp_genl_put_raw(&req, &one, sizeof(one));
		EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						     &ack)) TH_LOG("nla_len %u", i ? 64 : 3);
		EXPECT_STREQ("bytes leftover after parsing attributes", ack.msg);
		EXPECT_FALSE(ack.has_offs);
	}
	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
}

/* Genetlink's own checks on napi-set: a dump request finds no dump op
 * (EOPNOTSUPP: the command is do only); the family validates headers from
 * its first command on (resv_start_op 0), so a non-zero reserved field or
 * an nlmsg flag other than REQUEST, ACK, ECHO or DUMP is EINVAL.
 */
TEST_F(nl, genl_header_checks)
{
	__u32 id = self->t.napi[0][0];
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;

	ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_SET,
			  NLM_F_DUMP);
	ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
	ebp_genl_put_u32(&req, A_DEFER, 5);
	EXPECT_EQ(-EOPNOTSUPP, ebp_genl_transact(self->t.fd, &req, NULL, NULL,
						 &ack));

	set_req(&self->t, &req, id);
	ebp_genl_put_u32(&req, A_DEFER, 5);
	req.genl.reserved = 1;
	EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL, &ack));
	EXPECT_STREQ("genlmsghdr.reserved field is not 0", ack.msg);

	ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_SET,
			  NLM_F_ROOT);
	ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, id);
	ebp_genl_put_u32(&req, A_DEFER, 5);
	EXPECT_EQ(-EINVAL, ebp_genl_transact(self->t.fd, &req, NULL, NULL, &ack));
	EXPECT_STREQ("ambiguous or reserved bits set in nlmsg_flags", ack.msg);

	expect_settings(_metadata, &self->t, id, 0, 0, 0);
}

struct id_set {
	__u32 ids[NAPIS + 1];
	int count, rx_queues;
};

static int queue_napi_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *type, *napi;
	struct id_set *s = arg;

	type = ebp_genl_attr(nlh, EBP_NETDEV_A_QUEUE_TYPE);
	napi = ebp_genl_attr(nlh, EBP_NETDEV_A_QUEUE_NAPI_ID);
	if (!type || ebp_nla_u32(type) != EBP_NETDEV_QUEUE_TYPE_RX)
		return 0;
	s->rx_queues++;
	if (napi && s->count < NAPIS + 1)
		s->ids[s->count++] = ebp_nla_u32(napi);
	return 0;
}

/* A napi-get dump filtered by ifindex has exactly that device's NAPIs:
 * the IDs its rx queues name (queue-get, which netdevsim fills in with
 * netif_queue_set_napi()).  Unfiltered, it has both devices' NAPIs.  An
 * ifindex of 0 is refused by the dump policy (NLA_POLICY_MIN 1: ERANGE),
 * one no device has is ENODEV, one of a device without NAPIs gives none.
 */
TEST_F(nl, dump_filters_by_device)
{
	struct ebp_napi n[NAPIS + 1];
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	struct id_set q;
	__u32 ids[NAPIS + 1];
	int dev, i, off, count;

	for (dev = 0; dev < 2; dev++) {
		count = ebp_napi_dump(self->t.fd, self->t.family, self->t.ifindex[dev],
				      n, NAPIS + 1);
		ASSERT_EQ(queues[dev], count) TH_LOG("%s", self->t.name[dev]);
		for (i = 0; i < count; i++) {
			EXPECT_EQ(self->t.ifindex[dev], n[i].ifindex);
			ids[i] = n[i].id;
		}
		sort_ids(ids, count);
		for (i = 0; i < count; i++) {
			EXPECT_EQ(self->t.napi[dev][i], ids[i]);
			if (i)
				EXPECT_LT(ids[i - 1], ids[i]) TH_LOG("IDs repeat");
		}

		memset(&q, 0, sizeof(q));
		ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_QUEUE_GET,
				  NLM_F_DUMP);
		ebp_genl_put_u32(&req, EBP_NETDEV_A_QUEUE_IFINDEX,
				 self->t.ifindex[dev]);
		ASSERT_EQ(0, ebp_genl_transact(self->t.fd, &req, queue_napi_cb,
					       &q, NULL));
		EXPECT_EQ(queues[dev], q.rx_queues);
		ASSERT_EQ(queues[dev], q.count);
		sort_ids(q.ids, q.count);
		for (i = 0; i < q.count; i++)
			EXPECT_EQ(self->t.napi[dev][i], q.ids[i]) TH_LOG("rx queue");
	}

	count = ebp_napi_dump(self->t.fd, self->t.family, 0, n, NAPIS + 1);
	ASSERT_EQ(NAPIS, count);
	for (i = 0; i < count; i++)
		EXPECT_TRUE(n[i].ifindex == self->t.ifindex[0] ||
			    n[i].ifindex == self->t.ifindex[1]);

	ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_GET,
			  NLM_F_DUMP);
	off = ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_IFINDEX, 0);
	EXPECT_EQ(-ERANGE, ebp_genl_transact(self->t.fd, &req, NULL, NULL, &ack));
	EXPECT_TRUE(ack.has_offs);
	EXPECT_EQ(off, ack.offs);
	EXPECT_EQ(-ENODEV, ebp_napi_dump(self->t.fd, self->t.family,
					 NO_SUCH_IFINDEX, n, NAPIS + 1));
	EXPECT_EQ(0, ebp_napi_dump(self->t.fd, self->t.family,
				   if_nametoindex("lo"), n, NAPIS + 1));
}

/* Writing the per-device sysfs files sets that value on every NAPI of the
 * device (as mainline's netdev_set_defer_hard_irqs() and
 * netdev_set_gro_flush_timeout() do), over per-NAPI values, and on no
 * other device's; irq-suspend-timeout has no such file and stays.  The
 * files keep refusing a defer above S32_MAX (ERANGE).
 */
TEST_F(nl, sysfs_sets_every_napi_of_the_device)
{
	__u32 a1 = self->t.napi[0][1];

	ASSERT_EQ(0, ebp_napi_set(self->t.fd, self->t.family, a1, 2, 3, 4));
	ASSERT_EQ(0, write_sysfs(&self->t, 0, "napi_defer_hard_irqs", "11"));
	ASSERT_EQ(0, write_sysfs(&self->t, 0, "gro_flush_timeout", "22222"));
	EXPECT_EQ(11, read_sysfs(&self->t, 0, "napi_defer_hard_irqs"));
	EXPECT_EQ(22222, read_sysfs(&self->t, 0, "gro_flush_timeout"));
	expect_device(_metadata, &self->t, 0, a1, 11, 22222, 0);
	expect_settings(_metadata, &self->t, a1, 11, 22222, 4);
	expect_device(_metadata, &self->t, 1, 0, 0, 0, 0);

	EXPECT_EQ(-ERANGE, write_sysfs(&self->t, 0, "napi_defer_hard_irqs",
				       "2147483648"));
	expect_device(_metadata, &self->t, 0, a1, 11, 22222, 0);

	ASSERT_EQ(0, write_sysfs(&self->t, 0, "gro_flush_timeout",
				 "18446744073709551615"));
	expect_device(_metadata, &self->t, 0, a1, 11, UINT64_MAX, 0);
	expect_settings(_metadata, &self->t, a1, 11, UINT64_MAX, 4);

	ASSERT_EQ(0, write_sysfs(&self->t, 1, "napi_defer_hard_irqs", "0"));
	ASSERT_EQ(0, write_sysfs(&self->t, 1, "gro_flush_timeout", "0"));
	expect_device(_metadata, &self->t, 1, 0, 0, 0, 0);
}

/* Opens a netdev genl socket in netns @ns, and finds @name's ifindex
 * there; returns to the test's netns.  The socket, or -errno.
 */
static int open_in(struct nl_test *self, int ns, const char *name,
		   int *family, int *ifindex)
{
	int fd;

	if (setns(ns, CLONE_NEWNET))
		return -errno;
	fd = ebp_genl_open(family);
	*ifindex = if_nametoindex(name);
	if (setns(self->netns, CLONE_NEWNET)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	return fd;
}

static int make_pair(struct nl_test *self, const char **why)
{
	self->pair_made = 1;
	return nsim_pair_create(&self->pair, PAIR_PORT, why);
}

/* A NAPI of a device in another netns: napi-set and napi-get of its ID
 * are ENOENT from here (netdev_napi_by_id() of the socket's netns), as
 * they would be for an ID no NAPI has, and a dump here leaves it out; from
 * its own netns, napi-set works, and A's NAPIs are ENOENT there.
 */
TEST_F(nl, napi_of_another_netns_is_enoent)
{
	int fd1, family1, ifindex1, i, off, count;
	struct ebp_napi n[NAPIS + 1];
	struct ebp_genl_req req;
	struct ebp_genl_ack ack;
	const char *why;
	__u32 x;

	ASSERT_EQ(0, make_pair(&self->t, &why)) TH_LOG("%s", why);
	fd1 = open_in(&self->t, self->t.pair.ns[1], self->t.pair.port[1], &family1,
		      &ifindex1);
	ASSERT_LE(0, fd1);
	count = ebp_napi_dump(fd1, family1, ifindex1, n, NAPIS + 1);
	ASSERT_EQ(1, count) TH_LOG("the pair's ports have one queue each");
	x = n[0].id;

	off = set_req(&self->t, &req, x);
	ebp_genl_put_u32(&req, A_DEFER, 5);
	EXPECT_EQ(-ENOENT, ebp_genl_transact(self->t.fd, &req, NULL, NULL, &ack));
	EXPECT_TRUE(ack.has_offs);
	EXPECT_EQ(off, ack.offs);
	ebp_genl_req_init(&req, self->t.family, EBP_NETDEV_CMD_NAPI_GET, 0);
	off = ebp_genl_put_u32(&req, EBP_NETDEV_A_NAPI_ID, x);
	EXPECT_EQ(-ENOENT, ebp_genl_transact(self->t.fd, &req, NULL, NULL, &ack));
	EXPECT_EQ(off, ack.offs);
	count = ebp_napi_dump(self->t.fd, self->t.family, 0, n, NAPIS + 1);
	EXPECT_EQ(NAPIS, count);
	for (i = 0; i < count && i < NAPIS + 1; i++)
		EXPECT_NE(x, n[i].id);

	EXPECT_EQ(0, ebp_napi_set(fd1, family1, x, 5, 6, 7));
	ASSERT_EQ(0, ebp_napi_get(fd1, family1, x, &n[0]));
	EXPECT_EQ(5, n[0].defer_hard_irqs);
	EXPECT_EQ(6, n[0].gro_flush_timeout);
	EXPECT_EQ(7, n[0].irq_suspend_timeout);
	EXPECT_EQ(ifindex1, n[0].ifindex);
	EXPECT_EQ(-ENOENT, ebp_napi_set(fd1, family1, self->t.napi[0][0], 5, 6,
					7));
	EXPECT_EQ(-ENOENT, ebp_napi_get(fd1, family1, self->t.napi[0][0], &n[0]));
	close(fd1);
	expect_device(_metadata, &self->t, 0, 0, 0, 0, 0);
}

/* The NAPI ID napi-get gives for a device's only rx queue is the one a
 * socket that received a packet through it reports (SO_INCOMING_NAPI_ID).
 */
TEST_F(nl, napi_id_matches_so_incoming_napi_id)
{
	int fd1, family1, ifindex1, count;
	struct pollfd pfd = { .events = POLLIN };
	socklen_t len = sizeof(__u32);
	struct ebp_napi n[2];
	const char *why;
	__u32 nid = 0;
	char buf[8];

	ASSERT_EQ(0, make_pair(&self->t, &why)) TH_LOG("%s", why);
	fd1 = open_in(&self->t, self->t.pair.ns[1], self->t.pair.port[1], &family1,
		      &ifindex1);
	ASSERT_LE(0, fd1);

	ASSERT_EQ(0, nsim_send(self->t.pair.sock[0], 2, PAIR_PORT, "napi", 4));
	pfd.fd = self->t.pair.sock[1];
	ASSERT_EQ(1, poll(&pfd, 1, 5000)) TH_LOG("the packet did not arrive");
	ASSERT_EQ(4, recv(self->t.pair.sock[1], buf, sizeof(buf), 0));
	ASSERT_EQ(0, getsockopt(self->t.pair.sock[1], SOL_SOCKET,
				SO_INCOMING_NAPI_ID, &nid, &len));
	ASSERT_NE(0, nid) TH_LOG("no NAPI ID (CONFIG_NET_RX_BUSY_POLL?)");

	count = ebp_napi_dump(fd1, family1, ifindex1, n, 2);
	ASSERT_EQ(1, count);
	EXPECT_EQ(nid, n[0].id);
	EXPECT_EQ(ifindex1, n[0].ifindex);
	ASSERT_EQ(0, ebp_napi_get(fd1, family1, nid, &n[1]));
	EXPECT_EQ(ifindex1, n[1].ifindex);
	close(fd1);
}

/* How a permission test's child process gets to lack CAP_NET_ADMIN (in
 * the initial user namespace), and what it saw.
 */
enum perm_mode {
	PERM_NOBODY,		/* setresuid() to nobody: no capabilities */
	PERM_DROP_BEFORE_OPEN,	/* root without CAP_NET_ADMIN in effect */
	PERM_DROP_AFTER_OPEN,	/* the opener had it, the sender has not */
	PERM_RAISE_AFTER_OPEN,	/* the sender has it, the opener had not */
	PERM_USERNS,		/* in a new user namespace, where it has it */
	PERM_USERNS_NETNS,	/* and in a netns owned by that namespace */
};

struct perm_result {
	int step;		/* 0, or -errno of the step in @why */
	int skip;		/* that step needs what the kernel lacks */
	const char *why;
	int cap;		/* CAP_NET_ADMIN in effect (its own userns) */
	int set, set_noid, get;	/* napi-set, napi-set without ID, napi-get */
	__u32 defer;		/* what napi-get reported */
};

static int raise_effective_cap(int cap)
{
	struct ep_cap_header hdr;
	struct ep_cap_data data[2];
	int ret = ep_capget(&hdr, data);

	if (ret)
		return ret;
	data[cap / 32].effective |= 1U << (cap % 32);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int perm_step(struct perm_result *r, int ret, const char *why)
{
	if (ret && !r->step) {
		r->step = ret;
		r->why = why;
	}
	return ret;
}

static void perm_child(struct nl_test *self, enum perm_mode mode,
		       struct perm_result *r)
{
	__u32 id = self->napi[0][0];
	struct ebp_genl_req req;
	int fd = -1, family = 0;
	struct ebp_napi n = {};

	r->step = 0;
	switch (mode) {
	case PERM_NOBODY:
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			perm_step(r, -errno, "becoming nobody");
		break;
	case PERM_DROP_BEFORE_OPEN:
		perm_step(r, ep_drop_effective_cap(EP_CAP_NET_ADMIN),
			  "dropping CAP_NET_ADMIN");
		break;
	case PERM_DROP_AFTER_OPEN:
		fd = ebp_genl_open(&family);
		perm_step(r, fd < 0 ? fd : 0, "opening the socket");
		perm_step(r, ep_drop_effective_cap(EP_CAP_NET_ADMIN),
			  "dropping CAP_NET_ADMIN");
		break;
	case PERM_RAISE_AFTER_OPEN:
		perm_step(r, ep_drop_effective_cap(EP_CAP_NET_ADMIN),
			  "dropping CAP_NET_ADMIN");
		fd = ebp_genl_open(&family);
		perm_step(r, fd < 0 ? fd : 0, "opening the socket");
		perm_step(r, raise_effective_cap(EP_CAP_NET_ADMIN),
			  "raising CAP_NET_ADMIN again");
		break;
	case PERM_USERNS:
	case PERM_USERNS_NETNS:
		if (perm_step(r, unshare(CLONE_NEWUSER) ? -errno : 0,
			      "no user namespaces: unshare(CLONE_NEWUSER) failed")) {
			r->skip = 1;
			break;
		}
		if (mode == PERM_USERNS_NETNS)
			perm_step(r, unshare(CLONE_NEWNET) ? -errno : 0,
				  "a netns in the new user namespace");
		break;
	}
	if (r->step)
		return;
	if (fd < 0) {
		fd = ebp_genl_open(&family);
		if (perm_step(r, fd < 0 ? fd : 0, "opening the socket"))
			return;
	}
	r->cap = ep_has_effective_cap(EP_CAP_NET_ADMIN);
	r->set = ebp_napi_set(fd, family, id, 9, 9, 9);
	ebp_genl_req_init(&req, family, EBP_NETDEV_CMD_NAPI_SET, 0);
	r->set_noid = ebp_genl_transact(fd, &req, NULL, NULL, NULL);
	r->get = ebp_napi_get(fd, family, id, &n);
	r->defer = n.defer_hard_irqs;
	close(fd);
}

/* Runs perm_child() in a child process: what it saw. */
static struct perm_result run_perm(struct nl_test *self,
				   enum perm_mode mode)
{
	struct perm_result r = { .step = -ECHILD, .why = "forking the child" };
	struct perm_result *shared;
	pid_t pid;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return r;
	*shared = r;
	shared->why = "the child died";
	pid = fork();
	if (pid == 0) {
		perm_child(self, mode, shared);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, NULL, 0) == pid)
		r = *shared;
	munmap(shared, sizeof(*shared));
	return r;
}

/* What every refused sender must see: EPERM for napi-set, before the
 * request is even parsed (no ID: still EPERM, not EINVAL), napi-get open
 * to it, and the NAPI unchanged.
 */
static void expect_eperm(struct __test_metadata *_metadata,
			 struct nl_test *self, struct perm_result r,
			 int cap, int get)
{
	ASSERT_EQ(0, r.step) TH_LOG("%s", r.why);
	EXPECT_EQ(cap, r.cap) TH_LOG("CAP_NET_ADMIN in effect when sending");
	EXPECT_EQ(-EPERM, r.set);
	EXPECT_EQ(-EPERM, r.set_noid);
	EXPECT_EQ(get, r.get);
	if (!get)
		EXPECT_EQ(0, r.defer);
	expect_settings(_metadata, self, self->napi[0][0], 0, 0, 0);
}

/* GENL_ADMIN_PERM is netlink_capable(skb, CAP_NET_ADMIN): the sender and
 * the socket's opener must both have CAP_NET_ADMIN in the initial user
 * namespace.
 */
TEST_F(nl, napi_set_eperm_for_nobody)
{
	expect_eperm(_metadata, &self->t, run_perm(&self->t, PERM_NOBODY), 0, 0);
}

TEST_F(nl, napi_set_eperm_without_cap_net_admin)
{
	expect_eperm(_metadata, &self->t, run_perm(&self->t, PERM_DROP_BEFORE_OPEN), 0,
		     0);
}

TEST_F(nl, napi_set_eperm_for_sender_without_cap)
{
	expect_eperm(_metadata, &self->t, run_perm(&self->t, PERM_DROP_AFTER_OPEN), 0,
		     0);
}

TEST_F(nl, napi_set_eperm_for_opener_without_cap)
{
	expect_eperm(_metadata, &self->t, run_perm(&self->t, PERM_RAISE_AFTER_OPEN), 1,
		     0);
}

/* CAP_NET_ADMIN in a user namespace of its own is not enough: the check
 * is against the initial user namespace, also from a netns owned by the
 * new user namespace (where GENL_UNS_ADMIN_PERM would let the request
 * through to the lookup, and ENOENT: napi-get shows that is what a lookup
 * of A's NAPI gives from there).
 */
TEST_F(nl, napi_set_eperm_in_user_namespace)
{
	struct perm_result r = run_perm(&self->t, PERM_USERNS);

	if (r.skip)
		SKIP(return, "%s (%s)", r.why, strerror(-r.step));
	expect_eperm(_metadata, &self->t, r, 1, 0);
}

TEST_F(nl, napi_set_eperm_in_user_namespace_netns)
{
	struct perm_result r = run_perm(&self->t, PERM_USERNS_NETNS);

	if (r.skip)
		SKIP(return, "%s (%s)", r.why, strerror(-r.step));
	expect_eperm(_metadata, &self->t, r, 1, -ENOENT);
}

TEST_HARNESS_MAIN
