#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Smartcard logon (Kerberos PKINIT), client side: the unmodified xfreerdp3 +auth-only with
# /smartcard-logon against freerdp-shadow-cli3 (FreeRDP's own acceptor, /keytab), in a throwaway
# realm whose KDC does PKINIT and where alice has a random key: nothing but PKINIT can log her in
# (tests/lab/pkinit.sh). The user and domain come from the certificate (no /u: /d:); the PIN is /p:.
# Through nlassp:
#   1. /smartcard-logon:cert:..,key:.. (FreeRDP's file-emulated card);
#   2. the SoftHSM2 token through /kerberos:pkcs11-module: (FreeRDP writes its 32-bit slot id
#      with 16 bits; the module finds the token and says so once, at INFO);
#   3. the token with a wrong PIN: SCARD_W_WRONG_CHV, one log line, and not one KDC request;
#   4. an encrypted key file: opens with the PIN, refused with a wrong one.
# Every success shows in the KDC log a PKINIT request it verified and a ticket for the service,
# and never an encrypted timestamp (a PIN used as a password). The same logins with WinPR's
# built-in Kerberos are run in the same lab and recorded side by side, not asserted.
# Everything runs at TRACE, and no log (client, shadow server, KDC) may hold the PIN.
source "$(dirname "$0")/e2e_lib.sh"
# WinPR's logins go to /v:localhost (TERMSRV/localhost): where localhost is ::1 too, run in a
# private mount namespace whose /etc/hosts makes it 127.0.0.1 (tests/lab/lab.sh).
lab_localhost_ipv4 "$@" || true
e2e_setup "$@"
e2e_need_module
LAB_WLOG_LEVEL=TRACE
e2e_start_pkinit_kdc
LAB_DOMAIN="$KDC_REALM"
LAB_NO_USER=1
PRINCIPAL="alice@$KDC_REALM"

lab_start_xvfb || { e2e_fail "Xvfb did not start"; e2e_finish; }
lab_write_sam || { e2e_fail "could not write the SAM"; e2e_finish; }
lab_start_shadow "/keytab:$KDC_KEYTAB" ||
	{ e2e_fail "freerdp-shadow-cli3 did not start" "$LAB_SHADOW_LOG"; e2e_finish; }

FILE_CARD="/smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY"
ENC_CARD="/smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY_ENC"
TOKEN=("/smartcard-logon" "/kerberos:pkcs11-module:$PKINIT_P11_MODULE,pkinit-anchors:$PKINIT_ANCHORS")
ANCHORS="/kerberos:pkinit-anchors:$PKINIT_ANCHORS"
e2e_say "SoftHSM2 slot $PKINIT_SLOT; FreeRDP will name it slotid=$((PKINIT_SLOT & 0xffff))"

# sc_login PASSWORD ARGS... — one login; sets SC_PKINIT / SC_ENCTS / SC_AS / SC_TGS (what the
# KDC saw during it) and SC_SUMMARY.
sc_login() {
	local pin="$1" spn="${LAB_HOST:-127.0.0.1}" p e a t
	shift
	p=$(pkinit_count_pkinit "$PRINCIPAL") e=$(pkinit_count_encts "$PRINCIPAL")
	a=$(kdc_count_as "$PRINCIPAL") t=$(kdc_count_tgs "TERMSRV/$spn")
	lab_connect "$LAB_SHADOW_PORT" "$pin" "$@"
	SC_PKINIT=$(($(pkinit_count_pkinit "$PRINCIPAL") - p))
	SC_ENCTS=$(($(pkinit_count_encts "$PRINCIPAL") - e))
	SC_AS=$(($(kdc_count_as "$PRINCIPAL") - a))
	SC_TGS=$(($(kdc_count_tgs "TERMSRV/$spn") - t))
	local status
	status="$(grep -oE 'InitializeSecurityContext failed with [^]]*\]' "$LAB_CLIENT_LOG" | head -n1 | sed 's/.*with //')"
	SC_SUMMARY="$LAB_CLIENT_OUTCOME${status:+ $status}; KDC: $SC_AS AS-REQ, $SC_PKINIT PKINIT, $SC_ENCTS encrypted timestamp (PIN as password), $SC_TGS service ticket"
}

# expect_pkinit WHAT — the last login succeeded with PKINIT and no password pre-authentication.
expect_pkinit() {
	local what="$1"
	e2e_expect_login success "$what" "$LAB_SHADOW_LOG"
	e2e_expect_module_used "$LAB_CLIENT_LOG" "$what: xfreerdp3 loaded the module"
	if [ "$SC_PKINIT" = 1 ] && [ "$SC_TGS" = 1 ] && [ "$SC_ENCTS" = 0 ]; then
		e2e_ok "$what: the KDC verified 1 PKINIT request, issued 1 service ticket, saw no encrypted timestamp"
	else
		e2e_fail "$what: KDC saw $SC_PKINIT PKINIT, $SC_TGS TGS, $SC_ENCTS encrypted timestamps (want 1, 1, 0)" "$KDC_LOG"
	fi
	e2e_expect_grep "$LAB_CLIENT_LOG" "Negotiate initiator: mechanisms Kerberos (a smartcard logon" \
		"$what: Negotiate offered Kerberos alone"
}

declare -A OURS THEIRS

# 1. The file-emulated card.
sc_login "$PKINIT_PIN" "$FILE_CARD" "$ANCHORS" "/sspi-module:$E2E_MODULE"
expect_pkinit "nlassp, /smartcard-logon:cert:,key:"
OURS[file]="$SC_SUMMARY"

# 2. The SoftHSM2 token (FreeRDP's NCrypt PKCS#11 provider finds the certificate).
sc_login "$PKINIT_PIN" "${TOKEN[@]}" "/sspi-module:$E2E_MODULE"
expect_pkinit "nlassp, SoftHSM2 token via /kerberos:pkcs11-module:"
e2e_expect_grep "$LAB_CLIENT_LOG" "(FreeRDP writes slot ids as 16 bits); using token '$PKINIT_TOKEN_LABEL' (slot $PKINIT_SLOT)" \
	"nlassp, token: found slot $PKINIT_SLOT that FreeRDP named $((PKINIT_SLOT & 0xffff)) (one INFO line)"
OURS[token]="$SC_SUMMARY"

# 3. A wrong PIN: refused by the token, with its own status; the KDC is never asked.
sc_login 00000000 "${TOKEN[@]}" "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp, token, wrong PIN" "$LAB_SHADOW_LOG"
e2e_expect_grep "$LAB_CLIENT_LOG" "InitializeSecurityContext failed with (null) [0x8010006B]" \
	"nlassp, token, wrong PIN: SCARD_W_WRONG_CHV (0x8010006B)"
e2e_expect_grep "$LAB_CLIENT_LOG" "refused the PIN (CKR_PIN_INCORRECT)" "nlassp, token, wrong PIN: the module's line"
if [ "$SC_AS" = 0 ]; then
	e2e_ok "nlassp, token, wrong PIN: no AS-REQ reached the KDC"
else
	e2e_fail "nlassp, token, wrong PIN: $SC_AS AS-REQ reached the KDC" "$KDC_LOG"
fi
OURS[wrongpin]="$SC_SUMMARY"

# 4. An encrypted key file: the PIN opens it (answered to PKINIT, never a password) ...
sc_login "$PKINIT_PIN" "$ENC_CARD" "$ANCHORS" "/sspi-module:$E2E_MODULE"
expect_pkinit "nlassp, encrypted key file"
# ... and a wrong PIN does not.
sc_login 00000000 "$ENC_CARD" "$ANCHORS" "/sspi-module:$E2E_MODULE"
e2e_expect_login refused "nlassp, encrypted key file, wrong PIN" "$LAB_SHADOW_LOG"
e2e_expect_grep "$LAB_CLIENT_LOG" "[0x8010006B]" "nlassp, encrypted key file, wrong PIN: SCARD_W_WRONG_CHV"
if [ "$SC_AS" = 0 ]; then
	e2e_ok "nlassp, encrypted key file, wrong PIN: no AS-REQ"
else
	e2e_fail "nlassp, encrypted key file, wrong PIN: $SC_AS AS-REQ" "$KDC_LOG"
fi

# WinPR's built-in Kerberos on the same cards (FreeRDP's built-in client cannot target an IP
# address: it connects to localhost, whose TERMSRV/localhost is in the keytab).
if lab_localhost_is_ipv4_loopback; then
	LAB_HOST=localhost sc_login "$PKINIT_PIN" "$FILE_CARD" "$ANCHORS"
	THEIRS[file]="$SC_SUMMARY"
	LAB_HOST=localhost sc_login "$PKINIT_PIN" "${TOKEN[@]}"
	THEIRS[token]="$SC_SUMMARY"
	grep -qE 'encrypted_timestamp|Preauthentication failed' "$LAB_CLIENT_LOG" &&
		THEIRS[token]+=" [client log: $(grep -oE 'krb5glue_get_init_creds \([^)]*\)' "$LAB_CLIENT_LOG" | head -n1)]"
	LAB_HOST=localhost sc_login 00000000 "${TOKEN[@]}"
	THEIRS[wrongpin]="$SC_SUMMARY"
else
	THEIRS[file]="not run: localhost is not 127.0.0.1 only here"
	THEIRS[token]="${THEIRS[file]}"
	THEIRS[wrongpin]="${THEIRS[file]}"
fi

e2e_say "side by side (FreeRDP $(xfreerdp3 /version 2>/dev/null | sed -nE 's/.*version ([0-9][0-9.]*).*/\1/p' | head -n1), alice has a random key):"
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
e2e_expect_secret_absent "every log at TRACE (clients, shadow server, KDC)" "the PIN" "$PKINIT_PIN" \
	"$LAB_DIR"/logs/* "$KDC_LOG"
e2e_finish
