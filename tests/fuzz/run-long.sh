#!/usr/bin/env bash
# run-long.sh: runs libFuzzer harnesses for a long time, one after the other (each one
# process on one core), each in a fresh temporary corpus seeded from corpus/NAME, and
# prints a table: harness, executions, seconds, exec/s, crashes.
#
# Usage: tests/fuzz/run-long.sh [-d BUILD_DIR] [-t SECONDS | -n RUNS] [-c CORPUS_DIR]
#                               [-o OUT_DIR] [NAME...] [-- libFuzzer options...]
#   -d  build dir configured with -Dfuzz=true (default $OTA_FUZZ_DIR or build-fuzz);
#       the harnesses are (re)built there first
#   -t  seconds per harness (default 300)
#   -n  executions per harness instead of a time (each run is still cut at 4 x -t)
#   -c  keep each corpus in CORPUS_DIR/NAME (reused by the next run) instead of a temp dir
#   -o  where logs and crashing inputs go (default BUILD_DIR/fuzz-long)
#   NAME  harnesses to run, e.g. srv_range config (default: all of tests/fuzz/meson.build)
# A harness stops at its first crash, leak, timeout or out-of-memory: "crashes" is 0 or 1
# and the input is kept as OUT_DIR/NAME-{crash,leak,timeout,oom}-SHA1 (reproduce with
# BUILD_DIR/tests/fuzz/fuzz_NAME FILE; add it to corpus/NAME once fixed).
# Exit: 0 no harness found anything, 1 one did or something failed to run.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
src=$PWD/tests/fuzz
build=${OTA_FUZZ_DIR:-build-fuzz}
secs=300
runs=
keep=
out=
while getopts d:t:n:c:o:h opt; do
    case $opt in
    d) build=$OPTARG ;;
    t) secs=$OPTARG ;;
    n) runs=$OPTARG ;;
    c) keep=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 1 ;;
    esac
done
shift $((OPTIND - 1))
names=()
while [[ $# -gt 0 && $1 != -- ]]; do
    names+=("$1")
    shift
done
[[ ${1:-} != -- ]] || shift
extra=("$@")
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "run-long.sh: -t needs seconds" >&2; exit 1; }
[[ -z $runs || $runs =~ ^[1-9][0-9]*$ ]] || { echo "run-long.sh: -n needs a count" >&2; exit 1; }
out=${out:-$build/fuzz-long}
if [[ ${#names[@]} -eq 0 ]]; then
    # The harness table of tests/fuzz/meson.build: lines "  'NAME' : dep,".
    mapfile -t names < <(sed -n "s/^ *'\([a-z0-9_]*\)' : [a-z_]*dep,\$/\1/p" "$src/meson.build")
fi
if ! meson compile -C "$build" fuzz >/dev/null; then
    echo "run-long.sh: cannot build the harnesses in $build" >&2
    exit 1
fi
mkdir -p "$out" || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ota-fuzz-long.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rows=()
found=0
for name in "${names[@]}"; do
    exe=$build/tests/fuzz/fuzz_$name
    if [[ ! -x $exe || ! -d $src/corpus/$name ]]; then
        echo "run-long.sh: no harness $name" >&2
        found=1
        continue
    fi
    if [[ -n $keep ]]; then
        corpus=$keep/$name
    else
        corpus=$tmp/$name
    fi
    mkdir -p "$corpus" || exit 1
    opts=(-timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1
        -print_final_stats=1 -artifact_prefix="$out/$name-")
    if [[ -n $runs ]]; then
        opts+=(-runs="$runs" -max_total_time=$((secs * 4)))
    else
        opts+=(-max_total_time="$secs")
    fi
    [[ ! -f $src/dict/$name.dict ]] || opts+=(-dict="$src/dict/$name.dict")
    echo "==> $name: $exe ${opts[*]} ${extra[*]} $corpus $src/corpus/$name" >&2
    start=$(date +%s.%N)
    "$exe" "${opts[@]}" "${extra[@]}" "$corpus" "$src/corpus/$name" >"$out/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log" | tail -n 1)
    crashes=0
    [[ $rc -eq 0 ]] || { crashes=1; found=1; }
    rows+=("$(awk -v n="$name" -v e="${execs:-0}" -v s="$start" -v t="$end" -v c="$crashes" '
        BEGIN { d = t - s; r = d > 0 ? e / d : 0
                printf "%-14s %12d %8.0f %9.0f %8d", n, e, d, r, c }')")
    [[ $rc -eq 0 ]] || echo "run-long.sh: $name: exit $rc, see $out/$name.log" >&2
    [[ -n $keep ]] || rm -rf "$corpus"
done

printf '%-14s %12s %8s %9s %8s\n' harness executions seconds exec/s crashes
printf '%s\n' "${rows[@]}"
exit $found
