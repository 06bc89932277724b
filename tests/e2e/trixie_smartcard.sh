#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Smartcard logon (Kerberos PKINIT) with FreeRDP 3.15 (Debian 13 tree, tests/lab/trixie.sh): its
# xfreerdp3 with nlassp logs in with /smartcard-logon to 3.15's freerdp-shadow-cli3 inside the
# tree (FreeRDP's own acceptor, /keytab) - the file-emulated card, the SoftHSM2 token through
# /kerberos:pkcs11-module: (the tree's own PKINIT plugin, SoftHSM2 and MIT 1.21), and a wrong
# PIN refused with SCARD_W_WRONG_CHV before any KDC request; then 3.15's nla_server with nlassp
# accepts the same client. The KDC (host, MIT 1.20) must show a PKINIT request and no encrypted
# timestamp for every success. 3.15's built-in client runs on the same cards, recorded side by
# side, not asserted.
# shellcheck source=e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=trixie_lib.sh
source "$(dirname "$0")/trixie_lib.sh"
trixie_e2e_require
e2e_setup "$@"
e2e_need_module
trixie_e2e_setup
e2e_start_pkinit_kdc
LAB_DOMAIN="$KDC_REALM"
LAB_NO_USER=1
PRINCIPAL="alice@$KDC_REALM"
FILE_CARD="/smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY"
ANCHORS="/kerberos:pkinit-anchors:$PKINIT_ANCHORS"
TOKEN=("/smartcard-logon" "/kerberos:pkcs11-module:$PKINIT_P11_MODULE,pkinit-anchors:$PKINIT_ANCHORS")
e2e_say "FreeRDP ${TRIXIE_E2E_VERSION}; SoftHSM2 slot $PKINIT_SLOT, which FreeRDP names slotid=$((PKINIT_SLOT & 0xffff))"

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
trixie_start_shadow "" "/keytab:$KDC_KEYTAB" ||
	{ e2e_fail "3.15 freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

# sc_login PIN ARGS... — a 3.15 login to the tree's shadow; SC_* as in smartcard_client.sh.
sc_login() {
	local pin="$1" spn="${LAB_HOST:-127.0.0.1}" p e a t status
	shift
	p=$(pkinit_count_pkinit "$PRINCIPAL") e=$(pkinit_count_encts "$PRINCIPAL")
	a=$(kdc_count_as "$PRINCIPAL") t=$(kdc_count_tgs "TERMSRV/$spn")
	trixie_connect "$LAB_SHADOW_PORT" "$pin" "$@"
	SC_PKINIT=$(($(pkinit_count_pkinit "$PRINCIPAL") - p))
	SC_ENCTS=$(($(pkinit_count_encts "$PRINCIPAL") - e))
	SC_AS=$(($(kdc_count_as "$PRINCIPAL") - a))
	SC_TGS=$(($(kdc_count_tgs "TERMSRV/$spn") - t))
	status="$(grep -oE 'InitializeSecurityContext failed with [^]]*\]' "$LAB_CLIENT_LOG" | head -n1 | sed 's/.*with //')"
	SC_SUMMARY="$LAB_CLIENT_OUTCOME${status:+ $status}; KDC: $SC_AS AS-REQ, $SC_PKINIT PKINIT, $SC_ENCTS encrypted timestamp (PIN as password), $SC_TGS service ticket"
}

expect_pkinit() {
	local what="$1"
	e2e_expect_login success "$what" "$LAB_SHADOW_LOG"
	e2e_expect_module_used "$LAB_CLIENT_LOG" "$what: 3.15 xfreerdp3 loaded the module"
	if [ "$SC_PKINIT" = 1 ] && [ "$SC_TGS" = 1 ] && [ "$SC_ENCTS" = 0 ]; then
		e2e_ok "$what: the KDC verified 1 PKINIT request, issued 1 service ticket, saw no encrypted timestamp"
	else
		e2e_fail "$what: KDC saw $SC_PKINIT PKINIT, $SC_TGS TGS, $SC_ENCTS encrypted timestamps (want 1, 1, 0)" "$KDC_LOG"
	fi
}

declare -A OURS THEIRS
sc_login "$PKINIT_PIN" "$FILE_CARD" "$ANCHORS" "/sspi-module:$E2E_MODULE"
expect_pkinit "3.15 + nlassp, /smartcard-logon:cert:,key: -> 3.15 shadow"
OURS[file]="$SC_SUMMARY"

sc_login "$PKINIT_PIN" "${TOKEN[@]}" "/sspi-module:$E2E_MODULE"
expect_pkinit "3.15 + nlassp, SoftHSM2 token -> 3.15 shadow"
e2e_expect_grep "$LAB_CLIENT_LOG" "using token '$PKINIT_TOKEN_LABEL' (slot $PKINIT_SLOT)" \
	"3.15 + nlassp, token: found slot $PKINIT_SLOT that FreeRDP 3.15 named $((PKINIT_SLOT & 0xffff))"
OURS[token]="$SC_SUMMARY"

sc_login 00000000 "${TOKEN[@]}" "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "3.15 + nlassp, token, wrong PIN" "$LAB_SHADOW_LOG"
e2e_expect_grep "$LAB_CLIENT_LOG" "[0x8010006B]" "3.15 + nlassp, token, wrong PIN: SCARD_W_WRONG_CHV (0x8010006B)"
if [ "$SC_AS" = 0 ]; then
	e2e_ok "3.15 + nlassp, token, wrong PIN: no AS-REQ reached the KDC"
else
	e2e_fail "3.15 + nlassp, token, wrong PIN: $SC_AS AS-REQ reached the KDC" "$KDC_LOG"
fi
OURS[wrongpin]="$SC_SUMMARY"

if lab_localhost_is_ipv4_loopback; then
	LAB_HOST=localhost sc_login "$PKINIT_PIN" "$FILE_CARD" "$ANCHORS"
	THEIRS[file]="$SC_SUMMARY"
	LAB_HOST=localhost sc_login "$PKINIT_PIN" "${TOKEN[@]}"
	THEIRS[token]="$SC_SUMMARY"
	LAB_HOST=localhost sc_login 00000000 "${TOKEN[@]}"
	THEIRS[wrongpin]="$SC_SUMMARY"
else
	THEIRS[file]="not run: localhost is not 127.0.0.1 only here"
	THEIRS[token]="${THEIRS[file]}"
	THEIRS[wrongpin]="${THEIRS[file]}"
fi
lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3

# The module as 3.15's server: nla_server inside the tree (FreeRDP 3.15's libfreerdp-server3).
if [ -n "$TRIXIE_E2E_NLA_SERVER" ]; then
	E2E_SERVER_ARGS=(--module "$E2E_MODULE" --keytab "$KDC_KEYTAB")
	export WLOG_FILTER="com.nlassp.kerberos:DEBUG"
	# The server core hands the application no user name for a smartcard logon (nla_server prints
	# "NLA succeeded for \"), on 3.15 as on 3.10: the acceptor's DEBUG line names the principal.
	p=$(pkinit_count_pkinit "$PRINCIPAL")
	LAB_USER="" LAB_DOMAIN="" TRIXIE_SERVER_INSIDE=1 trixie_nla_login success \
		"3.15 + nlassp, SoftHSM2 token -> nlassp in 3.15 nla_server" "$PKINIT_PIN" "${TOKEN[@]}" "/sspi-module:$E2E_MODULE"
	e2e_expect_grep "$LAB_NLA_LOG" "Kerberos: accepted $PRINCIPAL" "nlassp in 3.15 nla_server accepted $PRINCIPAL"
	if [ $(($(pkinit_count_pkinit "$PRINCIPAL") - p)) = 1 ]; then
		e2e_ok "3.15 nla_server login: 1 PKINIT request"
	else
		e2e_fail "3.15 nla_server login: no PKINIT request in the KDC log" "$KDC_LOG"
	fi
else
	e2e_say "note: nla_server cannot run inside the tree; the server-side login is not run"
fi

e2e_say "side by side (FreeRDP ${TRIXIE_E2E_VERSION}, alice has a random key):"
for k in file token wrongpin; do
	case $k in
	file) what="/smartcard-logon:cert:,key:" ;;
	token) what="SoftHSM2 via /kerberos:pkcs11-module:" ;;
	wrongpin) what="SoftHSM2, wrong PIN" ;;
	esac
	e2e_say "  $what"
	e2e_say "      nlassp:          ${OURS[$k]}"
	e2e_say "      WinPR built-in:  ${THEIRS[$k]}"
done
e2e_finish
