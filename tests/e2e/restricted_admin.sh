#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Restricted admin (FreeRDP 3.10) through the module: the login completes and no credentials are
# delegated, in a throwaway realm LAB.TEST on 127.0.0.1, against FreeRDP's own server (nla_server,
# nlassp as its SSPI module).
#   - xfreerdp3 +restricted-admin -credentials-delegation with nlassp (Kerberos, password): the
#     server's TSCredentials are empty (delegated: none); Kerberos really was used (TGS_REQ);
#   - the same with WinPR's built-in Kerberos (/v:localhost), side by side;
#   - xfreerdp3 +restricted-admin alone: FreeRDP 3.10 still sends the password in TSPasswordCreds
#     (nla.c only empties them with -credentials-delegation); recorded so the documentation says so;
#   - nlassp-probe --restricted-admin through the module, from a kinit ccache: nothing delegated;
#   - stock xfreerdp3 +restricted-admin -credentials-delegation from the kinit ccache with /p: empty
#     (+auth-only insists on /p:; the module takes an empty password as none): nothing delegated.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=rcg_lib.sh
source "$(dirname "$0")/rcg_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
[ -x "$E2E_PROBE" ] || { e2e_say "FAIL: nlassp-probe not found: '$E2E_PROBE'"; exit 1; }
rcg_realm
LAB_DOMAIN="$KDC_REALM"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
NO_NTLM='/auth-pkg-list:!ntlm'

# restricted_login WHAT WANT_DELEGATED PASSWORD [XFREERDP ARGS...] — one login against a fresh
# nla_server that must complete and report what the TSCredentials carried.
restricted_login() {
	local what="$1" want="$2" pass="$3" spn="$E2E_SPN" before
	shift 3
	[ "${LAB_HOST:-}" = localhost ] && spn=TERMSRV/localhost
	before="$(kdc_count_tgs "$spn")"
	lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60 ||
		{ e2e_fail "$what: nla_server did not start" "$LAB_NLA_LOG"; return; }
	lab_connect "$LAB_NLA_PORT" "$pass" "$NO_NTLM" "$@"
	e2e_expect_login success "$what" "$LAB_NLA_LOG"
	e2e_expect_server_exit 0 "$what: nla_server exited 0"
	e2e_expect_grep "$LAB_NLA_LOG" "RDP_NEG_REQ::flags RESTRICTED_ADMIN_MODE_REQUIRED" \
		"$what: the client asked for restricted admin mode"
	e2e_expect_grep "$LAB_NLA_LOG" "connection 1: NLA succeeded for " "$what: the server completed the login"
	e2e_expect_grep "$LAB_NLA_LOG" "; delegated: $want)" "$what: credentials delegated: $want"
	E2E_SPN="$spn" e2e_expect_tgs "$before" "$what"
	lab_stop "$LAB_NLA_PID" nla_server
}

restricted_login "xfreerdp3 + nlassp +restricted-admin -credentials-delegation" none "$KDC_PASSWORD" \
	+restricted-admin -credentials-delegation "/sspi-module:$E2E_MODULE"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
if lab_localhost_is_ipv4_loopback; then
	LAB_HOST=localhost restricted_login \
		"side by side: xfreerdp3 with WinPR's built-in Kerberos +restricted-admin -credentials-delegation" none \
		"$KDC_PASSWORD" +restricted-admin -credentials-delegation
else
	e2e_say "note: localhost is not 127.0.0.1 only here; WinPR's built-in side is not run"
fi
restricted_login "xfreerdp3 + nlassp +restricted-admin alone (FreeRDP 3.10 still sends the password)" password \
	"$KDC_PASSWORD" +restricted-admin "/sspi-module:$E2E_MODULE"

# nlassp-probe --restricted-admin through the module, from a kinit ccache (no password at all).
rcg_kinit -f
if lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60; then
	WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" timeout 60 "$E2E_PROBE" --json --timeout 20 --module "$E2E_MODULE" \
		--user "$KDC_USER" --domain "$KDC_REALM" --auth-pkg-list '!ntlm' --restricted-admin \
		"127.0.0.1:$LAB_NLA_PORT" >"$LAB_DIR/logs/probe_ra.json" 2>"$LAB_DIR/logs/probe_ra.log"
	e2e_expect_server_exit 0 "nlassp-probe --restricted-admin (module, ccache): nla_server exited 0"
	e2e_expect_grep "$LAB_DIR/logs/probe_ra.json" '"success":true' "nlassp-probe --restricted-admin logged in" \
		"$LAB_DIR/logs/probe_ra.log"
	e2e_expect_grep "$LAB_DIR/logs/probe_ra.json" '"mechanism":"Kerberos"' "nlassp-probe --restricted-admin used Kerberos"
	e2e_expect_grep "$LAB_NLA_LOG" "RDP_NEG_REQ::flags RESTRICTED_ADMIN_MODE_REQUIRED" \
		"nlassp-probe asked for restricted admin mode"
	e2e_expect_grep "$LAB_NLA_LOG" "; delegated: none)" "nlassp-probe --restricted-admin: nothing delegated"
	lab_stop "$LAB_NLA_PID" nla_server
else
	e2e_fail "nla_server did not start" "$LAB_NLA_LOG"
fi

# Stock xfreerdp3 +restricted-admin from the same ccache, /p: empty (+auth-only needs /p:): the
# module takes an empty password as none and logs on from the ticket cache (a fresh one, so that the
# KDC log shows the service ticket request).
rcg_kinit -f
restricted_login "xfreerdp3 + nlassp +restricted-admin -credentials-delegation from a kinit ccache, /p: empty" none \
	"" +restricted-admin -credentials-delegation "/sspi-module:$E2E_MODULE"
e2e_finish
