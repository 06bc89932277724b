#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Extra: freerdp-shadow-cli3 loads nlassp through /etc/winpr/HKLM.reg ("SspiModule"=str:"PATH",
# the only form WinPR 3.10 parses). Root only; the previous HKLM.reg is backed up and restored
# (removed if there was none). Stock client and nlassp client both log in; wrong password refused.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
[ "$(id -u)" = 0 ] || e2e_skip_unless_ci "needs root to write /etc/winpr/HKLM.reg"
e2e_need_module

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_install_hklm_module "$E2E_MODULE" || { e2e_fail "could not write HKLM.reg"; e2e_finish; }
lab_start_shadow || { e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
e2e_expect_login success "built-in client -> shadow with nlassp (HKLM.reg)" "$LAB_SHADOW_LOG"
lab_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos'
e2e_expect_login refused "built-in client -> shadow with nlassp, wrong password" "$LAB_SHADOW_LOG"
lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
e2e_expect_login success "nlassp client -> shadow with nlassp (HKLM.reg)" "$LAB_SHADOW_LOG"
sleep 0.3
e2e_expect_module_used "$LAB_SHADOW_LOG" "the shadow server loaded the module from HKLM.reg"
e2e_finish
