#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Every example in the man pages (docs/man/nlassp.7, docs/man/nlassp-probe.1) runs as written,
# against the loopback lab. Each .nf/.fi block of the pages is taken out of the roff source and
# goes to the lab its content needs (tests/e2e/man_settings.sh starts them):
#   shadow        freerdp-shadow-cli3 under Xvfb with the SAM file (LAB\alice, Passw0rd!) and the
#                 service keytab of a throwaway realm LAB.TEST (tests/lab/kdc.sh: alice, Passw0rd!)
#   smartcard     /smartcard-logon: the PKINIT realm (tests/lab/pkinit.sh: alice has a random key,
#                 her certificate and key on a SoftHSM2 token) and the shadow server
#   remote_guard  +remoteGuard: our CREDSSP acceptor (tests/credssp/credssp_test_server), the one
#                 server in the lab that takes a ticket logon (FreeRDP's own refuses its client's:
#                 FreeRDP issue 12007); it proves alice's forwarded TGT with the KDC
#   gateway       /gateway: the test RD Gateway (tests/lab/rdg.sh, NTLM for EXAMPLE\gwuser) on
#                 127.0.0.1:443 in front of the shadow server (FreeRDP 3.10 ignores a /gateway:
#                 port, so the example's gateway is on the default port: needs root)
#   kdc_proxy     the krb5.conf [realms] block: it is a configuration, not a command; it becomes the
#                 realm's stanza of a krb5.conf (KRB5_CONFIG) with which xfreerdp3 and the module log
#                 alice in through the lab's KDC proxy (tests/lab/kdcproxy.sh); the proxy's log
#                 must show the AS and the TGS request
# A command block is run by bash with `set -e`; every command in it must succeed. The HKLM.reg
# block must be the text tests/lab/lab.sh writes (what e2e_shadow_hklm logs in with).
#
# What stands in for the example's placeholders, and nothing else is changed:
#   server.example(.com), rdp.example(.com)(:3389)     -> localhost:<the lab server's port>
#   gw.example.com                                     -> localhost (the gateway on port 443)
#   EXAMPLE.COM                                        -> LAB.TEST
#   /p:... and the gateway's p:...                     -> the lab's passwords
#   /p:PIN, opensc-pkcs11.so, /etc/pki/example-ca.pem  -> the token's PIN, SoftHSM2, the lab's CA
#   proxy.example.com/KdcProxy, /etc/ssl/example-ca.pem -> the lab's KDC proxy and its CA
#   /usr/lib/x86_64-linux-gnu/nlassp/libnlassp.so      -> the module under test
# and what a person at the terminal does: `kinit` gets the password typed in; `xfreerdp3` gets
# the answers a person gives (the certificate is accepted, /cert:ignore; the password prompt is
# answered from stdin, /from-stdin:force: with the password, or with Enter in a block that ran
# kinit, as the page says) and ends after authentication (+auth-only) instead of opening a
# session. A login counts only with FreeRDP's "Authentication only, exit status 1" (remote_guard:
# with the acceptor's proof, as there is no RDP session behind it). In a kinit block the KDC must
# see no AS request besides kinit's own (the ticket was used).
#
# Each lab runs in its own process (this script with --setting NAME); an example whose lab cannot
# start here (not root for the gateway; softhsm2 or krb5-pkinit missing) is NOT RUN: a skip on a
# developer's machine, a failure under CI=true.
#
# Usage: man_examples.sh --module PATH/libnlassp.so --probe PATH/nlassp-probe
#                        --credssp-server PATH/credssp_test_server
# Exit 0 pass, 1 fail, 77 skip (no example could run).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARGS=("$@")
SETTING=""
MODULE=""
PROBE=""
CSS=""
while [ $# -gt 0 ]; do
	case "$1" in
	--module) MODULE="$2"; shift 2 ;;
	--probe) PROBE="$2"; shift 2 ;;
	--credssp-server) CSS="$2"; shift 2 ;;
	--setting) SETTING="$2"; shift 2 ;;
	*) echo "man_examples: unknown argument $1"; exit 2 ;;
	esac
done
[ -f "$MODULE" ] && [ -x "$PROBE" ] || { echo "man_examples: need --module and --probe"; exit 1; }
PAGES=("$ROOT/docs/man/nlassp.7" "$ROOT/docs/man/nlassp-probe.1")

# man_blocks PAGE — each .nf/.fi block of a roff page as plain text, blocks separated by a NUL.
man_blocks() {
	python3 - "$1" <<'PY'
import re, sys
out, block = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line == ".nf":
        block = []
    elif line == ".fi" and block is not None:
        out.append("\n".join(block))
        block = None
    elif block is not None:
        t = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace("\\(aq", "'")
        t = t.replace("\\&", "").replace("\\e", "\\")
        block.append(t)
sys.stdout.write("\0".join(out))
PY
}

# man_setting BLOCK — the lab an example needs.
man_setting() {
	case "$1" in
	*"/gateway:"*) echo gateway ;;
	*"/smartcard-logon"*) echo smartcard ;;
	*"+remoteGuard"*) echo remote_guard ;;
	"[realms]"*) echo kdc_proxy ;;
	*) echo shadow ;;
	esac
}

# for_each_block FUNCTION — FUNCTION PAGE_NAME N BLOCK for every block of every page.
for_each_block() {
	local page name n block
	for page in "${PAGES[@]}"; do
		name="$(basename "$page")"
		n=0
		while IFS= read -r -d '' block || [ -n "$block" ]; do
			n=$((n + 1))
			"$1" "$name" "$n" "$block"
		done < <(man_blocks "$page")
		[ "$n" -gt 0 ] || { echo "FAIL: $name: no example found"; return 1; }
	done
}

# --- The driver: one process per lab that some example needs ------------------------------------
if [ -z "$SETTING" ]; then
	command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not installed"; exit 77; }
	declare -A WANTED=()
	note_setting() { WANTED[$(man_setting "$3")]=1; }
	for_each_block note_setting || exit 1
	FAILED=() NOT_RUN=() RAN=()
	for s in shadow smartcard remote_guard gateway kdc_proxy; do
		[ -n "${WANTED[$s]:-}" ] || continue
		echo "=== the examples for the $s lab"
		bash "$0" "${ARGS[@]}" --setting "$s"
		case $? in
		0) RAN+=("$s") ;;
		77) NOT_RUN+=("$s") ;;
		*) FAILED+=("$s") ;;
		esac
	done
	echo "labs: passed: ${RAN[*]:-none}; failed: ${FAILED[*]:-none}; not run: ${NOT_RUN[*]:-none}"
	[ "${#FAILED[@]}" = 0 ] || exit 1
	if [ "${#NOT_RUN[@]}" != 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "FAIL: examples not run under CI=true (their lab could not start): ${NOT_RUN[*]}"
			exit 1
		fi
		[ "${#RAN[@]}" != 0 ] || exit 77
		echo "NOTE: the examples for ${NOT_RUN[*]} were not run here (see above why)"
	fi
	exit 0
fi

# --- One lab: start it, run its examples --------------------------------------------------------
# shellcheck source=e2e_lib.sh
source "$HERE/e2e_lib.sh"
E2E_MODULE="$MODULE" E2E_PROBE="$PROBE" E2E_CREDSSP_SERVER="$CSS"
E2E_NAME="man_examples[$SETTING]"
for tool in xfreerdp3 freerdp-shadow-cli3 Xvfb winpr-hash3 kinit; do
	command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool not installed"
done
# shellcheck source=man_settings.sh
source "$HERE/man_settings.sh"
lab_init || { e2e_say "FAIL: could not create the lab"; exit 1; }
lab_localhost_is_ipv4_loopback || e2e_skip "localhost is not 127.0.0.1 only"

SED=(-e "s|/usr/lib/x86_64-linux-gnu/nlassp/libnlassp.so|$MODULE|g")
PORT=""
"man_start_$SETTING" # sets PORT, adds to SED, may set VERDICT/ANSWER_STDIN
SED+=(-e "s/server\.example\.com/localhost:$PORT/g" -e "s/rdp\.example\.com/localhost:$PORT/g"
	-e "s/rdp\.example:3389/localhost:$PORT/g" -e "s/server\.example/localhost:$PORT/g"
	-e "s/rdp\.example/localhost:$PORT/g" -e "s/EXAMPLE\.COM/LAB.TEST/g")
substitute() { sed "${SED[@]}"; }

# What a person at the terminal does, as commands of the same name first in PATH.
BIN="$LAB_DIR/bin"
mkdir -p "$BIN"
ln -s "$(cd "$(dirname "$PROBE")" && pwd)/$(basename "$PROBE")" "$BIN/nlassp-probe"
cat >"$BIN/kinit" <<EOF
#!/bin/bash
printf '%s\n' "\$MAN_KINIT_PASSWORD" | $(command -v kinit) "\$@"
EOF
# The answer to FreeRDP's password prompt: MAN_ANSWER (the password, or empty for Enter), unless
# MAN_STDIN=0 (a smartcard logon, whose PIN is on the command line and user in the certificate).
# MAN_VERDICT=server: the acceptor's output is the verdict (man_check_server), not the client's.
cat >"$BIN/xfreerdp3" <<EOF
#!/bin/bash
log="\$(mktemp "$LAB_DIR/logs/man-xfreerdp3.XXXXXX")"
stdin=(/from-stdin:force)
[ "\${MAN_STDIN:-1}" = 1 ] || stdin=()
printf '%s\n' "\${MAN_ANSWER-}" | timeout 60 $(command -v xfreerdp3) "\$@" /cert:ignore +auth-only "\${stdin[@]}" >"\$log" 2>&1
rc=\$?
cat "\$log"
[ "\${MAN_VERDICT:-client}" = client ] || { [ "\$rc" != 124 ] && [ "\$rc" != 137 ]; exit; }
[ "\$rc" = 131 ] || [ "\$rc" = 0 ] || exit "\$rc"
grep -q 'Authentication only, exit status 1' "\$log"
EOF
chmod +x "$BIN/kinit" "$BIN/xfreerdp3"

# run_block PAGE N TEXT — one command block; prints its output on failure.
run_block() {
	local page="$1" n="$2" text="$3" out rc answer="${MAN_PASSWORD:-$LAB_PASSWORD}" as_before as_after kinits
	local script what="$page example $n: $(head -n1 <<<"$3")"
	script="$(printf '%s\n' "$text" | substitute)"
	kinits="$(grep -c '^kinit ' <<<"$script")"
	[ "$kinits" = 0 ] || answer=""          # the page says: press Enter, the ticket is used
	as_before="$(man_count_as)"
	man_before_block
	out="$(cd "$LAB_DIR" && PATH="$BIN:$PATH" MAN_ANSWER="$answer" MAN_KINIT_PASSWORD="${KDC_PASSWORD:-}" \
		MAN_STDIN="${MAN_STDIN:-1}" MAN_VERDICT="${MAN_VERDICT:-client}" timeout 180 bash -e -o pipefail -c "$script" 2>&1)"
	rc=$?
	as_after="$(man_count_as)"
	if [ "$rc" != 0 ]; then
		e2e_fail "$what (exit $rc)"
		printf '%s\n' "----- the block as run -----" "$script" "----- its output -----" "$out" | tail -n 60
		return
	fi
	if [ "$kinits" != 0 ] && [ "$((as_after - as_before))" != "$kinits" ]; then
		e2e_fail "$what: the KDC saw $((as_after - as_before)) AS requests for $kinits kinit(s): the ticket was not used"
		return
	fi
	man_check_logging "$what" "$text" "$out" && man_check_block "$what" "$out" && e2e_ok "$what"
}

# man_check_logging WHAT TEXT OUTPUT — the logging examples: FreeRDP's INFO lines, and the
# module's DEBUG lines with its version.
man_check_logging() {
	case "$2" in
	*WLOG_LEVEL=INFO*)
		grep -q 'Using SSPI Module: ' <<<"$3" || { e2e_fail "$1: no INFO line 'Using SSPI Module:'"; return 1; } ;;
	esac
	case "$2" in
	*"WLOG_FILTER='com.nlassp.*:DEBUG'"*)
		grep -q "\[DEBUG\]\[com.nlassp.sspi\].*nlassp .* loaded from $MODULE" <<<"$3" ||
			{ e2e_fail "$1: no DEBUG line with the module's version"; return 1; } ;;
	esac
	return 0
}

HKLM_EXPECTED="$(printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\FreeRDP\\FreeRDP\\Server]\n"SspiModule"=str:"%s"' "$MODULE")"
# one_block PAGE N TEXT — the blocks of this lab.
one_block() {
	[ "$(man_setting "$3")" = "$SETTING" ] || return 0
	case "$3" in
	REGEDIT4*)
		if [ "$(printf '%s' "$3" | substitute)" = "$HKLM_EXPECTED" ]; then
			e2e_ok "$1 block $2: HKLM.reg as tests/lab/lab.sh writes it (e2e_shadow_hklm logs in with it)"
		else
			e2e_fail "$1 block $2: HKLM.reg differs from what the lab tests:"
			printf '%s\n' "$3"
		fi
		;;
	"[realms]"*) man_config_block "$1 block $2: [realms]" "$(printf '%s\n' "$3" | substitute)" ;;
	*) run_block "$1" "$2" "$3" ;;
	esac
}
for_each_block one_block || e2e_fail "a page has no example"
e2e_finish
