#!/usr/bin/env bash
# run.sh: the one test command: installs missing Debian packages, builds ota-origin twice
# (plain and ASan+UBSan), runs every meson test in both, then builds the libFuzzer harnesses
# with clang and fuzzes each for a few seconds (suite fuzz), and ends with "N passed,
# N failed" over all three.
#
# Usage: tests/run.sh [meson test arguments, e.g. --suite unit]
#   The arguments select the tests of the plain and sanitizer builds; the fuzz stage always
#   runs suite fuzz (OTA_NO_FUZZ=1 leaves it out).
# Environment:
#   OTA_BUILD_DIR   plain build dir (default build)
#   OTA_ASAN_DIR    sanitizer build dir (default build-asan)
#   OTA_NO_ASAN=1   skip the sanitizer build
#   OTA_FUZZ_DIR    fuzz build dir (default build-fuzz), configured with CC=clang
#   OTA_NO_FUZZ=1   skip the fuzz stage
#   OTA_FUZZ_TIME   seconds each harness fuzzes (default 3, tests/fuzz/run-fuzz.sh)
#   OTA_TEST_JOBS   parallel tests (default 3 in the plain build, whose tests mostly wait
#                   on their daemons, and 2 under the sanitizers, whose tests keep both
#                   cores busy: more there made slow CI hosts flaky)
#   OTA_NO_DEPS=1   do not check Debian packages nor install tests/npm
# Exit: 0 when everything built and every test passed (or was skipped), 1 otherwise.
# The last line of the output is always the count, so CI can read it.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
src=$PWD
build_dir=${OTA_BUILD_DIR:-build}
asan_dir=${OTA_ASAN_DIR:-build-asan}
fuzz_dir=${OTA_FUZZ_DIR:-build-fuzz}
jobs=${OTA_TEST_JOBS:-2}
plain_jobs=${OTA_TEST_JOBS:-3}
failed_extra=0        # builds or test runs that failed without a testlog entry
failed_names=()       # what failed outside meson's testlog (builds)

summary()
{
    local passed=$1 failed=$2 skipped=$3 line
    line="$passed passed, $failed failed"
    [[ $skipped -eq 0 ]] || line="$line, $skipped skipped"
    echo "$line"
}

# Prints "==> what" headers so a long CI log can be searched.
step()
{
    echo
    echo "==> $*"
}

# ------------------------------------------------------------ Debian packages
if [[ ${OTA_NO_DEPS:-0} != 1 ]]; then
    step "checking Debian packages"
    if ! "$src/deploy/install-deps.sh"; then
        summary 0 1 0
        exit 1
    fi
    step "installing the npm reference code (tests/npm)"
    if ! "$src/tests/npm/install.sh"; then
        summary 0 1 0
        exit 1
    fi
fi

# ------------------------------------------------------------ builds
# setup_dir DIR [meson options]: configures DIR, or reconfigures it when it exists.
setup_dir()
{
    local dir=$1
    shift
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

# Builds and tests one dir; results stay in DIR/meson-logs/testlog.json, which is then
# listed in dirs/labels for counting (a dir that did not build is counted as one failure).
# stage_targets (empty: all) and stage_test_args say what to build and which tests to run.
# build_and_test LABEL DIR [meson setup options]
build_and_test()
{
    local label=$1 dir=$2 t0=$SECONDS
    shift 2
    step "[$label] meson setup $dir $*"
    if ! setup_dir "$dir" "$@"; then
        failed_extra=$((failed_extra + 1))
        failed_names+=("[$label] meson setup $dir")
        return 0
    fi
    step "[$label] meson compile -C $dir ${stage_targets[*]}"
    if ! meson compile -C "$dir" "${stage_targets[@]}"; then
        failed_extra=$((failed_extra + 1))
        failed_names+=("[$label] build ($dir)")
        return 0
    fi
    local njobs=$jobs
    [[ $label != plain ]] || njobs=$plain_jobs
    step "[$label] meson test -C $dir --num-processes $njobs ${stage_test_args[*]}"
    rm -f "$dir/meson-logs/testlog.json"
    dirs+=("$dir")
    labels+=("$label")
    local mult=1
    [[ $label != asan ]] || mult=3
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$njobs" \
        --timeout-multiplier "$mult" "${stage_test_args[@]}"
    # A non-zero status here is counted from testlog.json below.
    if [[ ! -s $dir/meson-logs/testlog.json ]]; then
        failed_extra=$((failed_extra + 1))
        failed_names+=("[$label] meson test ($dir): no results")
    fi
    echo "[$label] built and tested in $((SECONDS - t0)) s"
    return 0
}

test_args=("$@")
dirs=()
labels=()
stage_targets=()
stage_test_args=("${test_args[@]}")

# -Db_sanitize=none: a plain dir someone configured with sanitizers becomes plain again.
build_and_test plain "$build_dir" -Db_sanitize=none

if [[ ${OTA_NO_ASAN:-0} != 1 ]]; then
    asan_opts=("-Db_sanitize=address,undefined")
    # clang's sanitizer runtimes leave symbols undefined in shared objects until load.
    if "${CC:-cc}" --version 2>/dev/null | head -n 1 | grep -qi clang; then
        asan_opts+=(-Db_lundef=false)
    fi
    # detect_leaks: the suite must be leak-free; abort_on_error/halt_on_error: make any
    # report a failing exit status, which the tests and lib.sh's ota_stop check.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    build_and_test asan "$asan_dir" "${asan_opts[@]}"
fi

# ------------------------------------------------------------ fuzz
# tests/fuzz/README.md: every library instrumented for libFuzzer (clang) and ASan+UBSan;
# only the harnesses are built ("fuzz" alias target), each fuzzes OTA_FUZZ_TIME seconds.
if [[ ${OTA_NO_FUZZ:-0} != 1 ]]; then
    if ! command -v clang >/dev/null 2>&1; then
        failed_extra=$((failed_extra + 1))
        failed_names+=("[fuzz] clang not found (deploy/install-deps.sh installs it,\
 OTA_NO_FUZZ=1 skips the stage)")
    else
        stage_targets=(fuzz)
        stage_test_args=(--suite fuzz)
        CC=clang build_and_test fuzz "$fuzz_dir" -Dfuzz=true -Db_sanitize=address,undefined \
            -Db_lundef=false
    fi
fi

# ------------------------------------------------------------ counting
# testlog.json has one JSON object per line, each with "name" and "result".
count_args=()
for i in "${!dirs[@]}"; do
    count_args+=("${labels[$i]}" "${dirs[$i]}/meson-logs/testlog.json")
done
counts=$(python3 - "${count_args[@]}" <<'PY'
import json, sys

passed = failed = skipped = 0
names = []
tails = []
args = sys.argv[1:]
for label, path in zip(args[0::2], args[1::2]):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            t = json.loads(line)
        except ValueError:
            failed += 1
            names.append("[%s] unreadable line in %s" % (label, path))
            continue
        result = t.get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
            names.append("[%s] %s: %s" % (label, t.get("name", "?"), result))
            # CI shows the end of the output only: the last lines of each failure go there too
            out = ((t.get("stdout") or "") + (t.get("stderr") or "")).splitlines()
            tails.append(["[%s] %s:" % (label, t.get("name", "?"))] + out[-25:])
for n in names:
    print("failed " + n)
for tail in tails:
    for line in tail:
        print("tail " + line[:300])
print("%d %d %d" % (passed, failed, skipped))
PY
)
if [[ $? -ne 0 || -z $counts ]]; then
    echo "run.sh: could not count the results" >&2
    summary 0 1 0
    exit 1
fi

read -r passed failed skipped <<<"$(tail -n 1 <<<"$counts")"
failed=$((failed + failed_extra))
step "results"
if [[ $failed -gt 0 ]]; then
    echo "failed:"
    for n in "${failed_names[@]}"; do
        echo "  $n"
    done
    grep '^failed ' <<<"$counts" | sed 's/^failed /  /'
    if grep -q '^tail ' <<<"$counts"; then
        echo "the last lines of each failed test's output:"
        grep '^tail ' <<<"$counts" | sed 's/^tail /  | /'
    fi
fi
summary "$passed" "$failed" "$skipped"
[[ $failed -eq 0 ]]
