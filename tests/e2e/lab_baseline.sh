#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Baseline without nlassp: FreeRDP's built-in NLA on both sides, through the same lab. If this
# fails, the lab (packages, Xvfb, ports, nla_server) is broken, not the module.
#   stock xfreerdp3 -> freerdp-shadow-cli3 (SAM): right password logs in, wrong one is refused
#   stock xfreerdp3 -> nla_server (built-in NLA): the same, and the server reports both results
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_server

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow || { e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
e2e_expect_login success "built-in client -> shadow, right password" "$LAB_SHADOW_LOG"
lab_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos'
e2e_expect_login refused "built-in client -> shadow, wrong password" "$LAB_SHADOW_LOG"

e2e_nla_login success "built-in client -> nla_server (built-in), right password" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
e2e_nla_login refused "built-in client -> nla_server (built-in), wrong password" \
	'not-the-password' '/auth-pkg-list:!kerberos'

# A process lab_stop stopped is forgotten: lab_cleanup must not signal its PID again, which the
# kernel may have given to an unrelated process by then.
if [[ " ${_LAB_PIDS[*]} " == *" $LAB_NLA_PID "* ]]; then
	e2e_fail "lab_stop left nla_server's PID $LAB_NLA_PID among the processes lab_cleanup stops"
else
	e2e_ok "lab_stop untracked nla_server (pid $LAB_NLA_PID); still tracked: ${_LAB_NAMES[*]}"
fi
e2e_finish
