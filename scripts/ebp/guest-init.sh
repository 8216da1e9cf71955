#!/bin/busybox sh
# /init of the test initramfs.  Runs the job named by ebp.job= on the kernel
# command line, framing each program's output with EBP-BEGIN/EBP-END lines
# for the host, then powers the guest off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# run NAME CMD...: run CMD with its output framed for the host.
run() {
	name=$1
	shift
	echo "EBP-BEGIN $name"
	"$@"
	echo "EBP-END $name rc=$?"
}

job=$(sed -n 's/.*ebp\.job=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "EBP-GUEST-UP job=$job"
case "$job" in
demo)
	run demo /bin/epoll-bp-demo
	;;
test)
	run selftest:epoll_busy_poll /bin/epoll_busy_poll
	run demo /bin/epoll-bp-demo
	;;
probe) ;;
*)
	echo "unknown ebp.job='$job': dropping to a shell"
	setsid cttyhack sh
	;;
esac
echo "EBP-DONE"
poweroff -f
