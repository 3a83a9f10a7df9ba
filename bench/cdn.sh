#!/usr/bin/env bash
# cdn.sh: what the nginx edge of deploy/cdn/ takes off the origin (issue "Behind a CDN"),
# side by side. CDN_N ota-vehicle download a CDN_MB MiB artifact, half of them cut half way
# and resumed (--cut-after), either straight from ota-server ("origin") or through the
# nginx edge with nginx tokens ("edge", cold cache at the start of each run). For each:
# the bytes the vehicles received, the bytes the origin sent (its /metrics), the origin's
# CPU seconds, and the edge's. The two alternate, CDN_REPS times, each on a fresh
# database, store, cache and vehicle folders; the table has the medians.
#
# Environment:
#   CDN_N           vehicles (default 50)
#   CDN_MB          artifact size in MiB (default 32)
#   CDN_REPS        repetitions (default 3)
#   CDN_PARALLEL    downloads at once per fleet process (default 25)
#   BENCH_BUILD     build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1  use the binaries in BENCH_BUILD as they are
#   BENCH_OUT       results file (default bench/results/cdn.md)
# About 2 minutes with the defaults on 2 cores. Loopback only, free ports, every process
# stopped by PID (tests/integration/lib.sh).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
N=${CDN_N:-50}
MB=${CDN_MB:-32}
REPS=${CDN_REPS:-3}
PAR=${CDN_PARALLEL:-25}
OUT=${BENCH_OUT:-$BENCH/results/cdn.md}
[[ $N =~ ^[1-9][0-9]{0,3}$ && $N -ge 2 && $MB =~ ^[1-9][0-9]{0,3}$ && $REPS =~ ^[1-9]$ &&
    $PAR =~ ^[1-9][0-9]{0,3}$ ]] || { echo "cdn.sh: bad CDN_N, CDN_MB, CDN_REPS or CDN_PARALLEL" >&2; exit 2; }
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^# About/p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

log() { printf '[cdn %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    [[ -f $B/build.ninja ]] || meson setup "$B" "$SRC" --buildtype=release >/dev/null || exit 1
    ninja -C "$B" server/ota-server admin/ota-admin vehicle/ota-vehicle >&2 || exit 1
fi
for c in nginx python3 jq curl; do
    command -v "$c" >/dev/null || { echo "cdn.sh: needs $c (deploy/install-deps.sh)" >&2; exit 1; }
done

export OTA_BUILD=$B OTA_SRC=$SRC
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=cdn
# shellcheck source=../tests/integration/cdn_lib.sh
. "$SRC/tests/integration/cdn_lib.sh"
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"
size=$((MB << 20))
head -c "$size" /dev/urandom >"$T/fw.bin"
ids=()
for ((i = 1; i <= N; i++)); do
    ids+=("$(printf 'CDN%04d' "$i")")
done

origin_sent()
{
    curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk '/^ota_http_response_bytes_total\{route="artifacts",method="(GET|HEAD)"\}/ { s += $2 } END { print s + 0 }'
}

# fleet NAME FIRST COUNT [ota-vehicle options]: one ota-vehicle --fleet process in the
# background; its summary line in $T/NAME.out
fleet()
{
    local name=$1 first=$2 count=$3
    shift 3
    ota_spawn "$name" timeout 600 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --pubkey "$T/keys/ota.pub" --dir "$T/veh-$name" --fleet "$count" --fleet-certs "$T/pki" \
        --fleet-ids 'CDN%04d' --fleet-first "$first" --parallel "$PAR" --poll-interval 0.2 \
        --timeout 500 --once "$@"
    FLEET_PID=$SPAWN_PID
}

one_run()
{
    local mode=$1 rep=$2 sha c t0 t1 cpu0 cpu1 ecpu0=0 ecpu1=0 got=0 half=$((N / 2)) p1 p2 rc
    rm -rf "$T/ota.db" "$T/ota.db-wal" "$T/ota.db-shm" "$T/store" "$T/keys" "$T"/veh-* "$T/edge"
    if [[ $mode == edge ]]; then
        cdn_prepare "edge$rep"
        ota_setup "${CDN_CONF[@]}"
    else
        ota_setup
    fi
    for id in "${ids[@]}"; do
        [[ -s $T/pki/$id.crt ]] || ota_client_cert "$id" >/dev/null
        printf '%s\n' "$id"
    done | awk 'BEGIN { print "id" } { print }' >"$T/fleet.csv"
    ota_admin vehicle import "$T/fleet.csv" >/dev/null || fail "import"
    sha=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin) || fail "upload"
    c=$(ota_admin campaign create --name "cdn $mode" --artifact "$sha" --all) || fail "create"
    ota_admin campaign start "$c" >/dev/null || fail "start"
    ota_start_server
    [[ $mode != edge ]] || cdn_start_edge
    cpu0=$(cpu_of "$SERVER_PID")
    [[ $mode != edge ]] || ecpu0=$(cpu_of $(pgrep -P "$EDGE_PID") "$EDGE_PID")
    t0=$EPOCHREALTIME
    fleet cut 1 "$half" --cut-after $((size / 2)) --cuts 1
    p1=$FLEET_PID
    fleet whole $((half + 1)) $((N - half))
    p2=$FLEET_PID
    for p in "$p1" "$p2"; do
        rc=0
        wait "$p" || rc=$?
        unset "_ota_names[$p]"
        [[ $rc -eq 0 ]] || { ota_log_tail "$T/cut.log"; ota_log_tail "$T/whole.log"; fail "$mode: a fleet exited $rc"; }
    done
    t1=$EPOCHREALTIME
    cpu1=$(cpu_of "$SERVER_PID")
    [[ $mode != edge ]] || ecpu1=$(cpu_of $(pgrep -P "$EDGE_PID") "$EDGE_PID")
    got=0
    for name in cut whole; do
        # the summary line: done N failed N bytes B seconds S
        got=$((got + $(awk '$1 == "done" && $5 == "bytes" { b = $6 } END { print b + 0 }' "$T/$name.log")))
    done
    sent=$(origin_sent)
    ota_stop "$SERVER_PID"
    [[ $mode != edge ]] || ota_stop "$EDGE_PID"
    printf '%s|%s|%s|%s|%s|%s\n' "$mode" "$got" "$sent" "$(fcalc "$cpu1 - $cpu0")" \
        "$(fcalc "$ecpu1 - $ecpu0")" "$(fcalc "$t1 - $t0")" >>"$RES"
    log "$mode rep $rep: vehicles got $got B, origin sent $sent B, origin CPU $(fcalc "$cpu1 - $cpu0") s, $(fcalc "$t1 - $t0") s"
}

for ((rep = 1; rep <= REPS; rep++)); do
    for mode in origin edge; do
        one_run "$mode" "$rep"
    done
done

median() # MODE FIELD
{
    awk -F'|' -v m="$1" -v f="$2" '$1 == m { print $f }' "$RES" | median_of
}
{
    echo "# The origin's load behind the nginx edge"
    echo
    echo "bench/cdn.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build ($B), nginx $(nginx -v 2>&1 | sed 's|.*/||'):"
    echo "$N ota-vehicle download a $MB MiB artifact ($((N / 2)) cut half way and resumed), straight"
    echo "from ota-server or through deploy/cdn/nginx-edge.conf.in (8 MiB slices, cold cache), median of $REPS."
    echo
    echo "| path | delivered MiB | origin sent MiB | origin bytes / delivered | origin CPU s | origin CPU s / delivered GiB | edge CPU s | wall s |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for mode in origin edge; do
        got=$(median "$mode" 2) sent=$(median "$mode" 3) cpu=$(median "$mode" 4)
        printf '| %s | %.0f | %.0f | %.3f | %.2f | %.3f | %.2f | %.1f |\n' "$mode" \
            "$(fcalc "$got / 1048576")" "$(fcalc "$sent / 1048576")" "$(fcalc "$sent / $got")" \
            "$cpu" "$(fcalc "$cpu / ($got / 1073741824)")" "$(median "$mode" 5)" "$(median "$mode" 6)"
    done
} >"$OUT"
cat "$OUT"
