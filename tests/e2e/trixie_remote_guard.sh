#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Remote Credential Guard and restricted admin with FreeRDP 3.15 (Debian 13 tree), in a throwaway
# realm LAB.TEST whose KDC runs on the host (127.0.0.1); see remote_guard.sh for the 3.10 side.
#   - after kinit -f: 3.15's xfreerdp3 +remoteGuard +auth-only with the module and an empty /p:
#     (3.15 also refuses +auth-only without /p:) -> our CREDSSP acceptor (credssp_test_server on the
#     host), which proves the ticket logon (keytab, KRB-CRED, the forwarded TGT at the KDC); the
#     same with 3.15's built-in Kerberos (/v:localhost), side by side;
#   - 3.15's own server (nla_server inside the tree, on libfreerdp-server3 3.15, Remote Credential
#     Guard on, nlassp as its module) refuses 3.15's client the same way 3.10's does (FreeRDP issue
#     12007); nlassp-probe --remote-guard-freerdp-compat reaches its RemoteCredentials, where the
#     TGT is proved and the login completes as alice;
#   - kinit -F: 3.15 + module refused with the line naming kinit -f / forwardable = true;
#   - +restricted-admin -credentials-delegation through the module -> 3.15's server: nothing
#     delegated.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
# shellcheck source=rcg_lib.sh
source "$(dirname "$0")/rcg_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
e2e_need_server
[ -x "$E2E_PROBE" ] || { e2e_say "FAIL: nlassp-probe not found: '$E2E_PROBE'"; exit 1; }
trixie_e2e_setup
rcg_realm
LAB_DOMAIN="$KDC_REALM"
rcg_start_credssp_server
NO_NTLM='/auth-pkg-list:!ntlm'

rcg_kinit -f
n="$(rcg_css_count)"
trixie_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM" "/sspi-module:$E2E_MODULE"
e2e_expect_module_used "$LAB_CLIENT_LOG" "3.15's xfreerdp3 +remoteGuard loaded the module"
rcg_expect_proof "3.15 xfreerdp3 + nlassp +remoteGuard, no password -> CREDSSP acceptor" "$n" "host/127.0.0.1@$KDC_REALM"
if lab_localhost_is_ipv4_loopback; then
	n="$(rcg_css_count)"
	LAB_HOST=localhost trixie_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM"
	rcg_expect_proof "side by side: 3.15 xfreerdp3 with its built-in Kerberos +remoteGuard (/v:localhost)" "$n" \
		"HOST/localhost@$KDC_REALM"
fi

if [ -z "$TRIXIE_E2E_NLA_SERVER" ]; then
	e2e_fail "nla_server cannot run inside the tree: FreeRDP 3.15's server side is not tested"
else
	E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB" --remote-guard "$RCG_PROOF_SPN")
	if LAB_WLOG_LEVEL=DEBUG lab_start_nla_server "$TRIXIE_E2E_NLA_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 \
		--timeout 60; then
		trixie_connect "$LAB_NLA_PORT" "" +remoteGuard "$NO_NTLM" "/sspi-module:$E2E_MODULE"
		lab_wait_exit "$LAB_NLA_PID" 15 >/dev/null
		if grep -q 'TSRemoteGuardPackageCred(Kerberos)' "$LAB_NLA_LOG" && grep -q 'connection 1: NLA failed' "$LAB_NLA_LOG" &&
			! grep -q 'remote guard:' "$LAB_NLA_LOG"; then
			e2e_ok "3.15 xfreerdp3 + nlassp +remoteGuard -> 3.15 server: refused before RemoteCredentials (FreeRDP issue 12007, as on 3.10)"
		else
			e2e_fail "3.15 xfreerdp3 + nlassp +remoteGuard -> 3.15 server: expected FreeRDP's refusal" "$LAB_NLA_LOG"
		fi
		lab_stop "$LAB_NLA_PID" nla_server
	fi
	proofs="$(kdc_count_tgs "$RCG_PROOF_SPN")"
	if lab_start_nla_server "$TRIXIE_E2E_NLA_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60; then
		rcg_probe "$LAB_DIR/logs/probe_rcg315.json" "$LAB_NLA_PORT" --remote-guard-freerdp-compat
		e2e_expect_server_exit 0 "nlassp-probe --remote-guard -> 3.15 server: nla_server exited 0"
		e2e_expect_grep "$LAB_NLA_LOG" "connection 1: remote guard: $KDC_USER@$KDC_REALM, flags 0x2, ticket for host/127.0.0.1@$KDC_REALM decrypted with the keytab, KRB-CRED unsealed, TGT krbtgt/$KDC_REALM@$KDC_REALM forwarded, used for $RCG_PROOF_SPN" \
			"FreeRDP 3.15's peer->RemoteCredentials got the ticket logon and proved $KDC_USER's TGT"
		e2e_expect_grep "$LAB_NLA_LOG" "connection 1: NLA succeeded for $KDC_REALM\\$KDC_USER (activated: no; delegated: remote guard)" \
			"3.15 server: the login completed as $KDC_REALM\\$KDC_USER with no password delegated"
		if [ "$(kdc_count_tgs "$RCG_PROOF_SPN")" -gt "$proofs" ]; then
			e2e_ok "KDC log: the 3.15 server's TGS_REQ for $RCG_PROOF_SPN with $KDC_USER's forwarded TGT"
		else
			e2e_fail "no TGS_REQ for $RCG_PROOF_SPN from the 3.15 server" "$KDC_LOG"
		fi
		lab_stop "$LAB_NLA_PID" nla_server
	fi
	E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
	if lab_start_nla_server "$TRIXIE_E2E_NLA_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60; then
		trixie_connect "$LAB_NLA_PORT" "$KDC_PASSWORD" +restricted-admin -credentials-delegation "$NO_NTLM" \
			"/sspi-module:$E2E_MODULE"
		e2e_expect_login success "3.15 xfreerdp3 + nlassp +restricted-admin -credentials-delegation -> 3.15 server" \
			"$LAB_NLA_LOG"
		e2e_expect_server_exit 0 "3.15 restricted admin: nla_server exited 0"
		e2e_expect_grep "$LAB_NLA_LOG" "RDP_NEG_REQ::flags RESTRICTED_ADMIN_MODE_REQUIRED" \
			"3.15 restricted admin: the client asked for restricted admin mode"
		e2e_expect_grep "$LAB_NLA_LOG" "; delegated: none)" "3.15 restricted admin: nothing delegated"
		lab_stop "$LAB_NLA_PID" nla_server
	fi
fi

rcg_kinit -F
n="$(rcg_css_count)"
trixie_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM" "/sspi-module:$E2E_MODULE"
e2e_expect_grep "$LAB_CLIENT_LOG" "Remote Credential Guard is not possible for $KDC_USER@$KDC_REALM: the ticket-granting ticket is not forwardable; run kinit -f (or set forwardable = true in krb5.conf [libdefaults])" \
	"3.15, TGT not forwardable: one line naming the fix"
if rcg_css_lines_since "$n" | grep -q '^OK'; then
	e2e_fail "3.15, TGT not forwardable: the server still received credentials"
else
	e2e_ok "3.15, TGT not forwardable: no credentials reached the server"
fi
e2e_finish
