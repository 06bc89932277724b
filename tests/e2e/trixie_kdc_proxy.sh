#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# A KDC proxy (MS-KKDCP) behind a private CA, with FreeRDP 3.15 (Debian 13 tree), whose
# /kerberos:kdc-url reaches the module (3.10's does not: see kdc_proxy_client_module.sh). The realm
# LAB.TEST's KDC runs on the host; tests/lab/kdcproxy.sh puts python3-kdcproxy in front of it behind
# TLS with a throwaway CA. The client's krb5.conf lists NO kdc for the realm: only the URL can work.
#   - 3.15's xfreerdp3 + nlassp, /kerberos:kdc-url, the CA in the realm's http_anchors -> nla_server
#     with nlassp: the login works, the proxy's log shows the AS and the TGS request, the KDC the
#     service ticket;
#   - the same without http_anchors: refused, and the module's line names the untrusted
#     certificate and http_anchors.
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
e2e_need_server
# shellcheck source=../lab/kdcproxy.sh
source "$E2E_DIR/../lab/kdcproxy.sh"
kdcproxy_available || e2e_skip_unless_ci "python3-kdcproxy or openssl not installed"
trixie_e2e_setup
e2e_start_kdc
LAB_DOMAIN="$KDC_REALM"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
kdcproxy_setup || { e2e_fail "kdcproxy_setup failed"; e2e_finish; }
kdcproxy_start || { e2e_fail "the KDC proxy did not start" "$KDCPROXY_LOG"; e2e_finish; }
e2e_say "KDC proxy $KDCPROXY_URL (CA $KDCPROXY_CA) -> 127.0.0.1:$KDC_PORT"
kdcproxy_client_conf "$KDCPROXY_DIR/client.conf" anchors
kdcproxy_client_conf "$KDCPROXY_DIR/client-no-anchors.conf" no-anchors
REALM_KRB5_CONFIG="$KRB5_CONFIG"

# The client's (and the server's: it needs no KDC) krb5.conf for one login.
with_conf() {
	local conf="$1"
	shift
	export KRB5_CONFIG="$conf"
	"$@"
	export KRB5_CONFIG="$REALM_KRB5_CONFIG"
}

as_before="$(kdcproxy_count AS-REQ)"
tgs_before="$(kdcproxy_count TGS-REQ)"
kdc_before="$(kdc_count_tgs "$E2E_SPN")"
with_conf "$KDCPROXY_DIR/client.conf" trixie_nla_login success \
	"3.15 xfreerdp3 + nlassp, /kerberos:kdc-url (http_anchors) -> nlassp, Kerberos through the proxy" \
	"$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE" "/kerberos:kdc-url:$KDCPROXY_URL"
if [ "$(kdcproxy_count AS-REQ)" -gt "$as_before" ] && [ "$(kdcproxy_count TGS-REQ)" -gt "$tgs_before" ]; then
	e2e_ok "the proxy relayed the AS and the TGS request ($(kdcproxy_count AS-REQ) AS-REQ, $(kdcproxy_count TGS-REQ) TGS-REQ)"
else
	e2e_fail "the proxy's log lacks an AS-REQ or a TGS-REQ for the login" "$KDCPROXY_LOG"
fi
e2e_expect_tgs "$kdc_before" "the service ticket came from the KDC behind the proxy"

# Without the lab CA in http_anchors: MIT does not trust the proxy; the module says so and how.
lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 90 ||
	e2e_fail "nla_server did not start" "$LAB_NLA_LOG"
KRB5_CONFIG="$KDCPROXY_DIR/client-no-anchors.conf" trixie_connect "$LAB_NLA_PORT" "$KDC_PASSWORD" \
	'/auth-pkg-list:!ntlm' "/sspi-module:$E2E_MODULE" "/kerberos:kdc-url:$KDCPROXY_URL"
lab_stop "$LAB_NLA_PID" nla_server
if [ "$LAB_CLIENT_OUTCOME" != success ]; then
	e2e_ok "no http_anchors: the login did not go through ($LAB_CLIENT_WHY)"
else
	e2e_fail "no http_anchors: the login succeeded" "$LAB_CLIENT_LOG"
fi
e2e_expect_grep "$LAB_CLIENT_LOG" "the proxy's certificate is not trusted" \
	"no http_anchors: the module names the untrusted certificate" "$KDCPROXY_LOG"
e2e_expect_grep "$LAB_CLIENT_LOG" "add http_anchors = FILE:" "no http_anchors: the module names the fix"
e2e_finish
