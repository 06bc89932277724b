#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# (d) nlassp on both sides: xfreerdp3 /sspi-module -> nla_server with the module as
# FreeRDP_SspiModule. Right password logs in, wrong password is refused, and the default package
# list (Negotiate with Kerberos unavailable) logs in with NTLM.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
E2E_SERVER_ARGS=(--module "$E2E_MODULE")

e2e_nla_login success "nlassp client -> nlassp server, right password" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
e2e_expect_module_used "$LAB_CLIENT_LOG" "xfreerdp3 loaded the module"
e2e_expect_no_grep "$LAB_NLA_LOG" '[ERROR][com.nlassp' "no ERROR from nlassp on the server for a good login"
e2e_nla_login refused "nlassp client -> nlassp server, wrong password" \
	'not-the-password' '/auth-pkg-list:!kerberos' "/sspi-module:$E2E_MODULE"
e2e_nla_login success "nlassp client (default package list) -> nlassp server" \
	"$LAB_PASSWORD" "/sspi-module:$E2E_MODULE"
e2e_finish
