#!/bin/sh
# run-fuzz.sh: runs one libFuzzer harness for a short, bounded time as a meson test (suite
# fuzz). New inputs go to a fresh temporary corpus given first; the committed seeds in
# SRCDIR/corpus/NAME are given second, so libFuzzer reads them and never writes there.
#
# Usage: run-fuzz.sh HARNESS SRCDIR NAME [libFuzzer options...]
# Environment: OTA_FUZZ_TIME seconds of fuzzing (default 3: the test command has a 15-minute
# budget; tests/fuzz/run-long.sh runs them for as long as asked).
# A crashing, leaking or slow input is kept as DIR-OF-HARNESS/artifacts/NAME-{crash,leak,
# timeout,oom}-SHA1; reproduce with: HARNESS FILE.
# Exit: 0 nothing found; 1 a crash, leak, timeout or out-of-memory (or bad usage).
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 HARNESS SRCDIR NAME [libFuzzer options...]" >&2
    exit 1
fi
harness=$1 src=$2 name=$3
shift 3
seeds=$src/corpus/$name
dict=$src/dict/$name.dict
artifacts=$(dirname "$harness")/artifacts
if [ ! -d "$seeds" ]; then
    echo "$0: no seed folder $seeds" >&2
    exit 1
fi
mkdir -p "$artifacts" || exit 1
corpus=$(mktemp -d "${TMPDIR:-/tmp}/ota-fuzz-$name.XXXXXX") || exit 1
trap 'rm -rf "$corpus"' EXIT
trap 'exit 1' INT TERM

set -- -max_total_time="${OTA_FUZZ_TIME:-3}" -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$@"
[ ! -f "$dict" ] || set -- -dict="$dict" "$@"
# libFuzzer's default exit code for a finding is 77, which meson counts as "skipped".
"$harness" "$@" "$corpus" "$seeds"
rc=$?
[ $rc -eq 0 ] || echo "$0: $name failed (exit $rc); inputs kept in $artifacts" >&2
[ $rc -eq 0 ] || exit 1
exit 0
