#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# (a) xfreerdp3 with nlassp as its SSPI module logs in to freerdp-shadow-cli3 (FreeRDP's built-in
# NLA, SAM file) with NTLM ('/auth-pkg-list:!kerberos').
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow || { e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
e2e_expect_login success "nlassp client -> shadow (built-in NLA), right password" "$LAB_SHADOW_LOG"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "no ERROR from nlassp on a good login"
e2e_finish
