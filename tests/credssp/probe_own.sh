#!/bin/bash
# nlassp-probe against our own CREDSSP acceptor (credssp_test_server: X.224 + TLS + the CREDSSP
# package through the SSPI table, accepting versions 2..6) on 127.0.0.1: every version 2..6 logs in
# (2-4 asked for with --min-credssp-version 2) with no echo defect to tolerate and the server
# receives the delegated user; --no-delegate gives empty credentials; a wrong password is refused
# at versions 6 (errorCode) and 5 (SPNEGO reject, no errorCode). A second acceptor that speaks only
# up to version 3: the probe refuses it by default as insecure and connects with
# --min-credssp-version 2 (reporting it insecure).
# With a module path, logins are repeated through the module's SSPI table (nlassp-probe --module).
# If xfreerdp3 is installed, stock FreeRDP's CredSSP client (WinPR's NTLM) logs in to the same
# acceptor with +auth-only (the acceptor receives the delegated user; FreeRDP then reconnects, as
# there is no RDP behind NLA here) and a wrong password ends in ERRCONNECT_LOGON_FAILURE (exit 134).
# Usage: probe_own.sh PATH/TO/nlassp-probe PATH/TO/credssp_test_server [PATH/TO/libnlassp.so].
# Exit 0 pass, 1 fail, 77 skip.
set -u
PROBE=${1:?probe}
SERVER=${2:?server}
MODULE=${3:-}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lab/lab.sh
source "$HERE/../lab/lab.sh"
command -v winpr-hash3 >/dev/null 2>&1 || { echo "skip: winpr-hash3 not installed"; exit 77; }
lab_init || exit 1
lab_write_sam alice 'Passw0rd!' LAB || exit 1
lab_make_cert || exit 1
PORT="$(lab_free_port)" || exit 1
# Kerberos too, when a throwaway realm can be had: the acceptor gets its keytab.
KEYTAB=()
HAVE_KDC=0
if command -v krb5kdc >/dev/null 2>&1 || [ -x /usr/sbin/krb5kdc ]; then
	# shellcheck source=../lab/kdc.sh
	source "$HERE/../lab/kdc.sh"
	# TERMSRV/localhost gets RC4 session keys; bob (an RC4 key) may log in with a krb5.conf that
	# permits RC4 only. Clients that permit AES still get an AES subkey.
	if kdc_setup && kdc_rc4_enable && kdc_start && kdc_rc4_service TERMSRV/localhost "$KDC_KEYTAB" &&
		kdc_rc4_client "$KDC_DIR/rc4-only.conf" bob; then
		HAVE_KDC=1
		KEYTAB=(--keytab "$KDC_KEYTAB")
	fi
fi
OUT="$LAB_DIR/logs/credssp_server.out"
CASES=30
timeout -k 5 300 "$SERVER" --port "$PORT" --cert "$LAB_CERT" --key "$LAB_KEY" --sam "$LAB_SAM" \
	"${KEYTAB[@]}" --connections "$CASES" >"$OUT" 2>"$LAB_DIR/logs/credssp_server.err" &
SPID=$!
_lab_track "$SPID" credssp_test_server 2>/dev/null || true
lab_wait_port "$PORT" 20 "$SPID" || { cat "$LAB_DIR/logs/credssp_server.err"; exit 1; }

FAILS=0
N=0
# shown ARGS... — the probe's arguments for a PASS/FAIL line, the --password value as ***: test
# output never carries a password (CI logs are public).
shown() {
	local out=() mask=0 a
	for a in "$@"; do
		if [ "$mask" = 1 ]; then a='***'; mask=0; fi
		[ "$a" = --password ] && mask=1
		out+=("$a")
	done
	printf '%s' "${out[*]}"
}
expect() { # RC SERVER_LINE_SUBSTRING -- probe args
	local want=$1 line=$2; shift 3
	local out rc got
	out="$(timeout 60 "$PROBE" --json --timeout 20 "$@" 2>/dev/null)"
	rc=$?
	N=$((N + 1))
	for _ in $(seq 1 50); do [ "$(grep -c '^OK\|^FAIL' "$OUT")" -ge "$N" ] && break; sleep 0.1; done
	got="$(grep '^OK\|^FAIL' "$OUT" | sed -n "${N}p")"
	if [ "$rc" = "$want" ] && [[ "$got" == *"$line"* ]]; then
		echo "PASS: rc=$rc server: $got ($(shown "$@"))"
	else
		echo "FAIL: want rc=$want and server '$line'; got rc=$rc server '$got': $out ($(shown "$@"))"
		FAILS=$((FAILS + 1))
	fi
}
A=(--user alice --domain LAB --auth-pkg-list '!kerberos' --target TERMSRV/localhost)
T="127.0.0.1:$PORT"
for v in 6 5 4 3 2; do
	expect 0 "OK version=$v mechanism=NTLM user=LAB\\alice delegated=yes" -- "${A[@]}" --password 'Passw0rd!' --credssp-version $v --min-credssp-version 2 "$T"
done
expect 0 "OK version=6 mechanism=NTLM user=\\ delegated=no" -- "${A[@]}" --password 'Passw0rd!' --no-delegate "$T"
expect 1 "FAIL status=SEC_E_LOGON_DENIED" -- "${A[@]}" --password 'wrong' "$T"
expect 1 "FAIL status=SEC_E_LOGON_DENIED" -- "${A[@]}" --password 'wrong' --credssp-version 5 "$T"
expect 1 "FAIL status=SEC_E_LOGON_DENIED" -- "${A[@]}" --password 'wrong' --credssp-version 3 --min-credssp-version 2 "$T"
expect 0 "OK version=4" -- "${A[@]}" --password 'Passw0rd!' --credssp-version 4 --min-credssp-version 4 "$T"
# --verify: the lab's self-signed certificate does not verify; nothing reaches CredSSP.
expect 2 "FAIL tls" -- "${A[@]}" --password 'Passw0rd!' --verify "$T"
if [ -n "$MODULE" ]; then
	expect 0 "OK version=6 mechanism=NTLM user=LAB\\alice delegated=yes" -- --module "$MODULE" "${A[@]}" --password 'Passw0rd!' "$T"
	expect 0 "OK version=2 mechanism=NTLM user=LAB\\alice delegated=yes" -- --module "$MODULE" "${A[@]}" --password 'Passw0rd!' --credssp-version 2 --min-credssp-version 2 "$T"
	expect 1 "FAIL status=SEC_E_LOGON_DENIED" -- --module "$MODULE" "${A[@]}" --password 'wrong' "$T"
fi
if [ "$HAVE_KDC" = 1 ]; then
	K=(--user "$KDC_USER" --domain "$KDC_REALM" --auth-pkg-list '!ntlm' --target TERMSRV/localhost)
	expect 0 "OK version=6 mechanism=Kerberos user=$KDC_REALM\\$KDC_USER delegated=yes" -- "${K[@]}" --password "$KDC_PASSWORD" "localhost:$PORT"
	expect 0 "OK version=3 mechanism=Kerberos" -- "${K[@]}" --password "$KDC_PASSWORD" --credssp-version 3 --min-credssp-version 2 "localhost:$PORT"
	# An RC4 session key and no AES subkey, the client sealing in RFC 4757's layout (as Windows
	# does; NLASSP_KERBEROS_RC4_LAYOUT): our CREDSSP package sizes every token from its framing, on
	# both sides, so the 45-49-byte tokens get through where FreeRDP's fixed cut would not.
	N=$((N + 1))
	rc4_log="$LAB_DIR/logs/probe_rc4.log"
	KRB5_CONFIG="$KDC_DIR/rc4-only.conf" NLASSP_KERBEROS_RC4_LAYOUT=rfc4757 WLOG_FILTER=com.nlassp.kerberos:DEBUG \
		timeout 60 "$PROBE" --json --timeout 20 --user bob --domain "$KDC_REALM" --auth-pkg-list '!ntlm' \
		--target TERMSRV/localhost --password "$KDC_PASSWORD" "localhost:$PORT" >"$rc4_log" 2>&1
	rc=$?
	for _ in $(seq 1 50); do [ "$(grep -c '^OK\|^FAIL' "$OUT")" -ge "$N" ] && break; sleep 0.1; done
	got="$(grep '^OK\|^FAIL' "$OUT" | sed -n "${N}p")"
	if [ "$rc" = 0 ] && [[ "$got" == *"OK version=6 mechanism=Kerberos user=$KDC_REALM\\bob delegated=yes"* ]] &&
		[ "$(grep -c 'RC4-HMAC message protection in RFC 4757 layout' "$rc4_log")" -ge 3 ] &&
		grep -q 'ses=[A-Z:]*arcfour-hmac' <(grep -F 'for TERMSRV/localhost@' "$KDC_LOG" | grep -F bob@); then
		echo "PASS: RC4 session key, RFC 4757 tokens through our CREDSSP package both ways: $got"
	else
		echo "FAIL: RC4 with RFC 4757 tokens: rc=$rc server '$got'"; lab_tail "$rc4_log" 20
		FAILS=$((FAILS + 1))
	fi
else
	echo "note: no KDC, Kerberos part skipped"
fi
if command -v xfreerdp3 >/dev/null 2>&1; then
	before=$(grep -c '^OK' "$OUT")
	timeout 60 xfreerdp3 /v:"$T" /u:alice /d:LAB /p:'Passw0rd!' /cert:ignore /sec:nla +auth-only \
		/auth-pkg-list:'!kerberos' >"$LAB_DIR/logs/xfreerdp_ok.log" 2>&1
	sleep 0.5
	after=$(grep -c '^OK' "$OUT")
	if [ "$after" -gt "$before" ] && grep -q 'OK version=6 mechanism=NTLM user=LAB\\alice delegated=yes' "$OUT"; then
		echo "PASS: xfreerdp3 (FreeRDP's CredSSP client) logged in to our acceptor"
	else
		echo "FAIL: xfreerdp3 did not log in to our acceptor"; lab_tail "$LAB_DIR/logs/xfreerdp_ok.log" 20
		FAILS=$((FAILS + 1))
	fi
	fails_before=$(grep -c '^FAIL status=SEC_E_LOGON_DENIED' "$OUT")
	timeout 60 xfreerdp3 /v:"$T" /u:alice /d:LAB /p:'wrong' /cert:ignore /sec:nla +auth-only \
		/auth-pkg-list:'!kerberos' >"$LAB_DIR/logs/xfreerdp_wrong.log" 2>&1
	rc=$?
	sleep 0.5
	if [ "$rc" = 134 ] && [ "$(grep -c '^FAIL status=SEC_E_LOGON_DENIED' "$OUT")" -gt "$fails_before" ]; then
		echo "PASS: xfreerdp3 with a wrong password: ERRCONNECT_LOGON_FAILURE (exit 134) from our errorCode"
	else
		echo "FAIL: xfreerdp3 with a wrong password exited $rc"; lab_tail "$LAB_DIR/logs/xfreerdp_wrong.log" 20
		FAILS=$((FAILS + 1))
	fi
fi
if [ "$HAVE_KDC" = 1 ]; then
	# (Last on this server: the probe fails before its first TSRequest and leaves the connection open.)
	# An empty password (NTLM allowed): no AS-REQ reaches the KDC and no NTLM logon the server, where
	# each would count toward a lockout; the probe says there are no credentials.
	as_before=$(grep -c "AS_REQ.*$KDC_USER@" "$KDC_LOG")
	denied_before=$(grep -c 'NTLM: logon denied' "$LAB_DIR/logs/credssp_server.err")
	out="$(timeout 60 "$PROBE" --json --timeout 20 --user "$KDC_USER" --domain "$KDC_REALM" --password '' \
		--target TERMSRV/localhost "localhost:$PORT" 2>&1)"
	rc=$?
	sleep 0.5
	if [ "$rc" != 0 ] && [ "$(grep -c "AS_REQ.*$KDC_USER@" "$KDC_LOG")" = "$as_before" ] &&
		[ "$(grep -c 'NTLM: logon denied' "$LAB_DIR/logs/credssp_server.err")" = "$denied_before" ] &&
		[[ "$out" == *"SEC_E_NO_CREDENTIALS"* ]]; then
		echo "PASS: an empty password: SEC_E_NO_CREDENTIALS, no AS-REQ, no NTLM logon at the server (rc=$rc)"
	else
		echo "FAIL: an empty password: rc=$rc, AS-REQ $as_before -> $(grep -c "AS_REQ.*$KDC_USER@" "$KDC_LOG"), NTLM denials $denied_before -> $(grep -c 'NTLM: logon denied' "$LAB_DIR/logs/credssp_server.err"): $out"
		FAILS=$((FAILS + 1))
	fi
fi
lab_stop "$SPID" credssp_test_server

# An acceptor that speaks only up to version 3, as an unpatched server does.
expect_json() { # RC JSON_SUBSTRING... -- probe args
	local want=$1; shift
	local -a needles=()
	while [ "$1" != "--" ]; do needles+=("$1"); shift; done
	shift
	local out rc ok=1 n
	out="$(timeout 60 "$PROBE" --json --timeout 20 "$@" 2>/dev/null)"
	rc=$?
	[ "$rc" = "$want" ] || ok=0
	for n in "${needles[@]}"; do case "$out" in *"$n"*) ;; *) ok=0 ;; esac; done
	if [ $ok = 1 ]; then
		echo "PASS: rc=$rc ${needles[*]} ($(shown "$@"))"
	else
		echo "FAIL: want rc=$want and ${needles[*]}; got rc=$rc: $out ($(shown "$@"))"
		FAILS=$((FAILS + 1))
	fi
}
OLDPORT="$(lab_free_port)" || exit 1
timeout -k 5 120 "$SERVER" --port "$OLDPORT" --cert "$LAB_CERT" --key "$LAB_KEY" --sam "$LAB_SAM" --max-version 3 \
	--connections 3 >"$LAB_DIR/logs/credssp_server_v3.out" 2>"$LAB_DIR/logs/credssp_server_v3.err" &
OPID=$!
_lab_track "$OPID" credssp_test_server 2>/dev/null || true
if lab_wait_port "$OLDPORT" 20 "$OPID"; then
	expect_json 2 '"status":"SEC_E_UNSUPPORTED_FUNCTION"' '"server_credssp_version":3' \
		'"insecure_credssp_version":true' 'insecure' 'min-credssp-version 2' -- "${A[@]}" --password 'Passw0rd!' "127.0.0.1:$OLDPORT"
	expect_json 0 '"success":true' '"credssp_version":3' '"insecure_credssp_version":true' -- \
		"${A[@]}" --password 'Passw0rd!' --min-credssp-version 2 "127.0.0.1:$OLDPORT"
	if [ -n "$MODULE" ]; then
		expect_json 2 '"status":"SEC_E_UNSUPPORTED_FUNCTION"' '"server_credssp_version":3' 'insecure' -- \
			--module "$MODULE" "${A[@]}" --password 'Passw0rd!' "127.0.0.1:$OLDPORT"
	fi
else
	echo "FAIL: the version-3 acceptor did not start"; cat "$LAB_DIR/logs/credssp_server_v3.err"
	FAILS=$((FAILS + 1))
fi
lab_stop "$OPID" credssp_test_server
[ "$FAILS" = 0 ] || { cat "$OUT"; exit 1; }
exit 0
