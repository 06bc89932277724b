#!/bin/bash
# nlassp-probe against FreeRDP's own CredSSP server (freerdp-shadow-cli3, built-in NLA) on
# 127.0.0.1: a real interop test of our CREDSSP initiator against FreeRDP's acceptor.
#   NTLM: versions 6 and 5 log in; versions 2-4 are refused by default (below the minimum 5:
#   usage error) and, asked for with --min-credssp-version 2, hit FreeRDP's public-key echo defect:
#   refused strictly (SEC_E_MUTUAL_AUTH_FAILED, reason names the defect), logged in with
#   --tolerate-freerdp-echo-bug (reported insecure); a wrong password is refused (exit 1,
#   SEC_E_LOGON_DENIED) at version 6 (errorCode) and at versions 5 and 2 (no errorCode).
#   Kerberos (throwaway realm LAB.TEST, shadow with a keytab): logs in, the KDC saw a TGS_REQ for
#   TERMSRV/localhost; a wrong password is refused.
# With a module path, the NTLM login and a wrong password are repeated through the module's SSPI
# table (nlassp-probe --module: AcquireCredentialsHandle/InitializeSecurityContext("CREDSSP")).
# Every outcome's wording is checked too (tests/credssp/test_probe_outcome.cpp has the same
# sentences): the server's refusal with its errorCode by name, the KDC's refusal before anything
# reached the server, and "delegated" only when a password was delegated (a ccache without one
# logs in with empty credentials and says so; --delegate makes that an error). With the
# nla_server path, a FreeRDP server using the module refuses a wrong password with errorCode
# 0xC007052E, which the probe names (FreeRDP server: ERROR_LOGON_FAILURE).
# Usage: probe_shadow.sh PATH/TO/nlassp-probe [PATH/TO/libnlassp.so [PATH/TO/nla_server]].
# Exit 0 pass, 1 fail, 77 skipped.
set -u
PROBE=${1:?usage: probe_shadow.sh PATH/TO/nlassp-probe [module [nla_server]]}
MODULE=${2:-}
NLA_SERVER=${3:-}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lab/lab.sh
source "$HERE/../lab/lab.sh"
for tool in freerdp-shadow-cli3 Xvfb winpr-hash3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 77; }
done

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# probe EXPECTED_RC JSON_SUBSTRING... -- probe arguments
expect() {
	local want=$1; shift
	local -a needles=()
	while [ "$1" != "--" ]; do needles+=("$1"); shift; done
	shift
	local out rc
	out="$(timeout 60 "$PROBE" --json --timeout 20 "$@" 2>/dev/null)"
	rc=$?
	local ok=1
	[ "$rc" = "$want" ] || ok=0
	local n
	for n in "${needles[@]}"; do
		case "$out" in *"$n"*) ;; *) ok=0 ;; esac
	done
	if [ $ok = 1 ]; then
		pass "rc=$rc ${needles[*]} ($*)"
	else
		fail "want rc=$want and ${needles[*]}; got rc=$rc: $out ($*)"
	fi
}

# expect_text EXPECTED_RC LINE_SUBSTRING... -- probe arguments: the same without --json, for the
# lines a person reads.
expect_text() {
	local want=$1; shift
	local -a needles=()
	while [ "$1" != "--" ]; do needles+=("$1"); shift; done
	shift
	local out rc ok=1 n
	out="$(WLOG_LEVEL=OFF timeout 60 "$PROBE" --timeout 20 "$@" 2>/dev/null)"
	rc=$?
	[ "$rc" = "$want" ] || ok=0
	for n in "${needles[@]}"; do
		case "$out" in *"$n"*) ;; *) ok=0 ;; esac
	done
	if [ $ok = 1 ]; then pass "text: rc=$rc ${needles[*]}"; else fail "text: want rc=$want and ${needles[*]}; got rc=$rc:
$out"; fi
}

lab_init || exit 1
lab_start_xvfb || exit 1
lab_write_sam alice 'Passw0rd!' LAB || exit 1
lab_start_shadow || exit 1
T="127.0.0.1:$LAB_SHADOW_PORT"
NTLM=(--user alice --domain LAB --auth-pkg-list '!kerberos')

expect 0 '"success":true' '"credssp_version":6' '"mechanism":"NTLM"' '"delegated":true' '"insecure_credssp_version":false' \
	'"delegation":"yes (the user name and password)"' -- "${NTLM[@]}" --password 'Passw0rd!' "$T"
expect_text 0 'outcome     success  SEC_E_OK' 'delegated   yes (the user name and password)' -- \
	"${NTLM[@]}" --password 'Passw0rd!' "$T"
expect 0 '"success":true' '"credssp_version":5' -- "${NTLM[@]}" --password 'Passw0rd!' --credssp-version 5 "$T"
# Versions 2-4 only when asked for explicitly: --credssp-version 4 alone is a usage error.
expect 64 -- "${NTLM[@]}" --password 'Passw0rd!' --credssp-version 4 "$T"
for v in 4 3 2; do
	expect 2 '"status":"SEC_E_MUTUAL_AUTH_FAILED"' 'known defect of FreeRDP' -- "${NTLM[@]}" --password 'Passw0rd!' --credssp-version $v --min-credssp-version 2 "$T"
	expect 0 '"success":true' "\"credssp_version\":$v" '"freerdp_echo_defect_tolerated":true' '"insecure_credssp_version":true' -- "${NTLM[@]}" --password 'Passw0rd!' --credssp-version $v --min-credssp-version 2 --tolerate-freerdp-echo-bug "$T"
done
expect 0 '"success":true' '"delegated":false' '"delegation":"no (--no-delegate: empty credentials sent)"' -- \
	"${NTLM[@]}" --password 'Passw0rd!' --no-delegate "$T"
# FreeRDP's own server refuses a wrong NTLM password with errorCode 0xC00700EA at version 6.
expect 1 '"status":"SEC_E_LOGON_DENIED"' '"refused":true' '"refused_by":"server"' \
	'"reason":"the server refused the logon (errorCode 0xC00700EA, ' -- "${NTLM[@]}" --password 'wrong' "$T"
expect 1 '"status":"SEC_E_LOGON_DENIED"' '"refused_by":"server"' \
	'"reason":"the server refused the logon: wrong user name or password' -- \
	"${NTLM[@]}" --password 'wrong' --credssp-version 5 "$T"
expect_text 1 'outcome     refused by the server  SEC_E_LOGON_DENIED' 'reason      the server refused the logon' -- \
	"${NTLM[@]}" --password 'wrong' "$T"
expect 1 '"status":"SEC_E_LOGON_DENIED"' -- "${NTLM[@]}" --password 'wrong' --credssp-version 2 --min-credssp-version 2 --tolerate-freerdp-echo-bug "$T"
expect 2 '"stage":"tcp"' '"refused":false' -- "${NTLM[@]}" --password 'x' "127.0.0.1:1"
if [ -n "$MODULE" ]; then
	expect 0 '"success":true' '"credssp_version":6' '"via":"'"$MODULE"'"' -- --module "$MODULE" "${NTLM[@]}" --password 'Passw0rd!' "$T"
	expect 1 '"status":"SEC_E_LOGON_DENIED"' -- --module "$MODULE" "${NTLM[@]}" --password 'wrong' "$T"
	expect 2 '"status":"SEC_E_MUTUAL_AUTH_FAILED"' 'known defect of FreeRDP' -- --module "$MODULE" "${NTLM[@]}" --password 'Passw0rd!' --credssp-version 3 --min-credssp-version 2 "$T"
fi

# Kerberos against a shadow server with a keytab, in a throwaway realm.
if [ -r "$HERE/../lab/kdc.sh" ] && command -v krb5kdc >/dev/null 2>&1 || [ -x /usr/sbin/krb5kdc ]; then
	# shellcheck source=../lab/kdc.sh
	source "$HERE/../lab/kdc.sh"
	if kdc_setup && kdc_start; then
		lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
		lab_start_shadow "/keytab:$KDC_KEYTAB" || exit 1
		K=(--user "$KDC_USER" --domain "$KDC_REALM" --auth-pkg-list '!ntlm' --target TERMSRV/localhost)
		before=$(kdc_count_tgs TERMSRV/localhost)
		expect 0 '"success":true' '"mechanism":"Kerberos"' -- "${K[@]}" --password "$KDC_PASSWORD" "localhost:$LAB_SHADOW_PORT"
		after=$(kdc_count_tgs TERMSRV/localhost)
		if [ "$after" -gt "$before" ]; then pass "KDC saw a TGS_REQ for TERMSRV/localhost"; else fail "no TGS_REQ for TERMSRV/localhost"; fi
		# A wrong Kerberos password is refused by the KDC: nothing reaches the RDP server.
		expect 1 '"refused":true' '"refused_by":"kdc"' \
			'"reason":"the KDC refused the logon before anything was sent to the server: wrong user name or password' -- \
			"${K[@]}" --password 'wrong' "localhost:$LAB_SHADOW_PORT"
		expect_text 1 'outcome     refused by the KDC  SEC_E_LOGON_DENIED' -- \
			"${K[@]}" --password 'wrong' "localhost:$LAB_SHADOW_PORT"
		# From a credential cache, no password: nothing to delegate, so empty credentials, said
		# so (also through the module's table, where no password must not read as an empty one);
		# with --delegate, SEC_I_INCOMPLETE_CREDENTIALS before anything is sent.
		if echo "$KDC_PASSWORD" | kinit -c "FILE:$KDC_DIR/probe.cc" "$KDC_USER@$KDC_REALM" >/dev/null 2>&1; then
			CC=(--ccache "FILE:$KDC_DIR/probe.cc" --auth-pkg-list '!ntlm' --target TERMSRV/localhost)
			expect 0 '"success":true' '"mechanism":"Kerberos"' '"delegated":false' -- "${CC[@]}" --no-delegate "localhost:$LAB_SHADOW_PORT"
			expect 0 '"success":true' '"mechanism":"Kerberos"' '"delegated":false' \
				'"delegation":"no (no password to delegate: empty credentials sent' -- "${CC[@]}" "localhost:$LAB_SHADOW_PORT"
			expect_text 0 'delegated   no (no password to delegate' -- "${CC[@]}" --user "$KDC_USER@$KDC_REALM" "localhost:$LAB_SHADOW_PORT"
			if [ -n "$MODULE" ]; then
				expect 0 '"success":true' '"delegated":false' '"delegation":"no (no password to delegate' -- \
					--module "$MODULE" "${CC[@]}" --user "$KDC_USER@$KDC_REALM" "localhost:$LAB_SHADOW_PORT"
			fi
			expect 2 '"status":"SEC_I_INCOMPLETE_CREDENTIALS"' \
				'"reason":"there is no password to delegate: give --password, or leave out --delegate; nothing was sent to the server"' -- \
				"${CC[@]}" --delegate "localhost:$LAB_SHADOW_PORT"
		else
			fail "kinit into a file ccache failed"
		fi
	else
		fail "could not start the throwaway KDC"
	fi
else
	echo "note: krb5kdc not installed, Kerberos part skipped"
fi

# A FreeRDP server that uses nlassp (nla_server, FreeRDP_SspiModule) answers a wrong password with
# NTSTATUS_FROM_WIN32(ERROR_LOGON_FAILURE) = 0xC007052E.
if [ -n "$NLA_SERVER" ] && [ -n "$MODULE" ] && [ -x "$NLA_SERVER" ]; then
	if lab_start_nla_server "$NLA_SERVER" --module "$MODULE" --max-connections 1 --timeout 60; then
		expect 1 '"refused":true' '"refused_by":"server"' \
			'"reason":"the server refused the logon (errorCode 0xC007052E, FreeRDP server: ERROR_LOGON_FAILURE): wrong user name or password' -- \
			"${NTLM[@]}" --password 'wrong' "127.0.0.1:$LAB_NLA_PORT"
		lab_stop "$LAB_NLA_PID" nla_server
	else
		fail "nla_server with the module did not start"
	fi
else
	echo "note: no nla_server (freerdp-server3): the 0xC007052E check is skipped"
fi

[ "$FAILS" = 0 ] || { lab_tail "$LAB_SHADOW_LOG" 40; exit 1; }
exit 0
