// SPDX-License-Identifier: GPL-2.0
/*
 * Who may set a busy_poll_budget above NAPI_POLL_WEIGHT (64): only a caller
 * with CAP_NET_ADMIN in the initial user namespace.  Each test runs in its
 * own process (the harness forks), so dropping a capability or entering a
 * user namespace stays inside it.  Runs as root; built 64- and 32-bit.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>

#include "../kselftest_harness.h"
#include "epoll_bp_common.h"

FIXTURE(priv)
{
	int ep;
};

FIXTURE_SETUP(priv)
{
	if (geteuid() != 0)
		SKIP(return, "needs root: the tests take privileges away");
	self->ep = epoll_create1(0);
	ASSERT_LE(0, self->ep);
}

FIXTURE_TEARDOWN(priv)
{
	close(self->ep);
}

TEST_F(priv, root_may_set_up_to_65535)
{
	EXPECT_EQ(0, ep_set(self->ep, 0, EP_NAPI_POLL_WEIGHT + 1, 0, 0));
	EXPECT_EQ(0, ep_set(self->ep, 0, UINT16_MAX, 1, 0));
	EXPECT_EQ(ep_pack(0, UINT16_MAX, 1), ep_now(self->ep));
}

TEST_F(priv, budget_above_64_without_cap_net_admin_is_eperm)
{
	ASSERT_EQ(0, ep_drop_effective_cap(EP_CAP_NET_ADMIN));
	ASSERT_EQ(0, ep_has_effective_cap(EP_CAP_NET_ADMIN));

	EXPECT_EQ(0, ep_set(self->ep, 10, EP_NAPI_POLL_WEIGHT, 1, 0))
		TH_LOG("a budget of 64 needs no privilege");
	EXPECT_EQ(-EPERM, ep_set(self->ep, 10, EP_NAPI_POLL_WEIGHT + 1, 1, 0));
	EXPECT_EQ(-EPERM, ep_set(self->ep, 0, UINT16_MAX, 0, 0));
	EXPECT_EQ(ep_pack(10, EP_NAPI_POLL_WEIGHT, 1), ep_now(self->ep))
		TH_LOG("a refused call must leave the params as they were");
	EXPECT_EQ(0, ep_set(self->ep, 0, 0, 0, 0));
}

TEST_F(priv, invalid_fields_are_einval_before_eperm)
{
	ASSERT_EQ(0, ep_drop_effective_cap(EP_CAP_NET_ADMIN));
	EXPECT_EQ(-EINVAL, ep_set(self->ep, 0, 1000, 0, 1))
		TH_LOG("a non-zero pad is EINVAL even with a privileged budget");
	EXPECT_EQ(-EINVAL, ep_set(self->ep, EP_S32_MAX + 1, 1000, 0, 0));
	EXPECT_EQ(-EINVAL, ep_set(self->ep, 0, 1000, 2, 0));
	EXPECT_EQ(0, ep_now(self->ep));
}

TEST_F(priv, params_set_by_root_survive_the_drop)
{
	ASSERT_EQ(0, ep_set(self->ep, 1, 500, 0, 0));
	ASSERT_EQ(0, ep_drop_effective_cap(EP_CAP_NET_ADMIN));
	EXPECT_EQ(ep_pack(1, 500, 0), ep_now(self->ep))
		TH_LOG("EPIOCGPARAMS needs no privilege");
	EXPECT_EQ(-EPERM, ep_set(self->ep, 1, 500, 0, 0))
		TH_LOG("the check is on the caller at ioctl time, not at create");
}

TEST_F(priv, root_of_a_user_namespace_is_eperm)
{
	int ep;

	ASSERT_EQ(0, unshare(CLONE_NEWUSER))
		TH_LOG("unshare(CLONE_NEWUSER): %s", strerror(errno));
	ASSERT_EQ(1, ep_has_effective_cap(EP_CAP_NET_ADMIN))
		TH_LOG("a new user namespace grants CAP_NET_ADMIN inside it");

	/* Both an instance from before and one made inside are refused. */
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	EXPECT_EQ(-EPERM, ep_set(self->ep, 0, EP_NAPI_POLL_WEIGHT + 1, 0, 0));
	EXPECT_EQ(-EPERM, ep_set(ep, 0, UINT16_MAX, 0, 0));
	EXPECT_EQ(0, ep_set(ep, 20, EP_NAPI_POLL_WEIGHT, 1, 0));
	EXPECT_EQ(ep_pack(20, EP_NAPI_POLL_WEIGHT, 1), ep_now(ep));
	close(ep);
}

TEST_HARNESS_MAIN
