#!/usr/bin/env bash
# packaging/build-srpm.sh OUTDIR — builds nlassp's source RPM (packaging/rpm/nlassp.spec) into
# OUTDIR with Debian's rpm tools: the source tarball comes from `git archive HEAD` (the committed
# tree; NLASSP_SRPM_WORKTREE=1 takes the work tree's files git knows instead, as build-deb.sh
# does; either holds the known-answer data in tests/vectors), then rpmbuild -bs.
# NLASSP_SKIP_DEPS=1 skips `apt-get install rpm`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:?usage: packaging/build-srpm.sh OUTDIR}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
SPEC="$ROOT/packaging/rpm/nlassp.spec"
log() { printf '[build-srpm] %s\n' "$*" >&2; }

if [ "${NLASSP_SKIP_DEPS:-0}" != 1 ] && ! command -v rpmbuild >/dev/null; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rpm git >/dev/null
fi
command -v rpmbuild >/dev/null || { log "rpmbuild missing (apt-get install rpm)"; exit 1; }

VERSION="$(sed -n 's/^Version:[[:space:]]*//p' "$SPEC" | head -n1)"
TOP="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-rpm.XXXXXX")"
trap 'rm -rf "$TOP"' EXIT
mkdir -p "$TOP"/{SOURCES,SPECS,SRPMS,BUILD,RPMS}
if [ "${NLASSP_SRPM_WORKTREE:-0}" = 1 ]; then
	mkdir -p "$TOP/tree/nlassp-$VERSION"
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$TOP/tree/nlassp-$VERSION"
	tar -C "$TOP/tree" -czf "$TOP/SOURCES/nlassp-$VERSION.tar.gz" "nlassp-$VERSION"
else
	git -C "$ROOT" archive --format=tar.gz --prefix="nlassp-$VERSION/" \
		-o "$TOP/SOURCES/nlassp-$VERSION.tar.gz" HEAD
fi
cp "$SPEC" "$TOP/SPECS/"
# Debian's rpm has no Fedora macros (%cmake ...); a source RPM does not expand them.
rpmbuild --define "_topdir $TOP" --nodeps -bs "$TOP/SPECS/nlassp.spec" >&2
cp "$TOP"/SRPMS/*.src.rpm "$OUTDIR/"
srpm="$(ls "$OUTDIR"/nlassp-"$VERSION"-*.src.rpm | head -n1)"
rpm -qpl "$srpm" >&2
log "built $srpm"
