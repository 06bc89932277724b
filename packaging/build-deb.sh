#!/usr/bin/env bash
# packaging/build-deb.sh OUTDIR — builds nlassp's Debian packages (source package and the binary
# packages freerdp3-nlassp, nlassp-dev, nlassp-tools) into OUTDIR and checks them with lintian.
#
#   1. installs the build dependencies (NLASSP_SKIP_DEPS=1 skips): .ci/install-deps.sh (adds
#      bookworm-backports for FreeRDP 3), the packaging tools (dpkg-dev, debhelper, lintian,
#      devscripts, equivs), then mk-build-deps installs exactly packaging/debian/control's
#      Build-Depends, so a missing one fails here;
#   2. copies the source tree (the files git knows: tracked plus untracked-not-ignored; in a clean
#      checkout that is HEAD) to a temporary directory as nlassp-<version>/, makes the
#      .orig.tar.gz from it, and copies packaging/debian to debian/;
#   3. dpkg-buildpackage -us -uc (source and binary packages). The unit tests, the known-answer
#      tests among them (data in tests/vectors), run in dh_auto_test unless DEB_BUILD_OPTIONS has
#      nocheck. DEB_BUILD_OPTIONS is honoured (default: parallel=<nproc>);
#   4. lintian on the .changes (source and binaries): fails on any error, lists warnings.
# Exit status: 0 built and lintian-clean (no errors), 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:?usage: packaging/build-deb.sh OUTDIR}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
log() { printf '[build-deb] %s\n' "$*" >&2; }

VERSION="$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version 2>/dev/null || true)"
if [ -z "$VERSION" ]; then
	VERSION="$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$ROOT/packaging/debian/changelog")"
fi
UPSTREAM="${VERSION%-*}"

if [ "${NLASSP_SKIP_DEPS:-0}" != 1 ]; then
	log "installing build dependencies"
	bash "$ROOT/.ci/install-deps.sh"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -qq --no-install-recommends dpkg-dev debhelper lintian devscripts \
		equivs fakeroot git >/dev/null
	deps="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-builddeps.XXXXXX")"
	cp "$ROOT/packaging/debian/control" "$deps/control"
	(cd "$deps" && mk-build-deps --install --remove \
		--tool 'apt-get -y -qq --no-install-recommends -o Debug::pkgProblemResolver=yes' \
		"$deps/control" >"$deps/log" 2>&1) || { tail -n 30 "$deps/log" >&2; rm -rf "$deps"; exit 1; }
	rm -rf "$deps"
fi
for c in dpkg-buildpackage dh lintian git; do
	command -v "$c" >/dev/null || { log "missing $c (run without NLASSP_SKIP_DEPS=1)"; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-deb.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/nlassp-$UPSTREAM"
mkdir -p "$SRC"
log "copying the source tree to $SRC"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$SRC"
tar -C "$WORK" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-01-01 00:00Z' \
	-czf "$WORK/nlassp_$UPSTREAM.orig.tar.gz" "nlassp-$UPSTREAM"
cp -a "$SRC/packaging/debian" "$SRC/debian"

log "dpkg-buildpackage (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$JOBS})"
start=$(date +%s)
if ! (cd "$SRC" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$JOBS}" \
	dpkg-buildpackage -us -uc >"$WORK/build.log" 2>&1); then
	tail -n 80 "$WORK/build.log" >&2
	cp "$WORK/build.log" "$OUTDIR/nlassp-build.log"
	log "dpkg-buildpackage failed (full log: $OUTDIR/nlassp-build.log)"
	exit 1
fi
log "dpkg-buildpackage took $(( $(date +%s) - start ))s"
cp "$WORK/build.log" "$OUTDIR/nlassp-build.log"
grep -E 'tests passed, .* failed out of' "$WORK/build.log" >&2 || true
for f in "$WORK"/*.deb "$WORK"/*.dsc "$WORK"/*.tar.* "$WORK"/*.buildinfo "$WORK"/*.changes; do
	[ -e "$f" ] && cp "$f" "$OUTDIR/"
done
ls -l "$OUTDIR" >&2

changes="$(ls "$OUTDIR"/nlassp_"${VERSION}"_*.changes | head -n1)"
log "lintian $changes"
set +e
lintian --fail-on error --display-info "$changes" >"$OUTDIR/lintian.txt" 2>&1
rc=$?
set -e
cat "$OUTDIR/lintian.txt" >&2
errors=$(grep -c '^E: ' "$OUTDIR/lintian.txt" || true)
warnings=$(grep -c '^W: ' "$OUTDIR/lintian.txt" || true)
log "lintian: $errors error(s), $warnings warning(s) (exit $rc)"
[ "$rc" = 0 ] && [ "$errors" = 0 ]
