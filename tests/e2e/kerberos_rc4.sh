#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RC4-HMAC session keys, as Active Directory issues them for a service account limited to RC4: the
# throwaway realm LAB.TEST allows RC4 (kdc.sh kdc_rc4_enable) and TERMSRV/localhost and
# TERMSRV/127.0.0.1 have only arcfour-hmac keys and RC4 session keys (kdc_rc4_service). Every login
# must leave a TGS_REQ with ses=...arcfour-hmac for its service in the KDC log, and every login
# whose messages are sealed with the RC4 key must show it in the module's DEBUG lines
# ("RC4-HMAC message protection in WinPR's RFC 4121 layout, 56-byte token"):
#   - stock xfreerdp3 (WinPR's Kerberos sends no RFC 4537 enctype list, so the RC4 key seals
#     CredSSP's messages, 56-byte RFC 4121 tokens) -> nla_server with nlassp ('/auth-pkg-list:!ntlm',
#     /v:localhost, /ipv4:force where localhost also means ::1);
#   - an RC4-only client (a krb5.conf permitting arcfour-hmac only, as a client limited to RC4 is:
#     no AES subkey, the RC4 key seals everything), FreeRDP's CredSSP code on both ends:
#       xfreerdp3 + nlassp -> nla_server + nlassp;
#       stock xfreerdp3 -> nla_server + nlassp;
#       xfreerdp3 + nlassp -> freerdp-shadow-cli3 (WinPR's acceptor, which seals with an RC4
#       acceptor subkey from its AP-REP: the module takes it, as MIT's GSSAPI does not);
#   - an RC4-only client that starts in RFC 4757's layout (NLASSP_KERBEROS_RC4_LAYOUT=rfc4757, as a
#     Windows client seals) -> nla_server + nlassp: refused, the server's line names FreeRDP's cut;
#   - with AES permitted, our client's authenticator lists AES, so the servers answer with an AES
#     subkey and RC4 only carries the ticket: xfreerdp3 + nlassp -> shadow and -> nla_server + nlassp.
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
	! kdc_rc4_service "$E2E_SPN" "$KDC_KEYTAB" || ! kdc_rc4_client "$KDC_DIR/rc4-only.conf" bob; then
	e2e_say "FAIL: could not make the realm issue RC4 session keys"
	exit 1
fi
lab_host_reaches_ipv4_loopback localhost || e2e_skip "localhost does not resolve to 127.0.0.1 here"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
# The module's Kerberos lines at DEBUG (the message protection's layout and token size), in the
# client's and the server's logs; everything else as the lab sets it.
export WLOG_FILTER="com.nlassp.kerberos:DEBUG"
RC4_LINE="RC4-HMAC message protection in WinPR's RFC 4121 layout, 56-byte token"

rc4_tickets() {
	grep -F 'TGS_REQ' "$KDC_LOG" 2>/dev/null | grep -F "for $1@" | grep -c 'ses=[A-Z:]*arcfour-hmac' || true
}
# e2e_expect_rc4 SPN BEFORE WHAT — the KDC issued a ticket for SPN with an RC4 session key since BEFORE.
e2e_expect_rc4() {
	local after
	after="$(rc4_tickets "$1")"
	if [ "$after" -gt "$2" ]; then
		e2e_ok "$3: the KDC issued $1 an RC4 session key ($2 -> $after)"
	else
		e2e_fail "$3: no TGS_REQ with ses=arcfour-hmac for $1" "$KDC_LOG"
	fi
}
# expect_rc4_sealed LOG WHAT [COUNT] — the module sealed/opened CredSSP's messages with the RC4 key.
expect_rc4_sealed() {
	local n
	n="$(grep -cF "$RC4_LINE" "$1" 2>/dev/null || true)"
	if [ "${n:-0}" -ge "${3:-1}" ]; then
		e2e_ok "$2: $n message(s) sealed or opened with the RC4 key in WinPR's 56-byte layout"
	else
		e2e_fail "$2: the module did not protect messages with the RC4 key ('$RC4_LINE' x${3:-1})" "$1"
	fi
}
expect_no_rc4_sealed() {
	e2e_expect_no_grep "$1" "RC4-HMAC message protection" "$2: the messages were sealed with an AES subkey"
}

# 1. Stock client (WinPR's Kerberos), the realm's usual enctypes.
before="$(rc4_tickets TERMSRV/localhost)"
LAB_HOST=localhost e2e_nla_login success "stock xfreerdp3 -> nlassp server, RC4 session key" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm'
e2e_expect_rc4 TERMSRV/localhost "$before" "stock xfreerdp3 -> nlassp server"
# pubKeyAuth in, pubKeyAuth out, TSCredentials in: three messages on the server's side.
expect_rc4_sealed "$LAB_NLA_LOG" "stock xfreerdp3 -> nlassp server" 3

# 2. A client limited to RC4: everything the RC4 key seals goes through FreeRDP's CredSSP code.
rc4_client() { KRB5_CONFIG="$KDC_DIR/rc4-only.conf" LAB_USER=bob "$@"; }
before="$(rc4_tickets "$E2E_SPN")"
rc4_client e2e_nla_login success "RC4-only xfreerdp3 + nlassp -> nlassp server" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_rc4 "$E2E_SPN" "$before" "RC4-only xfreerdp3 + nlassp -> nlassp server"
expect_rc4_sealed "$LAB_CLIENT_LOG" "RC4-only xfreerdp3 + nlassp -> nlassp server (client)" 3
expect_rc4_sealed "$LAB_NLA_LOG" "RC4-only xfreerdp3 + nlassp -> nlassp server (server)" 3
e2e_expect_no_grep "$LAB_CLIENT_LOG" "EncryptMessage failed" "RC4-only nlassp client: every EncryptMessage fit FreeRDP's buffer"

before="$(rc4_tickets TERMSRV/localhost)"
LAB_HOST=localhost rc4_client e2e_nla_login success "RC4-only stock xfreerdp3 -> nlassp server" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm'
e2e_expect_rc4 TERMSRV/localhost "$before" "RC4-only stock xfreerdp3 -> nlassp server"
expect_rc4_sealed "$LAB_NLA_LOG" "RC4-only stock xfreerdp3 -> nlassp server" 3

# A client sealing in RFC 4757's layout, as Windows does (our client told to start in it): FreeRDP's
# server code cuts its 45-byte token at 56 bytes; the module refuses it with a line saying so.
if lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 90; then
	NLASSP_KERBEROS_RC4_LAYOUT=rfc4757 rc4_client lab_connect "$LAB_NLA_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' \
		"/sspi-module:$E2E_MODULE"
	if [ "$LAB_CLIENT_OUTCOME" = success ]; then
		e2e_fail "an RFC 4757 client logged in through FreeRDP's server code: update the README"
	else
		e2e_ok "an RFC 4757 client (Windows' layout) -> nlassp server: refused ($LAB_CLIENT_WHY)"
	fi
	e2e_expect_grep "$LAB_CLIENT_LOG" "RC4-HMAC message protection in RFC 4757 layout, 45-byte token" \
		"RFC 4757 client: a 45-byte token for the 32-byte pubKeyAuth hash"
	e2e_expect_grep "$LAB_NLA_LOG" "token is 45 bytes, but the caller cut the message into a 56-byte token" \
		"RFC 4757 client -> nlassp server: the module names FreeRDP's cut"
	lab_stop "$LAB_NLA_PID" nla_server
else
	e2e_fail "nla_server did not start" "$LAB_NLA_LOG"
fi

# 3. FreeRDP's own server (WinPR's Kerberos acceptor).
lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
if lab_start_shadow "/keytab:$KDC_KEYTAB"; then
	before="$(rc4_tickets "$E2E_SPN")"
	lab_connect "$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
	e2e_expect_login success "nlassp client -> shadow, RC4 ticket, AES subkey" "$LAB_SHADOW_LOG"
	e2e_expect_rc4 "$E2E_SPN" "$before" "nlassp client -> shadow"
	expect_no_rc4_sealed "$LAB_CLIENT_LOG" "nlassp client -> shadow"
	# WinPR's acceptor seals with an RC4 acceptor subkey from its AP-REP, which MIT's GSSAPI drops
	# and the module takes itself (its DEBUG line says so).
	before="$(rc4_tickets "$E2E_SPN")"
	rc4_client lab_connect "$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
	e2e_expect_login success "RC4-only xfreerdp3 + nlassp -> shadow (WinPR's acceptor)" "$LAB_SHADOW_LOG"
	e2e_expect_rc4 "$E2E_SPN" "$before" "RC4-only xfreerdp3 + nlassp -> shadow"
	expect_rc4_sealed "$LAB_CLIENT_LOG" "RC4-only xfreerdp3 + nlassp -> shadow" 3
	e2e_expect_grep "$LAB_CLIENT_LOG" "the acceptor's AP-REP carries its own RC4 subkey" \
		"RC4-only xfreerdp3 + nlassp -> shadow: WinPR's acceptor subkey taken from its AP-REP"
	lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
else
	e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"
fi

before="$(rc4_tickets "$E2E_SPN")"
e2e_nla_login success "nlassp client -> nlassp server, RC4 ticket, AES subkey" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_rc4 "$E2E_SPN" "$before" "nlassp client -> nlassp server"
expect_no_rc4_sealed "$LAB_CLIENT_LOG" "nlassp client -> nlassp server"
e2e_finish
