#!/usr/bin/env bash
# scale.sh: per-vehicle costs at 10k, 100k and 1M vehicles in one run (issue "a million
# vehicles on one host"). For each fleet size, on a fresh database, broker and daemons:
#   import     ota-admin vehicle import of a CSV of N vehicles (the CLI's bulk path)
#   start      ota-admin campaign start of a campaign to all of them (ota-notifier
#              stopped), while bench/write_probe.sh runs `ota-admin vehicle set` on
#              another vehicle every 10 ms: the longest such command, the wait another
#              writer saw
#   publish    ota-notifier started on the N due messages: time to its first message at
#              a subscriber, messages/s to the last one, its CPU per message; the
#              broker's RSS growth per retained message and one message's payload bytes,
#              beside the growth for 1-byte retained messages (tests/integration/mqtt_pub.py)
#   final      SCALE_FINALS vehicles report downloading then installed (curl, mutual
#              TLS, keep-alive): the installed request's latency, median and p99
#   show       ota-admin campaign show --json --vehicles (every deployment) and the summary: time
#              and peak RSS (/usr/bin/time)
#   dashboard  GET /api/v1/campaigns/ID (the dashboard's campaign view), median of 5, with
#              SCALE_FINALS deployments ended and with all of them ended
# and prints a table with a column per size and the ratio of the largest to the smallest.
#
# Environment:
#   SCALE_SIZES     fleet sizes (default "10000 100000 1000000")
#   SCALE_FINALS    vehicles sending final reports (default 1000)
#   BENCH_BUILD     build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1  use the binaries in BENCH_BUILD as they are
#   BENCH_OUT       results file (default bench/results/scale.md)
#   BENCH_KEEP=1    keep the temp dir
# About 7-8 minutes with the defaults on 2 cores; 1M vehicles need ~3 GB of RAM (most of it
# mosquitto's retained messages) and ~2 GB of disk in $TMPDIR. Loopback only, free ports,
# every process stopped by PID (tests/integration/lib.sh).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
SIZES=${SCALE_SIZES:-"10000 100000 1000000"}
FINALS=${SCALE_FINALS:-1000}
OUT=${BENCH_OUT:-$BENCH/results/scale.md}
for v in $SIZES "$FINALS"; do
    [[ $v =~ ^[1-9][0-9]{0,7}$ ]] || { echo "scale.sh: bad number '$v'" >&2; exit 2; }
done
for n in $SIZES; do
    [[ $n -ge $FINALS ]] || { echo "scale.sh: size $n < SCALE_FINALS $FINALS" >&2; exit 2; }
done
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^# every process/p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

log() { printf '[scale %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    [[ -f $B/build.ninja ]] || meson setup "$B" "$SRC" --buildtype=release >/dev/null || exit 1
    ninja -C "$B" server/ota-server admin/ota-admin notifier/ota-notifier >&2 || exit 1
fi
need_pkgs=()
command -v mosquitto >/dev/null || need_pkgs+=(mosquitto)
command -v mosquitto_sub >/dev/null || need_pkgs+=(mosquitto-clients)
command -v sqlite3 >/dev/null || need_pkgs+=(sqlite3)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v python3 >/dev/null || need_pkgs+=(python3)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "scale.sh: please install ${need_pkgs[*]}" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >&2 || exit 1
fi

export OTA_BUILD=$B OTA_SRC=$SRC
[[ ${BENCH_KEEP:-0} == 1 ]] && export OTA_KEEP_TMP=1
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=scale
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"

rec() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$RES"; } # METRIC SIZE VALUE
sql() { sqlite3 -cmd ".timeout 10000" "$T/ota.db" "$1"; }
vid() { printf 'V%07d' "$1"; }

log "certificates for $FINALS reporting vehicles"
ota_pki
for ((i = 1; i <= FINALS; i++)); do
    ota_client_cert "$(vid "$i")" >/dev/null 2>&1
done
head -c 65536 /dev/urandom >"$T/fw.bin"

one_size()
{
    local n=$1 t0 t1 c sha first_t last_t rss0 i v code
    log "== $n vehicles"
    rm -rf "$T/ota.db" "$T/ota.db-wal" "$T/ota.db-shm" "$T/store" "$T/keys"
    unset MQTT_PORT
    ota_start_broker "max_queued_messages 100000"
    ota_setup
    ota_start_server

    awk -v n="$n" 'BEGIN { print "id,group"; for (i = 1; i <= n; i++) printf "V%07d,fleet\n", i
        print "PROBE,other" }' \
        >"$T/fleet.csv"
    t0=$EPOCHREALTIME
    ota_admin vehicle import "$T/fleet.csv" >/dev/null || fail "import of $n vehicles failed"
    t1=$EPOCHREALTIME
    rec "import, µs per vehicle" "$n" "$(fcalc "($t1 - $t0) * 1e6 / $n")"
    sha=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin) || fail "upload"
    c=$(ota_admin campaign create --name "scale $n" --artifact "$sha" --group fleet) || fail "create"

    "$BENCH/write_probe.sh" "$OTA_ADMIN" "$OTA_CONF" PROBE "$T/probe.out" &
    local probe=$!
    sleep 0.5
    t0=$EPOCHREALTIME
    ota_admin campaign start "$c" --json >"$T/start.json" || fail "campaign start $c"
    t1=$EPOCHREALTIME
    kill -TERM "$probe"
    wait "$probe"
    [[ $(jq -r .start.pending "$T/start.json") == "$n" ]] || fail "start: $(cat "$T/start.json")"
    rec "campaign start, µs per vehicle" "$n" "$(fcalc "($t1 - $t0) * 1e6 / $n")"
    rec "campaign start: longest concurrent write (vehicle set), ms" "$n" \
        "$(sed -n 's/.*max_ms=\([^ ]*\).*/\1/p' "$T/probe.out")"
    log "start: $(cat "$T/probe.out")"

    # the notifier starts on n due messages; a subscriber to every vehicle's topic times
    # the first and the n-th
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'ota/v1/vehicles/+/update' -C "$n" -W 1200 |
        python3 -c '
import sys, time
first, k = None, 0
for line in sys.stdin:
    k += 1
    if first is None:
        first = time.time()
        open(sys.argv[1], "w").write(line)
print("%.6f %.6f %d" % (first or 0, time.time(), k))' "$T/first.msg" >"$T/sub.out" &
    local sub=$!
    sleep 0.5
    rss0=$(rss_of "$BROKER_PID")
    t0=$EPOCHREALTIME
    ota_start_notifier
    wait "$sub"
    read -r first_t last_t k <"$T/sub.out"
    [[ $k == "$n" ]] || fail "the subscriber got $k of $n messages"
    unpublished() { [[ $(sql "SELECT count(*) FROM outbox WHERE campaign = $c AND state <> 'published'") == 0 ]]; }
    wait_until 60 unpublished || fail "outbox rows left unpublished"
    rec "notifier: first message after its start, s" "$n" "$(fcalc "$first_t - $t0")"
    rec "notifier: messages/s (first to last)" "$n" "$(fcalc "$n / ($last_t - $first_t)")"
    rec "notifier: CPU µs per message" "$n" "$(fcalc "$(cpu_of "$NOTIFIER_PID") * 1e6 / $n")"
    rec "broker: RSS bytes per retained message" "$n" \
        "$(fcalc "($(rss_of "$BROKER_PID") - $rss0) * 1024 / $n")"
    rec "broker: payload bytes per message" "$n" "$(($(wc -c <"$T/first.msg") - 1))"
    # reference: what mosquitto itself holds per retained message, a 1-byte one on a topic
    # of the same shape
    rss0=$(rss_of "$BROKER_PID")
    awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "ref/v1/vehicles/R%07d/update\tx\n", i }' |
        MQTT_PUB_RETAIN=1 MQTT_PUB_DEADLINE=1200 python3 "$SRC/tests/integration/mqtt_pub.py" \
            127.0.0.1 "$MQTT_PORT" scale-ref >/dev/null || fail "reference publish"
    rec "broker: RSS bytes per retained 1-byte message (reference)" "$n" \
        "$(fcalc "($(rss_of "$BROKER_PID") - $rss0) * 1024 / $n")"

    # final reports on keep-alive connections
    : >"$T/finals.txt"
    for ((i = 1; i <= FINALS; i++)); do
        v=$(vid "$i")
        curl -s --cacert "$T/pki/ca.crt" --cert "$T/pki/$v.crt" --key "$T/pki/$v.key" \
            -H 'Content-Type: application/json' -o /dev/null -w '%{http_code} %{time_total}\n' \
            --data "{\"campaign\":$c,\"state\":\"downloading\",\"bytes\":0}" "$SERVER_URL/v1/status" \
            --next --cacert "$T/pki/ca.crt" --cert "$T/pki/$v.crt" --key "$T/pki/$v.key" \
            -H 'Content-Type: application/json' -o /dev/null -w '%{http_code} %{time_total}\n' \
            --data "{\"campaign\":$c,\"state\":\"installed\",\"bytes\":65536}" "$SERVER_URL/v1/status" \
            | sed -n 2p >>"$T/finals.txt"
    done
    code=$(awk '$1 != 204' "$T/finals.txt" | head -n 1)
    [[ -z $code ]] || fail "a final report was answered: $code"
    sort -n -k2 "$T/finals.txt" | awk -v n="$n" '{ t[NR] = $2 * 1000 } END {
        printf "final report (installed), median ms|%s|%.2f\n", n, t[int((NR + 1) / 2)];
        i = int(NR * 0.99); if (i < 1) i = 1;
        printf "final report (installed), p99 ms|%s|%.2f\n", n, t[i] }' >>"$RES"

    local w m
    /usr/bin/time -f '%e %M' -o "$T/show.time" "$OTA_ADMIN" --config "$OTA_CONF" \
        campaign show "$c" --json --vehicles >"$T/show.json" || fail "campaign show --json --vehicles"
    read -r w m <"$T/show.time"
    python3 - "$T/show.json" "$n" "$FINALS" <<'EOF' || fail "campaign show --json: wrong output"
import json, sys
d = json.load(open(sys.argv[1]))
n, fin = int(sys.argv[2]), int(sys.argv[3])
assert d["counts"]["installed"] == fin, d["counts"]
assert d["counts"]["pending"] == n - fin, d["counts"]
assert len(d["deployments"]) == n, len(d["deployments"])
EOF
    rec "campaign show --json --vehicles, µs per vehicle" "$n" "$(fcalc "$w * 1e6 / $n")"
    rec "campaign show --json --vehicles, peak RSS MiB" "$n" "$(fcalc "$m / 1024")"
    /usr/bin/time -f '%e %M' -o "$T/show.time" "$OTA_ADMIN" --config "$OTA_CONF" \
        campaign show "$c" >/dev/null || fail "campaign show"
    read -r w m <"$T/show.time"
    rec "campaign show (summary), s" "$n" "$w"

    # the dashboard's campaign view: show's summary plus the ended-over-time series, read
    # from every ended deployment; with FINALS ended, then with all of them ended (set in
    # the database directly: the series reads deployments, the worst case for it)
    rec "dashboard campaign view, ms ($FINALS ended)" "$n" "$(api_ms "$c")"
    sqlite3 "$T/ota.db" "UPDATE deployments SET state = 'installed', updated_at = $(date +%s) \
        WHERE campaign = $c" || fail "marking every deployment ended"
    rec "dashboard campaign view, ms (all ended)" "$n" "$(api_ms "$c")"

    ota_stop "$NOTIFIER_PID"
    ota_stop "$SERVER_PID"
    ota_stop "$BROKER_PID"
    unset NOTIFIER_PID SERVER_PID BROKER_PID
    rm -f "$T/fleet.csv" "$T/show.json"
}

# api_ms CAMPAIGN: the median of 5 GETs of the dashboard's view of CAMPAIGN, in ms
api_ms()
{
    local i
    for ((i = 0; i < 5; i++)); do
        curl -sf -o /dev/null -w '%{time_total}\n' \
            "http://127.0.0.1:$ADMIN_PORT/api/v1/campaigns/$1?points=60" || fail "GET /api/v1/campaigns/$1"
    done | median_of | awk '{ printf "%.1f", $1 * 1000 }'
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for n in $SIZES; do
    one_size "$n"
done

# the table: a column per size, the ratio of the largest to the smallest
read -r -a sz <<<"$SIZES"
{
    echo "# bench/scale.sh, $started"
    echo
    echo "$(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "release build ($B), $FINALS final reports per size; mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p' | head -n 1)."
    echo
    printf '| metric |'
    for n in "${sz[@]}"; do printf ' %s |' "$n"; done
    printf ' %s / %s |\n|---|' "${sz[-1]}" "${sz[0]}"
    for n in "${sz[@]}"; do printf -- '--:|'; done
    printf -- '--:|\n'
    cut -d'|' -f1 "$RES" | awk '!seen[$0]++' | while IFS= read -r metric; do
        printf '| %s |' "$metric"
        for n in "${sz[@]}"; do
            printf ' %s |' "$(awk -F'|' -v m="$metric" -v n="$n" '$1 == m && $2 == n { printf "%.4g", $3 }' "$RES")"
        done
        awk -F'|' -v m="$metric" -v a="${sz[0]}" -v b="${sz[-1]}" '
            $1 == m && $2 == a { x = $3 } $1 == m && $2 == b { y = $3 }
            END { if (x > 0) printf " %.2f |\n", y / x; else print " |" }' "$RES"
    done
} >"$T/table.md"
cat "$T/table.md"
mkdir -p "$(dirname "$OUT")"
cp "$T/table.md" "$OUT"
log "table written to $OUT"
