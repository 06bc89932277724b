#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# scripts/demo.sh — watch nlassp log a user in with the real, unmodified FreeRDP 3.
# On a fresh Debian 12 machine it:
#   1. installs the dependencies (.ci/install-deps.sh; NLASSP_SKIP_DEPS=1 skips this),
#   2. builds the module in Release mode (build/plugin/libnlassp.so), nlassp-probe
#      (build/tools/probe/nlassp-probe) and the small test server,
#   3. starts a loopback lab: Xvfb plus freerdp-shadow-cli3 on 127.0.0.1 with a SAM file holding
#      LAB\alice / Passw0rd!,
#   4. runs `xfreerdp3 +auth-only /sspi-module:<module>` logins — right password, wrong password —
#      a login of the stock client to a server that uses nlassp as its SspiModule, and a
#      Kerberos login in a throwaway MIT realm (LAB.TEST, KDC on 127.0.0.1),
#   5. prints each outcome in plain words with nlassp's own INFO log lines, checks the server's NLA
#      once with nlassp-probe, and stops everything.
# Exits 0 when every login ended as it should. Only 127.0.0.1 is used.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${NLASSP_DEMO_BUILD:-$ROOT/build}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
PROBLEMS=0

if [ -t 1 ]; then
	title() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
	title() { printf '\n%s\n' "$*"; }
fi
plain() { printf '   %s\n' "$*"; }

# nlassp_lines LOG — nlassp's own log lines (tag com.nlassp.*), without the time/thread prefix.
nlassp_lines() {
	local lines
	lines="$(grep -F '[com.nlassp.' "$1" | sed -E 's/^\[[^]]*\] \[[^]]*\] //' | head -n 20)"
	if [ -n "$lines" ]; then
		plain "nlassp logged (WLOG_LEVEL=INFO):"
		printf '%s\n' "$lines" | sed 's/^/     /'
	else
		plain "(nlassp logged nothing at INFO)"
	fi
}

freerdp_lines() {
	grep -E '\[(ERROR|WARN)\]\[com\.freerdp\.core\.(auth|nla)\]|Authentication only' "$1" |
		sed -E 's/^\[[^]]*\] \[[^]]*\] //' | head -n 6 | sed 's/^/     /'
}

if [ "${NLASSP_SKIP_DEPS:-0}" != 1 ]; then
	title "Installing dependencies (.ci/install-deps.sh) ..."
	bash "$ROOT/.ci/install-deps.sh" || { echo "installing the dependencies failed"; exit 1; }
fi

title "Building nlassp (Release) in $BUILD ..."
BUILD_LOG="$(mktemp "${TMPDIR:-/tmp}/nlassp-demo-build.XXXXXX")"
trap 'rm -f "$BUILD_LOG"' EXIT
if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BUILD_LOG" 2>&1; then
	tail -n 40 "$BUILD_LOG"
	echo "configuring failed"
	exit 1
fi
targets=(--target nlassp)
build_targets="$(cmake --build "$BUILD" --target help 2>/dev/null | sed 's/^\.\.\. //')"
grep -q '^nla_server' <<<"$build_targets" && targets+=(--target nla_server)
grep -q '^nlassp-probe' <<<"$build_targets" && targets+=(--target nlassp-probe)
if ! cmake --build "$BUILD" -j "$JOBS" "${targets[@]}" >"$BUILD_LOG" 2>&1; then
	tail -n 40 "$BUILD_LOG"
	echo "building failed"
	exit 1
fi
rm -f "$BUILD_LOG"
MODULE="$BUILD/plugin/libnlassp.so"
SERVER="$BUILD/tests/e2e/nla_server"
PROBE="$BUILD/tools/probe/nlassp-probe"
[ -f "$MODULE" ] || { echo "the build did not produce $MODULE"; exit 1; }
plain "module: $MODULE"
[ -x "$PROBE" ] && plain "nlassp-probe: $PROBE ($("$PROBE" --version))"

# shellcheck source=tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
title "Starting the loopback lab ..."
lab_init 2>/dev/null || { echo "could not create the lab"; exit 1; }
if ! { lab_start_xvfb && lab_write_sam "$LAB_USER" && lab_start_shadow; } 2>"$LAB_DIR/lab.err"; then
	cat "$LAB_DIR/lab.err"
	echo "the lab did not start"
	exit 1
fi
plain "Xvfb $LAB_DISPLAY, freerdp-shadow-cli3 on 127.0.0.1:$LAB_SHADOW_PORT with FreeRDP's built-in NLA"
plain "user $LAB_DOMAIN\\$LAB_USER, password $LAB_PASSWORD (in $LAB_SAM, made by winpr-hash3)"

# login NUMBER WANT DESCRIPTION PORT PASSWORD [XFREERDP ARGS...]
login() {
	local n="$1" want="$2" what="$3" port="$4" pass="$5"
	shift 5
	local shown="" a
	for a in "$@"; do
		case "$a" in
		*'!'*) shown+=" '$a'" ;;
		*) shown+=" $a" ;;
		esac
	done
	title "$n. $what"
	plain "\$ xfreerdp3 /v:127.0.0.1:$port /u:$LAB_USER /d:$LAB_DOMAIN /p:'$pass' /cert:ignore /sec:nla +auth-only$shown"
	lab_connect "$port" "$pass" "$@" 2>/dev/null
	case "$LAB_CLIENT_OUTCOME" in
	success) plain "RESULT: logged in as $LAB_DOMAIN\\$LAB_USER ($LAB_CLIENT_WHY)." ;;
	refused) plain "RESULT: the login was refused ($LAB_CLIENT_WHY)." ;;
	*) plain "RESULT: the connection failed ($LAB_CLIENT_WHY)." ;;
	esac
	if [ "$LAB_CLIENT_OUTCOME" = "$want" ]; then
		plain "That is what should happen."
	else
		plain "That is NOT what should happen (expected: $want). FreeRDP said:"
		freerdp_lines "$LAB_CLIENT_LOG"
		PROBLEMS=$((PROBLEMS + 1))
	fi
}

login 1 success "xfreerdp3 with nlassp as its SSPI module logs in (NTLM)" "$LAB_SHADOW_PORT" \
	"$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$MODULE"
if grep -qF "Using SSPI Module: $MODULE" "$LAB_CLIENT_LOG"; then
	plain "FreeRDP confirms: \"Using SSPI Module: $MODULE\""
fi
nlassp_lines "$LAB_CLIENT_LOG"

login 2 refused "The same with a wrong password" "$LAB_SHADOW_PORT" \
	'wrong-password' '/auth-pkg-list:!kerberos' "/sspi-module:$MODULE"
nlassp_lines "$LAB_CLIENT_LOG"

if [ -x "$PROBE" ]; then
	title "nlassp-probe checks the same server's NLA without opening a session"
	plain "\$ NLASSP_PROBE_PASSWORD='$LAB_PASSWORD' $PROBE --user '$LAB_DOMAIN\\$LAB_USER' --auth-pkg-list '!kerberos' 127.0.0.1:$LAB_SHADOW_PORT"
	probe_out="$(NLASSP_PROBE_PASSWORD="$LAB_PASSWORD" WLOG_LEVEL=OFF timeout 60 "$PROBE" \
		--user "$LAB_DOMAIN\\$LAB_USER" --auth-pkg-list '!kerberos' "127.0.0.1:$LAB_SHADOW_PORT" 2>&1)"
	probe_rc=$?
	printf '%s\n' "$probe_out" | sed 's/^/     /'
	if [ "$probe_rc" = 0 ]; then
		plain "That is what should happen (exit 0: logged in)."
	else
		plain "That is NOT what should happen (exit $probe_rc)."
		PROBLEMS=$((PROBLEMS + 1))
	fi
fi

if [ -x "$SERVER" ]; then
	if lab_start_nla_server "$SERVER" --module "$MODULE" --max-connections 1 --timeout 60 2>/dev/null; then
		login 3 success "Stock xfreerdp3 logs in to a FreeRDP server that uses nlassp (SspiModule)" \
			"$LAB_NLA_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
		lab_wait_exit "$LAB_NLA_PID" 10 >/dev/null
		grep -E '^nla_server: connection' "$LAB_NLA_LOG" | sed 's/^/   server: /'
		nlassp_lines "$LAB_NLA_LOG"
	else
		plain "(the nlassp test server did not start; see $LAB_NLA_LOG)"
		PROBLEMS=$((PROBLEMS + 1))
	fi
else
	plain "(freerdp-server3 not found: the server-side login is skipped)"
fi

if [ -r "$ROOT/tests/lab/kdc.sh" ] && { command -v krb5kdc >/dev/null 2>&1 || [ -x /usr/sbin/krb5kdc ]; }; then
	# shellcheck source=tests/lab/kdc.sh
	source "$ROOT/tests/lab/kdc.sh"
	title "Starting a throwaway Kerberos realm (MIT KDC on 127.0.0.1) ..."
	if kdc_setup >/dev/null 2>&1 && kdc_start 2>/dev/null &&
		kdc_kadmin "addprinc -randkey TERMSRV/127.0.0.1" && kdc_kadmin "ktadd -k $KDC_KEYTAB TERMSRV/127.0.0.1"; then
		plain "realm $KDC_REALM, KDC on 127.0.0.1:$KDC_PORT, user $KDC_USER, service TERMSRV/127.0.0.1"
		lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
		if lab_start_shadow "/keytab:$KDC_KEYTAB" 2>/dev/null; then
			plain "freerdp-shadow-cli3 restarted on 127.0.0.1:$LAB_SHADOW_PORT with the service keytab"
			before="$(kdc_count_tgs TERMSRV/127.0.0.1)"
			LAB_DOMAIN="$KDC_REALM" login 4 success "xfreerdp3 with nlassp logs in with Kerberos" \
				"$LAB_SHADOW_PORT" "$KDC_PASSWORD" '/auth-pkg-list:!ntlm' "/sspi-module:$MODULE"
			after="$(kdc_count_tgs TERMSRV/127.0.0.1)"
			if [ "$after" -gt "$before" ]; then
				plain "The KDC issued a service ticket for TERMSRV/127.0.0.1: Kerberos was used, not NTLM."
			else
				plain "The KDC log shows no ticket for TERMSRV/127.0.0.1."
				PROBLEMS=$((PROBLEMS + 1))
			fi
			nlassp_lines "$LAB_CLIENT_LOG"
		else
			plain "(freerdp-shadow-cli3 did not restart with the keytab)"
			PROBLEMS=$((PROBLEMS + 1))
		fi
	else
		plain "(the throwaway KDC did not start; the Kerberos login is skipped)"
		PROBLEMS=$((PROBLEMS + 1))
	fi
fi

title "Stopping the lab ..."
declare -F kdc_teardown >/dev/null && kdc_teardown
lab_cleanup 2>/dev/null
if [ "$PROBLEMS" = 0 ]; then
	title "Done: every login ended as it should."
	exit 0
fi
title "Done: $PROBLEMS login(s) did not end as they should (see above)."
exit 1
