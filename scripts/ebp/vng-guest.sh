#!/bin/sh
# vng-guest.sh DEMO SELFTEST [TREE]: what test.sh runs inside a virtme-ng
# guest (with TREE, the patched kernel tree, also the ynl CLI check).
# Frames each program's output as guest-init.sh does (EBP-BEGIN/EBP-END)
# and says which kernel ran, for vng_results.py.
demo=$1 selftest=$2
# The patched tree and this script's scripts/ebp, for the ynl CLI check.
tree=${3:-} scripts=$(dirname "$0")

# run NAME CMD...: run CMD with its output framed for the host.
run() {
	name=$1
	shift
	echo "EBP-BEGIN $name"
	start=$(date +%s)
	"$@"
	echo "EBP-END $name rc=$? secs=$(($(date +%s) - start))"
}

echo "EBP-PLAN demo selftest:epoll_busy_poll${tree:+ selftest:ynl_cli}"
echo "EBP-KERNEL $(uname -r) $(uname -v)"
echo "EBP-KALLSYMS $(grep -c ' ep_busy_poll_set_params$' /proc/kallsyms)"
run demo "$demo"
run selftest:epoll_busy_poll "$selftest"
# The tree's tools/net/ynl/cli.py against napi-get/napi-set, as a user runs it.
[ -z "$tree" ] || run selftest:ynl_cli /usr/bin/python3 "$scripts/ynl_check.py" --tree "$tree"
echo "EBP-DONE"
