#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# (c) stock xfreerdp3 (FreeRDP's built-in NLA) -> nla_server with nlassp as FreeRDP_SspiModule:
# the right password logs in (the server decrypts the delegated credentials through the module),
# a wrong one is refused cleanly (exit 132/134, not a transport error), and a client that leaves
# the package list at its default (Negotiate; Kerberos unavailable on the lab) logs in too.
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
E2E_SERVER_ARGS=(--module "$E2E_MODULE")

e2e_nla_login success "built-in client -> nlassp server, right password" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
e2e_nla_login refused "built-in client -> nlassp server, wrong password" \
	'not-the-password' '/auth-pkg-list:!kerberos'
e2e_nla_login success "built-in client (default package list) -> nlassp server" "$LAB_PASSWORD"
e2e_finish
