#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Kerberos with FreeRDP 3.15 (Debian 13 tree) against nlassp as the server's SSPI module, in a
# throwaway realm LAB.TEST whose KDC runs on the host (127.0.0.1); the realm's krb5.conf and
# keytab are bound into the tree at the same paths. Every login must leave a TGS_REQ for the
# service in the KDC log (Kerberos, not an NTLM fallback).
#   - 3.15's stock xfreerdp3 ('/auth-pkg-list:!ntlm', /v:localhost: its built-in Kerberos client
#     offers user-to-user first) -> nla_server --module --keytab, on 3.10 (host) and on 3.15 (tree);
#   - 3.15's xfreerdp3 with nlassp as its module -> the same servers; a wrong password is refused.
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
e2e_finish
