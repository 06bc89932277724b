#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RD Gateway transports and FreeRDP's other gateway authentications, NTLM (no realm), through the
# test gateway (tests/e2e/rdg_gateway.py) to freerdp-shadow-cli3; each case with nlassp and with
# WinPR's built-in packages (both sides' exit statuses asserted, shown side by side):
#   - the gateway refuses the WebSocket upgrade: FreeRDP falls back to RDG_OUT_DATA + RDG_IN_DATA,
#     both channels authenticated;
#   - HTTP_EXTENDED_AUTH_SSPI_NTLM (/gateway:...,type:http,extauth-sspi-ntlm): no HTTP
#     authentication, NTLM inside the tunnel (FreeRDP asks the module for "NTLM", not Negotiate),
#     with the right and with a wrong password (FreeRDP ends with
#     ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED, exit 133, on both sides);
#   - one set of credentials for both (/gateway:g:HOST only: FreeRDP uses /u: /d: /p: there too).
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
e2e_setup "$@"
e2e_need_module
gw_require
gw_start_target
rdg_add_ntlm_user gwuser 'GwPassw0rd!' GW
rdg_add_ntlm_user "$LAB_USER" "$LAB_PASSWORD" "$LAB_DOMAIN"
gw="/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!"

rdg_start --require-channel-bindings --websocket off || { e2e_fail "the gateway did not start" "$RDG_LOG"; e2e_finish; }
case_name="the gateway refuses WebSocket: RDG_OUT_DATA + RDG_IN_DATA"
gw_login winpr "$case_name" success "$gw"
gw_login nlassp "$case_name" success "$gw"
gw_expect_gateway "WebSocket upgrade refused"
gw_expect_gateway "RDG_OUT_DATA: authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
gw_expect_gateway "RDG_IN_DATA: authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"

case_name="one set of credentials for the gateway and the target"
gw_login winpr "$case_name" success "/gateway:g:localhost"
gw_login nlassp "$case_name" success "/gateway:g:localhost"
gw_expect_gateway "authenticated 'LAB\\alice' with NTLM (HTTP Negotiate, channel bindings verified)"
rdg_stop

rdg_start --require-channel-bindings --extauth-ntlm || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="SSPI_NTLM extended authentication inside the tunnel"
gw_login winpr "$case_name" success "$gw,type:http,extauth-sspi-ntlm"
gw_login nlassp "$case_name" success "$gw,type:http,extauth-sspi-ntlm"
gw_expect_gateway "authenticated 'GW\\gwuser' with NTLM (SSPI_NTLM extended auth, channel bindings verified)"
gw_expect_gateway "handshake (version 1.0, extended auth 0x4)"

case_name="SSPI_NTLM extended authentication, wrong password"
gw_login winpr "$case_name" 133 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password,type:http,extauth-sspi-ntlm"
gw_login nlassp "$case_name" 133 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password,type:http,extauth-sspi-ntlm"
gw_expect_gateway "authentication FAILED with NTLM (SSPI_NTLM extended auth)"
gw_expect_client "EXTAUTH_SSPI_NTLM failed with error SEC_E_LOGON_DENIED" "FreeRDP says the gateway denied the logon"

gw_table
e2e_finish
