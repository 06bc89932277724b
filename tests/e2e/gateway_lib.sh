# shellcheck shell=bash
# Shared helpers for the RD Gateway end-to-end tests (tests/e2e/gateway_*.sh, trixie_gateway.sh):
# stock xfreerdp3 through the test gateway (tests/lab/rdg.sh, tests/e2e/rdg_gateway.py) to
# freerdp-shadow-cli3, once with nlassp (/sspi-module:) and once with WinPR's built-in packages,
# side by side. Source after e2e_lib.sh:
#
#   e2e_setup "$@"; e2e_need_module; gw_require
#   gw_start_target [ARGS]   # Xvfb + freerdp-shadow-cli3 (SAM LAB\alice), NLA logged at DEBUG
#   rdg_start ...            # the gateway on a free port (tests/lab/rdg.sh)
#   gw_login winpr  CASE 155     "/gateway:g:localhost,u:...,p:..." [XFREERDP ARGS]
#   gw_login nlassp CASE success "/gateway:g:localhost,u:...,p:..." [XFREERDP ARGS]
#   gw_expect_gateway "'GW\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
#   gw_table                 # prints the side-by-side table
#
# The gateway listens on a random port, so no test needs a network namespace or root. FreeRDP
# 3.10 ignores the port of /gateway:g:HOST:PORT (3.13 fixed that) but honours an .rdp file's
# gatewayhostname:s:HOST:PORT (client/common/file.c), and a later g:HOST on the command line
# changes only the host: gw_login hands 3.10 such a file (GW_PORT_FILE=1, the default). On 3.15
# the scripts write g:HOST:PORT themselves (GW_PORT_FILE=0).
#
# gw_login runs one `xfreerdp3 +auth-only`, waits (bounded) until the gateway logged the end of
# every connection of that login ("conn#N: done"), and records what the gateway logged, whether
# the target's NLA completed (freerdp-shadow-cli3 logs "<<----- auth info" when it receives the
# client's credentials after a successful NLA; its SAM holds LAB\alice alone, so that is alice)
# and what the client's SSPI module said. WANT is `success`, or the exact exit status of a
# refused login (e.g. 155, ERRCONNECT_ACCESS_DENIED); it is asserted for both sides, and a
# timeout or a signal is never a refusal. For nlassp a success also needs the module loaded for
# the gateway and the target, the tunnel opened to the target (the gateway's "channel open to
# HOST:PORT") and the target's completed NLA.

GW_ROWS=()
GW_CASE=""
GW_WHO=""
GW_NEW=""            # the gateway's log lines of the last login
GW_TARGET_DONE=0     # 1 if the target's NLA completed in the last login
GW_CLIENT=lab_connect
GW_PORT_FILE=1       # 3.10: the gateway's port through an .rdp file (see above)
GW_QUIET_TIMEOUT="${GW_QUIET_TIMEOUT:-20}"

# shellcheck source=../lab/rdg.sh
source "$E2E_DIR/../lab/rdg.sh"

gw_require() {
	rdg_available || e2e_skip_unless_ci "the test gateway needs python3-gssapi and gss-ntlmssp (.ci/install-deps.sh)"
}

# gw_start_target [SHADOW ARGS] — Xvfb, the SAM (LAB\alice) and freerdp-shadow-cli3 with its NLA
# traced at DEBUG (to see each completed NLA).
gw_start_target() {
	lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
	lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
	lab_start_shadow /log-filters:com.freerdp.core.nla:DEBUG "$@" ||
		{ e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }
}

# gw_count FILE FIXED_STRING — lines of FILE containing the string (0 if none or no file).
gw_count() {
	local n
	n="$(grep -cF -- "$2" "$1" 2>/dev/null)" || true
	printf '%s\n' "${n:-0}"
}

# _gw_port_file — the .rdp file that carries the running gateway's port (3.10).
_gw_port_file() {
	local f="$LAB_DIR/gateway.$RDG_PORT.rdp"
	[ -f "$f" ] || printf 'gatewayhostname:s:localhost:%s\r\ngatewayusagemethod:i:1\r\n' "$RDG_PORT" >"$f"
	printf '%s\n' "$f"
}

# _gw_wait_quiet FIRST_LINE — waits until every gateway connection that appears in the log from
# line FIRST_LINE on has logged "conn#N: done" (bounded by GW_QUIET_TIMEOUT seconds), then sets
# GW_NEW to those lines. Fails the check when the bound passes.
_gw_wait_quiet() {
	local first="$1" i ids id busy=""
	for ((i = 0; i < GW_QUIET_TIMEOUT * 10; i++)); do
		GW_NEW="$(tail -n +"$first" "$RDG_LOG" 2>/dev/null)"
		ids="$(grep -oE 'conn#[0-9]+' <<<"$GW_NEW" | sort -u)"
		busy=""
		for id in $ids; do
			grep -qF -- "$id: done" <<<"$GW_NEW" || busy+="${busy:+ }$id"
		done
		[ -z "$busy" ] && return 0
		sleep 0.1
	done
	e2e_fail "$GW_CASE [$GW_WHO]: the gateway's $busy did not end within ${GW_QUIET_TIMEOUT}s" "$RDG_LOG"
}

# gw_login WHO CASE WANT GATEWAY_OPTION [XFREERDP ARGS...] — WHO is nlassp or winpr; WANT is
# success or the refused login's exit status.
gw_login() {
	local who="$1" case_name="$2" want="$3" gw="$4"
	shift 4
	GW_WHO="$who"
	GW_CASE="$case_name"
	local lines_before auth_before accept_before
	lines_before="$(wc -l <"$RDG_LOG" 2>/dev/null || echo 0)"
	auth_before="$(gw_count "$LAB_SHADOW_LOG" '<<----- auth info')"
	accept_before="$(gw_count "$LAB_SHADOW_LOG" 'Accepting client from')"
	local args=("$gw" "$@") file=""
	[ "$who" = nlassp ] && args+=("/sspi-module:$E2E_MODULE")
	[ "$GW_PORT_FILE" = 1 ] && file="$(_gw_port_file)"
	LAB_CLIENT_FILE="$file" "$GW_CLIENT" "$LAB_SHADOW_PORT" "$LAB_PASSWORD" "${args[@]}"
	_gw_wait_quiet "$((lines_before + 1))"
	local auth_after accept_after
	auth_after="$(gw_count "$LAB_SHADOW_LOG" '<<----- auth info')"
	accept_after="$(gw_count "$LAB_SHADOW_LOG" 'Accepting client from')"
	GW_TARGET_DONE=$((auth_after - auth_before))
	local target="target not reached"
	[ "$accept_after" -gt "$accept_before" ] && target="target: NLA not completed"
	[ "$GW_TARGET_DONE" -gt 0 ] && target="target: NLA completed"
	local result
	result="$(_gw_summary)"
	GW_ROWS+=("$case_name|$who|$LAB_CLIENT_OUTCOME (exit $LAB_CLIENT_RC${LAB_CLIENT_SIGNAL:+, signal $LAB_CLIENT_SIGNAL})|$result|$target")
	e2e_say "[$who] $case_name: $LAB_CLIENT_OUTCOME (exit $LAB_CLIENT_RC); gateway: $result; $target"
	if [ "$want" = success ]; then
		_gw_expect_success
	else
		_gw_expect_refused "$want"
	fi
}

_gw_expect_success() {
	e2e_expect_login success "$GW_CASE [$GW_WHO]" "$RDG_LOG"
	if [ "$GW_TARGET_DONE" = 1 ]; then
		e2e_ok "$GW_CASE [$GW_WHO]: the target's NLA completed once (shadow: auth info; its SAM holds LAB\\alice alone)"
	else
		e2e_fail "$GW_CASE [$GW_WHO]: freerdp-shadow-cli3 completed $GW_TARGET_DONE NLA(s), expected 1" "$LAB_SHADOW_LOG"
	fi
	# The RDP connection went through the tunnel: the gateway opened the channel to the target.
	gw_expect_gateway "channel open to ${LAB_HOST:-127.0.0.1}:$LAB_SHADOW_PORT"
	[ "$GW_WHO" = nlassp ] || return 0
	local used
	used="$(gw_count "$LAB_CLIENT_LOG" "Using SSPI Module: $E2E_MODULE")"
	if [ "$used" -ge 2 ]; then
		e2e_ok "$GW_CASE: the module was used for the gateway and the target ($used)"
	else
		e2e_fail "$GW_CASE: FreeRDP loaded the module $used time(s), expected 2 or more" "$LAB_CLIENT_LOG"
	fi
}

# A refusal is FreeRDP ending by itself with the documented status: not a timeout (124, 137 after
# the KILL), not a signal, not a success.
_gw_expect_refused() {
	local want="$1" what="$GW_CASE [$GW_WHO]"
	if [ -n "$LAB_CLIENT_SIGNAL" ]; then
		e2e_fail "$what: xfreerdp3 was killed by signal $LAB_CLIENT_SIGNAL (exit $LAB_CLIENT_RC)" "$LAB_CLIENT_LOG"
	elif [ "$LAB_CLIENT_RC" = 124 ] || [ "$LAB_CLIENT_RC" = 137 ]; then
		e2e_fail "$what: xfreerdp3 timed out (exit $LAB_CLIENT_RC)" "$LAB_CLIENT_LOG"
	elif [ "$LAB_CLIENT_OUTCOME" = success ]; then
		e2e_fail "$what: the login succeeded" "$LAB_CLIENT_LOG" "$RDG_LOG"
	elif [ "$LAB_CLIENT_RC" != "$want" ]; then
		e2e_fail "$what: exit status $LAB_CLIENT_RC, expected $want" "$LAB_CLIENT_LOG" "$RDG_LOG"
	else
		e2e_ok "$what: refused with exit status $want"
	fi
	if [ "$GW_TARGET_DONE" = 0 ]; then
		e2e_ok "$what: the target saw no NLA"
	else
		e2e_fail "$what: the target completed an NLA" "$LAB_SHADOW_LOG"
	fi
}

# What the gateway said about the last login, in a few words.
_gw_summary() {
	local out="" l
	while IFS= read -r l; do
		case "$l" in
		*": authenticated "*) out+="${out:+, }${l#*: authenticated }" ;;
		*"authentication FAILED"*) out+="${out:+, }FAILED ${l#*authentication FAILED }" ;;
		*"refusing"*) out+="${out:+, }${l#*: }" ;;
		esac
	done <<<"$GW_NEW"
	out="$(printf '%s' "$out" | sed -E 's/Major \([0-9]+\): //; s/ Minor code may provide more information,//')"
	printf '%s\n' "${out:-no authentication}"
}

# gw_expect_gateway TEXT — the gateway's lines of the last login contain TEXT.
gw_expect_gateway() {
	if grep -qF -- "$1" <<<"$GW_NEW"; then
		e2e_ok "$GW_CASE [$GW_WHO]: gateway logged \"$1\""
	else
		e2e_fail "$GW_CASE [$GW_WHO]: the gateway did not log \"$1\"" "$RDG_LOG"
	fi
}

# gw_expect_no_gateway_auth — the gateway authenticated nobody in the last login.
gw_expect_no_gateway_auth() {
	if grep -qF ': authenticated ' <<<"$GW_NEW"; then
		e2e_fail "$GW_CASE [$GW_WHO]: the gateway authenticated someone" "$RDG_LOG"
	else
		e2e_ok "$GW_CASE [$GW_WHO]: the gateway authenticated nobody"
	fi
}

# gw_expect_client TEXT [WHAT] — the client's log of the last login contains TEXT.
gw_expect_client() {
	e2e_expect_grep "$LAB_CLIENT_LOG" "$1" "$GW_CASE [$GW_WHO]: ${2:-client logged \"$1\"}"
}

# gw_kdc_issued CLIENT SERVICE — TGS_REQ lines in which the KDC issued SERVICE to CLIENT (both
# without the realm).
gw_kdc_issued() {
	local n
	n="$(grep -F 'TGS_REQ' "$KDC_LOG" | grep -F 'ISSUE' | grep -cF "$1@$KDC_REALM for $2@$KDC_REALM")" || true
	printf '%s\n' "${n:-0}"
}

# gw_kdc_mark — remembers the KDC's counts before a login, for gw_expect_kdc.
GW_KDC_GW=0
GW_KDC_TARGET=0
gw_kdc_mark() {
	GW_KDC_GW="$(gw_kdc_issued gwuser HTTP/localhost)"
	GW_KDC_TARGET="$(gw_kdc_issued "$LAB_USER" TERMSRV/localhost)"
}

# gw_expect_kdc — since gw_kdc_mark, the KDC issued HTTP/localhost to gwuser (Kerberos at the
# gateway) and TERMSRV/localhost to the target's user (Kerberos at the target).
gw_expect_kdc() {
	local gw target
	gw="$(gw_kdc_issued gwuser HTTP/localhost)"
	target="$(gw_kdc_issued "$LAB_USER" TERMSRV/localhost)"
	if [ "$gw" -gt "$GW_KDC_GW" ]; then
		e2e_ok "$GW_CASE [$GW_WHO]: the KDC issued HTTP/localhost to gwuser ($GW_KDC_GW -> $gw)"
	else
		e2e_fail "$GW_CASE [$GW_WHO]: no HTTP/localhost ticket for gwuser in the KDC log" "$KDC_LOG"
	fi
	if [ "$target" -gt "$GW_KDC_TARGET" ]; then
		e2e_ok "$GW_CASE [$GW_WHO]: the KDC issued TERMSRV/localhost to $LAB_USER ($GW_KDC_TARGET -> $target)"
	else
		e2e_fail "$GW_CASE [$GW_WHO]: no TERMSRV/localhost ticket for $LAB_USER in the KDC log" "$KDC_LOG"
	fi
}

# gw_table — the side-by-side table of every login: one row per case, nlassp and WinPR.
gw_table() {
	local row case_name who outcome gw target last=""
	e2e_say "----- side by side: nlassp vs WinPR's built-in SSPI, through the same gateway -----"
	for row in "${GW_ROWS[@]}"; do
		IFS='|' read -r case_name who outcome gw target <<<"$row"
		if [ "$case_name" != "$last" ]; then
			e2e_say "$case_name"
			last="$case_name"
		fi
		e2e_say "    $(printf '%-7s %-28s %s; %s' "$who" "$outcome" "$target" "gateway: $gw")"
	done
}
