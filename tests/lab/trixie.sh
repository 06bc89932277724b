# shellcheck shell=bash
# tests/lab/trixie.sh — a Debian 13 (trixie, FreeRDP 3.15) tree beside the reference Debian 12
# system, to run the newer FreeRDP against nlassp on the same loopback lab. Sourced by bash
# scripts (after tests/lab/lab.sh when the lab is used):
#
#   source tests/lab/trixie.sh
#   trixie_available || exit 77       # root, and the tree is built or the mirror is reachable
#   trixie_build                      # debootstrap + apt-get once; later calls reuse the cache
#   trixie_run CMD ARGS...            # CMD inside the tree (private mount namespace, see below)
#   trixie_wrap DIR CMD...            # DIR/CMD scripts that run CMD inside the tree: put DIR
#                                     # first in PATH and lab.sh's lab_connect/lab_start_shadow
#                                     # drive FreeRDP 3.15 unchanged
#   trixie_install_file SRC           # copies SRC into the tree's shared dir; prints its path
#   trixie_teardown                   # unmounts anything left under the tree (nothing normally)
#
# The tree lives outside the repository, in TRIXIE_ROOT (default /var/cache/nlassp/trixie), with
# a stamp file naming what was installed; a missing or stale stamp rebuilds it from scratch
# (debootstrap --variant=minbase from the mirror in /etc/apt/sources.list.d/debian.sources).
# Concurrent builds are serialised by a lock file next to it.
#
# Mounts: every trixie_run starts its own private mount namespace (unshare -m) in which /proc is
# mounted, /dev is bind-mounted, /tmp is a fresh tmpfs, and the lab's directories (TRIXIE_BINDS: LAB_DIR, KDC_DIR and
# /tmp/.X11-unix by default) are bind-mounted at the same paths, so every path in the caller's
# environment (HOME, KRB5_CONFIG, the SAM, the keytab, the copied module) means the same file
# inside. Those mounts exist only while that command runs: they vanish with its last process,
# even if it is killed; trixie_build installs packages the same way, so nothing is ever mounted
# in the host's namespace. /etc/winpr of the tree can be replaced
# per command by a directory of the caller (TRIXIE_WINPR_DIR), so a server inside reads an
# HKLM.reg that belongs to one test and nothing is written into the shared tree.
# The chroot shares the host's network namespace: everything still listens on 127.0.0.1 only.

TRIXIE_ROOT="${TRIXIE_ROOT:-/var/cache/nlassp/trixie}"
# What the tree must hold; changing the list (or the stamp version) rebuilds the tree.
TRIXIE_PACKAGES="${TRIXIE_PACKAGES:-freerdp3-x11 freerdp3-shadow-x11 winpr3-utils xvfb krb5-user krb5-pkinit krb5-k5tls softhsm2 opensc}"
_TRIXIE_STAMP_VERSION=1
TRIXIE_BUILD_SECONDS=""

trixie_log() { printf '[trixie] %s\n' "$*" >&2; }

_trixie_stamp_file() { printf '%s/.nlassp-trixie-stamp\n' "$TRIXIE_ROOT"; }
_trixie_stamp_text() { printf 'nlassp trixie tree v%s: %s\n' "$_TRIXIE_STAMP_VERSION" "$TRIXIE_PACKAGES"; }

# trixie_mirror — the first URI of the host's Debian source (deb822), e.g. http://deb.debian.org/debian
trixie_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")"
		[ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return 0; }
	done
	printf '%s\n' http://deb.debian.org/debian
}

# trixie_ready — the tree is built and its stamp matches TRIXIE_PACKAGES.
trixie_ready() {
	[ -x "$TRIXIE_ROOT/usr/bin/xfreerdp3" ] &&
		[ "$(cat "$(_trixie_stamp_file)" 2>/dev/null)" = "$(_trixie_stamp_text)" ]
}

# trixie_available — prints why not and fails unless this machine can run trixie tests: root
# (chroot, mounts), unshare, and either a ready tree or a mirror that serves trixie.
trixie_available() {
	if [ "$(id -u)" != 0 ]; then
		trixie_log "not root: a chroot needs root"
		return 1
	fi
	local c
	for c in unshare chroot flock; do
		command -v "$c" >/dev/null 2>&1 || { trixie_log "$c not installed"; return 1; }
	done
	trixie_ready && return 0
	local url
	url="$(trixie_mirror)/dists/trixie/Release"
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 20 -o /dev/null "$url" 2>/dev/null ||
			{ trixie_log "mirror not reachable: $url"; return 1; }
	elif command -v wget >/dev/null 2>&1; then
		wget -q -T 20 -O /dev/null "$url" 2>/dev/null ||
			{ trixie_log "mirror not reachable: $url"; return 1; }
	fi
	if ! command -v debootstrap >/dev/null 2>&1 &&
		! apt-cache show debootstrap >/dev/null 2>&1; then
		trixie_log "debootstrap is neither installed nor installable"
		return 1
	fi
	return 0
}

# _trixie_unmount_under DIR — unmounts (deepest first) everything mounted at or below DIR in
# this mount namespace.
_trixie_unmount_under() {
	local dir="$1" m
	[ -n "$dir" ] || return 0
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
			trixie_log "could not unmount $m"
	done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# trixie_teardown — nothing stays mounted under the tree (trixie_run's mounts die with their
# namespace; this catches an interrupted build in this namespace).
trixie_teardown() {
	_trixie_unmount_under "$TRIXIE_ROOT"
	_trixie_unmount_under "$TRIXIE_ROOT.build"
	if [ -n "${_TRIXIE_LOCK_FD:-}" ]; then
		exec {_TRIXIE_LOCK_FD}>&-
		_TRIXIE_LOCK_FD=""
	fi
	return 0
}

# _trixie_chroot_script — the sh program trixie_run executes in its new mount namespace:
# $1 root, $2 winpr dir (or ""), $3 colon-separated bind list, then the command.
# shellcheck disable=SC2016 # expanded by that sh, not here
_TRIXIE_NS_SCRIPT='
set -e
root=$1; winpr=$2; binds=$3; shift 3
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# A private /tmp per command: the mount points made below (the lab dirs live under /tmp) vanish
# with it instead of piling up in the shared tree.
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
IFS=:
for d in $binds; do
	[ -n "$d" ] && [ -d "$d" ] || continue
	mkdir -p "$root$d" 2>/dev/null || true
	mount --bind "$d" "$root$d"
done
unset IFS
if [ -n "$winpr" ]; then
	mkdir -p "$root/etc/winpr"
	mount --bind "$winpr" "$root/etc/winpr"
fi
# Keep a preload the tree has too (stdbuf line-buffering a server log), drop the host-only ones.
pre=
for p in $(printf "%s" "${LD_PRELOAD:-}" | tr ": " "  "); do
	[ -e "$root$p" ] && pre="${pre:+$pre }$p"
done
exec chroot "$root" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LD_LIBRARY_PATH= LD_PRELOAD="$pre" "$@"
'

# trixie_run CMD ARGS... — runs CMD inside the tree with the caller's environment (PATH reset to
# the tree's). Env: TRIXIE_BINDS (dirs bind-mounted at the same path; default LAB_DIR, KDC_DIR,
# TRIXIE_SHARED, /tmp/.X11-unix), TRIXIE_WINPR_DIR (replaces the tree's /etc/winpr). Keeps the
# PID: the command replaces unshare/sh/chroot, so a signal to $! reaches it.
trixie_run() {
	local binds="${TRIXIE_BINDS-${LAB_DIR:-}:${KDC_DIR:-}:${TRIXIE_SHARED:-}:/tmp/.X11-unix}"
	unshare --mount --propagation private \
		sh -c "$_TRIXIE_NS_SCRIPT" sh "$TRIXIE_ROOT" "${TRIXIE_WINPR_DIR:-}" "$binds" "$@"
}

# trixie_exec CMD [ARGS...] — trixie_run in place of this shell (a wrapper's last command), so
# that the caller sees the command's own end: a signal stays a signal, not an exit status 128+N.
trixie_exec() {
	local binds="${TRIXIE_BINDS-${LAB_DIR:-}:${KDC_DIR:-}:${TRIXIE_SHARED:-}:/tmp/.X11-unix}"
	exec unshare --mount --propagation private \
		sh -c "$_TRIXIE_NS_SCRIPT" sh "$TRIXIE_ROOT" "${TRIXIE_WINPR_DIR:-}" "$binds" "$@"
}

# trixie_wrap DIR CMD... — writes DIR/$(basename CMD) for each CMD (a name, or an absolute path
# valid inside the tree): a script that runs CMD inside the tree through trixie_run. LAB_DIR,
# TRIXIE_SHARED, TRIXIE_WINPR_DIR (and TRIXIE_BINDS if set) are fixed now; KDC_DIR (exported by
# tests/lab/kdc.sh) is read when the wrapper runs, so a realm made later is bound in too.
trixie_wrap() {
	local dir="$1" cmd self
	shift
	mkdir -p "$dir" || return 1
	self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/trixie.sh"
	for cmd in "$@"; do
		# A path (e.g. a copied binary under TRIXIE_SHARED) is wrapped under its base name.
		cat >"$dir/$(basename "$cmd")" <<-EOF
		#!/usr/bin/env bash
		# generated by tests/lab/trixie.sh: $cmd from the Debian 13 tree $TRIXIE_ROOT
		TRIXIE_ROOT=$(printf '%q' "$TRIXIE_ROOT")
		LAB_DIR=$(printf '%q' "${LAB_DIR:-}")
		TRIXIE_SHARED=$(printf '%q' "${TRIXIE_SHARED:-}")
		${TRIXIE_BINDS+TRIXIE_BINDS=$(printf '%q' "${TRIXIE_BINDS:-}")}
		TRIXIE_WINPR_DIR=$(printf '%q' "${TRIXIE_WINPR_DIR:-}")
		source $(printf '%q' "$self")
		trixie_exec $(printf '%q' "$cmd") "\$@"
		EOF
		chmod 755 "$dir/$(basename "$cmd")"
	done
}

# trixie_install_file SRC [NAME] — copies SRC into TRIXIE_SHARED (a per-caller dir bound into the
# tree at the same path; default LAB_DIR/trixie-shared) and prints the copy's path.
trixie_install_file() {
	local src="$1" name="${2:-$(basename "$1")}"
	TRIXIE_SHARED="${TRIXIE_SHARED:-${LAB_DIR:?trixie_install_file: no LAB_DIR}/trixie-shared}"
	mkdir -p "$TRIXIE_SHARED" || return 1
	cp -f "$src" "$TRIXIE_SHARED/$name" || return 1
	printf '%s\n' "$TRIXIE_SHARED/$name"
}

# trixie_missing_libs BINARY — prints the libraries BINARY (a path valid inside the tree) does
# not find inside the tree; fails if ldd itself fails.
trixie_missing_libs() {
	trixie_run ldd "$1" | awk '/not found/ { print $1 }'
	return "${PIPESTATUS[0]}"
}

# trixie_freerdp_version — e.g. "3.15.0" (xfreerdp3 /version inside the tree).
trixie_freerdp_version() {
	trixie_run xfreerdp3 /version 2>/dev/null | sed -nE 's/.*version ([0-9][0-9.]*).*/\1/p' | head -n1
}

# trixie_build — makes TRIXIE_ROOT ready (no-op when its stamp matches). Sets
# TRIXIE_BUILD_SECONDS (0 when the cached tree was reused). Logs into TRIXIE_BUILD_LOG
# (default TRIXIE_ROOT.build.log).
trixie_build() {
	[ "$(id -u)" = 0 ] || { trixie_log "trixie_build needs root"; return 1; }
	local parent start rc mirror tmp log
	parent="$(dirname "$TRIXIE_ROOT")"
	mkdir -p "$parent" || return 1
	exec {_TRIXIE_LOCK_FD}>>"$TRIXIE_ROOT.lock" || return 1
	if ! flock -x -w "${TRIXIE_LOCK_TIMEOUT:-1800}" "$_TRIXIE_LOCK_FD"; then
		trixie_log "another build of $TRIXIE_ROOT kept running"
		exec {_TRIXIE_LOCK_FD}>&-
		_TRIXIE_LOCK_FD=""
		return 1
	fi
	if trixie_ready; then
		TRIXIE_BUILD_SECONDS=0
		exec {_TRIXIE_LOCK_FD}>&-
		_TRIXIE_LOCK_FD=""
		return 0
	fi
	start=$(date +%s)
	log="${TRIXIE_BUILD_LOG:-$TRIXIE_ROOT.build.log}"
	: >"$log"
	mirror="$(trixie_mirror)"
	tmp="$TRIXIE_ROOT.build"
	trixie_log "building $TRIXIE_ROOT from $mirror (log: $log)"
	(
		set -e
		export DEBIAN_FRONTEND=noninteractive
		# Undo this subshell's mounts however it ends.
		trap '_trixie_unmount_under "$tmp"' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		if ! command -v debootstrap >/dev/null 2>&1; then
			# Another apt-get on the host may hold the dpkg lock: wait for it.
			apt-get -o DPkg::Lock::Timeout=600 install -y debootstrap ||
				{ apt-get -o DPkg::Lock::Timeout=600 update &&
					apt-get -o DPkg::Lock::Timeout=600 install -y debootstrap; }
		fi
		_trixie_unmount_under "$tmp"
		rm -rf --one-file-system "$tmp"
		debootstrap --variant=minbase trixie "$tmp" "$mirror"
		cp -f /etc/hosts "$tmp/etc/hosts"
		cp -fL /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
		# No daemon may start inside the tree while packages are installed.
		printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
		chmod 755 "$tmp/usr/sbin/policy-rc.d"
		# /proc and /dev for apt inside a private mount namespace, like trixie_run: even a
		# SIGKILLed build leaves nothing mounted on the host.
		unshare --mount --propagation private sh -c "$_TRIXIE_NS_SCRIPT" sh "$tmp" "" "" \
			sh -c "apt-get update && apt-get install -y --no-install-recommends $TRIXIE_PACKAGES && apt-get clean"
		mkdir -p "$tmp/etc/winpr"
		_trixie_stamp_text >"$tmp/.nlassp-trixie-stamp"
	) >>"$log" 2>&1
	rc=$?
	_trixie_unmount_under "$tmp"
	if [ "$rc" != 0 ]; then
		trixie_log "building the trixie tree failed (exit $rc); last lines of $log:"
		tail -n 30 "$log" >&2
		rm -rf --one-file-system "$tmp"
		exec {_TRIXIE_LOCK_FD}>&-
		_TRIXIE_LOCK_FD=""
		return 1
	fi
	_trixie_unmount_under "$TRIXIE_ROOT"
	rm -rf --one-file-system "$TRIXIE_ROOT"
	mv "$tmp" "$TRIXIE_ROOT" || return 1
	TRIXIE_BUILD_SECONDS=$(($(date +%s) - start))
	trixie_log "built $TRIXIE_ROOT in ${TRIXIE_BUILD_SECONDS}s"
	exec {_TRIXIE_LOCK_FD}>&-
	_TRIXIE_LOCK_FD=""
	return 0
}
