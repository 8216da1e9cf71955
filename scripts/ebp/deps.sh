#!/usr/bin/env bash
# Install what the build and the tests need, idempotently: Debian packages,
# the rust-src component and bindgen-cli.  Anything already present is left
# alone, so a warm run costs about a second.  udev is for virtme-ng (its venv
# is vng.sh's): without it the guest's init finds no virtio console ports
# and the guest's output is lost; kmod's depmod, for a kernel with modules
# (make vng-build's).  `deps.sh bench` also installs
# what make bench plots with.  python3-git and python3-ply are for
# scripts/spdxcheck.py, which checkpatch runs (make patch); python3-yaml for
# the tree's ynl CLI (tools/net/ynl/cli.py), which make test drives, and
# iproute2 for the guests that run from the host's root, as are memcached
# and redis-server, which make bench-servers measures there (and its smoke
# run checks); they must not run as services on the host.  `deps.sh
# servers` also installs what make bench-servers plots with.
. "$(dirname "$0")/common.sh"

APT_PACKAGES=(
	linux-source-6.12
	clang-19 lld-19 llvm-19 libclang-19-dev
	qemu-system-x86 busybox-static cpio
	flex bison bc libelf-dev libssl-dev make gcc xz-utils patch
	gcc-multilib libc6-dev-i386 libcap-dev python3 python3-docutils
	python3-git python3-ply python3-yaml iproute2
	python3-venv udev kmod memcached redis-server
)
[ "${1:-}" = bench ] && APT_PACKAGES+=(python3-matplotlib)
[ "${1:-}" = servers ] && APT_PACKAGES+=(python3-matplotlib)
BINDGEN_VERSION=0.69.5

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	step "installing Debian packages: ${missing[*]}"
	command -v apt-get >/dev/null ||
		die "no apt-get: install ${missing[*]} by hand"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	timed "apt-get" sh -c "$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null" ||
		die "apt-get failed: install ${missing[*]} by hand and rerun"
	# Debian starts these services when it installs them (where an init
	# runs them): the benchmark wants them in its guests only.
	for svc in memcached redis-server; do
		[[ " ${missing[*]} " == *" $svc "* ]] || continue
		if [ -d /run/systemd/system ]; then
			$sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
		elif [ -x "/etc/init.d/$svc" ]; then
			$sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
		fi
	done
fi

command -v rustup >/dev/null ||
	die "rustup not found: install Rust stable with rustup (https://rustup.rs)"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	step "adding the rust-src component"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi
for c in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" ||
		rustup component add "$c" || die "rustup component add $c failed"
done

if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	step "installing bindgen-cli $BINDGEN_VERSION (takes about a minute)"
	timed "cargo install bindgen-cli" \
		cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed: install it by hand and rerun"
fi
step "dependencies present"
