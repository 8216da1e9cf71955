#!/usr/bin/env bash
# servers-guest.sh: what bench-servers.sh runs inside a virtme-ng guest
# booted with --network loop.  Unmodified Debian memcached and redis-server
# under open-loop load (epoll-bp-load), per busy-poll mode, with the modes
# switched live on the running server by epoll-bp (no restart).
#
# Paths (the server in netns srv-PATH at 192.0.2.1, the load generator in
# cli-PATH at 192.0.2.2):
#   virtio  the two virtio-net ports of --network loop; the server port's
#           vectors pinned to CPU 1, the client port's to CPU 0
#   nsim    a linked netdevsim pair (no device interrupts: netdevsim's
#           NAPI is scheduled from the sender's transmit, on its CPU)
# The server and a second, bystander server of the same kind (another
# port, a trickle of BYSTANDER_RATE req/s so that its epoll instances have
# a NAPI ID, never given params) run on CPU 1; the load generators on
# CPU 0.  Modes (mode_settings below): none sysctl epoll epoll-both
# prefer-defer suspend busy.  Loads: light/medium/high, LOAD_FRACTIONS of
# the capacity found by a short ramp per server and path (mode none).
#
# Environment (bench-servers.sh sets it): BIN (the directory with
# epoll-bp and epoll-bp-load), SERVERS, PATHS, MODES, LOADS, WARMUP and
# DURATION (s, per cell), CAPACITIES ("SERVER:PATH:RATE ...", from an
# earlier boot: no ramp for those, so every boot offers the same rates),
# SMOKE=1 (one light load of SMOKE_RATE req/s, no ramp), BYSTANDER_RATE.
# Output, all on stdout (stderr goes there too: the console carries the
# two on separate channels, which would cut lines into each other):
# "EBP-SERVERS-CELL {json}" per cell (the raw counters before and after,
# the generator's JSON: servers_report.py derives the rest), "EBP-SERVERS-
# INFO ..." lines, "EBP-SERVERS-DONE ..." at the end, progress lines.
# Exits non-zero if anything failed (each failure is an INFO line; what
# was measured is still printed).
#
# A && B || fail: fail when either fails, as meant.
# shellcheck disable=SC2015
set -u
exec 2>&1

BIN=${BIN:?BIN: the directory with epoll-bp and epoll-bp-load}
SERVERS=${SERVERS:-memcached redis}
PATHS=${PATHS:-virtio nsim}
MODES=${MODES:-none sysctl epoll epoll-both prefer-defer suspend busy}
# Without LOADS: light, medium and high on every path.
LOADS=${LOADS:-}
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-2}
CAPACITIES=${CAPACITIES:-}
SMOKE=${SMOKE:-0}
SMOKE_RATE=${SMOKE_RATE:-200}
BYSTANDER_RATE=${BYSTANDER_RATE:-100}
# Fractions of the capacity for light, medium, high.
LOAD_FRACTIONS=${LOAD_FRACTIONS:-0.1 0.4 0.8}
SERVER_CPU=1 CLIENT_CPU=0
CONNS=4
TMP=$(mktemp -d /tmp/servers.XXXXXX)
CLK_TCK=$(getconf CLK_TCK)
failures=0
# Under TCG a process costs 0.1-0.3 s on a busy host, so what runs in a
# cell's window avoids them: bash builtins, one awk per snapshot.
now_us() { NOW=${EPOCHREALTIME/./}; }
# The counters' window in each cell, in us from the moment the server had
# all the generator's connections established (it starts sending right
# after; seen within POLL_US): from 0.1 s after its warmup to 0.3 s before
# its end, so the counters see its load only.
# epoll-both's generator gets CLIENT_EXTRA_US more warmup, for setting
# its params from outside (finding its epoll fd, epoll-bp: processes).
WIN_START=$(awk -v w="$WARMUP" 'BEGIN { printf "%d", (w + 0.1) * 1e6 }')
WIN_END=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%d", (w + d - 0.3) * 1e6 }')
CLIENT_EXTRA_US=1000000
POLL_US=20000
[ "$WIN_END" -gt "$WIN_START" ] || { echo "DURATION=$DURATION: give at least 1 (s)"; exit 2; }
# sleep_until T: until EPOCHREALTIME (in us) is T: read -t on a FIFO that
# nobody writes.
mkfifo "$TMP/sleep"
exec {SLEEP_FD}<>"$TMP/sleep"
sleep_until() {
	local d s
	now_us
	d=$(($1 - NOW))
	[ "$d" -gt 0 ] || return 0
	printf -v s '%d.%06d' $((d / 1000000)) $((d % 1000000))
	read -r -t "$s" -u "$SLEEP_FD" _
}

log() { printf '[guest %4ds] %s\n' $((SECONDS)) "$*"; }
info() { printf 'EBP-SERVERS-INFO %s\n' "$*"; }
fail() {
	log "FAILED: $*"
	info "failure $*"
	failures=$((failures + 1))
}
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# --- Paths ----------------------------------------------------------------

# Per path: the server's port (SRV_DEV), its netns (SRV_NS, CLI_NS) and,
# on virtio, the server port's virtio device (IRQ_DEV: its vectors are
# IRQ_DEV-input.0, -output.0, -config in /proc/interrupts).
SRV_DEV='' IRQ_DEV='' SRV_NS='' CLI_NS=''

# irqs_of VIRTIO: the IRQ numbers of that device's vectors.
irqs_of() {
	awk -v dev="$1" 'index($NF, dev "-") == 1 { sub(":", "", $1); print $1 }' /proc/interrupts
}

# addr_port NS DEV HOST: 192.0.2.HOST/24 on DEV in NS, IPv6 off, DEV and lo up.
addr_port() {
	local ns=$1 dev=$2 host=$3
	in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null
	ip -n "$ns" addr add "192.0.2.$host/24" dev "$dev" &&
		ip -n "$ns" link set dev "$dev" up &&
		ip -n "$ns" link set dev lo up
}

# new_netns NAME: a netns without IPv6 (its unsolicited packets would make
# NAPI polls and interrupts).
new_netns() {
	ip netns add "$1" &&
		in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# static_arp NS DEV HOST MAC: no ARP traffic during the runs.
static_arp() {
	ip -n "$1" neigh replace "192.0.2.$3" lladdr "$4" dev "$2" nud permanent
}

setup_virtio() {
	local names=() virtios=() n dev drv virtio mac0 mac1 irq i
	# The first two virtio-net ports that are down, in ifindex order.
	for n in /sys/class/net/*; do
		dev=${n##*/}
		drv=$(readlink "$n/device/driver" 2>/dev/null) || continue
		[ "${drv##*/}" = virtio_net ] || continue
		ip -o link show dev "$dev" | grep -q '[<,]UP[,>]' && continue
		echo "$(cat "$n/ifindex") $dev $(basename "$(readlink "$n/device")")"
	done | sort -n | head -2 >"$TMP/ports"
	while read -r _ dev virtio; do
		names+=("$dev") virtios+=("$virtio")
	done <"$TMP/ports"
	[ "${#names[@]}" = 2 ] ||
		{ fail "virtio: two virtio-net ports that are down are needed: boot with vng --network loop"; return 1; }
	SRV_NS=srv-virtio CLI_NS=cli-virtio SRV_DEV=${names[0]} IRQ_DEV=${virtios[0]}
	mac0=$(cat "/sys/class/net/${names[0]}/address")
	mac1=$(cat "/sys/class/net/${names[1]}/address")
	# Each port's vectors on its side's CPU (pinned before the move).
	for i in 0 1; do
		for irq in $(irqs_of "${virtios[$i]}"); do
			echo $((i == 0 ? SERVER_CPU : CLIENT_CPU)) >"/proc/irq/$irq/smp_affinity_list" ||
				{ fail "virtio: pinning IRQ $irq"; return 1; }
		done
	done
	new_netns "$SRV_NS" && new_netns "$CLI_NS" &&
		ip link set dev "${names[0]}" netns "$SRV_NS" &&
		ip link set dev "${names[1]}" netns "$CLI_NS" &&
		addr_port "$SRV_NS" "${names[0]}" 1 && addr_port "$CLI_NS" "${names[1]}" 2 &&
		static_arp "$SRV_NS" "${names[0]}" 2 "$mac1" &&
		static_arp "$CLI_NS" "${names[1]}" 1 "$mac0" ||
		{ fail "virtio: moving and addressing the ports"; return 1; }
	info "path virtio server=${names[0]}($IRQ_DEV, IRQs $(irqs_of "$IRQ_DEV" | tr '\n' ' ')-> CPU $SERVER_CPU)" \
		"client=${names[1]}(${virtios[1]} -> CPU $CLIENT_CPU)"
}

# nsim_port NS ID: the name of netdevsim device ID's port in NS, once
# udev (if any) is done renaming it; empty if it never shows.
nsim_port() {
	local ns=$1 id=$2 name='' i
	for i in $(seq 50); do
		name=$(in_ns "$ns" sh -c "ls /sys/bus/netdevsim/devices/netdevsim$id/net/ 2>/dev/null" | head -1)
		[ -n "$name" ] && ip -n "$ns" link set dev "$name" down 2>/dev/null && break
		name=
		sleep 0.1
	done
	echo "$name"
}

setup_nsim() {
	local id0=$((700 + $$ % 100 * 2)) id1 dev0 dev1 mac0 mac1 idx0 idx1
	id1=$((id0 + 1))
	[ -w /sys/bus/netdevsim/new_device ] || modprobe -q netdevsim 2>/dev/null
	[ -w /sys/bus/netdevsim/new_device ] ||
		{ fail "nsim: no /sys/bus/netdevsim (CONFIG_NETDEVSIM)"; return 1; }
	SRV_NS=srv-nsim CLI_NS=cli-nsim IRQ_DEV=
	new_netns "$SRV_NS" && new_netns "$CLI_NS" || { fail "nsim: making the netns"; return 1; }
	# A port made by new_device lands in the writer's netns.
	in_ns "$SRV_NS" sh -c "echo '$id0 1 1' >/sys/bus/netdevsim/new_device" &&
		in_ns "$CLI_NS" sh -c "echo '$id1 1 1' >/sys/bus/netdevsim/new_device" ||
		{ fail "nsim: new_device"; return 1; }
	dev0=$(nsim_port "$SRV_NS" "$id0") dev1=$(nsim_port "$CLI_NS" "$id1")
	[ -n "$dev0" ] && [ -n "$dev1" ] || { fail "nsim: the ports did not show up"; return 1; }
	SRV_DEV=$dev0
	idx0=$(in_ns "$SRV_NS" cat "/sys/class/net/$dev0/ifindex")
	idx1=$(in_ns "$CLI_NS" cat "/sys/class/net/$dev1/ifindex")
	mac0=$(in_ns "$SRV_NS" cat "/sys/class/net/$dev0/address")
	mac1=$(in_ns "$CLI_NS" cat "/sys/class/net/$dev1/address")
	# link_device takes "NSFD:IFINDEX NSFD:IFINDEX", fds of the writer.
	{ echo "7:$idx0 8:$idx1" >/sys/bus/netdevsim/link_device; } \
		7<"/run/netns/$SRV_NS" 8<"/run/netns/$CLI_NS" ||
		{ fail "nsim: link_device"; return 1; }
	addr_port "$SRV_NS" "$dev0" 1 && addr_port "$CLI_NS" "$dev1" 2 &&
		static_arp "$SRV_NS" "$dev0" 2 "$mac1" && static_arp "$CLI_NS" "$dev1" 1 "$mac0" ||
		{ fail "nsim: addressing the ports"; return 1; }
	info "path nsim server=$dev0(netdevsim$id0) client=$dev1(netdevsim$id1): no device interrupts"
}

# --- Servers --------------------------------------------------------------

# The running pair: server and bystander pids and ports, the protocol; the
# bystander's load generator.
SRV_PID='' BY_PID='' PORT='' BY_PORT='' PROTO='' KIND='' BY_LOAD_PID=''

# start_one PORT LOG: starts an unmodified KIND server in SRV_NS on
# SERVER_CPU (ip netns exec and taskset exec it: $! is its pid); its pid
# in STARTED.
start_one() {
	local port=$1 out=$2 comm i
	case "$KIND" in
	memcached)
		ip netns exec "$SRV_NS" taskset -c "$SERVER_CPU" \
			memcached -u root -t 2 -l 192.0.2.1 -p "$port" -c 1024 >"$out" 2>&1 &
		comm=memcached
		;;
	redis)
		ip netns exec "$SRV_NS" taskset -c "$SERVER_CPU" \
			redis-server --bind 192.0.2.1 --port "$port" --save '' --appendonly no \
			--protected-mode no --daemonize no --dir "$TMP" >"$out" 2>&1 &
		comm=redis-server
		;;
	esac
	STARTED=$!
	for i in $(seq 50); do
		[ "$(cat "/proc/$STARTED/comm" 2>/dev/null)" = "$comm" ] && return 0
		sleep 0.1
	done
	fail "$KIND: pid $STARTED never became $comm: $(tail -3 "$out")"
	return 1
}

# wait_accepts PORT: until 192.0.2.1:PORT accepts a connection (30 s).
wait_accepts() {
	local i
	for i in $(seq 150); do
		in_ns "$CLI_NS" bash -c "exec 3<>/dev/tcp/192.0.2.1/$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# preload PORT: every key set once (closed loop), so that gets hit.
preload() {
	in_ns "$CLI_NS" "$BIN/epoll-bp-load" --proto "$PROTO" --server "192.0.2.1:$1" \
		--rate 100 --duration 0.1 --warmup 0 --preload --cpu "$CLIENT_CPU" >/dev/null 2>&1
}

start_servers() {
	KIND=$1
	case "$KIND" in
	memcached) PROTO=memcached PORT=11211 BY_PORT=11212 ;;
	redis) PROTO=redis PORT=6379 BY_PORT=6380 ;;
	*) fail "unknown server $KIND: memcached or redis"; return 1 ;;
	esac
	command -v "${KIND/redis/redis-server}" >/dev/null ||
		{ fail "$KIND is not installed on the host: run make deps"; return 1; }
	start_one "$PORT" "$TMP/$KIND.log" || return 1
	SRV_PID=$STARTED
	start_one "$BY_PORT" "$TMP/$KIND-bystander.log" || { stop_servers; return 1; }
	BY_PID=$STARTED
	wait_accepts "$PORT" && wait_accepts "$BY_PORT" ||
		{ fail "$KIND did not accept connections: $(tail -3 "$TMP/$KIND.log")"; stop_servers; return 1; }
	preload "$PORT" && preload "$BY_PORT" || { fail "$KIND: preloading the keys failed"; stop_servers; return 1; }
	EPFDS=$(epoll_fds "$SRV_PID")
	BY_EPFDS=$(epoll_fds "$BY_PID")
	# The bystander's trickle, for the whole session: one connection, so
	# that its epoll instances have a NAPI ID to busy poll (if anything
	# told them to).
	load "$BY_PORT" "$BYSTANDER_RATE" 0 100000 1 "$TMP/bystander.json"
	BY_LOAD_PID=$LOAD_PID
	info "server $KIND pid=$SRV_PID port=$PORT epoll_fds=${EPFDS//$'\n'/ } bystander_pid=$BY_PID bystander_port=$BY_PORT bystander_epoll_fds=${BY_EPFDS//$'\n'/ }"
	log "$KIND: server pid $SRV_PID (port $PORT, epoll fds ${EPFDS//$'\n'/ }), bystander pid $BY_PID (port $BY_PORT)"
}

stop_servers() {
	local pid
	for pid in $BY_LOAD_PID $SRV_PID $BY_PID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SRV_PID='' BY_PID='' BY_LOAD_PID=''
}

# epoll_fds PID: its descriptors that are epoll instances.
epoll_fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'anon_inode:\[eventpoll\]' -printf '%f\n' 2>/dev/null |
		sort -n
}

# --- Modes ----------------------------------------------------------------

# mode_settings MODE: sets M_SYSCTL (net.core.busy_poll and busy_read),
# M_USECS M_BUDGET M_PREFER (the params of every server epoll fd),
# M_DEFER M_GRO M_SUSPEND (the server port's NAPI: defer-hard-irqs,
# gro-flush-timeout and irq-suspend-timeout in ns) and M_CLIENT (usecs of
# the load generator's own epoll instance, budget 64, prefer 0: epoll-both).
# Every mode sets all of them, so it starts from the same state whatever
# ran before.  prefer-defer is suspend without the suspension; busy is
# prefer-defer with a busy loop long enough to spin between requests.
mode_settings() {
	local v
	case "$1" in
	none) v="0 0 0 0 0 0 0 0" ;;
	sysctl) v="50 0 0 0 0 0 0 0" ;;
	epoll) v="0 50 64 0 0 0 0 0" ;;
	epoll-both) v="0 50 64 0 0 0 0 50" ;;
	prefer-defer) v="0 0 64 1 100 20000 0 0" ;;
	suspend) v="0 0 64 1 100 20000 20000000 0" ;;
	busy) v="0 100000 64 1 100 20000 0 0" ;;
	*) return 1 ;;
	esac
	read -r M_SYSCTL M_USECS M_BUDGET M_PREFER M_DEFER M_GRO M_SUSPEND M_CLIENT <<<"$v"
}

# fdinfo_params PID FD: "usecs/budget/prefer" as the kernel shows them, in
# FDP.
fdinfo_params() {
	local k v u='?' b='?' p='?'
	while read -r k v; do
		case "$k" in
		busy_poll_usecs:) u=$v ;;
		busy_poll_budget:) b=$v ;;
		prefer_busy_poll:) p=$v ;;
		esac
	done <"/proc/$1/fdinfo/$2"
	FDP=$u/$b/$p
}

# apply_mode MODE: live, on the running server: sysctls, napi-set on its
# port, epoll-bp set on each of its epoll fds.  What was read back, as
# JSON members (sysctl, napi, params of each epoll fd), in APPLIED.
apply_mode() {
	local fd params='' napi re bp br
	mode_settings "$1" || { fail "unknown mode $1"; return 1; }
	echo "$M_SYSCTL" >/proc/sys/net/core/busy_poll
	echo "$M_SYSCTL" >/proc/sys/net/core/busy_read
	napi=$(in_ns "$SRV_NS" "$BIN/epoll-bp" napi set --dev "$SRV_DEV" --defer-hard-irqs "$M_DEFER" \
		--gro-flush-timeout "$M_GRO" --irq-suspend-timeout "$M_SUSPEND" 2>&1) ||
		fail "napi set on $SRV_DEV: $napi"
	"$BIN/epoll-bp" set --pid "$SRV_PID" --all --usecs "$M_USECS" --budget "$M_BUDGET" \
		--prefer "$M_PREFER" >/dev/null || fail "epoll-bp set --all on $SRV_PID"
	for fd in $EPFDS; do
		fdinfo_params "$SRV_PID" "$fd"
		params="$params${params:+,}\"$fd\":\"$FDP\""
	done
	re='defer_hard_irqs=([0-9]+) gro_flush_timeout=([0-9]+) irq_suspend_timeout=([0-9]+)'
	if [[ $napi =~ $re ]]; then
		napi=${BASH_REMATCH[1]}/${BASH_REMATCH[2]}/${BASH_REMATCH[3]}
	else
		napi='?'
	fi
	read -r bp </proc/sys/net/core/busy_poll
	read -r br </proc/sys/net/core/busy_read
	APPLIED="\"sysctl\":\"$bp/$br\",\"napi\":\"$napi\",\"params\":{$params}"
}

# --- Counters -------------------------------------------------------------

# snap: one line: server and bystander CPU time (ticks of
# /proc/PID/stat, all threads), the server port's interrupts (input.0
# vector, all vectors; -1 without IRQ_DEV), NET_RX softirqs (CPU 1, all
# CPUs), the busy-poll counters summed over the server's epoll fds (loops,
# timeouts, irq suspensions; -1 where the kernel does not show them), and
# server and bystander CPU time again in us, from the scheduler's
# se.sum_exec_runtime of each thread (/proc/PID/task/TID/sched, with
# CONFIG_SCHED_DEBUG; -1 without): exact, where the ticks are sampled;
# then the TCP segments the server's netns received (InSegs): the report
# checks with them that the window saw the load; last the busy loops of
# the bystander's epoll fds (-1 without counters): it never has params.
# stamp_snap: snap with the time (us) in front, in SNAP: taken after awk
# read the files, since starting awk is what takes long under TCG.
stamp_snap() {
	local s
	s=$(snap)
	now_us
	SNAP=$NOW,$s
}
snap() {
	local files=() fd
	for fd in $EPFDS; do
		[ -r "/proc/$SRV_PID/fdinfo/$fd" ] && files+=("/proc/$SRV_PID/fdinfo/$fd")
	done
	for fd in $BY_EPFDS; do
		[ -r "/proc/$BY_PID/fdinfo/$fd" ] && files+=("/proc/$BY_PID/fdinfo/$fd")
	done
	for fd in /proc/"$SRV_PID"/task/*/sched /proc/"$BY_PID"/task/*/sched; do
		[ -r "$fd" ] && files+=("$fd")
	done
	awk -v dev="$IRQ_DEV" -v cpu="$SERVER_CPU" \
		-v srv="/proc/$SRV_PID/stat" -v by="/proc/$BY_PID/stat" \
		-v srvtask="/proc/$SRV_PID/task/" -v bytask="/proc/$BY_PID/task/" \
		-v snmp="/proc/$SRV_PID/net/snmp" -v byfd="/proc/$BY_PID/fdinfo/" '
	function ticks(   s, f) { s = $0; sub(/^.*\) /, "", s); split(s, f, " "); return f[12] + f[13] }
	FILENAME == "/proc/interrupts" {
		if (FNR == 1) { ncpu = NF; next }
		if (dev != "" && index($NF, dev "-") == 1) {
			s = 0; for (i = 2; i <= ncpu + 1; i++) s += $i
			all += s; if ($NF == dev "-input.0") rx += s
		}
		next
	}
	FILENAME == "/proc/softirqs" {
		if ($1 == "NET_RX:") { c1 = $(cpu + 2); for (i = 2; i <= NF; i++) sa += $i }
		next
	}
	FILENAME == srv { st = ticks(); next }
	FILENAME == by { bt = ticks(); next }
	FILENAME == snmp {
		if ($1 != "Tcp:") next
		if (!tcpcols) { for (i = 2; i <= NF; i++) if ($i == "InSegs") tcpcols = i; next }
		segs = $tcpcols
		next
	}
	$1 == "se.sum_exec_runtime" {
		if (index(FILENAME, srvtask) == 1) srt += $3
		else if (index(FILENAME, bytask) == 1) brt += $3
		rt = 1
		next
	}
	index(FILENAME, byfd) == 1 {
		if ($1 == "busy_poll_loops:") { byloops += $2; byseen = 1 }
		next
	}
	$1 == "busy_poll_loops:" { loops += $2; seen = 1 }
	$1 == "busy_poll_timeouts:" { tmo += $2 }
	$1 == "busy_poll_irq_suspensions:" { susp += $2 }
	END {
		if (dev == "") { rx = -1; all = -1 }
		if (!seen) { loops = -1; tmo = -1; susp = -1 }
		if (!byseen) byloops = -1
		if (!rt) { srt = -0.001; brt = -0.001 }
		if (!tcpcols) segs = -1
		printf "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n", st, bt, rx, all, c1, sa, loops, tmo, susp,
			srt * 1000, brt * 1000, segs, byloops
	}' /proc/interrupts /proc/softirqs "/proc/$SRV_PID/stat" "/proc/$BY_PID/stat" \
		"/proc/$SRV_PID/net/snmp" "${files[@]}"
}

# --- Load -----------------------------------------------------------------

# load PORT RATE WARMUP DURATION CONNS OUT: a load generator in CLI_NS on
# CLIENT_CPU against 192.0.2.1:PORT in the background, its JSON into OUT;
# its pid (ip netns exec execs it) in LOAD_PID.
load() {
	ip netns exec "$CLI_NS" "$BIN/epoll-bp-load" --proto "$PROTO" --server "192.0.2.1:$1" \
		--rate "$2" --warmup "$3" --duration "$4" --conns "$5" --drain-timeout 0.5 \
		--cpu "$CLIENT_CPU" --json >"$6" 2>"$6.err" &
	LOAD_PID=$!
}

# gen_field JSON KEY: a number member of the generator's JSON, in FIELD.
gen_field() {
	local re="\"$2\":([-0-9.eE+]+)"
	FIELD='?'
	[[ $1 =~ $re ]] && FIELD=${BASH_REMATCH[1]}
}

# summary JSON: "achieved A, p50 X, p99 Y, errors E, missing M" (us) in
# SUMMARY.
summary() {
	local k out=
	for k in achieved_rate_rps:achieved latency_p50_us:p50 latency_p99_us:p99 errors:errors missing:missing; do
		gen_field "$1" "${k%:*}"
		out="$out${out:+, }${k#*:} ${FIELD%%.*}"
	done
	SUMMARY=$out
}

# capacity: CAP, the highest rate of a doubling ramp from 500 req/s (then
# one step between the last two) that the server sustains in mode none:
# achieved >= 95% of offered, no errors or missing replies, and a p50 at
# most RAMP_P50_FACTOR times the lowest of the ramp so far, or under
# RAMP_P50_SLACK_US (TCG's floor on a busy host is already milliseconds,
# and its p50 jumps by tens of them at any rate; an overload sends it to
# hundreds).  A step that fails is run once more before the ramp stops.
RAMP_P50_FACTOR=5
RAMP_P50_SLACK_US=50000
sustains() {
	local rate=$1 out=$TMP/ramp.json gen achieved p50 missing errors
	load "$PORT" "$rate" 0.3 1 "$CONNS" "$out"
	wait "$LOAD_PID"
	gen=
	read -r gen <"$out" || :
	summary "$gen"
	info "ramp $KIND $PATH_NAME rate=$rate $SUMMARY"
	log "  ramp $rate req/s: $SUMMARY"
	gen_field "$gen" achieved_rate_rps
	achieved=$FIELD
	gen_field "$gen" latency_p50_us
	p50=$FIELD
	gen_field "$gen" missing
	missing=$FIELD
	gen_field "$gen" errors
	errors=$FIELD
	[ "$achieved" != '?' ] || return 1
	# The floor: the lowest p50 of the ramp so far (one step can be slow).
	[ -n "$BASE_P50" ] && awk -v p="$p50" -v b="$BASE_P50" 'BEGIN { exit !(p >= b) }' || BASE_P50=$p50
	awk -v r="$rate" -v a="$achieved" -v p="$p50" -v b="$BASE_P50" -v m="$missing" \
		-v e="$errors" -v f="$RAMP_P50_FACTOR" -v slack="$RAMP_P50_SLACK_US" \
		'BEGIN { exit !(a >= 0.95 * r && m == 0 && e == 0 && (p <= f * b || p <= slack)) }'
}

# sustains_twice RATE: sustains, or, failing, sustains at a second try.
sustains_twice() {
	sustains "$1" || sustains "$1"
}

capacity() {
	local rate=500 good=0 c
	for c in $CAPACITIES; do
		[ "${c%:*}" = "$KIND:$PATH_NAME" ] && CAP=${c##*:} && return 0
	done
	BASE_P50=
	apply_mode none
	while [ "$rate" -le 64000 ]; do
		sustains_twice "$rate" || break
		good=$rate rate=$((rate * 2))
	done
	if [ "$good" -gt 0 ] && [ "$rate" -le 64000 ] && sustains_twice $((good * 3 / 2)); then
		good=$((good * 3 / 2))
	fi
	CAP=$good
}

# --- Cells ----------------------------------------------------------------

CELL=0

# established: how many connections to the server's PORT are established
# (its netns's /proc/net/tcp, read by builtins), in EST.
established() {
	local hexport _sl laddr _rem st _rest
	printf -v hexport '%04X' "$PORT"
	EST=0
	while read -r _sl laddr _rem st _rest; do
		[ "$st" = 01 ] && [ "${laddr#*:}" = "$hexport" ] && EST=$((EST + 1))
	done <"/proc/$SRV_PID/net/tcp"
}

# poll_established CMP DEADLINE: until EST CMP CONNS (-ge, -lt), checked
# every POLL_US, or until DEADLINE (us) or, for -ge, the generator
# LOAD_PID is gone.  When it came true in GEN_T0; fails if it did not.
poll_established() {
	now_us
	while [ "$NOW" -lt "$2" ]; do
		established
		if { [ "$1" = -ge ] && [ "$EST" -ge "$CONNS" ]; } ||
			{ [ "$1" = -lt ] && [ "$EST" -lt "$CONNS" ]; }; then
			GEN_T0=$NOW
			return 0
		fi
		[ "$1" = -lt ] || kill -0 "$LOAD_PID" 2>/dev/null || return 1
		sleep_until $((NOW + POLL_US))
		now_us
	done
	return 1
}

# client_params: epoll-both: the load generator's own epoll instance busy
# polls too (M_CLIENT us, budget 64), set in its warmup (it makes the
# instance right after connecting): with epoll-bp set --all, one process
# per try; JSON member in CLIENT_APPLIED.
client_params() {
	local fd='' out='' re='fd ([0-9]+):' deadline=$((GEN_T0 + WIN_START + CLIENT_EXTRA_US - 200000))
	now_us
	while [ -z "$fd" ] && [ "$NOW" -lt "$deadline" ]; do
		out=$("$BIN/epoll-bp" set --pid "$LOAD_PID" --all --usecs "$M_CLIENT" --budget 64 \
			--prefer 0 2>&1) && [[ $out =~ $re ]] && fd=${BASH_REMATCH[1]}
		now_us
	done
	if [ -n "$fd" ]; then
		fdinfo_params "$LOAD_PID" "$fd"
		CLIENT_APPLIED=",\"client_params\":\"$FDP\""
	else
		fail "epoll-both: no params set on the load generator's epoll instance (pid $LOAD_PID) in time: ${out:-no epoll fd}"
		CLIENT_APPLIED=",\"client_params\":null"
	fi
}

# cell SERVER MODE LOAD RATE: one measurement; prints its JSON line.
cell() {
	local server=$1 mode=$2 loadname=$3 rate=$4
	local out=$TMP/cell.json s0 s1 gen start warmup=$WARMUP extra=0
	CELL=$((CELL + 1))
	apply_mode "$mode" || return 1
	if [ "$M_CLIENT" != 0 ]; then
		extra=$CLIENT_EXTRA_US
		warmup=$(awk -v w="$WARMUP" -v e="$extra" 'BEGIN { print w + e / 1e6 }')
	fi
	CLIENT_APPLIED=
	# The last cell's connections gone (they close as its generator exits).
	now_us
	poll_established -lt $((NOW + 5000000)) || log "  (connections of the last cell still open)"
	now_us
	start=$NOW
	load "$PORT" "$rate" "$warmup" "$DURATION" "$CONNS" "$out"
	if ! poll_established -ge $((start + 30000000)); then
		fail "$server $PATH_NAME $mode $rate req/s: the load generator never connected: $(head -3 "$out.err")"
		wait "$LOAD_PID"
		return 1
	fi
	[ "$M_CLIENT" = 0 ] || client_params
	sleep_until $((GEN_T0 + extra + WIN_START))
	stamp_snap
	s0=$SNAP
	sleep_until $((GEN_T0 + extra + WIN_END))
	stamp_snap
	s1=$SNAP
	wait "$LOAD_PID"
	gen=
	read -r gen <"$out" || :
	if [ -z "$gen" ]; then
		gen=null
		fail "$server $PATH_NAME $mode $rate req/s: no result from epoll-bp-load: $(head -3 "$out.err")"
	fi
	# One write, so that nothing lands inside the line.
	printf 'EBP-SERVERS-CELL {"server":"%s","path":"%s","mode":"%s","load":"%s","offered":%s,%s%s,%s}\n' \
		"$server" "$PATH_NAME" "$mode" "$loadname" "$rate" "$APPLIED" "$CLIENT_APPLIED" \
		"\"gen_start_ms\":$(((GEN_T0 - start) / 1000)),\"bystander_rate\":$BYSTANDER_RATE,\"clk_tck\":$CLK_TCK,\"before\":[$s0],\"after\":[$s1],\"gen\":$gen"
	summary "$gen"
	now_us
	log "cell $CELL ($(((NOW - start) / 1000)) ms): $server $PATH_NAME $mode $loadname $rate req/s: $SUMMARY"
}

# --- Main -----------------------------------------------------------------

info "kernel $(uname -r) $(uname -v)"
info "kallsyms_rust $(grep -c ' ep_busy_poll_set_params$' /proc/kallsyms)"
info "settings warmup=$WARMUP duration=$DURATION smoke=$SMOKE bystander_rate=$BYSTANDER_RATE" \
	"conns=$CONNS load_fractions=$(echo "$LOAD_FRACTIONS" | tr ' ' /)"
for mode in $MODES; do
	mode_settings "$mode" || { fail "unknown mode $mode: see mode_settings in $0"; continue; }
	info "mode $mode sysctl=$M_SYSCTL usecs=$M_USECS budget=$M_BUDGET prefer=$M_PREFER" \
		"defer=$M_DEFER gro_ns=$M_GRO suspend_ns=$M_SUSPEND client_usecs=$M_CLIENT"
done
log "servers: $SERVERS; paths: $PATHS; modes: $MODES; loads: ${LOADS:-light medium high}"
for PATH_NAME in $PATHS; do
	case "$PATH_NAME" in
	virtio) setup_virtio || continue ;;
	nsim) setup_nsim || continue ;;
	*) fail "unknown path $PATH_NAME: virtio or nsim"; continue ;;
	esac
	in_ns "$SRV_NS" "$BIN/epoll-bp" napi show --dev "$SRV_DEV" 2>&1 | sed 's/^/EBP-SERVERS-INFO napi /'
	for server in $SERVERS; do
		start_servers "$server" || continue
		if [ "$SMOKE" = 1 ]; then
			CAP=0 rates=$SMOKE_RATE load_names=smoke
		else
			log "$server over $PATH_NAME: finding the capacity (mode none)"
			capacity
			[ "$CAP" -gt 0 ] ||
				{ fail "$server over $PATH_NAME: not even 500 req/s sustained"; stop_servers; continue; }
			rates='' load_names='' loads=$LOADS
			[ -n "$loads" ] || loads="light medium high"
			read -r -a fractions <<<"$LOAD_FRACTIONS"
			i=0
			for name in light medium high; do
				f=${fractions[$i]}
				i=$((i + 1))
				[[ " $loads " == *" $name "* ]] || continue
				rates="$rates $(awk -v c="$CAP" -v f="$f" 'BEGIN { printf "%d", c * f }')" load_names="$load_names $name"
			done
		fi
		[ "$SMOKE" = 1 ] || info "capacity $server $PATH_NAME $CAP"
		log "$server over $PATH_NAME: capacity $CAP req/s; loads:$rates"
		read -r -a rate_list <<<"$rates"
		i=0
		for name in $load_names; do
			for mode in $MODES; do
				mode_settings "$mode" || continue
				cell "$server" "$mode" "$name" "${rate_list[$i]}"
			done
			i=$((i + 1))
		done
		apply_mode none
		stop_servers
	done
done
echo 0 >/proc/sys/net/core/busy_poll
echo 0 >/proc/sys/net/core/busy_read
rm -rf "$TMP"
log "done: $CELL cells, $failures failures"
echo "EBP-SERVERS-DONE cells=$CELL failures=$failures secs=$SECONDS"
[ "$failures" = 0 ]
