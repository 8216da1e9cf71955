// SPDX-License-Identifier: GPL-2.0

#include <linux/jump_label.h>

#ifndef CONFIG_JUMP_LABEL
/* Without jump labels these are static inline (an atomic count). */
bool rust_helper_static_key_slow_inc(struct static_key *key)
{
	return static_key_slow_inc(key);
}

void rust_helper_static_key_slow_dec(struct static_key *key)
{
	static_key_slow_dec(key);
}
#endif

int rust_helper_static_key_count(struct static_key *key)
{
	return static_key_count(key);
}
