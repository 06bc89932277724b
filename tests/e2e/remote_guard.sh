#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Remote Credential Guard end to end (FreeRDP 3.10): Kerberos single sign-on without a password, in
# a throwaway realm LAB.TEST on 127.0.0.1, everything logged at TRACE.
#
# After `kinit -f alice`, the unmodified xfreerdp3 +remoteGuard +auth-only with the module and no
# password asks the module for a KERB_TICKET_LOGON and sends it in TSRemoteGuardCreds:
#   1. to our CREDSSP acceptor (tests/credssp/credssp_test_server), which decodes it and proves it
#      with libkrb5 as a server would (host/ ticket decrypted with the keytab, KRB-CRED read, the
#      forwarded TGT gets a ticket for HTTP/proof.lab.test from the KDC); the password is nowhere in
#      the TSCredentials. The same with WinPR's built-in Kerberos (/v:localhost), side by side.
#   2. to FreeRDP 3.10's own server (nla_server on libfreerdp-server3, Remote Credential Guard on,
#      nlassp as its SSPI module): it refuses - with WinPR's built-in client exactly as with the
#      module - because its parser rejects the empty supplementalCreds FreeRDP's 3.10 client always
#      sends (FreeRDP issue 12007; accepted from FreeRDP 3.19 on). Recorded as what it is.
# nlassp-probe (our CREDSSP initiator through the module, --remote-guard-freerdp-compat) reaches the
# same FreeRDP server's peer->RemoteCredentials: nla_server proves alice's TGT there and the login
# completes as alice, no password delegated.
# A TGT that is not forwardable (kinit -F): refused before anything is sent, with one log line
# naming kinit -f / forwardable = true, and SEC_E_DELEGATION_POLICY (seen through nlassp-probe).
# A password logon with krb5.conf's forwardable = false: the module's private TGT is forwardable and
# Remote Credential Guard works, the password is not in the TSCredentials (WinPR's built-in: not
# forwardable, refused - side by side).
# Finally no log of any process holds the password, in any form.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=rcg_lib.sh
source "$(dirname "$0")/rcg_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
[ -x "$E2E_PROBE" ] || { e2e_say "FAIL: nlassp-probe not found: '$E2E_PROBE'"; exit 1; }
LAB_WLOG_LEVEL=TRACE
rcg_realm
LAB_DOMAIN="$KDC_REALM"
rcg_start_credssp_server
NO_NTLM='/auth-pkg-list:!ntlm'

# --- 1. stock xfreerdp3 -> our CREDSSP acceptor, from a kinit -f ccache, no password ------------
rcg_kinit -f
n="$(rcg_css_count)"; proofs="$(kdc_count_tgs "$RCG_PROOF_SPN")"
lab_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM" "/sspi-module:$E2E_MODULE"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 +remoteGuard loaded the module"
e2e_expect_grep "$LAB_CLIENT_LOG" "Remote Credential Guard: a ticket for host/127.0.0.1 and $KDC_USER@$KDC_REALM's forwarded ticket-granting ticket" \
	"nlassp made the ticket logon (host/127.0.0.1 + forwarded TGT)"
rcg_expect_proof "xfreerdp3 + nlassp +remoteGuard, no password -> CREDSSP acceptor" "$n" "host/127.0.0.1@$KDC_REALM"
if [ "$(kdc_count_tgs "$RCG_PROOF_SPN")" -gt "$proofs" ]; then
	e2e_ok "the KDC log shows $KDC_USER's forwarded TGT at work: TGS_REQ for $RCG_PROOF_SPN ($proofs -> $(kdc_count_tgs "$RCG_PROOF_SPN"))"
else
	e2e_fail "no TGS_REQ for $RCG_PROOF_SPN in the KDC log" "$KDC_LOG"
fi
if lab_localhost_is_ipv4_loopback; then
	n="$(rcg_css_count)"
	LAB_HOST=localhost lab_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM"
	rcg_expect_proof "side by side: xfreerdp3 with WinPR's built-in Kerberos +remoteGuard (/v:localhost)" "$n" \
		"HOST/localhost@$KDC_REALM"
else
	e2e_say "note: localhost is not 127.0.0.1 only here; WinPR's built-in side is not run"
fi

# --- 2. FreeRDP 3.10's own server (RemoteCredentials) ------------------------------------------
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB" --remote-guard "$RCG_PROOF_SPN")
freerdp_server_refuses() { # WHAT [XFREERDP ARGS...] — FreeRDP 3.10's server refuses its client's RCG
	local what="$1"
	shift
	lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60 ||
		{ e2e_fail "$what: nla_server did not start" "$LAB_NLA_LOG"; return; }
	lab_connect "$LAB_NLA_PORT" "" +remoteGuard "$NO_NTLM" "$@"
	lab_wait_exit "$LAB_NLA_PID" 15 >/dev/null
	if grep -q 'TSRemoteGuardPackageCred(Kerberos)' "$LAB_NLA_LOG" && grep -q 'connection 1: NLA failed' "$LAB_NLA_LOG" &&
		! grep -q 'remote guard:' "$LAB_NLA_LOG"; then
		e2e_ok "$what: FreeRDP 3.10's server decrypted the TSCredentials (logonCred Kerberos read) and then refused them before RemoteCredentials (FreeRDP issue 12007: empty supplementalCreds)"
	else
		e2e_fail "$what: expected FreeRDP 3.10's server to refuse after TSRemoteGuardPackageCred(Kerberos)" "$LAB_NLA_LOG"
	fi
	lab_stop "$LAB_NLA_PID" nla_server
}
freerdp_server_refuses "xfreerdp3 + nlassp +remoteGuard -> FreeRDP 3.10 server" "/sspi-module:$E2E_MODULE"
if lab_localhost_is_ipv4_loopback; then
	LAB_HOST=localhost freerdp_server_refuses "side by side: xfreerdp3 with WinPR's built-in Kerberos -> FreeRDP 3.10 server"
fi

proofs="$(kdc_count_tgs "$RCG_PROOF_SPN")"
if lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 60; then
	rcg_probe "$LAB_DIR/logs/probe_rcg.json" "$LAB_NLA_PORT" --remote-guard-freerdp-compat
	e2e_expect_server_exit 0 "nlassp-probe --remote-guard (module) -> FreeRDP 3.10 server: nla_server exited 0"
	e2e_expect_grep "$LAB_DIR/logs/probe_rcg.json" '"success":true' "nlassp-probe --remote-guard: logged in" \
		"$LAB_DIR/logs/probe_rcg.log"
	e2e_expect_grep "$LAB_DIR/logs/probe_rcg.json" '"remote_guard":true' "nlassp-probe sent Remote Credential Guard credentials"
	e2e_expect_grep "$LAB_NLA_LOG" "connection 1: remote guard: $KDC_USER@$KDC_REALM, flags 0x2, ticket for host/127.0.0.1@$KDC_REALM decrypted with the keytab, KRB-CRED unsealed, TGT krbtgt/$KDC_REALM@$KDC_REALM forwarded, used for $RCG_PROOF_SPN" \
		"FreeRDP's peer->RemoteCredentials got the ticket logon and proved $KDC_USER's TGT"
	e2e_expect_grep "$LAB_NLA_LOG" "connection 1: NLA succeeded for $KDC_REALM\\$KDC_USER (activated: no; delegated: remote guard)" \
		"the login completed as $KDC_REALM\\$KDC_USER with no password delegated"
	e2e_expect_module_used "$LAB_NLA_LOG" "the FreeRDP server used the module as acceptor"
	if [ "$(kdc_count_tgs "$RCG_PROOF_SPN")" -gt "$proofs" ]; then
		e2e_ok "KDC log: the server's TGS_REQ for $RCG_PROOF_SPN with $KDC_USER's forwarded TGT"
	else
		e2e_fail "no TGS_REQ for $RCG_PROOF_SPN from the FreeRDP server" "$KDC_LOG"
	fi
	lab_stop "$LAB_NLA_PID" nla_server
else
	e2e_fail "nla_server did not start" "$LAB_NLA_LOG"
fi

# --- 3. a TGT that is not forwardable ------------------------------------------------------------
rcg_kinit -F
n="$(rcg_css_count)"
lab_connect "$RCG_CSS_PORT" "" +remoteGuard "$NO_NTLM" "/sspi-module:$E2E_MODULE"
e2e_expect_grep "$LAB_CLIENT_LOG" "Remote Credential Guard is not possible for $KDC_USER@$KDC_REALM: the ticket-granting ticket is not forwardable; run kinit -f (or set forwardable = true in krb5.conf [libdefaults])" \
	"not forwardable: one line naming the fix"
e2e_expect_grep "$LAB_CLIENT_LOG" "QueryContextAttributesA -> SEC_E_DELEGATION_POLICY" \
	"not forwardable: SECPKG_CRED_ATTR_TICKET_LOGON answered SEC_E_DELEGATION_POLICY"
if rcg_css_lines_since "$n" | grep -q '^OK'; then
	e2e_fail "not forwardable: the server still received credentials"
else
	e2e_ok "not forwardable: no credentials reached the server"
fi
rcg_probe "$LAB_DIR/logs/probe_noforward.json" "$RCG_CSS_PORT" --remote-guard
e2e_expect_grep "$LAB_DIR/logs/probe_noforward.json" '"status":"SEC_E_DELEGATION_POLICY"' \
	"not forwardable: nlassp-probe --remote-guard reports SEC_E_DELEGATION_POLICY" "$LAB_DIR/logs/probe_noforward.log"

# --- 4. after a password logon, with krb5.conf's forwardable = false --------------------------------
rm -f "${KRB5CCNAME#FILE:}"
sed 's/forwardable = true/forwardable = false/' "$KRB5_CONFIG" >"$LAB_DIR/krb5.noforward.conf"
n="$(rcg_css_count)"
KRB5_CONFIG="$LAB_DIR/krb5.noforward.conf" lab_connect "$RCG_CSS_PORT" "$KDC_PASSWORD" +remoteGuard "$NO_NTLM" \
	"/sspi-module:$E2E_MODULE"
rcg_expect_proof "password logon (forwardable = false in krb5.conf) + nlassp +remoteGuard" "$n" "host/127.0.0.1@$KDC_REALM"
if lab_localhost_is_ipv4_loopback; then
	n="$(rcg_css_count)"
	KRB5_CONFIG="$LAB_DIR/krb5.noforward.conf" LAB_HOST=localhost lab_connect "$RCG_CSS_PORT" "$KDC_PASSWORD" \
		+remoteGuard "$NO_NTLM"
	if rcg_css_lines_since "$n" | grep -q '^OK.*remote-guard=alice'; then
		e2e_say "side by side: WinPR's built-in after a password logon: Remote Credential Guard worked"
	else
		e2e_say "side by side: WinPR's built-in after a password logon: no Remote Credential Guard ($(grep -o 'krb5_fwd_tgt_creds ([^)]*)' "$LAB_CLIENT_LOG" | head -n1)) - it asks for a TGT that is not forwardable"
	fi
fi

# --- no password anywhere ----------------------------------------------------------------------------
rcg_expect_no_password "every log at TRACE (clients, servers, probe, KDC)" "$LAB_DIR"/logs/* "$KDC_LOG"
e2e_finish
