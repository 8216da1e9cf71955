#!/bin/sh
# vng-guest.sh DEMO SELFTEST: what test.sh runs inside a virtme-ng guest.
# Frames each program's output as guest-init.sh does (EBP-BEGIN/EBP-END)
# and says which kernel ran, for vng_results.py.
demo=$1 selftest=$2

# run NAME CMD...: run CMD with its output framed for the host.
run() {
	name=$1
	shift
	echo "EBP-BEGIN $name"
	start=$(date +%s)
	"$@"
	echo "EBP-END $name rc=$? secs=$(($(date +%s) - start))"
}

echo "EBP-PLAN demo selftest:epoll_busy_poll"
echo "EBP-KERNEL $(uname -r) $(uname -v)"
echo "EBP-KALLSYMS $(grep -c ' ep_busy_poll_set_params$' /proc/kallsyms)"
run demo "$demo"
run selftest:epoll_busy_poll "$selftest"
echo "EBP-DONE"
