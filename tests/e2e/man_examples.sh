#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# Every example in the man pages (docs/man/nlassp.7, docs/man/nlassp-probe.1) runs as written,
# against the loopback lab: freerdp-shadow-cli3 under Xvfb with the SAM file (LAB\alice,
# Passw0rd!) and the service keytab of a throwaway realm LAB.TEST (tests/lab/kdc.sh, user alice,
# Passw0rd!). Each .nf/.fi block of the pages is taken out of the roff source; a command block
# is run by bash with `set -e`, every command in it must succeed; the HKLM.reg block must be the
# text tests/lab/lab.sh writes (what e2e_shadow_hklm logs in with).
#
# What stands in for the example's placeholders, and nothing else is changed:
#   server.example(.com), rdp.example(.com)(:3389)     -> localhost:<the lab server's port>
#   EXAMPLE.COM                                        -> LAB.TEST
#   /usr/lib/x86_64-linux-gnu/nlassp/libnlassp.so      -> the module under test
# and what a person at the terminal does: `kinit` gets the password typed in; `xfreerdp3` gets
# the answers a person gives (the certificate is accepted, /cert:ignore; the password prompt is
# answered from stdin, /from-stdin:force: with the password, or with Enter in a block that ran
# kinit, as the page says) and ends after authentication (+auth-only) instead of opening a
# session. A login counts only with FreeRDP's "Authentication only, exit status 1". In a kinit
# block the KDC must see no AS request besides kinit's own (the ticket was used).
#
# Usage: man_examples.sh --module PATH/libnlassp.so --probe PATH/nlassp-probe
# Exit 0 pass, 1 fail, 77 skip.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODULE=""
PROBE=""
while [ $# -gt 0 ]; do
	case "$1" in
	--module) MODULE="$2"; shift 2 ;;
	--probe) PROBE="$2"; shift 2 ;;
	*) echo "man_examples: unknown argument $1"; exit 2 ;;
	esac
done
[ -f "$MODULE" ] && [ -x "$PROBE" ] || { echo "man_examples: need --module and --probe"; exit 1; }
for tool in xfreerdp3 freerdp-shadow-cli3 Xvfb winpr-hash3 kinit python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool not installed"; exit 77; }
done
command -v krb5kdc >/dev/null 2>&1 || [ -x /usr/sbin/krb5kdc ] || { echo "skip: krb5kdc not installed"; exit 77; }

# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
# shellcheck source=../lab/kdc.sh
source "$ROOT/tests/lab/kdc.sh"
lab_localhost_is_ipv4_loopback || { echo "skip: localhost is not 127.0.0.1 only"; exit 77; }

FAILS=0
CHECKS=0
pass() { echo "PASS: $*"; CHECKS=$((CHECKS + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

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

lab_init || exit 1
kdc_setup >/dev/null && kdc_start >/dev/null || { fail "the throwaway KDC did not start"; exit 1; }
lab_start_xvfb && lab_write_sam && lab_start_shadow "/keytab:$KDC_KEYTAB" || { fail "the lab did not start"; exit 1; }
PORT="$LAB_SHADOW_PORT"

# What a person at the terminal does, as commands of the same name first in PATH.
BIN="$LAB_DIR/bin"
mkdir -p "$BIN"
ln -s "$(cd "$(dirname "$PROBE")" && pwd)/$(basename "$PROBE")" "$BIN/nlassp-probe"
cat >"$BIN/kinit" <<EOF
#!/bin/bash
printf '%s\n' "$KDC_PASSWORD" | $(command -v kinit) "\$@"
EOF
cat >"$BIN/xfreerdp3" <<EOF
#!/bin/bash
# The answer to FreeRDP's password prompt: MAN_ANSWER (the password, or empty for Enter).
log="\$(mktemp "$LAB_DIR/logs/man-xfreerdp3.XXXXXX")"
printf '%s\n' "\${MAN_ANSWER-}" | timeout 60 $(command -v xfreerdp3) "\$@" /cert:ignore +auth-only /from-stdin:force >"\$log" 2>&1
rc=\$?
cat "\$log"
[ "\$rc" = 131 ] || [ "\$rc" = 0 ] || exit "\$rc"
grep -q 'Authentication only, exit status 1' "\$log"
EOF
chmod +x "$BIN/kinit" "$BIN/xfreerdp3"

substitute() {
	sed -e "s|/usr/lib/x86_64-linux-gnu/nlassp/libnlassp.so|$MODULE|g" \
		-e "s/server\.example\.com/localhost:$PORT/g" -e "s/rdp\.example\.com/localhost:$PORT/g" \
		-e "s/rdp\.example:3389/localhost:$PORT/g" -e "s/server\.example/localhost:$PORT/g" \
		-e "s/rdp\.example/localhost:$PORT/g" -e "s/EXAMPLE\.COM/LAB.TEST/g"
}

# run_block PAGE N TEXT — one command block; prints its output on failure.
run_block() {
	local page="$1" n="$2" text="$3" out rc answer="$LAB_PASSWORD" as_before as_after kinits
	local script
	script="$(printf '%s\n' "$text" | substitute)"
	kinits="$(grep -c '^kinit ' <<<"$script")"
	[ "$kinits" = 0 ] || answer=""          # the page says: press Enter, the ticket is used
	as_before="$(kdc_count_as "$KDC_USER@$KDC_REALM")"
	out="$(cd "$LAB_DIR" && PATH="$BIN:$PATH" MAN_ANSWER="$answer" timeout 180 bash -e -o pipefail -c "$script" 2>&1)"
	rc=$?
	as_after="$(kdc_count_as "$KDC_USER@$KDC_REALM")"
	local what="$page example $n: $(head -n1 <<<"$text")"
	if [ "$rc" != 0 ]; then
		fail "$what (exit $rc)"
		printf '%s\n' "----- the block as run -----" "$script" "----- its output -----" "$out" | tail -n 60
		return
	fi
	if [ "$kinits" != 0 ] && [ "$((as_after - as_before))" != "$kinits" ]; then
		fail "$what: the KDC saw $((as_after - as_before)) AS requests for $kinits kinit(s): the ticket was not used"
		return
	fi
	# The logging examples: FreeRDP's INFO lines, and the module's DEBUG lines with its version.
	case "$text" in
	*WLOG_LEVEL=INFO*)
		grep -q 'Using SSPI Module: ' <<<"$out" || { fail "$what: no INFO line 'Using SSPI Module:'"; return; } ;;
	esac
	case "$text" in
	*"WLOG_FILTER='com.nlassp.*:DEBUG'"*)
		grep -q "\[DEBUG\]\[com.nlassp.sspi\].*nlassp .* loaded from $MODULE" <<<"$out" ||
			{ fail "$what: no DEBUG line with the module's version"; return; } ;;
	esac
	pass "$what"
}

HKLM_EXPECTED="$(printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\FreeRDP\\FreeRDP\\Server]\n"SspiModule"=str:"%s"' "$MODULE")"
for page in "$ROOT/docs/man/nlassp.7" "$ROOT/docs/man/nlassp-probe.1"; do
	name="$(basename "$page")"
	n=0
	while IFS= read -r -d '' block || [ -n "$block" ]; do
		n=$((n + 1))
		case "$block" in
		REGEDIT4*)
			if [ "$(printf '%s' "$block" | substitute)" = "$HKLM_EXPECTED" ]; then
				pass "$name block $n: HKLM.reg as tests/lab/lab.sh writes it (e2e_shadow_hklm logs in with it)"
			else
				fail "$name block $n: HKLM.reg differs from what the lab tests:"
				printf '%s\n' "$block"
			fi
			;;
		*) run_block "$name" "$n" "$block" ;;
		esac
	done < <(man_blocks "$page")
	[ "$n" -gt 0 ] || fail "$name: no example found"
done

echo "$CHECKS passed, $FAILS failed"
[ "$FAILS" = 0 ] || { lab_tail "$LAB_SHADOW_LOG" 30; exit 1; }
exit 0
