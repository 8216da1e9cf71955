#!/bin/sh
# vng-guest.sh [--virtio PROG] DEMO SELFTEST [TREE]: what test.sh runs
# inside a virtme-ng guest (with TREE, the patched kernel tree, also the
# ynl CLI check; with --virtio, PROG is epoll_bp_virtio, for a guest booted
# with --network loop).  DEMO and SELFTEST may be "-": not run.
# Frames each program's output as guest-init.sh does (EBP-BEGIN/EBP-END)
# and says which kernel ran, for vng_results.py.
virtio=
if [ "${1:-}" = --virtio ]; then
	virtio=$2
	shift 2
fi
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

plan=
[ "$demo" = - ] || plan="$plan demo"
[ "$selftest" = - ] || plan="$plan selftest:epoll_busy_poll"
echo "EBP-PLAN${plan}${tree:+ selftest:ynl_cli}${virtio:+ selftest:epoll_bp_virtio}"
echo "EBP-KERNEL $(uname -r) $(uname -v)"
echo "EBP-KALLSYMS $(grep -c ' ep_busy_poll_set_params$' /proc/kallsyms)"
[ "$demo" = - ] || run demo "$demo"
[ "$selftest" = - ] || run selftest:epoll_busy_poll "$selftest"
# The tree's tools/net/ynl/cli.py against napi-get/napi-set, as a user runs it.
[ -z "$tree" ] || run selftest:ynl_cli /usr/bin/python3 "$scripts/ynl_check.py" --tree "$tree"
# IRQ suspension on the two virtio-net ports of --network loop.
[ -z "$virtio" ] || run selftest:epoll_bp_virtio "$virtio"
echo "EBP-DONE"
