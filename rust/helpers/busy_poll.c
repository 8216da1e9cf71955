// SPDX-License-Identifier: GPL-2.0

#include <net/busy_poll.h>

unsigned long rust_helper_busy_loop_current_time(void)
{
	return busy_loop_current_time();
}

bool rust_helper_busy_loop_timeout(unsigned long start_time)
{
	return busy_loop_timeout(start_time);
}

bool rust_helper_net_busy_loop_on(void)
{
	return net_busy_loop_on();
}
