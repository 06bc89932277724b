# shellcheck shell=bash
# Helpers for the Remote Credential Guard and restricted admin end-to-end tests (remote_guard.sh,
# restricted_admin.sh, trixie_remote_guard.sh); sourced after e2e_lib.sh (not a test itself).
#
#   rcg_realm                 # e2e_start_kdc, plus host/127.0.0.1 (what nlassp asks for), HOST/localhost
#                             # and host/localhost (WinPR's built-in connects to localhost and spells it
#                             # HOST) in the server keytab, and RCG_PROOF_SPN, a principal nobody but a
#                             # server holding a forwarded TGT asks a ticket for
#   rcg_realm_principals      # the same principals in a realm already started (e.g. e2e_start_pkinit_kdc)
#   rcg_kinit -f|-F           # kinit alice (forwardable / not) into KRB5CCNAME, password on stdin
#   rcg_start_credssp_server  # tests/credssp/credssp_test_server (our CREDSSP acceptor behind X.224 +
#                             # TLS) proving every Remote Credential Guard logon it receives
#                             # (--remote-guard RCG_PROOF_SPN) and looking for the password (RCG_ABSENT,
#                             # default KDC_PASSWORD; a PIN for smartcard logons) in the decrypted
#                             # TSCredentials (--absent); sets RCG_CSS_PORT and RCG_CSS_OUT
#   rcg_css_lines_since N     # its result lines after the first N ("OK ..." / "FAIL ...")
#   rcg_expect_proof WHAT N SERVICE   # a line after the first N proves alice's ticket logon for SERVICE
#   rcg_count_forwarded_tgt   # TGS_REQs in which the KDC issued alice a TGT (krb5_fwd_tgt_creds' request)
#   rcg_expect_forwarded_tgt WHAT BEFORE  # ... more of them than BEFORE
#   rcg_probe OUT.json PORT [ARGS...] # nlassp-probe through the module as alice, Kerberos only
#   rcg_expect_no_password WHAT FILE...   # none of the files holds the password in any form
#                             # (e2e_expect_secret_absent)
#
# Stock xfreerdp3 connects, authenticates, then finds no RDP behind credssp_test_server and retries
# once with HYBRID_EX: every login there leaves two result lines, and the client's outcome is not
# "success" (there is no session to log on to); the server's lines are the verdict.

RCG_PROOF_SPN="HTTP/proof.lab.test@LAB.TEST"
RCG_CSS_PORT=""
RCG_CSS_OUT=""

rcg_realm() {
	e2e_start_kdc
	rcg_realm_principals
}

rcg_realm_principals() {
	local p
	for p in host/127.0.0.1 host/localhost HOST/localhost; do
		if ! kdc_kadmin "addprinc -randkey $p" || ! kdc_kadmin "ktadd -k $KDC_KEYTAB $p"; then
			e2e_say "FAIL: could not add $p to the realm"
			exit 1
		fi
	done
	kdc_kadmin "addprinc -randkey $RCG_PROOF_SPN" || { e2e_say "FAIL: could not add $RCG_PROOF_SPN"; exit 1; }
}

# rcg_kinit -f|-F — a fresh ccache for alice (KRB5CCNAME is the lab's private one).
rcg_kinit() {
	local ccache="${KRB5CCNAME#FILE:}"
	rm -f "$ccache"
	printf '%s\n' "$KDC_PASSWORD" | kinit "$1" "$KDC_USER@$KDC_REALM" >"$LAB_DIR/logs/kinit.log" 2>&1 ||
		{ e2e_fail "kinit $1 failed" "$LAB_DIR/logs/kinit.log"; return 1; }
	klist -f >>"$LAB_DIR/logs/kinit.log" 2>&1
	e2e_say "kinit $1 $KDC_USER@$KDC_REALM: TGT flags $(awk '/Flags:/ { print $NF; exit }' "$LAB_DIR/logs/kinit.log")"
}

rcg_start_credssp_server() {
	[ -n "$E2E_CREDSSP_SERVER" ] && [ -x "$E2E_CREDSSP_SERVER" ] ||
		{ e2e_say "FAIL: credssp_test_server not found: '$E2E_CREDSSP_SERVER'"; exit 1; }
	[ -n "$LAB_CERT" ] || lab_make_cert || exit 1
	[ -n "$LAB_SAM" ] || lab_write_sam || exit 1
	RCG_CSS_PORT="$(lab_free_port)" || exit 1
	RCG_CSS_OUT="$LAB_DIR/logs/credssp_server.out"
	WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" timeout -k 5 "${LAB_LIFETIME:-900}" "$E2E_CREDSSP_SERVER" \
		--port "$RCG_CSS_PORT" --cert "$LAB_CERT" --key "$LAB_KEY" --sam "$LAB_SAM" --keytab "$KDC_KEYTAB" \
		--remote-guard "$RCG_PROOF_SPN" --absent "${RCG_ABSENT:-$KDC_PASSWORD}" --connections 64 \
		>"$RCG_CSS_OUT" 2>"$LAB_DIR/logs/credssp_server.log" </dev/null &
	_lab_track $! credssp_test_server
	lab_wait_port "$RCG_CSS_PORT" "${LAB_START_TIMEOUT:-20}" $! ||
		{ e2e_say "FAIL: credssp_test_server did not start"; lab_tail "$LAB_DIR/logs/credssp_server.log"; exit 1; }
}

rcg_css_count() { grep -cE '^(OK|FAIL)' "$RCG_CSS_OUT" 2>/dev/null || true; }

# rcg_css_lines_since N — waits briefly for the server to print, then the result lines after N.
rcg_css_lines_since() {
	local n="$1" i
	for ((i = 0; i < 30; i++)); do
		[ "$(rcg_css_count)" -gt "$n" ] && break
		sleep 0.1
	done
	grep -E '^(OK|FAIL)' "$RCG_CSS_OUT" | tail -n +"$((n + 1))"
}

# rcg_expect_no_password WHAT FILE... — the password in no form (e2e_expect_secret_absent).
rcg_expect_no_password() {
	local what="$1"
	shift
	e2e_expect_secret_absent "$what" "the password" "$KDC_PASSWORD" "$@"
}

# rcg_count_forwarded_tgt — TGS_REQs in which the KDC issued alice a ticket-granting ticket: what
# krb5_fwd_tgt_creds asks for (a TGT with the forwarded flag) when a ticket logon is made.
rcg_count_forwarded_tgt() {
	local n
	n=$(grep -F 'TGS_REQ' "$KDC_LOG" 2>/dev/null | grep -F 'ISSUE:' |
		grep -cF "$KDC_USER@$KDC_REALM for krbtgt/$KDC_REALM@$KDC_REALM") || true
	printf '%s\n' "${n:-0}"
}

# rcg_expect_forwarded_tgt WHAT BEFORE — the KDC log shows a forwarded TGT issued since BEFORE.
rcg_expect_forwarded_tgt() {
	local now
	now="$(rcg_count_forwarded_tgt)"
	if [ "$now" -gt "$2" ]; then
		e2e_ok "$1: the KDC log shows the forwarded TGT issued (TGS_REQ $KDC_USER@$KDC_REALM for krbtgt/$KDC_REALM, $2 -> $now)"
	else
		e2e_fail "$1: no TGS_REQ issuing $KDC_USER a TGT in the KDC log (no forwarded TGT)" "$KDC_LOG"
	fi
}

# rcg_expect_proof WHAT N SERVICE — among the credssp_test_server lines after the first N, one that
# proves alice's Remote Credential Guard logon with a ticket for SERVICE, and no password inside.
rcg_expect_proof() {
	local what="$1" n="$2" service="$3" lines
	lines="$(rcg_css_lines_since "$n")"
	e2e_say "$what: server: $(printf '%s' "$lines" | head -n1)"
	if printf '%s\n' "$lines" |
		grep -q "^OK .*remote-guard=$KDC_USER@$KDC_REALM service=$service flags=0x2 krb-cred=unsealed tgt=forwarded proof=$RCG_PROOF_SPN .*text-in-credentials=no"; then
		e2e_ok "$what: the server decoded the KERB_TICKET_LOGON, decrypted the $service ticket and used the forwarded TGT; no password in the TSCredentials"
	else
		e2e_fail "$what: the server did not prove a Remote Credential Guard logon: $lines" "$LAB_CLIENT_LOG"
	fi
}

# rcg_probe OUT.json PORT [PROBE ARGS...] — nlassp-probe --json through the module's SSPI table as
# alice@LAB.TEST with Kerberos only; its log next to OUT (.log).
rcg_probe() {
	local out="$1" port="$2"
	shift 2
	WLOG_LEVEL="${LAB_WLOG_LEVEL:-INFO}" timeout 60 "$E2E_PROBE" --json --timeout 20 --module "$E2E_MODULE" \
		--user "$KDC_USER" --domain "$KDC_REALM" --auth-pkg-list '!ntlm' "$@" "127.0.0.1:$port" \
		>"$out" 2>"${out%.json}.log"
}
