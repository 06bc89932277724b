#!/usr/bin/env bash
# scripts/test.sh — nlassp's whole test run, as CI does it (.ci/run). On a fresh Debian 12:
#   1. installs the build and test dependencies (.ci/install-deps.sh; NLASSP_SKIP_DEPS=1 skips),
#   2. configures with -DNLASSP_WERROR=ON, builds, runs every CTest label (unit, interop, e2e,
#      kerberos, ...) in build-test/,
#   3. builds with AddressSanitizer + UndefinedBehaviorSanitizer (-DNLASSP_SANITIZE=ON) in
#      build-asan/ and runs the unit and interop labels (LeakSanitizer on where it can run),
#   4. if tests/fuzz exists: builds the libFuzzer targets with clang in build-fuzz/ and runs the
#      fuzz label (a bounded number of inputs per target),
#   5. packaging (packaging/ci-check.sh): builds the Debian packages (lintian: no errors) and the
#      source RPM, extracts them with dpkg-deb -x and logs in with xfreerdp3 and nlassp-probe
#      through the packaged module. The package build runs the unit tests again (dh_auto_test), in a
#      copy of the tree with nothing beside it: what a clone or the source tarball has, the
#      known-answer data included (4 to 7 minutes on 2 cores, depending on load).
# Prints a final line "N passed, N failed" over all phases (a configure or build step that fails
# counts as a failure) and exits non-zero if anything failed. Each phase's header says when it
# starts ("starts 5m20s into the run"), its last line how long the phase itself took ("phase
# took 4m02s"); the summary lists every phase's duration and the whole run's.
#
# Environment: JOBS (parallel build/test jobs, default nproc), NLASSP_SKIP_DEPS=1,
#   NLASSP_PHASES (default "main asan fuzz package"; "trixie" runs only the FreeRDP 3.15 chroot tests),
#   NLASSP_BUILD_PREFIX (default <repo>/build-).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
PREFIX="${NLASSP_BUILD_PREFIX:-$ROOT/build-}"
PHASES="${NLASSP_PHASES:-main asan fuzz package}"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/nlassp-test.XXXXXX")"
trap 'rm -rf "$LOGDIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
SUMMARY=()
PHASE_TIMES=()
START=$(date +%s)
PHASE_START=$START

say() { printf '\n=== %s\n' "$*"; }
# mmss SECONDS — "4m02s".
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# into_run — time since the run started, "5m20s into the run".
into_run() { echo "$(mmss $(( $(date +%s) - START ))) into the run"; }
# phase_begin NAME WHAT — the phase header, with when it starts.
phase_begin() {
	PHASE_START=$(date +%s)
	say "phase $1: $2 (starts $(into_run))"
}
# phase_end NAME — how long the phase itself took.
phase_end() {
	local took=$(( $(date +%s) - PHASE_START ))
	PHASE_TIMES+=("$1 $(mmss "$took")")
	echo "--- phase $1 took $(mmss "$took") (ends $(into_run))"
}

# step NAME CMD... — a configure/build step; a failure counts once and shows the log's tail.
step() {
	local name="$1" log
	shift
	log="$LOGDIR/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
	echo "--- $name"
	if "$@" >"$log" 2>&1; then
		return 0
	fi
	echo "FAILED: $name — last lines of its output:"
	tail -n 60 "$log"
	TOTAL_FAILED=$((TOTAL_FAILED + 1))
	SUMMARY+=("$name: FAILED")
	return 1
}

# run_ctest PHASE BUILD_DIR [CTEST ARGS...] — runs ctest, adds its counts to the totals.
run_ctest() {
	local phase="$1" dir="$2" log="$LOGDIR/ctest-$1.log"
	shift 2
	echo "--- ctest ($phase): ctest --test-dir $dir --output-on-failure $*"
	ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
	local line total failed skipped
	line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)"
	if [ -z "$line" ]; then
		echo "ctest ($phase) printed no summary (no tests, or it was interrupted)"
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		SUMMARY+=("ctest $phase: no result")
		return 1
	fi
	total="$(sed -E 's/.*failed out of ([0-9]+).*/\1/' <<<"$line")"
	failed="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
	skipped="$(grep -cE '^\s*[0-9]+ - .*\(Skipped\)' "$log")"
	TOTAL_PASSED=$((TOTAL_PASSED + total - failed - skipped))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
	SUMMARY+=("ctest $phase: $((total - failed - skipped)) passed, $failed failed, $skipped skipped")
	[ "$failed" = 0 ]
}

# LeakSanitizer stops the process under ptrace or where ptrace is forbidden (some containers):
# probe once with a tiny program and only ask for leak checking where it works.
lsan_works() {
	local dir="$LOGDIR/lsan"
	mkdir -p "$dir"
	printf 'int main(void){return 0;}\n' >"$dir/p.c"
	cc -fsanitize=address -o "$dir/p" "$dir/p.c" >/dev/null 2>&1 || return 1
	ASAN_OPTIONS=detect_leaks=1 "$dir/p" >"$dir/out" 2>&1 || return 1
	! grep -q 'LeakSanitizer has encountered a fatal error' "$dir/out"
}

if [ "${NLASSP_SKIP_DEPS:-0}" != 1 ]; then
	say "dependencies (.ci/install-deps.sh)"
	step "install dependencies" bash "$ROOT/.ci/install-deps.sh" || {
		echo "0 passed, $TOTAL_FAILED failed"
		exit 1
	}
fi

for phase in $PHASES; do
	case "$phase" in
	main)
		phase_begin main "build with -DNLASSP_WERROR=ON and run all tests"
		dir="${PREFIX}test"
		# Optimised, as packages and the demo build it: some warnings (-Warray-bounds,
		# -Wstringop-overflow) only appear at -O2, and -Werror must hold there too.
		step "configure $dir" cmake -S "$ROOT" -B "$dir" -DNLASSP_WERROR=ON \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo &&
			step "build $dir" cmake --build "$dir" -j "$JOBS" &&
			run_ctest main "$dir" -j "$JOBS"
		phase_end main
		;;
	asan)
		phase_begin asan "AddressSanitizer + UndefinedBehaviorSanitizer: unit and interop"
		dir="${PREFIX}asan"
		leaks=0
		if lsan_works; then leaks=1; else
			echo "note: LeakSanitizer cannot run here (ptrace restricted); leak checks are off"
		fi
		step "configure $dir" cmake -S "$ROOT" -B "$dir" -DNLASSP_WERROR=ON -DNLASSP_SANITIZE=ON \
			-DCMAKE_BUILD_TYPE=Debug &&
			step "build $dir" cmake --build "$dir" -j "$JOBS" &&
			ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=1" \
				UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
				run_ctest asan "$dir" -L 'unit|interop' -j "$JOBS"
		phase_end asan
		;;
	fuzz)
		if [ ! -f "$ROOT/tests/fuzz/CMakeLists.txt" ]; then
			echo "--- no tests/fuzz/CMakeLists.txt: fuzz phase skipped"
			continue
		fi
		phase_begin fuzz "libFuzzer targets (clang), label fuzz"
		dir="${PREFIX}fuzz"
		step "configure $dir" cmake -S "$ROOT" -B "$dir" -DNLASSP_BUILD_FUZZERS=ON \
			-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
			step "build $dir" cmake --build "$dir" -j "$JOBS" &&
			run_ctest fuzz "$dir" -L fuzz -j "$JOBS"
		phase_end fuzz
		;;
	trixie)
		# Opt-in (not in the default list: "main" already runs these through CTest): only the
		# FreeRDP 3.15 tests (Debian 13 chroot, tests/lab/trixie.sh), e.g. NLASSP_PHASES=trixie.
		phase_begin trixie "FreeRDP 3.15 (Debian 13 chroot), label trixie"
		dir="${PREFIX}test"
		step "configure $dir" cmake -S "$ROOT" -B "$dir" -DNLASSP_WERROR=ON -DNLASSP_E2E_TRIXIE=ON &&
			step "build $dir" cmake --build "$dir" -j "$JOBS" &&
			run_ctest trixie "$dir" -L trixie
		phase_end trixie
		;;
	package)
		phase_begin package "packaging: .debs + lintian, SRPM, logins through the packaged module"
		log="$LOGDIR/package.log"
		DEB_BUILD_OPTIONS="parallel=$JOBS" JOBS="$JOBS" \
			bash "$ROOT/packaging/ci-check.sh" 2>&1 | tee "$log"
		line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)"
		if [ -z "$line" ]; then
			TOTAL_FAILED=$((TOTAL_FAILED + 1))
			SUMMARY+=("package: no result")
		else
			p="${line%% passed*}"
			f="${line#*passed, }"
			f="${f%% failed}"
			TOTAL_PASSED=$((TOTAL_PASSED + p))
			TOTAL_FAILED=$((TOTAL_FAILED + f))
			SUMMARY+=("package: $p passed, $f failed")
		fi
		phase_end package
		;;
	*)
		echo "unknown phase '$phase' (NLASSP_PHASES: main asan fuzz package trixie)"
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		;;
	esac
done

say "summary: the whole run took $(mmss $(( $(date +%s) - START )))"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
[ "${#PHASE_TIMES[@]}" = 0 ] || echo "  phase durations: $(IFS=,; echo "${PHASE_TIMES[*]}" | sed 's/,/, /g')"
[ "$TOTAL_SKIPPED" = 0 ] || echo "  ($TOTAL_SKIPPED test(s) skipped, not counted)"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" = 0 ]
