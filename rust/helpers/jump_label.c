// SPDX-License-Identifier: GPL-2.0

#include <linux/jump_label_ratelimit.h>

bool rust_helper_static_branch_deferred_inc(struct static_key_false_deferred *key)
{
	return static_branch_deferred_inc(key);
}

void rust_helper_static_branch_slow_dec_deferred(struct static_key_false_deferred *key)
{
	static_branch_slow_dec_deferred(key);
}

void rust_helper_static_key_deferred_flush(struct static_key_false_deferred *key)
{
	static_key_deferred_flush(key);
}

bool rust_helper_static_key_false_deferred_enabled(struct static_key_false_deferred *key)
{
	return static_key_enabled(&key->key);
}
