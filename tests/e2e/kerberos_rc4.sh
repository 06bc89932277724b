#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RC4-HMAC session keys, as Active Directory issues them for a service account limited to RC4: the
# throwaway realm LAB.TEST allows RC4 (kdc.sh kdc_rc4_enable) and TERMSRV/localhost and
# TERMSRV/127.0.0.1 have only arcfour-hmac keys and RC4 session keys (kdc_rc4_service). Every login
# must leave a TGS_REQ with ses=...arcfour-hmac for its service in the KDC log.
#   - stock xfreerdp3 (WinPR's Kerberos, which then seals CredSSP with RFC 4121 tokens under the RC4
#     key) -> nla_server with nlassp ('/auth-pkg-list:!ntlm', /v:localhost);
#   - xfreerdp3 + nlassp -> freerdp-shadow-cli3 (WinPR's Kerberos acceptor);
#   - xfreerdp3 + nlassp -> nla_server with nlassp.
source "$(dirname "$0")/e2e_lib.sh"
# The stock client's login goes to /v:localhost (TERMSRV/localhost): where localhost is ::1 too,
# run in a private mount namespace whose /etc/hosts makes it 127.0.0.1 (tests/lab/lab.sh).
lab_localhost_ipv4 "$@" || true
e2e_setup "$@"
e2e_need_module
e2e_need_server
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"
kdc_stop
if ! kdc_rc4_enable || ! kdc_start || ! kdc_rc4_service TERMSRV/localhost "$KDC_KEYTAB" ||
	! kdc_rc4_service "$E2E_SPN" "$KDC_KEYTAB"; then
	e2e_say "FAIL: could not make the realm issue RC4 session keys"
	exit 1
fi
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")

# e2e_expect_rc4 SPN BEFORE WHAT — the KDC issued a ticket for SPN with an RC4 session key since BEFORE.
rc4_tickets() {
	grep -F 'TGS_REQ' "$KDC_LOG" 2>/dev/null | grep -F "for $1@" | grep -c 'ses=[A-Z:]*arcfour-hmac' || true
}
e2e_expect_rc4() {
	local after
	after="$(rc4_tickets "$1")"
	if [ "$after" -gt "$2" ]; then
		e2e_ok "$3: the KDC issued $1 an RC4 session key ($2 -> $after)"
	else
		e2e_fail "$3: no TGS_REQ with ses=arcfour-hmac for $1" "$KDC_LOG"
	fi
}

if lab_localhost_is_ipv4_loopback; then
	before="$(rc4_tickets TERMSRV/localhost)"
	LAB_HOST=localhost e2e_nla_login success "stock xfreerdp3 -> nlassp server, Kerberos with an RC4 session key" \
		"$KDC_PASSWORD" '/auth-pkg-list:!ntlm'
	e2e_expect_rc4 TERMSRV/localhost "$before" "stock xfreerdp3 -> nlassp server"
else
	e2e_say "note: localhost is not 127.0.0.1 only here; the stock-client login is not run"
fi

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
if lab_start_shadow "/keytab:$KDC_KEYTAB"; then
	before="$(rc4_tickets "$E2E_SPN")"
	lab_connect "$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
	e2e_expect_login success "nlassp client -> shadow (WinPR's acceptor), Kerberos with an RC4 session key" "$LAB_SHADOW_LOG"
	e2e_expect_rc4 "$E2E_SPN" "$before" "nlassp client -> shadow"
	lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
else
	e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"
fi

before="$(rc4_tickets "$E2E_SPN")"
e2e_nla_login success "nlassp client -> nlassp server, Kerberos with an RC4 session key" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_rc4 "$E2E_SPN" "$before" "nlassp client -> nlassp server"
e2e_finish
