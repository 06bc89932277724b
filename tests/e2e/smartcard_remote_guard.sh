#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Remote Credential Guard after a smartcard logon (FreeRDP 3.10): the unmodified xfreerdp3
# /smartcard-logon +remoteGuard +auth-only with the module logs alice on with PKINIT (the PIN goes
# to the card only) and sends the server a KERB_TICKET_LOGON instead of TSSmartCardCreds, which
# would carry the PIN. krb5.conf says forwardable = false: the module asks the smartcard logon's
# private TGT forwardable by itself (a user cannot "kinit -f" a smartcard logon), so Remote
# Credential Guard works anyway. Against our CREDSSP acceptor (tests/credssp/credssp_test_server),
# which proves the ticket logon with libkrb5 (host/ ticket decrypted with the keytab, forwarded TGT
# used for HTTP/proof.lab.test) and finds no PIN in the decrypted TSCredentials:
#   1. the file-emulated card (/smartcard-logon:cert:,key:);
#   2. the SoftHSM2 token (/kerberos:pkcs11-module:);
#   3. the realm forbids forwarding alice's tickets (-allow_forwardable): refused before anything is
#      sent, SEC_E_DELEGATION_POLICY and one line naming the realm's policy (not "kinit -f").
# The KDC log shows each PKINIT request and the forwarded TGT; every log at TRACE is free of the PIN.
source "$(dirname "$0")/e2e_lib.sh"
# shellcheck source=rcg_lib.sh
source "$(dirname "$0")/rcg_lib.sh"
e2e_setup "$@"
e2e_need_module
LAB_WLOG_LEVEL=TRACE
e2e_start_pkinit_kdc
rcg_realm_principals
LAB_DOMAIN="$KDC_REALM"
LAB_NO_USER=1
RCG_ABSENT="$PKINIT_PIN"
rcg_start_credssp_server
PRINCIPAL="$KDC_USER@$KDC_REALM"
sed 's/forwardable = true/forwardable = false/' "$KRB5_CONFIG" >"$LAB_DIR/krb5.noforward.conf"
grep -q 'forwardable = false' "$LAB_DIR/krb5.noforward.conf" ||
	{ e2e_fail "could not write a krb5.conf with forwardable = false"; e2e_finish; }
FILE_CARD="/smartcard-logon:cert:$PKINIT_USER_CERT,key:$PKINIT_USER_KEY"
ANCHORS="/kerberos:pkinit-anchors:$PKINIT_ANCHORS"
TOKEN=("/smartcard-logon" "/kerberos:pkcs11-module:$PKINIT_P11_MODULE,pkinit-anchors:$PKINIT_ANCHORS")

# sc_rcg WHAT ARGS... — one smartcard logon with +remoteGuard and krb5.conf's forwardable = false.
sc_rcg() {
	local what="$1" n p f
	shift
	n="$(rcg_css_count)" p="$(pkinit_count_pkinit "$PRINCIPAL")" f="$(rcg_count_forwarded_tgt)"
	KRB5_CONFIG="$LAB_DIR/krb5.noforward.conf" lab_connect "$RCG_CSS_PORT" "$PKINIT_PIN" +remoteGuard \
		'/auth-pkg-list:!ntlm' "$@" "/sspi-module:$E2E_MODULE"
	e2e_expect_module_used "$LAB_CLIENT_LOG" "$what: xfreerdp3 loaded the module"
	if [ "$(pkinit_count_pkinit "$PRINCIPAL")" -gt "$p" ]; then
		e2e_ok "$what: the KDC verified a PKINIT request from $PRINCIPAL"
	else
		e2e_fail "$what: no PKINIT request from $PRINCIPAL in the KDC log" "$KDC_LOG"
	fi
	e2e_expect_grep "$LAB_CLIENT_LOG" "Remote Credential Guard: a ticket for host/127.0.0.1 and $PRINCIPAL's forwarded ticket-granting ticket" \
		"$what: nlassp made the ticket logon (host/127.0.0.1 + forwarded TGT)"
	rcg_expect_proof "$what" "$n" "host/127.0.0.1@$KDC_REALM"
	rcg_expect_forwarded_tgt "$what" "$f"
}

sc_rcg "file card + nlassp +remoteGuard (forwardable = false)" "$FILE_CARD" "$ANCHORS"
sc_rcg "SoftHSM2 token + nlassp +remoteGuard (forwardable = false)" "${TOKEN[@]}"

# 3. The realm will not forward alice's tickets: the line names the realm's policy, not kinit.
if kdc_kadmin "modprinc -allow_forwardable $PRINCIPAL"; then
	n="$(rcg_css_count)"
	lab_connect "$RCG_CSS_PORT" "$PKINIT_PIN" +remoteGuard '/auth-pkg-list:!ntlm' "$FILE_CARD" "$ANCHORS" \
		"/sspi-module:$E2E_MODULE"
	e2e_expect_grep "$LAB_CLIENT_LOG" "Remote Credential Guard is not possible for $PRINCIPAL: the smartcard logon's ticket-granting ticket is not forwardable; the ticket was asked forwardable and the KDC did not make it so" \
		"realm forbids forwarding: one line naming the realm's policy"
	if grep -q "kinit -f" "$LAB_CLIENT_LOG"; then
		e2e_fail "realm forbids forwarding: the line tells a smartcard user to run kinit -f" "$LAB_CLIENT_LOG"
	else
		e2e_ok "realm forbids forwarding: no kinit -f advice for a smartcard logon"
	fi
	e2e_expect_grep "$LAB_CLIENT_LOG" "QueryContextAttributesA -> SEC_E_DELEGATION_POLICY" \
		"realm forbids forwarding: SECPKG_CRED_ATTR_TICKET_LOGON answered SEC_E_DELEGATION_POLICY"
	if rcg_css_lines_since "$n" | grep -q '^OK'; then
		e2e_fail "realm forbids forwarding: the server still received credentials"
	else
		e2e_ok "realm forbids forwarding: no credentials reached the server"
	fi
	kdc_kadmin "modprinc +allow_forwardable $PRINCIPAL" || e2e_fail "could not allow forwarding again"
else
	e2e_fail "kadmin could not forbid forwarding for $PRINCIPAL"
fi

e2e_expect_secret_absent "every log at TRACE (client, CREDSSP server, KDC)" "the PIN" "$PKINIT_PIN" \
	"$LAB_DIR"/logs/* "$KDC_LOG"
e2e_finish
