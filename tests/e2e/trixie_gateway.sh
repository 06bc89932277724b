#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RD Gateway with FreeRDP 3.15 (Debian 13 tree, tests/lab/trixie.sh): 3.15's stock xfreerdp3 in
# the chroot, the test gateway (tests/e2e/rdg_gateway.py), the KDC and freerdp-shadow-cli3 on the
# host, all on 127.0.0.1 in a private network namespace. 3.15 honours the port in
# /gateway:g:localhost:PORT (3.10 does not), so the gateway listens on a random port here. The
# gateway's credentials differ from the target's (alice@LAB.TEST, Kerberos at the target). Each
# case with nlassp (asserted) and with 3.15's built-in packages (shown side by side):
#   - NTLM at the gateway (GW\gwuser: no KDC for GW), and with a wrong password;
#   - Kerberos at the gateway (gwuser@LAB.TEST, HTTP/localhost), and with a wrong password.
# (The transports and the SSPI_NTLM extended authentication are the same code in rdg.c 3.10 and
# 3.15; e2e_gateway_transports covers them.)
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
trixie_e2e_require
gw_enter "$@"
RDG_WANT_PORT=""
e2e_setup "$@"
e2e_need_module
gw_require
lab_localhost_is_ipv4_loopback || e2e_skip "localhost is not 127.0.0.1 only here (Kerberos names follow it)"
trixie_e2e_setup
GW_CLIENT=trixie_connect
e2e_start_kdc
kdc_addprinc gwuser 'GwPassw0rd!' +requires_preauth || { e2e_fail "could not add gwuser to the realm"; e2e_finish; }
rdg_add_http_service localhost || { e2e_fail "could not make the gateway's keytab"; e2e_finish; }
rdg_add_ntlm_user gwuser 'GwPassw0rd!' GW
LAB_DOMAIN="$KDC_REALM"
export LAB_HOST=localhost
gw_start_target "/keytab:$KDC_KEYTAB"
rdg_start || { e2e_fail "the gateway did not start" "$RDG_LOG"; e2e_finish; }
g="g:localhost:$RDG_PORT"

case_name="FreeRDP $TRIXIE_E2E_VERSION, NTLM at the gateway as GW\\gwuser"
gw_login winpr "$case_name" "" "/gateway:$g,u:gwuser,d:GW,p:GwPassw0rd!"
gw_login nlassp "$case_name" success "/gateway:$g,u:gwuser,d:GW,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
gw_expect_client "Negotiate: using NTLM for HTTP/localhost (the RD Gateway) because Kerberos cannot work here"

case_name="FreeRDP $TRIXIE_E2E_VERSION, NTLM at the gateway, wrong password"
gw_login winpr "$case_name" "" "/gateway:$g,u:gwuser,d:GW,p:not-the-password"
gw_login nlassp "$case_name" refused "/gateway:$g,u:gwuser,d:GW,p:not-the-password"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
gw_expect_client "ERRCONNECT_ACCESS_DENIED" "FreeRDP reports the gateway's 401 as access denied"

case_name="FreeRDP $TRIXIE_E2E_VERSION, Kerberos at the gateway as gwuser@LAB.TEST"
gw_login winpr "$case_name" "" "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_login nlassp "$case_name" success "/gateway:$g,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified)"

case_name="FreeRDP $TRIXIE_E2E_VERSION, Kerberos at the gateway, wrong password"
gw_login winpr "$case_name" "" "/gateway:$g,u:gwuser,d:$KDC_REALM,p:not-the-password"
gw_login nlassp "$case_name" refused "/gateway:$g,u:gwuser,d:$KDC_REALM,p:not-the-password"
gw_expect_no_gateway_auth
gw_expect_client "(the logon of LAB.TEST\\gwuser to HTTP/localhost (the RD Gateway): check the gateway's user name, domain and password"

gw_table
e2e_finish
