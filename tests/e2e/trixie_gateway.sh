#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RD Gateway with FreeRDP 3.15 (Debian 13 tree, tests/lab/trixie.sh): 3.15's stock xfreerdp3 in
# the chroot, the test gateway (tests/e2e/rdg_gateway.py), the KDC and freerdp-shadow-cli3 on the
# host, all on 127.0.0.1. 3.15 honours the port in /gateway:g:localhost:PORT (3.10 does not), so
# the scripts give it there and the gateway listens on a random port. The gateway's credentials
# differ from the target's (alice@LAB.TEST, Kerberos at the target, proven by the KDC's
# TERMSRV/localhost ticket). Each case with nlassp and with 3.15's built-in packages, both sides'
# exit statuses asserted and shown side by side:
#   - NTLM at the gateway (GW\gwuser: no KDC for GW), and with a wrong password;
#   - Kerberos at the gateway (gwuser@LAB.TEST, HTTP/localhost, proven by the KDC's log), and
#     with a wrong password;
#   - a gateway that sends no final token (--final-token off, as Microsoft's RD Gateway): NTLM
#     logs in (the module completes with its AUTHENTICATE over HTTP); Kerberos does not with the
#     module (it waits for the AP-REP: plugin/negotiate/README.md).
# (The transports and the SSPI_NTLM extended authentication are the same code in rdg.c 3.10 and
# 3.15; e2e_gateway_transports covers them.)
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
gw_require
lab_localhost_is_ipv4_loopback ||
	e2e_skip_unless_ci "localhost is not 127.0.0.1 only here (Kerberos names follow it: fix /etc/hosts)"
trixie_e2e_setup
GW_CLIENT=trixie_connect
GW_PORT_FILE=0
e2e_start_kdc
kdc_addprinc gwuser 'GwPassw0rd!' +requires_preauth || { e2e_fail "could not add gwuser to the realm"; e2e_finish; }
rdg_add_http_service localhost || { e2e_fail "could not make the gateway's keytab"; e2e_finish; }
rdg_add_ntlm_user gwuser 'GwPassw0rd!' GW
LAB_DOMAIN="$KDC_REALM"
export LAB_HOST=localhost
gw_start_target "/keytab:$KDC_KEYTAB"
rdg_start || { e2e_fail "the gateway did not start" "$RDG_LOG"; e2e_finish; }
v="FreeRDP $TRIXIE_E2E_VERSION"

ntlm_cases() {
	local g="g:localhost:$RDG_PORT"
	case_name="$v, NTLM at the gateway as GW\\gwuser${1:+ $1}"
	gw_kdc_mark
	gw_login winpr "$case_name" success "/gateway:$g,u:gwuser,d:GW,p:GwPassw0rd!"
	gw_kdc_mark
	gw_login nlassp "$case_name" success "/gateway:$g,u:gwuser,d:GW,p:GwPassw0rd!"
	gw_expect_gateway "authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
	gw_expect_client "Negotiate: using NTLM for HTTP/localhost (the RD Gateway) because Kerberos cannot work here"
	gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
	# Kerberos at the target: the KDC issued TERMSRV/localhost to alice (and nothing for the gateway).
	if [ "$(gw_kdc_issued "$LAB_USER" TERMSRV/localhost)" -gt "$GW_KDC_TARGET" ]; then
		e2e_ok "$case_name [nlassp]: the KDC issued TERMSRV/localhost to $LAB_USER"
	else
		e2e_fail "$case_name [nlassp]: no TERMSRV/localhost ticket for $LAB_USER in the KDC log" "$KDC_LOG"
	fi

	case_name="$v, NTLM at the gateway, wrong password${1:+ $1}"
	gw_login winpr "$case_name" 155 "/gateway:$g,u:gwuser,d:GW,p:not-the-password"
	gw_login nlassp "$case_name" 155 "/gateway:$g,u:gwuser,d:GW,p:not-the-password"
	gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
	gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
	gw_expect_client "ERRCONNECT_ACCESS_DENIED" "FreeRDP reports the gateway's 401 as access denied"
}

ntlm_cases
g="g:localhost:$RDG_PORT"
case_name="$v, Kerberos at the gateway as gwuser@LAB.TEST"
gw_kdc_mark
gw_login winpr "$case_name" success "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_expect_kdc
gw_kdc_mark
gw_login nlassp "$case_name" success "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified)"
gw_expect_kdc

case_name="$v, Kerberos at the gateway, wrong password"
gw_login winpr "$case_name" 155 "/gateway:$g,u:gwuser,d:$KDC_REALM,p:not-the-password"
gw_login nlassp "$case_name" 133 "/gateway:$g,u:gwuser,d:$KDC_REALM,p:not-the-password"
gw_expect_no_gateway_auth
gw_expect_client "Negotiate: Kerberos refused the credentials (logon denied: the KDC refused gwuser@LAB.TEST: Preauthentication failed)"
gw_expect_client "(the logon of LAB.TEST\\gwuser to HTTP/localhost (the RD Gateway): check the gateway's user name, domain and password"
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "$case_name: one line from nlassp (no ERROR from Kerberos repeating it)"

rdg_stop
rdg_start --final-token off || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
ntlm_cases "(no final token, as Microsoft's RD Gateway)"
g="g:localhost:$RDG_PORT"
case_name="$v, Kerberos at a gateway that sends no AP-REP (as Microsoft's RD Gateway)"
gw_login winpr "$case_name" success "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_login nlassp "$case_name" 133 "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified); final token withheld"
gw_expect_client "or accepted them without the reply that proves its own identity (mutual authentication)"

gw_table
e2e_finish
