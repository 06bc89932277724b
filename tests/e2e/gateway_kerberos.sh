#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# RD Gateway, Kerberos at the gateway: a throwaway MIT realm LAB.TEST on 127.0.0.1 (tests/lab/kdc.sh)
# with HTTP/localhost in the gateway's keytab (MIT's SPNEGO acceptor in tests/e2e/rdg_gateway.py)
# and TERMSRV/localhost in freerdp-shadow-cli3's. The gateway user (gwuser@LAB.TEST) is not the
# target's (alice@LAB.TEST). Each case with nlassp and WinPR's built-in packages, both sides' exit
# statuses asserted and shown side by side:
#   - Kerberos at the gateway and at the target; the final AP-REP (mutual authentication) comes
#     with the gateway's 101/200; the KDC issues HTTP/localhost to gwuser and TERMSRV/localhost to
#     alice; the gateway user written as a UPN (u:gwuser@LAB.TEST) too (nlassp only);
#   - a wrong gateway password: the KDC refuses it once, NTLM is not tried with it, the gateway
#     sees nobody, and the module says so in one line;
#   - the gateway named by IP address (HTTP/127.0.0.1 is not in the realm): Negotiate uses NTLM
#     at the gateway (nlassp only);
#   - a gateway that requires channel bindings (Extended Protection) with Kerberos, and one whose
#     acceptor checks another certificate's bindings (refused; with a bare 401 the module's line
#     says the AP-REQ went unanswered);
#   - a gateway that sends no final token (--final-token off, as Microsoft's RD Gateway): the
#     AP-REP that mutual authentication needs never comes, and FreeRDP 3.10 never calls the module
#     again: the login fails with nlassp (plugin/negotiate/README.md, "Kerberos and the missing
#     AP-REP"); the module's line says the gateway may have accepted without the AP-REP. WinPR
#     logs in here, because MIT asks it for the MIC exchange and so sends its AP-REP in a 401.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"
e2e_setup "$@"
e2e_need_module
gw_require
lab_localhost_is_ipv4_loopback ||
	e2e_skip_unless_ci "localhost is not 127.0.0.1 only here (Kerberos names follow it: fix /etc/hosts)"
e2e_start_kdc
# As in Active Directory, the KDC requires pre-authentication: a wrong password is PREAUTH_FAILED.
kdc_addprinc gwuser 'GwPassw0rd!' +requires_preauth || { e2e_fail "could not add gwuser to the realm"; e2e_finish; }
rdg_add_http_service localhost || { e2e_fail "could not make the gateway's keytab"; e2e_finish; }
rdg_add_ntlm_user gwuser 'GwPassw0rd!' LAB.TEST   # for the NTLM fallback case
LAB_DOMAIN="$KDC_REALM"
export LAB_HOST=localhost
gw_start_target "/keytab:$KDC_KEYTAB"
rdg_start || { e2e_fail "the gateway did not start" "$RDG_LOG"; e2e_finish; }

gw="/gateway:g:localhost,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
case_name="Kerberos at the gateway (HTTP/localhost) and at the target"
gw_kdc_mark
gw_login winpr "$case_name" success "$gw"
gw_expect_kdc
gw_kdc_mark
gw_login nlassp "$case_name" success "$gw"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified)"
gw_expect_kdc
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "$case_name: no ERROR from nlassp"

case_name="Kerberos at the gateway, the user as a UPN (u:gwuser@LAB.TEST)"
gw_kdc_mark
gw_login nlassp "$case_name" success "/gateway:g:localhost,u:gwuser@$KDC_REALM,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified)"
gw_expect_kdc

case_name="Kerberos at the gateway, wrong gateway password"
# WinPR: its Kerberos fails, and it sends the same password to the gateway with NTLM.
gw_login winpr "$case_name" 155 "/gateway:g:localhost,u:gwuser,d:$KDC_REALM,p:not-the-password"
failed_before="$(grep -cE 'AS_REQ.*PREAUTH_FAILED.*gwuser@' "$KDC_LOG")" || true
gw_login nlassp "$case_name" 133 "/gateway:g:localhost,u:gwuser,d:$KDC_REALM,p:not-the-password"
gw_expect_no_gateway_auth
gw_expect_client "Negotiate: Kerberos refused the credentials (logon denied: the KDC refused gwuser@LAB.TEST: Preauthentication failed); not trying another mechanism with them"
gw_expect_client "(the logon of LAB.TEST\\gwuser to HTTP/localhost (the RD Gateway): check the gateway's user name, domain and password"
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "$case_name: one line from nlassp (no ERROR from Kerberos repeating it)"
failed_after="$(grep -cE 'AS_REQ.*PREAUTH_FAILED.*gwuser@' "$KDC_LOG")" || true
if [ "${failed_after:-0}" -eq $((${failed_before:-0} + 1)) ]; then
	e2e_ok "$case_name: the KDC refused gwuser's password once (PREAUTH_FAILED)"
else
	e2e_fail "$case_name: expected one PREAUTH_FAILED for gwuser, got $((${failed_after:-0} - ${failed_before:-0}))" "$KDC_LOG"
fi

case_name="the gateway by IP address (no HTTP/127.0.0.1 in the realm): NTLM at the gateway"
gw_login nlassp "$case_name" success "/gateway:g:127.0.0.1,u:gwuser,d:$KDC_REALM,p:GwPassw0rd!"
gw_expect_gateway "authenticated 'LAB.TEST\\gwuser' with NTLM (HTTP Negotiate, channel bindings verified)"
gw_expect_client "Negotiate: using NTLM for HTTP/127.0.0.1 (the RD Gateway) because Kerberos cannot work here"

rdg_stop
rdg_start --require-channel-bindings || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="Kerberos at a gateway that requires channel bindings"
# WinPR's Kerberos sends no channel bindings (3.10): this gateway refuses it.
gw_login winpr "$case_name" 155 "$gw"
gw_kdc_mark
gw_login nlassp "$case_name" success "$gw"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified)"
gw_expect_kdc

# The acceptor checks the bindings of a certificate that is not the TLS channel's: the AP-REQ,
# bound to the real channel, must be refused (the bindings are really checked). With the
# gateway's bare 401 the module never hears the verdict; its line says the AP-REQ went unanswered.
rdg_stop
other_cert="$(rdg_other_cert)" || { e2e_fail "no second certificate"; e2e_finish; }
rdg_start --bindings-cert "$other_cert" --error-token off || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="Kerberos at a gateway that expects another certificate's channel bindings (bare 401)"
gw_login nlassp "$case_name" 133 "$gw"
gw_expect_gateway "authentication FAILED with Kerberos (HTTP Negotiate)"
gw_expect_no_gateway_auth
gw_expect_client "the Kerberos logon of LAB.TEST\\gwuser to HTTP/localhost (the RD Gateway) ended before the server answered the token that presents these credentials"

rdg_stop
rdg_start --final-token off || { e2e_fail "the gateway did not restart" "$RDG_LOG"; e2e_finish; }
case_name="Kerberos at a gateway that sends no AP-REP (as Microsoft's RD Gateway)"
gw_login winpr "$case_name" success "$gw"
gw_login nlassp "$case_name" 133 "$gw"
gw_expect_gateway "authenticated 'gwuser@LAB.TEST' with Kerberos (HTTP Negotiate, channel bindings verified); final token withheld"
gw_expect_client "the Kerberos logon of LAB.TEST\\gwuser to HTTP/localhost (the RD Gateway) ended before the server answered the token that presents these credentials"
gw_expect_client "or accepted them without the reply that proves its own identity (mutual authentication)"

gw_table
e2e_finish
