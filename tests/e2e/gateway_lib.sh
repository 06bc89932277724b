# shellcheck shell=bash
# Shared helpers for the RD Gateway end-to-end tests (tests/e2e/gateway_*.sh, trixie_gateway.sh):
# stock xfreerdp3 through the test gateway (tests/lab/rdg.sh, tests/e2e/rdg_gateway.py) to
# freerdp-shadow-cli3, once with nlassp (/sspi-module:) and once with WinPR's built-in packages,
# side by side. Source after e2e_lib.sh:
#
#   gw_enter "$@"            # first thing: re-runs the script in a private network namespace
#                            # (the gateway listens on 127.0.0.1:443, as FreeRDP 3.10 needs)
#   e2e_setup "$@"; e2e_need_module; gw_require
#   gw_start_target [ARGS]   # Xvfb + freerdp-shadow-cli3 (SAM LAB\alice), NLA logged at DEBUG
#   rdg_start ...            # the gateway (tests/lab/rdg.sh)
#   gw_login nlassp CASE WANT "/gateway:g:localhost,u:...,p:..." [XFREERDP ARGS]
#   gw_login winpr  CASE ""   "/gateway:..."      # WinPR: recorded and shown, not asserted
#   gw_expect_gateway "'GW\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
#   gw_table                 # prints the side-by-side table
#
# gw_login runs one `xfreerdp3 +auth-only` and records what the gateway logged (its new lines
# since the previous login), whether the target's NLA completed (freerdp-shadow-cli3 logs
# "<<----- auth info" when it receives the client's credentials after a successful NLA) and
# what the client's SSPI module said. WANT is success or refused (refused: the login did not
# succeed, whatever FreeRDP's exit status); for nlassp it is asserted, together with the
# module having been loaded for the gateway and for the target.

GW_ROWS=()
GW_CASE=""
GW_WHO=""
GW_NEW=""            # the gateway's log lines of the last login
GW_TARGET_DONE=0     # 1 if the target's NLA completed in the last login
GW_CLIENT=lab_connect

# gw_enter "$@" — the private network namespace (rdg_enter_netns); skips (77) when impossible.
gw_enter() {
	# shellcheck source=../lab/rdg.sh
	source "$E2E_DIR/../lab/rdg.sh"
	rdg_enter_netns "$@" || e2e_skip "needs root for a private network namespace (gateway on port 443)"
}

gw_require() {
	rdg_available || e2e_skip "the test gateway needs python3-gssapi and gss-ntlmssp (.ci/install-deps.sh)"
}

# gw_start_target [SHADOW ARGS] — Xvfb, the SAM (LAB\alice) and freerdp-shadow-cli3 with its NLA
# traced at DEBUG (to see each completed NLA).
gw_start_target() {
	lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
	lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
	lab_start_shadow /log-filters:com.freerdp.core.nla:DEBUG "$@" ||
		{ e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }
}

_gw_count() {
	local n
	n="$(grep -cF -- "$2" "$1" 2>/dev/null)" || true
	printf '%s\n' "${n:-0}"
}

# gw_login WHO CASE WANT GATEWAY_OPTION [XFREERDP ARGS...] — WHO is nlassp or winpr.
gw_login() {
	local who="$1" case_name="$2" want="$3" gw="$4"
	shift 4
	GW_WHO="$who"
	GW_CASE="$case_name"
	local lines_before auth_before accept_before
	lines_before="$(wc -l <"$RDG_LOG" 2>/dev/null || echo 0)"
	auth_before="$(_gw_count "$LAB_SHADOW_LOG" '<<----- auth info')"
	accept_before="$(_gw_count "$LAB_SHADOW_LOG" 'Accepting client from')"
	local args=("$gw" "$@")
	[ "$who" = nlassp ] && args+=("/sspi-module:$E2E_MODULE")
	"$GW_CLIENT" "$LAB_SHADOW_PORT" "$LAB_PASSWORD" "${args[@]}"
	sleep 0.3 # let the gateway and the server flush their logs
	GW_NEW="$(tail -n +"$((lines_before + 1))" "$RDG_LOG" 2>/dev/null)"
	local auth_after accept_after
	auth_after="$(_gw_count "$LAB_SHADOW_LOG" '<<----- auth info')"
	accept_after="$(_gw_count "$LAB_SHADOW_LOG" 'Accepting client from')"
	GW_TARGET_DONE=$((auth_after > auth_before ? 1 : 0))
	local target="target not reached"
	[ "$accept_after" -gt "$accept_before" ] && target="target: NLA not completed"
	[ "$GW_TARGET_DONE" = 1 ] && target="target: NLA completed"
	local result
	result="$(_gw_summary)"
	GW_ROWS+=("$case_name|$who|$LAB_CLIENT_OUTCOME (exit $LAB_CLIENT_RC)|$result|$target")
	e2e_say "[$who] $case_name: $LAB_CLIENT_OUTCOME (exit $LAB_CLIENT_RC); gateway: $result; $target"
	[ "$who" = nlassp ] || return 0
	case "$want" in
	success)
		e2e_expect_login success "$case_name" "$RDG_LOG"
		if [ "$GW_TARGET_DONE" = 1 ]; then
			e2e_ok "$case_name: the target's NLA completed (shadow: auth info)"
		else
			e2e_fail "$case_name: freerdp-shadow-cli3 did not complete an NLA" "$LAB_SHADOW_LOG"
		fi
		local used
		used="$(_gw_count "$LAB_CLIENT_LOG" "Using SSPI Module: $E2E_MODULE")"
		if [ "$used" -ge 2 ]; then
			e2e_ok "$case_name: the module was used for the gateway and the target ($used)"
		else
			e2e_fail "$case_name: FreeRDP loaded the module $used time(s), expected 2 or more" "$LAB_CLIENT_LOG"
		fi
		;;
	refused)
		if [ "$LAB_CLIENT_OUTCOME" != success ]; then
			e2e_ok "$case_name: the login was refused ($LAB_CLIENT_WHY)"
		else
			e2e_fail "$case_name: the login succeeded" "$LAB_CLIENT_LOG" "$RDG_LOG"
		fi
		if [ "$GW_TARGET_DONE" = 0 ]; then
			e2e_ok "$case_name: the target saw no NLA"
		else
			e2e_fail "$case_name: the target completed an NLA" "$LAB_SHADOW_LOG"
		fi
		;;
	esac
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
