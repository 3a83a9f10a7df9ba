#!/usr/bin/env bash
# delta.sh: what a zchunk delta update through ota-server costs on the wire (issue "Delta
# updates"). For two changes of the same size to a DELTA_MB MiB image, 64 scattered 32 KiB
# spans and one contiguous 2 MiB span, Debian's zck makes the new image's .zck, ota-server
# serves it as a public artifact, and Debian's swupdate installs a delta .swu (only the
# zchunk header) with its default max-ranges (150) and with max-ranges 1. The table has the
# bytes ota-server sent for the .zck (its access log: every answer must be a 206), the
# requests, and the share of the full image, median of DELTA_REPS (fresh images each time).
# The CPU of one multipart request against one single range of the same bytes is
# `bench/run.sh multirange` (side by side with nginx).
#
# Environment:
#   DELTA_MB        image size in MiB (default 32)
#   DELTA_REPS      repetitions (default 3)
#   BENCH_BUILD     build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1  use the binaries in BENCH_BUILD as they are
#   BENCH_OUT       results file (default bench/results/delta.md)
# About a minute with the defaults on 2 cores. Loopback only, free ports, every process
# stopped by PID (tests/integration/lib.sh).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
SWU=$SRC/tests/integration/swupdate
MB=${DELTA_MB:-32}
REPS=${DELTA_REPS:-3}
OUT=${BENCH_OUT:-$BENCH/results/delta.md}
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^# About/p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
[[ $MB =~ ^[1-9][0-9]{0,3}$ && $MB -ge 4 && $REPS =~ ^[1-9]$ ]] ||
    { echo "delta.sh: DELTA_MB is 4..9999, DELTA_REPS 1..9" >&2; exit 2; }
for c in swupdate zck zck_read_header python3 cpio openssl; do
    command -v "$c" >/dev/null || { echo "delta.sh: needs $c (deploy/install-deps.sh)" >&2; exit 1; }
done

log() { printf '[delta %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    [[ -f $B/build.ninja ]] || meson setup "$B" "$SRC" --buildtype=release >/dev/null || exit 1
    ninja -C "$B" server/ota-server admin/ota-admin >&2 || exit 1
fi

export OTA_BUILD=$B OTA_SRC=$SRC
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=delta
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"
ota_setup "[server]" "access_log = $T/access.log"
ota_start_server
mkdir -p "$T/img" "$T/swtmp"
"$SWU/mkswu.sh" signer "$T/signer"

# one_run CHANGE MAX_RANGES: a fresh image pair, its .zck uploaded public, one delta install
one_run()
{
    local change=$1 max=$2 sha zsize rc=0 line
    rm -f "$T/img/"*
    if [[ $change == scattered ]]; then
        "$SWU/mkimages.py" "$T/img" "$MB" scattered 64 32 || fail "mkimages.py"
    else
        "$SWU/mkimages.py" "$T/img" "$MB" contiguous 2048 || fail "mkimages.py"
    fi
    zck -u -h sha256 -o "$T/img/new.img.zck" "$T/img/new.img" >/dev/null || fail "zck"
    zsize=$(stat -c %s "$T/img/new.img.zck")
    sha=$(ota_admin artifact upload "$T/img/new.img.zck" --version 2 --name new.img.zck --public) ||
        fail "upload"
    cp "$T/img/old.img" "$T/running.img"
    rm -f "$T/out.img"
    "$SWU/mkswu.sh" delta "$T/img/d.swu" "$T/img/new.img.zck" "$SERVER_URL/v1/artifacts/$sha" \
        "$T/running.img" "$T/out.img" "$T/signer" "$max" || fail "mkswu.sh delta"
    : >"$T/access.log"
    TMPDIR="$T/swtmp" timeout 300 swupdate -i "$T/img/d.swu" -k "$T/signer/signer.crt" \
        -H ota-test:1.0 -l 3 >"$T/swupdate.log" 2>&1 || rc=$?
    # 2022.12's -i may exit 1 after a successful install, or log success with the image half
    # written and die of SIGSEGV (more often under load; the test uses suricatta for that
    # reason): the bytes decide, and a crashed run stops the bench rather than count
    cmp -s "$T/img/new.img" "$T/out.img" ||
        { ota_log_tail "$T/swupdate.log"; fail "$change, max-ranges $max: not installed (exit $rc)"; }
    line=$(awk -v p="/v1/artifacts/$sha" '$3 == p && $4 != 206 { bad = 1 }
        $3 == p { n++; b += $5 } END { if (bad) print "bad"; else print n, b }' "$T/access.log")
    [[ $line != bad ]] || fail "$change: an answer other than 206: $(cat "$T/access.log")"
    printf '%s|%s|%s|%s|%s\n' "$change" "$max" "$line" "$zsize" "$(stat -c %s "$T/img/new.img")" >>"$RES"
    log "$change, max-ranges $max: $line (requests bytes) of a $zsize-byte .zck"
    ota_admin artifact delete "$sha" >/dev/null 2>&1 || true
}

for ((rep = 1; rep <= REPS; rep++)); do
    for change in scattered contiguous; do
        for max in 150 1; do
            one_run "$change" "$max"
        done
    done
done

median() # CHANGE MAX FIELD
{
    awk -F'|' -v c="$1" -v m="$2" -v f="$3" '$1 == c && $2 == m { split($3, a, " "); $6 = a[1]; $7 = a[2]; print $f }' "$RES" |
        median_of
}
{
    echo "# Delta updates: bytes on the wire"
    echo
    echo "bench/delta.sh, $(date -u +%Y-%m-%dT%H:%MZ), release build ($B), Debian's swupdate"
    echo "$(dpkg-query -W -f '${Version}' swupdate 2>/dev/null) and zchunk $(dpkg-query -W -f '${Version}' zchunk 2>/dev/null). A $MB MiB image; the same 2 MiB changed, either as 64 scattered 32 KiB spans"
    echo "or as one contiguous span. Bytes: what ota-server sent for the .zck (206 answers only), median of $REPS."
    echo
    echo "| change | max-ranges | requests | bytes sent | of the .zck | of the image |"
    echo "|---|--:|--:|--:|--:|--:|"
    for change in scattered contiguous; do
        for max in 150 1; do
            sent=$(median "$change" "$max" 7)
            printf '| %s | %s | %s | %s | %.3f | %.3f |\n' "$change" "$max" \
                "$(median "$change" "$max" 6)" "$sent" \
                "$(fcalc "$sent / $(median "$change" "$max" 4)")" \
                "$(fcalc "$sent / $(median "$change" "$max" 5)")"
        done
    done
} >"$OUT"
cat "$OUT"
