#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RD Gateway, NTLM at the gateway: the unmodified xfreerdp3 logs in through the test gateway
# (tests/e2e/rdg_gateway.py: MIT SPNEGO + gss-ntlmssp, channel bindings required) to
# freerdp-shadow-cli3, with gateway credentials (GW\gwuser) that differ from the target's
# (LAB\alice), no Kerberos realm anywhere. Each case runs with nlassp and with WinPR's built-in
# packages, both sides' exit statuses asserted and shown side by side:
#   - /gateway:g:localhost,u:gwuser,d:GW,p:...,usage-method:direct, over the WebSocket transport;
#   - the gateway user without a domain (u:gwuser,p:...);
#   - /gateway: with g: last: FreeRDP then sends the target's credentials (LAB\alice) to the
#     gateway, which refuses them; the module's line names LAB\alice and says "g: first";
#   - a wrong gateway password, the gateway answering with SPNEGO's reject token, then with a
#     bare 401 (as IIS / HTTP.sys do): FreeRDP's access denied (155) on both sides;
#   - a gateway that sends no final token with its 101 (--final-token off, as Microsoft's RD
#     Gateway): the module completes with its AUTHENTICATE over HTTP; and a wrong password there;
#   - a gateway whose acceptor checks the channel bindings of another certificate: refused.
# Proof: the gateway's log (user, mechanism, channel bindings, the channel opened to the target),
# the target's completed NLA, and the module's own lines on the client.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
e2e_setup "$@"
e2e_need_module
gw_require
gw_start_target
rdg_add_ntlm_user gwuser 'GwPassw0rd!' GW
rdg_start --require-channel-bindings || { e2e_fail "the gateway did not start" "$RDG_LOG"; e2e_finish; }

case_name="NTLM at the gateway as GW\\gwuser (no realm), WebSocket"
gw_login winpr "$case_name" success "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!,usage-method:direct"
gw_login nlassp "$case_name" success "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!,usage-method:direct"
gw_expect_gateway "RDG_OUT_DATA: authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
gw_expect_gateway "upgraded to WebSocket"
gw_expect_client "Negotiate: using NTLM for HTTP/localhost (the RD Gateway) because Kerberos cannot work here: no KDC for realm GW"
gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
gw_expect_client "Negotiate: using NTLM for TERMSRV/127.0.0.1 because Kerberos cannot work here: no KDC for realm LAB"
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "$case_name: no ERROR from nlassp"

case_name="NTLM at the gateway as gwuser without a domain"
gw_login winpr "$case_name" success "/gateway:g:localhost,u:gwuser,p:GwPassw0rd!"
gw_login nlassp "$case_name" success "/gateway:g:localhost,u:gwuser,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"

# FreeRDP's g: sets GatewayUseSameCredentials (cmdline.c parse_gateway_host_option), which copies
# /u: /d: /p: over the gateway's credentials (client.c): the gateway gets LAB\alice.
case_name="g: after u:/d:/p: (FreeRDP sends the target's credentials to the gateway)"
gw_login winpr "$case_name" 155 "/gateway:u:gwuser,d:GW,p:GwPassw0rd!,g:localhost"
gw_login nlassp "$case_name" 155 "/gateway:u:gwuser,d:GW,p:GwPassw0rd!,g:localhost"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_client "the NTLM logon of LAB\\alice to HTTP/localhost (the RD Gateway) is complete on our side"
gw_expect_client "/gateway:g:HOST,u:USER,d:DOMAIN,p:PASSWORD with g: first (a g: after u:, d: or p: makes it send /u: /d: /p: instead)"

case_name="wrong gateway password (the gateway sends SPNEGO's reject)"
gw_login winpr "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_login nlassp "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_no_gateway_auth
gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side; an HTTP server need not answer its last token"
gw_expect_client "if FreeRDP then reports access denied (HTTP 401), the server refused these credentials: check the gateway's user name, domain and password"
gw_expect_client "ERRCONNECT_ACCESS_DENIED" "FreeRDP reports the gateway's 401 as access denied"

rdg_stop
rdg_start --require-channel-bindings --error-token off || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="wrong gateway password (a bare 401, as IIS answers)"
gw_login winpr "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_login nlassp "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
gw_expect_client "ERRCONNECT_ACCESS_DENIED" "FreeRDP reports the gateway's 401 as access denied"

rdg_stop
rdg_start --require-channel-bindings --final-token off || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="NTLM at a gateway that sends no final token (as Microsoft's RD Gateway)"
gw_login winpr "$case_name" success "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!"
gw_login nlassp "$case_name" success "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'GW\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified); final token withheld"
gw_expect_client "the NTLM logon of GW\\gwuser to HTTP/localhost (the RD Gateway) is complete on our side"
e2e_expect_no_grep "$LAB_CLIENT_LOG" "ended before the server answered" "$case_name: no 'refused' guess from nlassp"

rdg_stop
rdg_start --require-channel-bindings --final-token off --error-token off ||
	{ e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="wrong gateway password at a gateway that sends no tokens at all (bare 101 / bare 401)"
gw_login winpr "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_login nlassp "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:not-the-password"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_client "ERRCONNECT_ACCESS_DENIED" "FreeRDP reports the gateway's 401 as access denied"

# The acceptor checks the bindings of a certificate that is not the TLS channel's: a client that
# bound its AUTHENTICATE to the real channel must be refused (the bindings are really checked).
rdg_stop
other_cert="$(rdg_other_cert)" || { e2e_fail "no second certificate"; e2e_finish; }
rdg_start --require-channel-bindings --bindings-cert "$other_cert" ||
	{ e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="a gateway that expects another certificate's channel bindings"
gw_login winpr "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!"
gw_login nlassp "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:GW,p:GwPassw0rd!"
gw_expect_gateway "authentication FAILED with NTLM (HTTP Negotiate)"
gw_expect_no_gateway_auth

gw_table
e2e_finish
