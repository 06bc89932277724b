# shellcheck shell=bash
# Shared helpers for the trixie_*.sh end-to-end tests (sourced; not a test itself): FreeRDP 3.15
# from a Debian 13 tree (tests/lab/trixie.sh) against nlassp and the Debian 12 FreeRDP 3.10 on the
# same loopback lab. Source after e2e_lib.sh, then:
#
#   trixie_e2e_require      # before e2e_setup: skips (77) unless root + tree buildable
#   trixie_e2e_setup        # checks again; builds/reuses the tree;
#                           # copies the module (and nla_server) in; writes the wrappers
#   trixie_connect PORT PASSWORD [XFREERDP ARGS...]   # lab_connect with FreeRDP 3.15's xfreerdp3
#   TRIXIE_E2E_NLA_SERVER   # nla_server (built against 3.10) run inside the tree, i.e. on
#                           # FreeRDP 3.15's libfreerdp-server3; "" if it cannot run there
#
# After trixie_e2e_setup, E2E_MODULE is the module's copy in the shared dir: the same path works
# inside the tree and outside, so FreeRDP's "Using SSPI Module: PATH" line names it either way.
# shellcheck source=../lab/trixie.sh
source "$E2E_DIR/../lab/trixie.sh"

TRIXIE_E2E_BIN=""
TRIXIE_E2E_NLA_SERVER=""
TRIXIE_E2E_VERSION=""

# trixie_e2e_require — skips (77) unless this machine can run the tree (root, unshare, a built tree
# or a reachable mirror); call it before e2e_setup, which needs root-owned lab files already.
trixie_e2e_require() {
	trixie_available || e2e_skip "FreeRDP 3.15 tree unavailable (needs root and the Debian mirror)"
}

trixie_e2e_setup() {
	trixie_e2e_require
	if ! trixie_build; then
		e2e_say "FAIL: could not build the Debian 13 tree $TRIXIE_ROOT"
		exit 1
	fi
	[ "$TRIXIE_BUILD_SECONDS" = 0 ] || e2e_say "built the Debian 13 tree in ${TRIXIE_BUILD_SECONDS}s"
	# Whatever happens, nothing stays mounted (trixie_run's mounts die with their namespaces).
	local prev=""
	if [ -n "$(trap -p EXIT)" ]; then
		eval "set -- $(trap -p EXIT)"
		prev="$3"
	fi
	# shellcheck disable=SC2064 # expanding prev now is the point
	trap "${prev:+$prev; }trixie_teardown" EXIT
	TRIXIE_SHARED="$LAB_DIR/trixie-shared"
	E2E_MODULE="$(trixie_install_file "$E2E_MODULE")" || { e2e_say "FAIL: copying the module"; exit 1; }
	TRIXIE_E2E_BIN="$LAB_DIR/trixie-bin"
	trixie_wrap "$TRIXIE_E2E_BIN" xfreerdp3 || { e2e_say "FAIL: writing wrappers"; exit 1; }
	TRIXIE_E2E_VERSION="$(trixie_freerdp_version)"
	e2e_say "Debian 13 tree $TRIXIE_ROOT: FreeRDP ${TRIXIE_E2E_VERSION:-?}; module copy $E2E_MODULE"
	# The point is a FreeRDP other than the host's: make sure the wrapper really runs another one.
	local host_version
	host_version="$(xfreerdp3 /version 2>/dev/null | sed -nE 's/.*version ([0-9][0-9.]*).*/\1/p' | head -n1)"
	if [ -z "$TRIXIE_E2E_VERSION" ] || [ "$TRIXIE_E2E_VERSION" = "$host_version" ]; then
		e2e_say "FAIL: the tree's xfreerdp3 reports '${TRIXIE_E2E_VERSION}', the host's '${host_version}'"
		exit 1
	fi
	local missing
	missing="$(trixie_missing_libs "$E2E_MODULE")" ||
		{ e2e_say "FAIL: ldd of the module inside the tree failed"; exit 1; }
	if [ -n "$missing" ]; then
		e2e_say "FAIL: the module's libraries are missing inside the tree: $missing"
		exit 1
	fi
	if [ -n "$E2E_SERVER" ] && [ -x "$E2E_SERVER" ]; then
		local copy
		copy="$(trixie_install_file "$E2E_SERVER" nla_server)" || exit 1
		missing="$(trixie_missing_libs "$copy")" || missing="(ldd failed)"
		if [ -z "$missing" ]; then
			trixie_wrap "$TRIXIE_E2E_BIN" "$copy" || exit 1
			TRIXIE_E2E_NLA_SERVER="$TRIXIE_E2E_BIN/nla_server"
		else
			e2e_say "note: nla_server cannot run inside the tree (missing: $missing)"
		fi
	fi
}

# trixie_connect PORT PASSWORD [ARGS...] — lab_connect, but with FreeRDP 3.15's xfreerdp3.
trixie_connect() {
	PATH="$TRIXIE_E2E_BIN:$PATH" lab_connect "$@"
}

# trixie_start_shadow [WINPR_DIR] [ARGS...] — lab_start_shadow with FreeRDP 3.15's
# freerdp-shadow-cli3 (display: the lab's Xvfb, through the bound /tmp/.X11-unix). WINPR_DIR ("" for
# none) replaces the tree's /etc/winpr for this server only.
trixie_start_shadow() {
	local winpr="$1" bin="$LAB_DIR/trixie-shadow-bin.$RANDOM"
	shift
	TRIXIE_WINPR_DIR="$winpr" trixie_wrap "$bin" freerdp-shadow-cli3 || return 1
	PATH="$bin:$PATH" lab_start_shadow "$@"
}

# trixie_hklm_dir MODULE — a per-test /etc/winpr for the tree whose HKLM.reg names MODULE as the
# server's SspiModule (the str: form); prints the dir.
trixie_hklm_dir() {
	local dir="$LAB_DIR/trixie-winpr"
	mkdir -p "$dir" || return 1
	printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\FreeRDP\\FreeRDP\\Server]\n"SspiModule"=str:"%s"\n' \
		"$1" >"$dir/HKLM.reg" || return 1
	printf '%s\n' "$dir"
}

# trixie_nla_login WANT WHAT PASSWORD [XFREERDP ARGS...] — e2e_nla_login (one login against a
# fresh one-connection nla_server, E2E_SERVER_ARGS) with FreeRDP 3.15's xfreerdp3 as the client.
# TRIXIE_SERVER_INSIDE=1 runs the nla_server inside the tree (FreeRDP 3.15's libfreerdp-server3).
trixie_nla_login() {
	local server="$E2E_SERVER"
	if [ "${TRIXIE_SERVER_INSIDE:-0}" = 1 ]; then
		[ -n "$TRIXIE_E2E_NLA_SERVER" ] || { e2e_fail "$2: nla_server cannot run inside the tree"; return; }
		server="$TRIXIE_E2E_NLA_SERVER"
	fi
	E2E_SERVER="$server" PATH="$TRIXIE_E2E_BIN:$PATH" e2e_nla_login "$@"
}
