#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# FreeRDP 3.15 (Debian 13 tree, tests/lab/trixie.sh) as the client: its xfreerdp3 with nlassp as
# /sspi-module logs in with NTLM ('/auth-pkg-list:!kerberos') to FreeRDP 3.10's
# freerdp-shadow-cli3 on the host (built-in NLA, SAM file) and to 3.15's own shadow inside the
# tree; a wrong password is refused by both.
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
trixie_e2e_setup

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }

# 3.15 client + nlassp -> 3.10 shadow (host).
if lab_start_shadow; then
	trixie_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
	e2e_expect_login success "3.15 xfreerdp3 + nlassp -> 3.10 shadow, NTLM" "$LAB_SHADOW_LOG"
	e2e_expect_module_used "$LAB_CLIENT_LOG" "3.15 xfreerdp3 loaded the module"
	e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "no ERROR from nlassp on a good login"
	trixie_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
	e2e_expect_login refused "3.15 xfreerdp3 + nlassp -> 3.10 shadow, NTLM, wrong password" "$LAB_SHADOW_LOG"
	lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
else
	e2e_fail "3.10 freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"
fi

# 3.15 client + nlassp -> 3.15 shadow (tree, built-in NLA).
if trixie_start_shadow ""; then
	trixie_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
	e2e_expect_login success "3.15 xfreerdp3 + nlassp -> 3.15 shadow, NTLM" "$LAB_SHADOW_LOG"
	e2e_expect_module_used "$LAB_CLIENT_LOG" "3.15 xfreerdp3 loaded the module"
	trixie_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
	e2e_expect_login refused "3.15 xfreerdp3 + nlassp -> 3.15 shadow, NTLM, wrong password" "$LAB_SHADOW_LOG"
else
	e2e_fail "3.15 freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"
fi
e2e_finish
