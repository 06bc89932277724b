#!/usr/bin/env bash
# Runs nlassp-bench with every scenario, Kerberos included: makes a throwaway MIT realm with
# tests/lab/kdc.sh (LAB.TEST, krb5kdc on 127.0.0.1 only), starts its KDC, runs the bench against
# it (--kdc-dir), then stops the KDC and removes the realm's temp dir (EXIT trap, also on ^C).
#
#   tools/bench/run-bench.sh [path/to/nlassp-bench] [bench options...]
#
# The bench is $NLASSP_BENCH, else the first argument if it is an executable file, else
# build/tools/nlassp-bench under the source tree. Needs krb5-kdc, krb5-admin-server, krb5-user.
# No set -e: kdc.sh's teardown (run from the EXIT trap) is not written for it.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

bench=${NLASSP_BENCH:-}
if [ -z "$bench" ] && [ $# -gt 0 ] && [ -f "$1" ] && [ -x "$1" ]; then
	bench=$1
	shift
fi
bench=${bench:-$root/build/tools/nlassp-bench}
if [ ! -x "$bench" ]; then
	echo "run-bench.sh: no benchmark at $bench (build the nlassp-bench target, or pass its path)" >&2
	exit 2
fi

# shellcheck source=../../tests/lab/kdc.sh
. "$root/tests/lab/kdc.sh"
trap 'exit 130' INT TERM   # the EXIT trap below tears down
kdc_setup || exit 1   # also installs an EXIT trap that tears the realm down
kdc_start || exit 1

NLASSP_KDC_SH="$root/tests/lab/kdc.sh" "$bench" --kdc-dir "$KDC_DIR" "$@"
status=$?
exit $status
