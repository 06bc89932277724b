#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# FreeRDP 3.15's stock xfreerdp3 (built-in NLA, Debian 13 tree) against nlassp as the server's
# SSPI module, NTLM ('/auth-pkg-list:!kerberos'):
#   - nla_server (built on Debian 12) on the host, FreeRDP 3.10's libfreerdp-server3, --module;
#   - the same nla_server run inside the tree, i.e. on FreeRDP 3.15's libfreerdp-server3 (which
#     asks the module for the client's workstation name, SECPKG_ATTR_AUTH_NTLM_HOSTNAME);
#   - FreeRDP 3.15's freerdp-shadow-cli3 loading nlassp from the tree's HKLM.reg (str: form).
# The right password logs in, a wrong one is refused.
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
e2e_need_server
trixie_e2e_setup
E2E_SERVER_ARGS=(--module "$E2E_MODULE")

trixie_nla_login success "3.15 xfreerdp3 -> nlassp in 3.10 nla_server, NTLM" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
trixie_nla_login refused "3.15 xfreerdp3 -> nlassp in 3.10 nla_server, NTLM, wrong password" \
	'not-the-password' '/auth-pkg-list:!kerberos'

TRIXIE_SERVER_INSIDE=1 trixie_nla_login success "3.15 xfreerdp3 -> nlassp in 3.15 nla_server, NTLM" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
TRIXIE_SERVER_INSIDE=1 trixie_nla_login refused \
	"3.15 xfreerdp3 -> nlassp in 3.15 nla_server, NTLM, wrong password" \
	'not-the-password' '/auth-pkg-list:!kerberos'

# 3.15's shadow server, SspiModule from the tree's /etc/winpr/HKLM.reg (a per-test directory bound
# over it: nothing is written into the shared tree or the host's /etc/winpr).
lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
winpr_dir="$(trixie_hklm_dir "$E2E_MODULE")" || { e2e_fail "could not write HKLM.reg"; e2e_finish; }
if trixie_start_shadow "$winpr_dir"; then
	trixie_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
	e2e_expect_login success "3.15 xfreerdp3 -> nlassp in 3.15 shadow (HKLM.reg), NTLM" "$LAB_SHADOW_LOG"
	e2e_expect_module_used "$LAB_SHADOW_LOG" "3.15 shadow loaded the module from HKLM.reg"
	trixie_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos'
	e2e_expect_login refused "3.15 xfreerdp3 -> nlassp in 3.15 shadow (HKLM.reg), NTLM, wrong password" \
		"$LAB_SHADOW_LOG"
else
	e2e_fail "3.15 freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"
fi
e2e_finish
