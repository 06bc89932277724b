#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# A KDC proxy (MS-KKDCP, python3-kdcproxy behind TLS with a throwaway CA: tests/lab/kdcproxy.sh)
# with FreeRDP 3.10 (Debian 12), whose /kerberos:kdc-url never reaches the module: 3.10.3's
# credssp_auth.c refuses every kdc-url (an inverted length check, fixed in 3.15). The workaround is
# kdc = https://proxy/KdcProxy in the realm's krb5.conf stanza, with the private CA in http_anchors:
#   - xfreerdp3 + nlassp, that stanza -> nla_server with nlassp: the login works through the proxy
#     (its log shows the AS and the TGS request);
#   - /kerberos:kdc-url on 3.10 is printed as a finding (the login fails before the module).
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
e2e_setup "$@"
e2e_need_module
e2e_need_server
# shellcheck source=../lab/kdcproxy.sh
source "$E2E_DIR/../lab/kdcproxy.sh"
kdcproxy_available || e2e_skip_unless_ci "python3-kdcproxy or openssl not installed"
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
kdcproxy_setup || { e2e_fail "kdcproxy_setup failed"; e2e_finish; }
kdcproxy_start || { e2e_fail "the KDC proxy did not start" "$KDCPROXY_LOG"; e2e_finish; }
kdcproxy_client_conf "$KDCPROXY_DIR/workaround.conf" anchors kdc
kdcproxy_client_conf "$KDCPROXY_DIR/client.conf" anchors
REALM_KRB5_CONFIG="$KRB5_CONFIG"

as_before="$(kdcproxy_count AS-REQ)"
tgs_before="$(kdcproxy_count TGS-REQ)"
export KRB5_CONFIG="$KDCPROXY_DIR/workaround.conf"
e2e_nla_login success "3.10 xfreerdp3 + nlassp, kdc = $KDCPROXY_URL in krb5.conf -> nlassp, Kerberos" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE"
export KRB5_CONFIG="$REALM_KRB5_CONFIG"
if [ "$(kdcproxy_count AS-REQ)" -gt "$as_before" ] && [ "$(kdcproxy_count TGS-REQ)" -gt "$tgs_before" ]; then
	e2e_ok "the proxy relayed the AS and the TGS request"
else
	e2e_fail "the proxy's log lacks an AS-REQ or a TGS-REQ for the login" "$KDCPROXY_LOG"
fi

# FreeRDP 3.10.3's own /kerberos:kdc-url: recorded, not asserted (a fixed FreeRDP would pass).
if lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 90; then
	KRB5_CONFIG="$KDCPROXY_DIR/client.conf" lab_connect "$LAB_NLA_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' \
		"/sspi-module:$E2E_MODULE" "/kerberos:kdc-url:$KDCPROXY_URL"
	lab_stop "$LAB_NLA_PID" nla_server
fi
if grep -q 'credential attributes' "$LAB_CLIENT_LOG"; then
	e2e_say "finding: FreeRDP $(xfreerdp3 /version 2>/dev/null | sed -nE 's/.*version ([0-9.]+).*/\1/p' | head -n1) refuses /kerberos:kdc-url before the module is asked: $(grep -m1 'credential attributes' "$LAB_CLIENT_LOG" | sed 's/.*\] - //')"
else
	e2e_say "finding: /kerberos:kdc-url on this FreeRDP: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"
fi
e2e_finish
