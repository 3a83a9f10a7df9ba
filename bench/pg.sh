#!/usr/bin/env bash
# pg.sh: SQLite against PostgreSQL on this machine (issue "Past one machine"), and one
# origin against two on one PostgreSQL database. For each backend, on a fresh database
# (a PostgreSQL cluster of the bench's own, tests/pg_cluster.sh), alternating, PG_REPS times:
#   campaign   PG_FLEET vehicles imported, a campaign to all started with ota-notifier
#              stopped, then the notifier started: messages/s until no row is unpublished
#   updates    GET /v1/updates at 64 keep-alive connections for PG_SECONDS (loadgen):
#              req/s, ota-server CPU µs/request and, for PostgreSQL, the database's
#   status     PG_REPORTS vehicles each report downloading then installed (curl, 8 at a
#              time): reports/s
#   2 origins  the updates load from two load generators of 32 connections each, both at
#              one origin, then one at each of two ota-servers on the same database
# Medians of the repetitions. Two cores share the load generator, the servers and the
# database: this shows overhead, not scaling (bench/README.md says what to expect apart).
#
# Environment:
#   PG_FLEET (default 10000), PG_REPORTS (500), PG_SECONDS (5), PG_REPS (3)
#   BENCH_BUILD     build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1  use the binaries in BENCH_BUILD as they are
#   BENCH_OUT       results file (default bench/results/pg.md)
# About 4 minutes with the defaults on 2 cores. Loopback only, free ports, every process
# stopped by PID (tests/integration/lib.sh), every cluster stopped and removed.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
FLEET=${PG_FLEET:-10000}
REPORTS=${PG_REPORTS:-500}
SECS=${PG_SECONDS:-5}
REPS=${PG_REPS:-3}
OUT=${BENCH_OUT:-$BENCH/results/pg.md}
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^# About/p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
for v in "$FLEET" "$REPORTS" "$SECS" "$REPS"; do
    [[ $v =~ ^[1-9][0-9]{0,6}$ ]] || { echo "pg.sh: bad number '$v'" >&2; exit 2; }
done
((REPORTS <= FLEET)) || { echo "pg.sh: PG_REPORTS > PG_FLEET" >&2; exit 2; }

log() { printf '[pg %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    [[ -f $B/build.ninja ]] || meson setup "$B" "$SRC" --buildtype=release >/dev/null || exit 1
    ninja -C "$B" server/ota-server admin/ota-admin notifier/ota-notifier bench/loadgen >&2 || exit 1
fi
LOADGEN=$B/bench/loadgen

export OTA_BUILD=$B OTA_SRC=$SRC
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=pgbench
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"
rec() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$RES"; } # METRIC BACKEND VALUE
vid() { printf 'V%06d\n' "$1"; }

log "certificates for $REPORTS reporting vehicles"
ota_pki >/dev/null
mapfile -t reporters < <(for ((i = 1; i <= REPORTS; i++)); do vid "$i"; done)
"$SRC/certs/mkfleet.py" "$T/pki" "$T/pki" "${reporters[@]}" || fail "mkfleet.py"
{
    echo id
    for ((i = 1; i <= FLEET; i++)); do vid "$i"; done
} >"$T/fleet.csv"
head -c 65536 /dev/urandom >"$T/fw.bin"

# the database processes' CPU (PostgreSQL: the postmaster's children)
db_cpu()
{
    if [[ $1 == postgresql ]]; then
        # shellcheck disable=SC2046
        cpu_of "$PG_PID" $(pgrep -P "$PG_PID")
    else
        echo 0
    fi
}

unpublished()
{
    ota_admin outbox list --json 2>/dev/null | jq '[.outbox[] | select(.state != "published")] | length'
}

updates_load() # BACKEND LABEL URL PIDS CONNS
{
    "$LOADGEN" --cacert "$T/pki/ca.crt" --cert "$T/pki/V000001.crt" --key "$T/pki/V000001.key" \
        --url "$3/v1/updates" --conns "$5" --seconds "$SECS" --pids "$4" 2>"$T/loadgen.err" ||
        { cat "$T/loadgen.err" >&2; fail "loadgen ($1, $2)"; }
}

one_run()
{
    local be=$1 rep=$2 c t0 t1 out d0 d1 n
    rm -rf "$T/ota.db" "$T/ota.db-wal" "$T/ota.db-shm" "$T/store" "$T/keys"
    unset OTA_DB_URL MQTT_PORT
    if [[ $be == postgresql ]]; then
        ota_pg_start
    fi
    ota_setup "[server]" "poll_after = 300" "threads = 2"
    ota_admin vehicle import "$T/fleet.csv" >/dev/null || fail "import"
    local sha
    sha=$(ota_admin artifact upload "$T/fw.bin" --version 1 --name fw.bin) || fail "upload"
    c=$(ota_admin campaign create --name bench --artifact "$sha" --all) || fail "create"
    ota_admin campaign start "$c" >/dev/null || fail "start"
    ota_start_broker
    ota_start_server
    t0=$EPOCHREALTIME
    ota_start_notifier
    drained() { [[ $(unpublished) == 0 ]]; }
    wait_until 300 drained || fail "$be: outbox not drained"
    t1=$EPOCHREALTIME
    rec "campaign of $FLEET: messages/s" "$be" "$(fcalc "$FLEET / ($t1 - $t0)")"

    d0=$(db_cpu "$be")
    out=$(updates_load "$be" "1 origin" "$SERVER_URL" "$SERVER_PID" 64)
    d1=$(db_cpu "$be")
    n=$(kv requests "$out")
    rec "/v1/updates c=64: req/s" "$be" "$(kv req_s "$out")"
    rec "/v1/updates c=64: ota-server CPU µs/req" "$be" "$(fcalc "$(kv cpu_s "$out") * 1e6 / $n")"
    rec "/v1/updates c=64: database processes' CPU µs/req (SQLite: inside ota-server)" "$be" "$(fcalc "($d1 - $d0) * 1e6 / $n")"
    # two origins on the same database (SQLite: the same file on this host)
    local pb ab
    pb=$(ota_free_port)
    ab=$(ota_free_port)
    sed -e "s|^listen = .*|listen = 127.0.0.1:$pb|" \
        -e "s|^admin_listen = .*|admin_listen = 127.0.0.1:$ab|" "$OTA_CONF" >"$T/ota-b.conf"
    ota_spawn server-b "$OTA_SERVER" --config "$T/ota-b.conf"
    local spid=$SPAWN_PID
    wait_until 15 _ota_port_accepts "$pb" || fail "second origin"
    # the same split load against one origin first: two load generators, so that the
    # comparison is of origins, not of clients
    split_load "1 origin" "origin A" "$SERVER_URL" "$SERVER_PID"
    split_load "2 origins" "origin B" "https://localhost:$pb" "$spid"
    ota_stop "$spid"

    local s0 s1
    s0=$(cpu_of "$SERVER_PID")
    d0=$(db_cpu "$be")
    t0=$EPOCHREALTIME
    printf '%s\n' "${reporters[@]}" | xargs -P 8 -I{} curl -s --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/{}.crt" --key "$T/pki/{}.key" -H 'Content-Type: application/json' \
        -o /dev/null -w '%{http_code}\n' \
        --data "{\"campaign\":$c,\"state\":\"downloading\",\"bytes\":0}" "$SERVER_URL/v1/status" \
        --next --cacert "$T/pki/ca.crt" --cert "$T/pki/{}.crt" --key "$T/pki/{}.key" \
        -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}\n' \
        --data "{\"campaign\":$c,\"state\":\"installed\",\"bytes\":65536}" "$SERVER_URL/v1/status" \
        >"$T/reports.txt"
    t1=$EPOCHREALTIME
    s1=$(cpu_of "$SERVER_PID")
    d1=$(db_cpu "$be")
    [[ $(grep -vc '^204$' "$T/reports.txt") == 0 ]] || fail "$be: a report was refused"
    rec "status report: ota-server + database CPU µs/report" "$be" \
        "$(fcalc "($s1 - $s0 + $d1 - $d0) * 1e6 / (2 * $REPORTS)")"
    # curl starts a process and a TLS handshake per vehicle: this rate is mostly curl's
    rec "status reports/s ($REPORTS vehicles × 2, curl, 8 at a time)" "$be" \
        "$(fcalc "2 * $REPORTS / ($t1 - $t0)")"

    ota_stop "$NOTIFIER_PID"
    ota_stop "$SERVER_PID"
    ota_stop "$BROKER_PID"
    unset NOTIFIER_PID SERVER_PID BROKER_PID
    if [[ $be == postgresql ]]; then
        pg_cluster_stop "$PG_DIR"
    fi
    log "$be rep $rep done"
}

# split_load WHAT NAME URL PID: 2×32 connections for one_run's backend $be, one load
# generator against origin A and one against NAME at URL (A again, or B); records their
# summed req/s as "/v1/updates 2×32 connections, WHAT"
split_load()
{
    local l1 o1 o2
    updates_load "$be" "origin A" "$SERVER_URL" "$SERVER_PID" 32 >"$T/o1" &
    l1=$!
    updates_load "$be" "$2" "$3" "$4" 32 >"$T/o2"
    wait "$l1" || fail "loadgen against origin A"
    o1=$(cat "$T/o1") o2=$(cat "$T/o2")
    rec "/v1/updates 2×32 connections, $1: req/s (sum)" "$be" \
        "$(fcalc "$(kv req_s "$o1") + $(kv req_s "$o2")")"
}

kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

for ((rep = 1; rep <= REPS; rep++)); do
    for be in sqlite postgresql; do
        one_run "$be" "$rep"
    done
done

median() # METRIC BACKEND
{
    awk -F'|' -v m="$1" -v b="$2" '$1 == m && $2 == b { print $3 }' "$RES" | median_of
}
{
    echo "# SQLite against PostgreSQL"
    echo
    echo "bench/pg.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build ($B), PostgreSQL"
    echo "$("$PG_BIN/postgres" --version | awk '{ print $3 }') (fsync off, synchronous_commit off: the tests' cluster settings),"
    echo "SQLite $(sqlite3 --version 2>/dev/null | awk '{ print $1 }'); median of $REPS, the two alternating. Client, servers and database share the cores."
    echo
    echo "| metric | SQLite | PostgreSQL | PostgreSQL / SQLite |"
    echo "|---|--:|--:|--:|"
    awk -F'|' '{ print $1 }' "$RES" | awk '!seen[$0]++' | while read -r m; do
        s=$(median "$m" sqlite) p=$(median "$m" postgresql)
        if [[ -n $s && -n $p && $s != 0.000000 ]]; then
            printf '| %s | %.1f | %.1f | %.2f |\n' "$m" "$s" "$p" "$(fcalc "$p / $s")"
        else
            printf '| %s | %s | %.1f | |\n' "$m" "${s:-–}" "${p:-0}"
        fi
    done
} >"$OUT"
cat "$OUT"
