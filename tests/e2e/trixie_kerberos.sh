#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Kerberos with FreeRDP 3.15 (Debian 13 tree) against nlassp as the server's SSPI module, in a
# throwaway realm LAB.TEST whose KDC runs on the host (127.0.0.1); the realm's krb5.conf and
# keytab are bound into the tree at the same paths. Every login must leave a TGS_REQ for the
# service in the KDC log (Kerberos, not an NTLM fallback).
#   - 3.15's stock xfreerdp3 ('/auth-pkg-list:!ntlm', /v:localhost: its built-in Kerberos client
#     offers user-to-user first) -> nla_server --module --keytab, on 3.10 (host) and on 3.15 (tree);
#   - 3.15's xfreerdp3 with nlassp as its module -> the same servers; a wrong password is refused;
#   - then with RC4-HMAC session keys and a client whose krb5.conf permits RC4 only (kdc.sh
#     kdc_rc4_*: no AES subkey): 3.15's xfreerdp3 + nlassp -> the same servers, every CredSSP message
#     sealed with the RC4 key in WinPR's 56-byte layout (the module's DEBUG line), which 3.15's
#     credssp_auth.c carries as 3.10's does.
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
e2e_need_server
trixie_e2e_setup
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")

for inside in 0 1; do
	where="3.10 nla_server"
	[ "$inside" = 1 ] && where="3.15 nla_server"
	# FreeRDP's built-in Kerberos client cannot target an IP address: it connects to localhost
	# (TERMSRV/localhost is in the keytab) where localhost is 127.0.0.1 only.
	if lab_localhost_is_ipv4_loopback; then
		before="$(kdc_count_tgs TERMSRV/localhost)"
		LAB_HOST=localhost TRIXIE_SERVER_INSIDE=$inside trixie_nla_login success \
			"3.15 stock xfreerdp3 -> nlassp in $where, Kerberos (/v:localhost)" \
			"$KDC_PASSWORD" '/auth-pkg-list:!ntlm'
		E2E_SPN=TERMSRV/localhost e2e_expect_tgs "$before" "3.15 stock xfreerdp3 -> nlassp in $where, Kerberos"
	else
		e2e_say "note: localhost is not 127.0.0.1 only here; the stock-client Kerberos login is not run"
	fi

	before="$(kdc_count_tgs "$E2E_SPN")"
	TRIXIE_SERVER_INSIDE=$inside trixie_nla_login success "3.15 xfreerdp3 + nlassp -> nlassp in $where, Kerberos" \
		"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
	e2e_expect_tgs "$before" "3.15 xfreerdp3 + nlassp -> nlassp in $where, Kerberos"

	TRIXIE_SERVER_INSIDE=$inside trixie_nla_login refused \
		"3.15 xfreerdp3 + nlassp -> nlassp in $where, Kerberos, wrong password" \
		'not-the-password' '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
done

kdc_stop
if ! kdc_rc4_enable || ! kdc_start || ! kdc_rc4_service "$E2E_SPN" "$KDC_KEYTAB" ||
	! kdc_rc4_client "$KDC_DIR/rc4-only.conf" bob; then
	e2e_fail "could not make the realm issue RC4 session keys"
	e2e_finish
fi
export WLOG_FILTER="com.nlassp.kerberos:DEBUG"
RC4_LINE="RC4-HMAC message protection in WinPR's RFC 4121 layout, 56-byte token"
for inside in 0 1; do
	where="3.10 nla_server"
	[ "$inside" = 1 ] && where="3.15 nla_server"
	KRB5_CONFIG="$KDC_DIR/rc4-only.conf" LAB_USER=bob TRIXIE_SERVER_INSIDE=$inside trixie_nla_login success \
		"3.15 RC4-only xfreerdp3 + nlassp -> nlassp in $where" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' \
		"/sspi-module:$E2E_MODULE"
	n="$(grep -cF "$RC4_LINE" "$LAB_CLIENT_LOG" 2>/dev/null || true)"
	if [ "${n:-0}" -ge 3 ]; then
		e2e_ok "3.15 RC4-only xfreerdp3 + nlassp -> nlassp in $where: $n messages sealed with the RC4 key (56-byte tokens)"
	else
		e2e_fail "3.15 RC4-only xfreerdp3 + nlassp -> nlassp in $where: '$RC4_LINE' x${n:-0}, want 3" "$LAB_CLIENT_LOG"
	fi
	if grep -q 'ses=[A-Z:]*arcfour-hmac' <(grep -F "for $E2E_SPN@" "$KDC_LOG" | grep -F bob@); then
		e2e_ok "3.15 RC4-only xfreerdp3 + nlassp -> nlassp in $where: the KDC issued an RC4 session key"
	else
		e2e_fail "3.15 RC4-only xfreerdp3 + nlassp -> nlassp in $where: no ses=arcfour-hmac ticket for bob" "$KDC_LOG"
	fi
done
e2e_finish
