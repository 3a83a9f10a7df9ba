#!/usr/bin/env bash
# rollout.sh: what a staged rollout's rules cost on the status path (issue "staged
# rollouts"), side by side. ROLLOUT_N vehicles each report `downloading` then `installed`
# over MQTT (tests/integration/mqtt_pub.py, one connection, 100 in flight), ota-notifier
# applies them (ota_status_apply, one transaction each), and the status reports per
# second are timed from the first applied to the last (the notifier's stats file), for:
#   plain     a campaign without rules: the reference
#   rules     --stages 100% --max-failures 50%: one stage, so every final report pays the
#             rule check (the per-stage counts the triggers keep, the stage rows read, the
#             decision) and nothing else
#   stages    --stages 1%,10%,100% --max-failures 50%: the same plus two stages opening
#             during the run, their update messages queued and published meanwhile
# Reports are sent in stage order, so each vehicle's stage is open when its report comes.
# The three alternate (plain rules stages, plain rules stages, ...), ROLLOUT_REPS times,
# each on a fresh database, broker and daemons; the table has the median and the ratio
# to plain.
#
# Environment:
#   ROLLOUT_N       vehicles (default 10000)
#   ROLLOUT_REPS    repetitions (default 3)
#   BENCH_BUILD     build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1  use the binaries in BENCH_BUILD as they are
#   BENCH_OUT       results file (default bench/results/rollout.md)
# About 2 minutes with the defaults on 2 cores. Loopback only, free ports, every process
# stopped by PID (tests/integration/lib.sh).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
N=${ROLLOUT_N:-10000}
REPS=${ROLLOUT_REPS:-3}
OUT=${BENCH_OUT:-$BENCH/results/rollout.md}
[[ $N =~ ^[1-9][0-9]{2,6}$ && $REPS =~ ^[1-9]$ ]] || { echo "rollout.sh: bad ROLLOUT_N or ROLLOUT_REPS" >&2; exit 2; }
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^# About/p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

log() { printf '[rollout %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    [[ -f $B/build.ninja ]] || meson setup "$B" "$SRC" --buildtype=release >/dev/null || exit 1
    ninja -C "$B" server/ota-server admin/ota-admin notifier/ota-notifier >&2 || exit 1
fi
for c in mosquitto sqlite3 python3 jq; do
    command -v "$c" >/dev/null || { echo "rollout.sh: needs $c (deploy/install-deps.sh)" >&2; exit 1; }
done

export OTA_BUILD=$B OTA_SRC=$SRC
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=rollout
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"
head -c 65536 /dev/urandom >"$T/fw.bin"
awk -v n="$N" 'BEGIN { print "id,group"; for (i = 1; i <= n; i++) printf "V%06d,fleet\n", i }' \
    >"$T/fleet.csv"

applied()
{
    awk '$1 == "ota_notifier_status_applied_total" { print $2 }' "$T/stats.prom" 2>/dev/null | tail -n 1
}

one_run()
{
    local mode=$1 rep=$2 c sha t0 t1 a first_t
    local -a opts=()
    case $mode in
    rules) opts=(--stages 100% --max-failures 50%) ;;
    stages) opts=(--stages 1%,10%,100% --max-failures 50%) ;;
    esac
    rm -rf "$T/ota.db" "$T/ota.db-wal" "$T/ota.db-shm" "$T/store" "$T/keys" "$T/stats.prom"
    unset MQTT_PORT
    ota_start_broker "max_queued_messages 100000"
    ota_setup "[notifier]" "stats_file = $T/stats.prom"
    ota_admin vehicle import "$T/fleet.csv" >/dev/null || fail "import"
    sha=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin) || fail "upload"
    c=$(ota_admin campaign create --name "bench $mode" --artifact "$sha" --group fleet "${opts[@]}") ||
        fail "create"
    ota_admin campaign start "$c" >/dev/null || fail "start"
    ota_start_notifier
    drained() { [[ $(sqlite3 -cmd ".timeout 5000" "$T/ota.db" "SELECT count(*) FROM outbox WHERE state = 'pending'") == 0 ]]; }
    wait_until 120 drained || fail "the start's messages were not published"
    # downloading then installed per vehicle, vehicles in stage order (0 for plain)
    sqlite3 -cmd ".timeout 5000" "$T/ota.db" "SELECT vehicle FROM deployments WHERE campaign = $c
        ORDER BY stage, vehicle" |
        awk -v c="$c" '{ printf "ota/v1/vehicles/%s/status\t{\"campaign\":%s,\"state\":\"downloading\",\"bytes\":1}\n", $1, c
                         printf "ota/v1/vehicles/%s/status\t{\"campaign\":%s,\"state\":\"installed\",\"bytes\":65536}\n", $1, c }' \
            >"$T/reports.tsv"
    t0=$EPOCHREALTIME
    python3 "$SRC/tests/integration/mqtt_pub.py" 127.0.0.1 "$MQTT_PORT" "bench-$mode-$rep" \
        <"$T/reports.tsv" >/dev/null || fail "mqtt_pub.py"
    # the last report finishes the campaign: look every 20 ms (stats files are written
    # once a second, too coarse)
    local deadline=$((SECONDS + 300))
    until [[ $(sqlite3 -cmd ".timeout 5000" "$T/ota.db" "SELECT state FROM campaigns WHERE id = $c") == finished ]]; do
        ((SECONDS < deadline)) || fail "$mode: not finished; $(applied) of $((2 * N)) reports applied"
        sleep 0.02
    done
    t1=$EPOCHREALTIME
    ota_stop "$NOTIFIER_PID"
    ota_stop "$BROKER_PID"
    rec_v=$(fcalc "2 * $N / ($t1 - $t0)")
    printf '%s|%s\n' "$mode" "$rec_v" >>"$RES"
    log "$mode rep $rep: $rec_v reports/s"
}

for ((rep = 1; rep <= REPS; rep++)); do
    for mode in plain rules stages; do
        one_run "$mode" "$rep"
    done
done

median()
{
    awk -F'|' -v m="$1" '$1 == m { print $2 }' "$RES" | median_of
}
plain=$(median plain)
{
    echo "# Status reports with and without rollout rules"
    echo
    echo "bench/rollout.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build ($B):"
    echo "$N vehicles x (downloading, installed) over MQTT through ota-notifier, median of $REPS."
    echo
    echo "| campaign | status reports/s | ratio to plain |"
    echo "|---|---:|---:|"
    for mode in plain rules stages; do
        v=$(median "$mode")
        printf '| %s | %.0f | %.2f |\n' "$mode" "$v" "$(fcalc "$v / $plain")"
    done
} >"$OUT"
cat "$OUT"
