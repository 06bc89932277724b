#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Kerberos, client side: xfreerdp3 with nlassp and '/auth-pkg-list:!ntlm' logs in to
# freerdp-shadow-cli3 (FreeRDP's built-in acceptor, /keytab) in a throwaway realm LAB.TEST on
# 127.0.0.1. The KDC log must show a TGS_REQ for TERMSRV/127.0.0.1 (Kerberos really was used); a
# wrong password is refused; a disabled account (modprinc -allow_tix) is refused before anything
# reaches the server, and xfreerdp3 says "logon failed" (ERRCONNECT_LOGON_FAILURE, exit 134: the
# module returns SEC_E_LOGON_DENIED, as Windows' SSPI does) while the module's line names the
# account's state.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow "/keytab:$KDC_KEYTAB" ||
	{ e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

before="$(kdc_count_tgs "$E2E_SPN")"
lab_connect "$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_login success "nlassp client -> shadow, Kerberos" "$LAB_SHADOW_LOG"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
e2e_expect_tgs "$before" "nlassp client -> shadow, Kerberos"

lab_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp client -> shadow, Kerberos, wrong password" "$KDC_LOG"

kdc_kadmin "addprinc -pw $KDC_PASSWORD -allow_tix carol" >/dev/null ||
	{ e2e_fail "could not create the disabled user carol"; e2e_finish; }
LAB_USER=carol lab_connect "$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp client -> shadow, Kerberos, disabled account" "$KDC_LOG"
if [ "$LAB_CLIENT_RC" = 134 ]; then
	e2e_ok "disabled account: xfreerdp3 exits 134 (logon failure)"
else
	e2e_fail "disabled account: xfreerdp3 exited $LAB_CLIENT_RC, not 134 (logon failure)" "$LAB_CLIENT_LOG"
fi
e2e_expect_grep "$LAB_CLIENT_LOG" "ERRCONNECT_LOGON_FAILURE" "disabled account: xfreerdp3 reports ERRCONNECT_LOGON_FAILURE"
e2e_expect_grep "$LAB_CLIENT_LOG" "the KDC refused carol@$KDC_REALM" "disabled account: the module's line names the user"
e2e_expect_grep "$LAB_CLIENT_LOG" "disabled or locked out" "disabled account: the module's line names the account's state"
e2e_expect_no_grep "$LAB_CLIENT_LOG" "ERRCONNECT_AUTHENTICATION_FAILED" "disabled account: not reported as a broken authentication"
e2e_finish
