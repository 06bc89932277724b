#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# xfreerdp3 with nlassp and no /auth-pkg-list: Negotiate must see that Kerberos cannot work (the
# lab's krb5.conf has no realm and no DNS look-ups) and log in with NTLM, quickly.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow || { e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

start=$(date +%s%N)
lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" "/sspi-module:$E2E_MODULE"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_expect_login success "nlassp client (default package list) -> shadow" "$LAB_SHADOW_LOG"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
e2e_expect_no_grep "$LAB_CLIENT_LOG" '[ERROR][com.nlassp' "no ERROR from nlassp when falling back to NTLM"
if [ "$ms" -lt 10000 ]; then e2e_ok "login took ${ms} ms"; else e2e_fail "login took ${ms} ms (>10 s)"; fi
e2e_finish
