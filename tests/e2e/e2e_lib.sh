# shellcheck shell=bash
# Shared helpers for the end-to-end tests in tests/e2e (sourced; not a test itself).
#
# Each test script is run by CTest as
#   bash tests/e2e/<test>.sh --module /abs/libnlassp.so [--server /abs/nla_server]
# (or with NLASSP_MODULE / NLASSP_NLA_SERVER in the environment) and exits 0 (pass), 1 (fail)
# or 77 (skipped). It prints what it ran, and on failure why, with the tail of the logs.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lab/lab.sh
source "$E2E_DIR/../lab/lab.sh"

E2E_NAME="$(basename "${0%.sh}")"
E2E_MODULE="${NLASSP_MODULE:-}"
E2E_SERVER="${NLASSP_NLA_SERVER:-}"
E2E_CREDSSP_SERVER="${NLASSP_CREDSSP_SERVER:-}"   # tests/credssp/credssp_test_server (our CREDSSP acceptor)
E2E_PROBE="${NLASSP_PROBE:-}"                     # tools/probe/nlassp-probe
E2E_FAILURES=()
E2E_CHECKS=0
E2E_MODULE_STATE=""

e2e_say() { printf '%s: %s\n' "$E2E_NAME" "$*"; }

# e2e_setup "$@" — parses --module/--server (and --credssp-server/--probe), starts the lab (temp
# dir, trap).
e2e_setup() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--module) E2E_MODULE="$2"; shift 2 ;;
		--server) E2E_SERVER="$2"; shift 2 ;;
		--credssp-server) E2E_CREDSSP_SERVER="$2"; shift 2 ;;
		--probe) E2E_PROBE="$2"; shift 2 ;;
		*) e2e_say "unknown argument $1"; exit 2 ;;
		esac
	done
	# shellcheck disable=SC2119
	lab_init || { e2e_say "FAIL: could not create the lab"; exit 1; }
}

# e2e_need_module — the module must exist; also notes whether it hands out a function table yet
# (a NULL table means the SSPI boundary has not landed: failures are then expected).
e2e_need_module() {
	if [ -z "$E2E_MODULE" ] || [ ! -f "$E2E_MODULE" ]; then
		e2e_say "FAIL: module not found: '${E2E_MODULE}' (build the nlassp target)"
		exit 1
	fi
	case "$E2E_MODULE" in
	/*) ;;
	*) E2E_MODULE="$(cd "$(dirname "$E2E_MODULE")" && pwd)/$(basename "$E2E_MODULE")" ;;
	esac
	if command -v python3 >/dev/null 2>&1; then
		E2E_MODULE_STATE="$(WLOG_LEVEL=OFF timeout 20 python3 - "$E2E_MODULE" <<'PY' 2>&1
import ctypes, sys
try:
    lib = ctypes.CDLL(sys.argv[1])
except OSError as e:
    print("not loadable: %s" % e)
    sys.exit(0)
for name in ("InitSecurityInterfaceA", "InitSecurityInterfaceW"):
    try:
        f = getattr(lib, name)
    except AttributeError:
        print("does not export %s" % name)
        sys.exit(0)
    f.restype = ctypes.c_void_p
    if not f():
        print("%s returns NULL (module not ready)" % name)
        sys.exit(0)
print("ok")
PY
)"
		e2e_say "module $E2E_MODULE: ${E2E_MODULE_STATE:-probe failed}"
	fi
}

# e2e_need_server — the nla_server binary must exist.
e2e_need_server() {
	if [ -z "$E2E_SERVER" ] || [ ! -x "$E2E_SERVER" ]; then
		e2e_say "FAIL: nla_server not found: '${E2E_SERVER}' (needs freerdp-server3)"
		exit 1
	fi
}

# e2e_fail WHY [LOG...] — records a failed check and prints the logs' tails.
e2e_fail() {
	local why="$1" f
	shift
	E2E_FAILURES+=("$why")
	e2e_say "CHECK FAILED: $why"
	for f in "$@"; do lab_tail "$f" 30; done
}

e2e_ok() {
	E2E_CHECKS=$((E2E_CHECKS + 1))
	e2e_say "ok: $*"
}

# e2e_expect_login WANT WHAT [SERVER_LOG] — checks the last lab_connect's outcome.
e2e_expect_login() {
	local want="$1" what="$2" slog="${3:-}"
	if [ "$LAB_CLIENT_OUTCOME" = "$want" ]; then
		e2e_ok "$what: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"
	else
		e2e_fail "$what: expected $want, got $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)" \
			"$LAB_CLIENT_LOG" ${slog:+"$slog"}
	fi
}

# e2e_expect_grep FILE FIXED_STRING WHAT [OTHER LOG...] — FILE must contain the string.
e2e_expect_grep() {
	local file="$1" pat="$2" what="$3"
	shift 3
	if grep -qF -- "$pat" "$file" 2>/dev/null; then
		e2e_ok "$what"
	else
		e2e_fail "$what: '$pat' not found in $(basename "$file")" "$file" "$@"
	fi
}

# e2e_expect_no_grep FILE FIXED_STRING WHAT — FILE must not contain the string.
e2e_expect_no_grep() {
	local file="$1" pat="$2" what="$3"
	if grep -qF -- "$pat" "$file" 2>/dev/null; then
		e2e_fail "$what: unexpected '$pat' in $(basename "$file")" "$file"
	else
		e2e_ok "$what"
	fi
}

# e2e_expect_module_used LOG WHAT — FreeRDP logs "Using SSPI Module: PATH" (INFO) when it loaded
# the module for a client or server authentication.
e2e_expect_module_used() {
	e2e_expect_grep "$1" "Using SSPI Module: $E2E_MODULE" "$2"
}

# e2e_expect_server_exit STATUS WHAT — nla_server (LAB_NLA_PID) must end by itself with STATUS.
e2e_expect_server_exit() {
	local want="$1" what="$2" rc
	# In this shell, not in $(...): a subshell cannot wait for its parent's child and reports -1
	# when the server exits while it waits (a race seen after fast clients such as nlassp-probe).
	lab_wait_exit "$LAB_NLA_PID" 15 >"$LAB_DIR/.server_exit_status"
	rc="$(cat "$LAB_DIR/.server_exit_status")"
	if [ "$rc" = "$want" ]; then
		e2e_ok "$what"
	else
		e2e_fail "$what: nla_server exit status $rc, expected $want" "$LAB_NLA_LOG"
	fi
}

# e2e_nla_login WANT WHAT PASSWORD [XFREERDP ARGS...] — one login against a fresh nla_server that
# serves exactly one connection (so a client retry cannot eat the next login's connection).
# Server options come from the array E2E_SERVER_ARGS (e.g. --module PATH). Checks the client's
# outcome, the server's own verdict line and exit status, and that the server loaded the module
# when E2E_SERVER_ARGS names one.
E2E_SERVER_ARGS=()
e2e_nla_login() {
	local want="$1" what="$2" pass="$3"
	shift 3
	if ! lab_start_nla_server "$E2E_SERVER" "${E2E_SERVER_ARGS[@]}" --max-connections 1 --timeout 90; then
		e2e_fail "$what: nla_server did not start" "$LAB_NLA_LOG"
		return
	fi
	lab_connect "$LAB_NLA_PORT" "$pass" "$@"
	e2e_expect_login "$want" "$what" "$LAB_NLA_LOG"
	if [ "$want" = success ]; then
		e2e_expect_server_exit 0 "$what: nla_server exited 0"
		e2e_expect_grep "$LAB_NLA_LOG" "connection 1: NLA succeeded for $LAB_DOMAIN\\$LAB_USER" \
			"$what: server accepted $LAB_DOMAIN\\$LAB_USER"
	else
		e2e_expect_server_exit 1 "$what: nla_server exited 1"
		e2e_expect_grep "$LAB_NLA_LOG" "connection 1: NLA failed" "$what: server refused the login"
	fi
	if [[ " ${E2E_SERVER_ARGS[*]} " == *" --module "* ]]; then
		e2e_expect_module_used "$LAB_NLA_LOG" "$what: server loaded the module"
	fi
	lab_stop "$LAB_NLA_PID" nla_server
}

# e2e_start_kdc [SETUP_FUNCTION...] — a throwaway MIT realm (tests/lab/kdc.sh: LAB.TEST, alice /
# Passw0rd!) on 127.0.0.1 whose keytab KDC_KEYTAB also holds TERMSRV/127.0.0.1, the name xfreerdp3
# asks for with /v:127.0.0.1. Each SETUP_FUNCTION runs after the realm is made and before the KDC
# starts (e.g. pkinit_setup). Sets E2E_SPN. Skips the test (77) when the MIT KDC is not installed.
E2E_SPN=TERMSRV/127.0.0.1
e2e_start_kdc() {
	command -v krb5kdc >/dev/null 2>&1 || [ -x /usr/sbin/krb5kdc ] ||
		e2e_skip_unless_ci "krb5kdc not installed (krb5-kdc krb5-admin-server)"
	# shellcheck source=../lab/kdc.sh
	source "$E2E_DIR/../lab/kdc.sh"
	local hook ok=1
	# shellcheck disable=SC2119
	kdc_setup || ok=0
	for hook in "$@"; do
		[ "$ok" = 1 ] && { "$hook" || { ok=0; e2e_say "FAIL: $hook failed"; }; }
	done
	if [ "$ok" = 0 ] || ! kdc_start; then
		e2e_say "FAIL: the throwaway KDC did not start"
		exit 1
	fi
	if ! kdc_kadmin "addprinc -randkey $E2E_SPN" || ! kdc_kadmin "ktadd -k $KDC_KEYTAB $E2E_SPN"; then
		e2e_say "FAIL: could not add $E2E_SPN to the realm"
		exit 1
	fi
	e2e_say "KDC for $KDC_REALM on 127.0.0.1:$KDC_PORT, keytab $KDC_KEYTAB"
}

# e2e_start_pkinit_kdc — e2e_start_kdc with PKINIT (tests/lab/pkinit.sh): a throwaway CA, the
# KDC's certificate, alice on PKINIT only (+requires_preauth, a random key) and SoftHSM2 tokens in
# a private SOFTHSM2_CONF. Skips (77) without krb5-pkinit, softhsm2 or opensc.
e2e_start_pkinit_kdc() {
	local p found=""
	for p in /usr/lib/*/krb5/plugins/preauth/pkinit.so /usr/lib*/krb5/plugins/preauth/pkinit.so; do
		[ -e "$p" ] && found=$p
	done
	[ -n "$found" ] || e2e_skip_unless_ci "MIT's PKINIT plugin is not installed (krb5-pkinit)"
	command -v softhsm2-util >/dev/null 2>&1 || e2e_skip_unless_ci "softhsm2 is not installed"
	command -v pkcs11-tool >/dev/null 2>&1 || e2e_skip_unless_ci "pkcs11-tool is not installed (opensc)"
	command -v openssl >/dev/null 2>&1 || e2e_skip_unless_ci "openssl is not installed"
	# shellcheck source=../lab/pkinit.sh
	source "$E2E_DIR/../lab/pkinit.sh"
	e2e_start_kdc pkinit_setup pkinit_softhsm_setup
	e2e_say "PKINIT: CA $PKINIT_CA, SoftHSM2 token '$PKINIT_TOKEN_LABEL' in slot $PKINIT_SLOT ($SOFTHSM2_CONF)"
}

# e2e_expect_tgs BEFORE WHAT — the KDC log gained a TGS_REQ for E2E_SPN since BEFORE: Kerberos,
# not an NTLM fallback, was used.
e2e_expect_tgs() {
	local before="$1" what="$2" after
	after="$(kdc_count_tgs "$E2E_SPN")"
	if [ "$after" -gt "$before" ]; then
		e2e_ok "$what: the KDC issued a ticket for $E2E_SPN ($before -> $after TGS_REQ)"
	else
		e2e_fail "$what: no TGS_REQ for $E2E_SPN in the KDC log (Kerberos was not used)" "$KDC_LOG"
	fi
}

# e2e_expect_secret_absent WHAT NAME SECRET FILE... — SECRET (a password or PIN, called NAME in the
# verdict) in no form in any FILE: plain, UTF-8 or UTF-16LE hex (as one run or as FreeRDP's spaced
# hex dumps), in any case. Run the processes at TRACE (LAB_WLOG_LEVEL=TRACE) for this to mean much.
e2e_expect_secret_absent() {
	local what="$1" name="$2" secret="$3" hex8 hex16 spaced8 spaced16 hits
	shift 3
	hex8="$(printf '%s' "$secret" | od -An -tx1 | tr -d ' \n')"
	hex16="$(printf '%s' "$secret" | iconv -t UTF-16LE | od -An -tx1 | tr -d ' \n')"
	spaced8="$(printf '%s' "$secret" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
	spaced16="$(printf '%s' "$secret" | iconv -t UTF-16LE | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
	hits="$(grep -l -i -F -e "$secret" -e "$hex8" -e "$hex16" -e "$spaced8" -e "$spaced16" -- "$@" 2>/dev/null)"
	if [ -z "$hits" ]; then
		e2e_ok "$what: $name appears in none of $# log files (plain, hex, UTF-16LE)"
	else
		e2e_fail "$what: $name appears in: $hits"
	fi
}

# e2e_finish — prints the verdict and exits.
e2e_finish() {
	if [ "${#E2E_FAILURES[@]}" -eq 0 ]; then
		e2e_say "PASS ($E2E_CHECKS checks)"
		exit 0
	fi
	e2e_say "FAIL: ${#E2E_FAILURES[@]} check(s) failed, $E2E_CHECKS passed:"
	local f
	for f in "${E2E_FAILURES[@]}"; do e2e_say "  - $f"; done
	if [ -n "$E2E_MODULE_STATE" ] && [ "$E2E_MODULE_STATE" != ok ]; then
		e2e_say "  (the module $E2E_MODULE_STATE — expected while the SSPI boundary is unfinished)"
	fi
	exit 1
}

e2e_skip() {
	e2e_say "SKIPPED: $*"
	exit 77
}

# e2e_skip_unless_ci WHY — a prerequisite that .ci/install-deps.sh (or the CI machine) provides is
# missing: skip (77) on a developer's machine, but fail under CI (CI=true, as .ci/run exports),
# where a skip would pass silently and leave the feature untested.
e2e_skip_unless_ci() {
	if [ "${CI:-}" = true ]; then
		e2e_say "FAIL: a prerequisite is missing and CI=true, so this is not skipped: $*"
		exit 1
	fi
	e2e_skip "$*"
}
