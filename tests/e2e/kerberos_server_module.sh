#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Kerberos, server side: nla_server with nlassp as FreeRDP_SspiModule and a keytab for
# TERMSRV/127.0.0.1 in a throwaway realm LAB.TEST on 127.0.0.1.
#   stock xfreerdp3 (FreeRDP's built-in Negotiate offers Kerberos user-to-user first) logs in with
#   '/auth-pkg-list:!ntlm'; nlassp on both sides logs in; a wrong password is refused. Each
#   login must leave a TGS_REQ for TERMSRV/127.0.0.1 in the KDC log.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")

# FreeRDP's built-in Kerberos client cannot use an IP address as its target (SEC_E_INTERNAL_ERROR
# before it sends anything, against any server), so the stock client connects to "localhost"
# (TERMSRV/localhost is in the keytab) — only where localhost is 127.0.0.1 and nothing else.
if lab_localhost_is_ipv4_loopback; then
	before="$(kdc_count_tgs TERMSRV/localhost)"
	LAB_HOST=localhost e2e_nla_login success "built-in client -> nlassp server, Kerberos (/v:localhost)" \
		"$KDC_PASSWORD" '/auth-pkg-list:!ntlm'
	E2E_SPN=TERMSRV/localhost e2e_expect_tgs "$before" "built-in client -> nlassp server, Kerberos"
else
	e2e_say "note: localhost is not 127.0.0.1 only here; the stock-client Kerberos login is not run"
fi

before="$(kdc_count_tgs "$E2E_SPN")"
e2e_nla_login success "nlassp client -> nlassp server, Kerberos" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_tgs "$before" "nlassp client -> nlassp server, Kerberos"

e2e_nla_login refused "nlassp client -> nlassp server, Kerberos, wrong password" \
	'not-the-password' '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_finish
