#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Smartcard logon (Kerberos PKINIT), server side: nla_server with nlassp as FreeRDP_SspiModule and
# the keytab accepts smartcard logons - nlassp's client with the file-emulated card and with the
# SoftHSM2 token, and the stock xfreerdp3 (WinPR's built-in Kerberos) with the file card - in the
# PKINIT realm of tests/lab/pkinit.sh (alice has a random key: nothing but PKINIT logs her in).
# Each login must leave a PKINIT request the KDC verified and a ticket for the service. Everything
# runs at TRACE, and no log (clients, nla_server, KDC) may hold the PIN, which FreeRDP's
# TSSmartCardCreds hand to the server.
source "$(dirname "$0")/e2e_lib.sh"
# The stock client's login goes to /v:localhost (TERMSRV/localhost): where localhost is ::1 too,
# run in a private mount namespace whose /etc/hosts makes it 127.0.0.1 (tests/lab/lab.sh).
lab_localhost_ipv4 "$@" || true
e2e_setup "$@"
e2e_need_module
e2e_need_server
LAB_WLOG_LEVEL=TRACE
e2e_start_pkinit_kdc
# FreeRDP's TSSmartCardCreds carry the PIN and the card's CSP data but no user name, so its
# server core hands the application an empty user (nla_server prints "NLA succeeded for \"); the
# principal the Kerberos acceptor authenticated is checked in its DEBUG line instead.
LAB_DOMAIN=""
LAB_USER=""
LAB_NO_USER=1
export WLOG_FILTER="com.nlassp.kerberos:DEBUG"
E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
FILE_CARD="/smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY"
ANCHORS="/kerberos:pkinit-anchors:$PKINIT_ANCHORS"
TOKEN=("/smartcard-logon" "/kerberos:pkcs11-module:$PKINIT_P11_MODULE,pkinit-anchors:$PKINIT_ANCHORS")

# expect_pkinit_ticket BEFORE_PKINIT BEFORE_TGS SPN WHAT — the KDC did PKINIT and issued the
# service ticket, and the module as server accepted alice.
expect_pkinit_ticket() {
	e2e_expect_grep "$LAB_NLA_LOG" "Kerberos: accepted alice@$KDC_REALM" "$4: nlassp accepted alice@$KDC_REALM"
	local p=$(($(pkinit_count_pkinit "alice@$KDC_REALM") - $1)) t=$(($(kdc_count_tgs "$3") - $2))
	if [ "$p" -ge 1 ] && [ "$t" -ge 1 ]; then
		e2e_ok "$4: the KDC verified $p PKINIT request(s) and issued $t ticket(s) for $3"
	else
		e2e_fail "$4: the KDC verified $p PKINIT request(s), issued $t ticket(s) for $3" "$KDC_LOG"
	fi
}

p=$(pkinit_count_pkinit "alice@$KDC_REALM") t=$(kdc_count_tgs "$E2E_SPN")
e2e_nla_login success "nlassp client (file card) -> nlassp server" "$PKINIT_PIN" "$FILE_CARD" "$ANCHORS" \
	"/sspi-module:$E2E_MODULE"
expect_pkinit_ticket "$p" "$t" "$E2E_SPN" "nlassp client (file card) -> nlassp server"

p=$(pkinit_count_pkinit "alice@$KDC_REALM") t=$(kdc_count_tgs "$E2E_SPN")
e2e_nla_login success "nlassp client (SoftHSM2 token) -> nlassp server" "$PKINIT_PIN" "${TOKEN[@]}" \
	"/sspi-module:$E2E_MODULE"
expect_pkinit_ticket "$p" "$t" "$E2E_SPN" "nlassp client (SoftHSM2 token) -> nlassp server"

# FreeRDP's built-in Kerberos client cannot target an IP address: /v:localhost, where localhost
# is 127.0.0.1 only (TERMSRV/localhost is in the keytab).
if lab_localhost_is_ipv4_loopback; then
	p=$(pkinit_count_pkinit "alice@$KDC_REALM") t=$(kdc_count_tgs TERMSRV/localhost)
	LAB_HOST=localhost e2e_nla_login success "stock xfreerdp3 (file card) -> nlassp server" "$PKINIT_PIN" \
		"$FILE_CARD" "$ANCHORS"
	expect_pkinit_ticket "$p" "$t" TERMSRV/localhost "stock xfreerdp3 (file card) -> nlassp server"
else
	e2e_say "note: localhost is not 127.0.0.1 only here; the stock-client smartcard login is not run"
fi
e2e_expect_secret_absent "every log at TRACE (clients, nla_server, KDC)" "the PIN" "$PKINIT_PIN" \
	"$LAB_DIR"/logs/* "$KDC_LOG"
e2e_finish
