#!/usr/bin/env bash
# shellcheck disable=SC2119 # lab functions take optional arguments
# packaging/ci-check.sh [OUTDIR] — CI for the packaging: a packaging mistake (rpath, missing file,
# wrong path, unloadable module) fails here.
#   1. packaging/build-deb.sh OUTDIR: the Debian packages, lintian without errors;
#   2. packaging/build-srpm.sh OUTDIR: the source RPM;
#   3. dpkg-deb -x of freerdp3-nlassp and nlassp-tools into a temporary root, then checks of what
#      was extracted: the module is one real file at /usr/lib/<multiarch>/nlassp/libnlassp.so, no
#      RPATH/RUNPATH, exports InitSecurityInterfaceA/W, all libraries resolve; nlassp.pc's module
#      variable names that path;
#   4. the loopback lab (tests/lab/lab.sh): the unmodified xfreerdp3 logs in to
#      freerdp-shadow-cli3 with /sspi-module:<root>/usr/lib/<multiarch>/nlassp/libnlassp.so (right
#      password: success, wrong: refused), nlassp-probe from the package logs in through the
#      extracted module (--module), and, as root, the shadow server loads the extracted module
#      from /etc/winpr/HKLM.reg (restored afterwards) and the stock client logs in to it.
# OUTDIR defaults to a temporary directory (removed). Prints "N passed, N failed"; exit 0 only if
# nothing failed. Environment: NLASSP_SKIP_DEPS=1 (passed on), NLASSP_PKG_SKIP_BUILD=1 (reuse the
# packages already in OUTDIR).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP_OUT=1
OUTDIR="${1:-}"
if [ -z "$OUTDIR" ]; then
	OUTDIR="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-pkg-out.XXXXXX")"
	KEEP_OUT=0
fi
mkdir -p "$OUTDIR" && OUTDIR="$(cd "$OUTDIR" && pwd)"
PASSED=0
FAILED=0
START=$(date +%s)
say() { printf '\n=== %s (starts %ss into ci-check.sh)\n' "$*" "$(( $(date +%s) - START ))"; }
ok() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
bad() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
finish() {
	echo
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit $?
}

if [ "${NLASSP_PKG_SKIP_BUILD:-0}" != 1 ]; then
	say "Debian packages (packaging/build-deb.sh)"
	if bash "$ROOT/packaging/build-deb.sh" "$OUTDIR"; then
		ok "Debian packages built, lintian: no errors"
	else
		bad "packaging/build-deb.sh (build or lintian errors)"
		finish
	fi
	say "source RPM (packaging/build-srpm.sh)"
	if bash "$ROOT/packaging/build-srpm.sh" "$OUTDIR"; then
		ok "source RPM built"
	else
		bad "packaging/build-srpm.sh"
	fi
fi

say "extract the packages (dpkg-deb -x)"
PKGROOT="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-pkg-root.XXXXXX")"
cleanup_pkg() {
	rm -rf "$PKGROOT"
	[ "$KEEP_OUT" = 1 ] || rm -rf "$OUTDIR"
}
trap cleanup_pkg EXIT
MA="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
for p in freerdp3-nlassp nlassp-tools nlassp-dev; do
	deb="$(ls "$OUTDIR"/"${p}"_*.deb 2>/dev/null | head -n1)"
	if [ -n "$deb" ] && dpkg-deb -x "$deb" "$PKGROOT"; then
		ok "extracted $(basename "$deb")"
	else
		bad "no $p package in $OUTDIR"
	fi
done
MODULE="$PKGROOT/usr/lib/$MA/nlassp/libnlassp.so"
PROBE="$PKGROOT/usr/bin/nlassp-probe"

if [ -f "$MODULE" ] && [ ! -L "$MODULE" ]; then ok "module is a real file at /usr/lib/$MA/nlassp/libnlassp.so"; else
	bad "module missing (or a symlink) at /usr/lib/$MA/nlassp/libnlassp.so"; finish; fi
for f in "$MODULE" "$PROBE"; do
	[ -f "$f" ] || { bad "missing ${f#"$PKGROOT"}"; continue; }
	if readelf -d "$f" | grep -qE 'RPATH|RUNPATH'; then
		bad "${f#"$PKGROOT"} has an RPATH/RUNPATH: $(readelf -d "$f" | grep -E 'RPATH|RUNPATH')"
	else ok "${f#"$PKGROOT"}: no RPATH/RUNPATH"; fi
	if ldd "$f" | grep -q 'not found'; then bad "${f#"$PKGROOT"}: $(ldd "$f" | grep 'not found')"; else
		ok "${f#"$PKGROOT"}: every library resolves"; fi
done
exports="$(nm -D --defined-only "$MODULE" | awk '$2 ~ /^[TW]$/ {print $3}' | sort | tr '\n' ' ')"
if [ "$exports" = "InitSecurityInterfaceA InitSecurityInterfaceW " ]; then ok "module exports only InitSecurityInterfaceA/W"; else
	bad "module exports: $exports"; fi
pcmod="$(PKG_CONFIG_PATH="$PKGROOT/usr/lib/$MA/pkgconfig" pkg-config --variable=module nlassp 2>/dev/null)"
if [ "$pcmod" = "/usr/lib/$MA/nlassp/libnlassp.so" ]; then ok "nlassp.pc module=$pcmod"; else
	bad "nlassp.pc module variable is '$pcmod'"; fi
for m in usr/share/man/man7/nlassp.7.gz usr/share/man/man1/nlassp-probe.1.gz usr/include/nlassp/credssp.h \
	"usr/lib/$MA/cmake/nlassp/nlasspConfig.cmake"; do
	if [ -f "$PKGROOT/$m" ]; then ok "/$m present"; else bad "/$m missing"; fi
done

say "end-to-end logins with the packaged module (tests/lab/lab.sh)"
# shellcheck source=../tests/lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
trap - EXIT
lab_init || { bad "lab_init"; finish; }
trap 'lab_cleanup; cleanup_pkg' EXIT
if lab_start_xvfb && lab_write_sam && lab_start_shadow; then
	if lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos' "/sspi-module:$MODULE" &&
		grep -q "Using SSPI Module: $MODULE" "$LAB_CLIENT_LOG"; then
		ok "xfreerdp3 /sspi-module:<packaged module> -> shadow: logged in ($LAB_CLIENT_WHY)"
	else
		bad "xfreerdp3 with the packaged module: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"
		lab_tail "$LAB_CLIENT_LOG" 30
	fi
	lab_connect "$LAB_SHADOW_PORT" 'not-the-password' '/auth-pkg-list:!kerberos' "/sspi-module:$MODULE"
	if [ "$LAB_CLIENT_OUTCOME" = refused ]; then ok "packaged module, wrong password: refused"; else
		bad "packaged module, wrong password: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"; lab_tail "$LAB_CLIENT_LOG" 30; fi
	plog="$LAB_DIR/logs/probe.log"
	if NLASSP_PROBE_PASSWORD="$LAB_PASSWORD" timeout 60 "$PROBE" --user "$LAB_DOMAIN\\$LAB_USER" \
		--auth-pkg-list '!kerberos' --tolerate-freerdp-echo-bug --module "$MODULE" \
		"127.0.0.1:$LAB_SHADOW_PORT" >"$plog" 2>&1; then
		ok "packaged nlassp-probe --module <packaged module> -> shadow: logged in"
	else
		bad "packaged nlassp-probe (exit $?)"; lab_tail "$plog" 30
	fi
	lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
else
	bad "the lab did not start (Xvfb / SAM / freerdp-shadow-cli3)"
fi
if [ "$(id -u)" = 0 ]; then
	if lab_install_hklm_module "$MODULE" && lab_start_shadow; then
		lab_connect "$LAB_SHADOW_PORT" "$LAB_PASSWORD" '/auth-pkg-list:!kerberos'
		sleep 0.3
		if [ "$LAB_CLIENT_OUTCOME" = success ] && grep -q "Using SSPI Module: $MODULE" "$LAB_SHADOW_LOG"; then
			ok "shadow server with the packaged module (HKLM.reg SspiModule), stock client: logged in"
		else
			bad "server side with the packaged module: $LAB_CLIENT_OUTCOME ($LAB_CLIENT_WHY)"
			lab_tail "$LAB_SHADOW_LOG" 30
		fi
		lab_stop "$LAB_SHADOW_PID" freerdp-shadow-cli3
	else
		bad "could not start the shadow server with the packaged module in HKLM.reg"
	fi
	lab_restore_hklm
else
	echo "note: not root: the server-side check through /etc/winpr/HKLM.reg is skipped"
fi
finish
