#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# (b) xfreerdp3 with nlassp and a wrong password: the shadow server's acceptor rejects the
# credentials (AcceptSecurityContext fails there) and the client reports a refused login
# (exit 132/134), not a crash, hang or transport error.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow || { e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

lab_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp client -> shadow, wrong password" "$LAB_SHADOW_LOG"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
sleep 0.3 # let the server flush its log
e2e_expect_grep "$LAB_SHADOW_LOG" 'AcceptSecurityContext failed' \
	"the server's acceptor evaluated and rejected the credentials" "$LAB_CLIENT_LOG"

# An unknown user is refused the same way.
LAB_USER=mallory lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' \
	"/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp client -> shadow, unknown user" "$LAB_SHADOW_LOG"
e2e_finish
