# lib.sh: shared helpers for the integration tests (sourced by tests/integration/test_*.sh).
# shellcheck shell=bash
#
# Sourcing it sets `set -euo pipefail`, makes the temp dir $T and traps EXIT (and INT/TERM)
# to stop every process started through it, fail the test if a sanitizer wrote a report
# into a log in $T, and remove $T (kept when OTA_KEEP_TMP=1).
#
# Environment (meson's integ_env sets the first two):
#   OTA_SRC    source root (default: two levels above this file)
#   OTA_BUILD  build dir with server/ota-server, notifier/ota-notifier, admin/ota-admin,
#              vehicle/ota-vehicle (default: $OTA_SRC/build)
#
# API (see each function's comment):
#   ota_free_port                         print a free 127.0.0.1 TCP port
#   ota_pki                               fleet CA + server cert in $T/pki
#   ota_client_cert NAME [--expired|--foreign|mkcert options]
#   ota_edge_cert NAME [options]          a CDN edge certificate
#   ota_setup [extra ota.conf lines]      ota_pki + $T/ota.conf + ota-admin init; OTA_CONF
#   ota_admin ARGS...                     ota-admin --config $OTA_CONF ARGS...
#   ota_start_server [args]               SERVER_PID SERVER_PORT ADMIN_PORT SERVER_URL
#   ota_start_broker [mosquitto.conf lines]  BROKER_PID MQTT_PORT
#   ota_start_notifier [args]             NOTIFIER_PID
#   ota_spawn NAME CMD...                 any background process, logged to $T/NAME.log
#   ota_curl NAME|- curl-args...          mTLS curl as client NAME (- = no certificate)
#   ota_vehicle_once ID [args]            ota-vehicle --once as vehicle ID; status in VRC
#   ota_stop PID                          SIGTERM, bounded wait; fails unless it exits 0
#   check_eq WHAT EXPECTED GOT, check_contains WHAT NEEDLE HAYSTACK, fail MESSAGE
#   wait_until SECONDS CMD...             poll CMD every 0.1 s
#   ota_run CMD..., ota_expect STATUS WHAT CMD...   run CMD, keep $OUT $ERRS $RC / check $RC

set -euo pipefail

OTA_SRC=${OTA_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OTA_BUILD=${OTA_BUILD:-$OTA_SRC/build}
OTA_SERVER=${OTA_SERVER:-$OTA_BUILD/server/ota-server}
OTA_NOTIFIER=${OTA_NOTIFIER:-$OTA_BUILD/notifier/ota-notifier}
OTA_ADMIN=${OTA_ADMIN:-$OTA_BUILD/admin/ota-admin}
OTA_VEHICLE=${OTA_VEHICLE:-$OTA_BUILD/vehicle/ota-vehicle}
export OTA_SRC OTA_BUILD OTA_SERVER OTA_NOTIFIER OTA_ADMIN OTA_VEHICLE

T=$(mktemp -d "${TMPDIR:-/tmp}/ota-test.XXXXXX")
export T

# Processes started through this file: pid -> name. Names in _ota_strict must exit 0 on
# SIGTERM (DESIGN.md "Operation"); a non-zero status there is a crash or a sanitizer exit.
declare -A _ota_names=()
declare -A _ota_strict=()
declare -A _ota_started=()
_ota_port_locks=${TMPDIR:-/tmp}/ota-test-ports-$(id -u)
_ota_test_name=$(basename "$0" .sh)

# The sanitizer reports that fail a test wherever they appear in $T's logs.
_ota_sanitizer_re='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: ThreadSanitizer'

# Prints MESSAGE to stderr and exits 1 (the EXIT trap cleans up).
fail()
{
    echo "FAIL [$_ota_test_name]: $*" >&2
    exit 1
}

_ota_now_ms()
{
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# Prints the last N (default 40) lines of FILE to stderr, framed.
ota_log_tail()
{
    local f=$1 n=${2:-40}
    [[ -s $f ]] || return 0
    echo "----- last $n lines of ${f#"$T"/} -----" >&2
    tail -n "$n" "$f" >&2 || true
    echo "-----" >&2
}

# ---------------------------------------------------------------- assertions

# check_eq WHAT EXPECTED GOT: fails the test unless EXPECTED == GOT (as strings).
check_eq()
{
    [[ $# -eq 3 ]] || fail "check_eq needs WHAT EXPECTED GOT, got $# arguments"
    if [[ "$2" != "$3" ]]; then
        fail "$1: expected '$2', got '$3'"
    fi
    echo "ok - $1"
}

# check_contains WHAT NEEDLE HAYSTACK: fails the test unless HAYSTACK contains NEEDLE.
check_contains()
{
    [[ $# -eq 3 ]] || fail "check_contains needs WHAT NEEDLE HAYSTACK, got $# arguments"
    if [[ "$3" != *"$2"* ]]; then
        local h=$3
        [[ ${#h} -le 2000 ]] || h="${h:0:2000}... (${#3} bytes)"
        fail "$1: expected to contain '$2', got '$h'"
    fi
    echo "ok - $1"
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (returns 0) or SECONDS
# have passed (prints what timed out, returns 1: a plain call fails the test).
wait_until()
{
    local secs=$1
    shift
    [[ $secs =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "wait_until: bad SECONDS '$secs'"
    local whole=${secs%%.*} frac=000 deadline tries=0 max
    [[ $secs != *.* ]] || frac=${secs#*.}000
    deadline=$(($(_ota_now_ms) + 10#$whole * 1000 + 10#${frac:0:3}))
    max=$((10#$whole * 10 + 10#${frac:0:1} + 1))
    while :; do
        if "$@"; then
            return 0
        fi
        tries=$((tries + 1))
        if [[ $(_ota_now_ms) -ge $deadline || $tries -ge $max ]]; then
            echo "wait_until: timed out after $secs s: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

# ota_run CMD...: runs CMD; its stdout is in $OUT, its stderr in $ERRS, its status in $RC.
ota_run()
{
    RC=0
    "$@" >"$T/run.out" 2>"$T/run.err" || RC=$?
    OUT=$(<"$T/run.out")
    ERRS=$(<"$T/run.err")
}

# ota_expect STATUS WHAT CMD...: runs CMD (as ota_run) and fails the test unless it exits
# with STATUS.
ota_expect()
{
    local want=$1 what=$2
    shift 2
    ota_run "$@"
    [[ $RC == "$want" ]] || fail "$what: exit status expected $want, got $RC; stderr: $ERRS; stdout: ${OUT:0:500}"
    echo "ok - $what (exit $want)"
}

# ---------------------------------------------------------------- ports

# ota_free_port: prints a TCP port that is free on 127.0.0.1 right now. The port is
# picked at random (never fixed), checked by binding it, and reserved against the other
# tests running at the same time (a lock dir, removed at exit).
ota_free_port()
{
    local lo=20000 hi=60000 eph_lo eph_hi p i
    # Prefer ports outside the kernel's ephemeral range, which outgoing connections use.
    if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
        if ((eph_lo - lo >= 5000)); then
            hi=$((eph_lo - 1))
        elif ((hi - eph_hi >= 5000)); then
            lo=$((eph_hi + 1))
        fi
    fi
    mkdir -p "$_ota_port_locks" 2>/dev/null || true
    # Locks of tests that were SIGKILLed are stale after an hour.
    find "$_ota_port_locks" -mindepth 1 -maxdepth 1 -mmin +60 -exec rm -rf {} + 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        mkdir "$_ota_port_locks/$p" 2>/dev/null || continue
        # Called as $(ota_free_port): a file, not a variable, remembers the lock.
        echo "$p" >>"$T/.ports"
        if python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
            echo "$p"
            return 0
        fi
        rmdir "$_ota_port_locks/$p" 2>/dev/null || true
    done
    fail "ota_free_port: no free port found in $lo-$hi after 200 tries"
}

# _ota_port_accepts PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
_ota_port_accepts()
{
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- processes

# ota_track PID NAME [strict]: stop PID at exit; with "strict" it must exit 0 on SIGTERM.
ota_track()
{
    _ota_names[$1]=$2
    _ota_started[$1]=$(_ota_now_ms)
    if [[ ${3:-} == strict ]]; then
        _ota_strict[$1]=1
    fi
}

# ota_spawn NAME CMD...: runs CMD in the background with stdout and stderr appended to
# $T/NAME.log, tracked for cleanup; its pid is in $SPAWN_PID.
ota_spawn()
{
    local name=$1
    shift
    "$@" >>"$T/$name.log" 2>&1 &
    SPAWN_PID=$!
    export SPAWN_PID
    ota_track "$SPAWN_PID" "$name"
}

# _ota_term PID: sends SIGTERM, but not to a process younger than 0.3 s: a signal that
# arrives between fork and exec, or before the program set its handler, is lost or kills
# it with the default action, which is not what a test means to check.
_ota_term()
{
    local age
    age=$(($(_ota_now_ms) - ${_ota_started[$1]:-0}))
    if ((age < 300)); then
        sleep "0.$(printf '%03d' $((300 - age)))"
    fi
    kill -TERM "$1" 2>/dev/null || true
}

# _ota_wait_exit PID SECONDS: waits for PID (a child of this shell) to end and sets
# _ota_rc to its exit status, or to "" if it is still running after SECONDS. Repeats
# SIGTERM once half way, in case the first one was lost.
_ota_wait_exit()
{
    local pid=$1 i
    _ota_rc=""
    for ((i = 0; i < $2 * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            _ota_rc=0
            wait "$pid" 2>/dev/null || _ota_rc=$?
            return 0
        fi
        if ((i == $2 * 5)); then
            kill -TERM "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
    return 0
}

# ota_stop PID: sends SIGTERM, waits up to 10 s (then SIGKILL) and sets OTA_STOP_RC to the
# exit status. Returns 1 (failing the test when called plainly) unless the process exited
# 0, because ota-server, ota-notifier and mosquitto exit 0 on SIGTERM and anything else is
# a crash or a sanitizer report.
ota_stop()
{
    local pid=$1 name rc
    name=${_ota_names[$pid]:-pid}
    _ota_term "$pid"
    _ota_wait_exit "$pid" 10
    rc=$_ota_rc
    if [[ -z $rc ]]; then
        echo "ota_stop: $name (pid $pid) still running 10 s after SIGTERM; SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        [[ $rc -ne 0 ]] || rc=137
    fi
    unset "_ota_names[$pid]" "_ota_strict[$pid]" "_ota_started[$pid]"
    # shellcheck disable=SC2034 # read by tests
    OTA_STOP_RC=$rc
    if [[ $rc -ne 0 ]]; then
        echo "ota_stop: $name (pid $pid) exited with status $rc on SIGTERM" >&2
        [[ ! -s $T/$name.log ]] || ota_log_tail "$T/$name.log"
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------- PKI

# ota_pki: fleet CA ($T/pki/ca.crt) and a server certificate ($T/pki/server.crt/.key,
# SAN localhost, 127.0.0.1, ::1). Does nothing when they exist already.
ota_pki()
{
    [[ -s $T/pki/ca.crt && -s $T/pki/server.crt ]] && return 0
    "$OTA_SRC/certs/mkca.sh" "$T/pki" "ota-origin test fleet CA" >/dev/null ||
        fail "ota_pki: mkca.sh failed"
    "$OTA_SRC/certs/mkcert.sh" "$T/pki" server server || fail "ota_pki: mkcert.sh server failed"
}

_ota_leaf_cert()
{
    local kind=$1 name=$2
    shift 2
    local args=()
    ota_pki
    while [[ $# -gt 0 ]]; do
        case $1 in
        --foreign)
            # A CA the server does not trust, same shape as the fleet CA.
            if [[ ! -s $T/pki/foreign/ca.crt ]]; then
                "$OTA_SRC/certs/mkca.sh" "$T/pki/foreign" "foreign CA" ||
                    fail "mkca.sh foreign failed"
            fi
            args+=(--ca "$T/pki/foreign")
            ;;
        *) args+=("$1") ;;
        esac
        shift
    done
    "$OTA_SRC/certs/mkcert.sh" "$T/pki" "$kind" "$name" "${args[@]}" ||
        fail "mkcert.sh $kind $name ${args[*]} failed"
}

# ota_client_cert NAME [--expired|--foreign|--not-yet-valid|--cn CN|...]: makes
# $T/pki/NAME.crt/.key (CN=NAME, clientAuth) signed by the fleet CA, or expired, or by a
# foreign CA. Other options go to certs/mkcert.sh.
ota_client_cert()
{
    [[ $# -ge 1 ]] || fail "ota_client_cert needs NAME"
    _ota_leaf_cert client "$@"
}

# ota_fleet ID...: registers the vehicles ID... with one `vehicle import` and makes their
# certificates $T/pki/ID.crt/.key in one process (certs/mkfleet.py): for fleets, where
# ota_client_cert and `vehicle add` per vehicle (~0.3 s each) would take most of a test.
ota_fleet()
{
    ota_pki
    "$OTA_SRC/certs/mkfleet.py" "$T/pki" "$T/pki" "$@" || fail "ota_fleet: mkfleet.py failed"
    printf '%s\n' id "$@" >"$T/fleet.csv"
    ota_admin vehicle import "$T/fleet.csv" >/dev/null || fail "ota_fleet: vehicle import failed"
}

# ota_edge_cert NAME [options]: as ota_client_cert, for a CDN edge.
ota_edge_cert()
{
    [[ $# -ge 1 ]] || fail "ota_edge_cert needs NAME"
    _ota_leaf_cert edge "$@"
}

# ---------------------------------------------------------------- ota.conf and programs

_ota_need_bin()
{
    [[ -x $1 ]] || fail "$1 is not built (OTA_BUILD=$OTA_BUILD)"
}

# ota_pg_start: a PostgreSQL cluster of the test's own (tests/pg_cluster.sh) with an empty
# database "ota"; OTA_DB_URL names it, so ota_setup puts it in [paths] db. Stopped and
# removed at exit. Sets PG_DIR PG_PORT PG_PID PG_URL too.
_ota_pg_dirs=()
ota_pg_start()
{
    # shellcheck source=../pg_cluster.sh
    source "$OTA_SRC/tests/pg_cluster.sh"
    pg_cluster_start "pg-$_ota_test_name" || fail "ota_pg_start: no PostgreSQL cluster"
    _ota_pg_dirs+=("$PG_DIR")
    pg_sql "CREATE DATABASE ota" || fail "ota_pg_start: CREATE DATABASE failed"
    OTA_DB_URL=$(pg_url ota)
    export OTA_DB_URL
}

# ota_pg_standby: a streaming standby of ota_pg_start's cluster (tests/pg_cluster.sh), on
# PG_STANDBY_PORT in PG_STANDBY_DIR; stopped and removed at exit like the primary.
ota_pg_standby()
{
    pg_cluster_standby "pg-$_ota_test_name-standby" || fail "ota_pg_standby: no standby"
    _ota_pg_dirs+=("$PG_STANDBY_DIR")
}

# ota_setup [lines...]: ota_pki, then writes $T/ota.conf (paths in $T, TLS from $T/pki,
# listeners on free ports, plus any given lines, e.g. "[server]" "poll_after = 5"), runs
# ota-admin init and exports OTA_CONF. Sets SERVER_PORT ADMIN_PORT SERVER_URL.
ota_setup()
{
    ota_pki
    SERVER_PORT=$(ota_free_port)
    ADMIN_PORT=$(ota_free_port)
    SERVER_URL=https://localhost:$SERVER_PORT
    OTA_CONF=$T/ota.conf
    export OTA_CONF SERVER_PORT ADMIN_PORT SERVER_URL
    mkdir -p "$T/store" "$T/keys"
    {
        echo "# written by tests/integration/lib.sh for $_ota_test_name"
        echo "[paths]"
        echo "db = ${OTA_DB_URL:-$T/ota.db}"
        echo "store = $T/store"
        echo "keys = $T/keys"
        echo
        echo "[server]"
        echo "listen = 127.0.0.1:$SERVER_PORT"
        echo "admin_listen = 127.0.0.1:$ADMIN_PORT"
        echo "public_url = https://localhost:$SERVER_PORT"
        echo
        echo "[tls]"
        echo "cert = $T/pki/server.crt"
        echo "key = $T/pki/server.key"
        echo "client_ca = $T/pki/ca.crt"
        if [[ -n ${MQTT_PORT:-} ]]; then
            echo
            echo "[mqtt]"
            echo "host = 127.0.0.1"
            echo "port = $MQTT_PORT"
        fi
        if [[ $# -gt 0 ]]; then
            echo
            printf '%s\n' "$@"
        fi
    } >"$OTA_CONF"
    _ota_need_bin "$OTA_ADMIN"
    "$OTA_ADMIN" --config "$OTA_CONF" init >>"$T/admin-init.log" 2>&1 || {
        ota_log_tail "$T/admin-init.log"
        fail "ota_setup: ota-admin init failed"
    }
}

# ota_admin ARGS...: runs ota-admin against the test's configuration.
ota_admin()
{
    [[ -n ${OTA_CONF:-} ]] || fail "ota_admin: call ota_setup first"
    "$OTA_ADMIN" --config "$OTA_CONF" "$@"
}

# ota_start_server [args]: starts ota-server --config $OTA_CONF [args] (output appended to
# $T/server.log) and waits up to 15 s for /healthz on the admin listener. Sets SERVER_PID.
ota_start_server()
{
    [[ -n ${OTA_CONF:-} ]] || fail "ota_start_server: call ota_setup first"
    _ota_need_bin "$OTA_SERVER"
    "$OTA_SERVER" --config "$OTA_CONF" "$@" >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    export SERVER_PID
    ota_track "$SERVER_PID" server strict
    local i deadline=$(($(_ota_now_ms) + 15000))
    for ((i = 0; i < 150 && $(_ota_now_ms) < deadline; i++)); do
        if curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz"; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            local rc=0
            wait "$SERVER_PID" 2>/dev/null || rc=$?
            unset "_ota_names[$SERVER_PID]" "_ota_strict[$SERVER_PID]"
            ota_log_tail "$T/server.log"
            fail "ota_start_server: ota-server exited with status $rc before /healthz answered"
        fi
        sleep 0.1
    done
    ota_log_tail "$T/server.log"
    fail "ota_start_server: no answer on http://127.0.0.1:$ADMIN_PORT/healthz within 15 s"
}

# ota_start_broker [lines...]: starts mosquitto on 127.0.0.1:$MQTT_PORT (a free port, or
# the previous MQTT_PORT when restarting) with anonymous access, no persistence and its
# log in $T/mosquitto.log; extra lines are appended to the listener (a given
# allow_anonymous or persistence replaces the default). Waits up to 10 s until it accepts
# connections, then adds [mqtt] host/port to $OTA_CONF when there is one.
# Sets BROKER_PID MQTT_PORT.
ota_start_broker()
{
    local fresh=0 conf=$T/mosquitto.conf line extra
    if [[ -z ${MQTT_PORT:-} ]]; then
        MQTT_PORT=$(ota_free_port)
        fresh=1
    fi
    export MQTT_PORT
    extra=$(printf '%s\n' "$@")
    {
        echo "# written by tests/integration/lib.sh"
        # When started as root mosquitto switches to user "mosquitto", who cannot write $T.
        echo "user $(id -un)"
        echo "log_dest file $T/mosquitto.log"
        echo "log_type error"
        echo "log_type warning"
        echo "log_type notice"
        echo "log_type information"
        echo "connection_messages true"
        [[ $extra == *persistence* ]] || echo "persistence false"
        echo "listener $MQTT_PORT 127.0.0.1"
        [[ $extra == *allow_anonymous* ]] || echo "allow_anonymous true"
        for line in "$@"; do
            echo "$line"
        done
    } >"$conf"
    mosquitto -c "$conf" >>"$T/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    export BROKER_PID
    ota_track "$BROKER_PID" mosquitto
    local i
    for ((i = 0; i < 100; i++)); do
        if _ota_port_accepts "$MQTT_PORT"; then
            break
        fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            unset "_ota_names[$BROKER_PID]"
            ota_log_tail "$T/mosquitto.log"
            fail "ota_start_broker: mosquitto exited (conf $conf)"
        fi
        sleep 0.1
    done
    if ((i >= 100)); then
        ota_log_tail "$T/mosquitto.log"
        fail "ota_start_broker: mosquitto does not accept on port $MQTT_PORT within 10 s"
    fi
    if [[ $fresh -eq 1 && -n ${OTA_CONF:-} && -f $OTA_CONF ]]; then
        printf '\n[mqtt]\nhost = 127.0.0.1\nport = %s\n' "$MQTT_PORT" >>"$OTA_CONF"
    fi
}

# ota_start_notifier [args]: starts ota-notifier --config $OTA_CONF [args] (output appended
# to $T/notifier.log); fails if it dies within its first 0.3 s. Sets NOTIFIER_PID.
ota_start_notifier()
{
    [[ -n ${OTA_CONF:-} ]] || fail "ota_start_notifier: call ota_setup first"
    _ota_need_bin "$OTA_NOTIFIER"
    "$OTA_NOTIFIER" --config "$OTA_CONF" "$@" >>"$T/notifier.log" 2>&1 &
    NOTIFIER_PID=$!
    export NOTIFIER_PID
    ota_track "$NOTIFIER_PID" notifier strict
    sleep 0.3
    if ! kill -0 "$NOTIFIER_PID" 2>/dev/null; then
        local rc=0
        wait "$NOTIFIER_PID" 2>/dev/null || rc=$?
        unset "_ota_names[$NOTIFIER_PID]" "_ota_strict[$NOTIFIER_PID]"
        ota_log_tail "$T/notifier.log"
        fail "ota_start_notifier: ota-notifier exited with status $rc at start"
    fi
}

# Long curl options that take a value (so a following "/path" is not a URL).
_ota_curl_valopts=" --output --dump-header --header --data --data-binary --data-raw
 --data-urlencode --data-ascii --request --range --write-out --upload-file --user --cert
 --key --cacert --capath --cookie --cookie-jar --max-time --connect-timeout --resolve
 --connect-to --json --form --form-string --limit-rate --retry --retry-delay
 --retry-max-time --interface --config --max-filesize --proxy --tls-max --ciphers
 --tls13-ciphers --speed-time --speed-limit --output-dir --etag-save --etag-compare
 --time-cond --referer --user-agent --url --unix-socket --continue-at --local-port
 --stderr --trace --trace-ascii --cert-type --key-type --pinnedpubkey --crlfile
 --expect100-timeout --max-redirs --http2-prior-knowledge-x "

# ota_vehicle_once ID [ota-vehicle args]: runs `ota-vehicle --once` as vehicle ID against
# $SERVER_URL (its certificate from $T/pki, its state in $T/ID, the fleet key
# $T/keys/ota.pub unless OTA_VEHICLE_PUBKEY names another, empty = none), bounded by 120 s;
# stdout to $T/ID.out, stderr appended to $T/ID.log, the exit status in VRC.
ota_vehicle_once()
{
    local id=$1 key=${OTA_VEHICLE_PUBKEY-$T/keys/ota.pub}
    shift
    local args=(--server "$SERVER_URL" --cacert "$T/pki/ca.crt" --cert "$T/pki/$id.crt"
        --key "$T/pki/$id.key" --dir "$T/$id" --once --poll-interval 0.2)
    [[ -z $key ]] || args+=(--pubkey "$key")
    _ota_need_bin "$OTA_VEHICLE"
    VRC=0
    timeout 120 "$OTA_VEHICLE" "${args[@]}" "$@" >"$T/$id.out" 2>>"$T/$id.log" || VRC=$?
}

# ota_curl NAME|- ARGS...: curl -sS with --cacert $T/pki/ca.crt and the certificate of
# client NAME (- for none). An argument starting with "/" where a URL can stand (not after
# an option that takes a value) is taken relative to $SERVER_URL, so
# `ota_curl VIN1 /v1/updates -o "$T/out"` works; full URLs pass unchanged.
ota_curl()
{
    [[ $# -ge 1 ]] || fail "ota_curl needs NAME"
    local name=$1 prev="" a
    shift
    local args=(-sS -g --cacert "$T/pki/ca.crt")
    if [[ $name != - ]]; then
        [[ -s $T/pki/$name.crt ]] || fail "ota_curl: no certificate $T/pki/$name.crt"
        args+=(--cert "$T/pki/$name.crt" --key "$T/pki/$name.key")
    fi
    # The server listens on 127.0.0.1 only; don't let curl try ::1 first.
    [[ -z ${SERVER_PORT:-} ]] || args+=(--resolve "localhost:$SERVER_PORT:127.0.0.1")
    for a in "$@"; do
        if [[ $a == /* ]] && ! _ota_curl_takes_value "$prev"; then
            a=${SERVER_URL:?ota_curl: SERVER_URL is not set}$a
        fi
        args+=("$a")
        prev=$a
    done
    curl "${args[@]}"
}

_ota_curl_takes_value()
{
    local o=$1
    case $o in
    --*=*) return 1 ;;
    --*) [[ $_ota_curl_valopts == *[[:space:]]"$o"[[:space:]]* ]] ;;
    -*)
        # Short option cluster: the last letter decides (-sSo FILE, -H HDR, -r RANGE).
        [[ ${#o} -ge 2 ]] || return 1
        case ${o: -1} in
        [oDHdXrwTueEKbcFmxUzyYCA]) return 0 ;;
        *) return 1 ;;
        esac
        ;;
    *) return 1 ;;
    esac
}

# ---------------------------------------------------------------- cleanup

_ota_cleanup()
{
    local rc=$? pid name st
    set +e
    trap - ERR
    local alive=()
    for pid in "${!_ota_names[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            _ota_term "$pid"
            alive+=("$pid")
        fi
    done
    for pid in "${alive[@]}"; do
        name=${_ota_names[$pid]}
        _ota_wait_exit "$pid" 10
        st=$_ota_rc
        if [[ -z $st ]]; then
            echo "cleanup: $name (pid $pid) ignored SIGTERM for 10 s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            st=137
        fi
        if [[ $st -ne 0 && -n ${_ota_strict[$pid]:-} ]]; then
            echo "FAIL [$_ota_test_name]: $name (pid $pid) exited with status $st on SIGTERM" >&2
            [[ $rc -ne 0 ]] || rc=1
        fi
    done
    # Daemons' sanitizer reports land in their logs, not in the test's own exit status.
    local hits
    hits=$(grep -rlE --include='*.log' "$_ota_sanitizer_re" "$T" 2>/dev/null)
    if [[ -n $hits ]]; then
        local f
        for f in $hits; do
            echo "FAIL [$_ota_test_name]: sanitizer report in ${f#"$T"/}:" >&2
            grep -E -A 30 "$_ota_sanitizer_re" "$f" | head -n 120 >&2
        done
        [[ $rc -ne 0 ]] || rc=1
    fi
    if [[ $rc -ne 0 ]]; then
        local f
        for f in "$T"/*.log; do
            [[ -s $f ]] && ota_log_tail "$f" 30
        done
    fi
    for pid in "${_ota_pg_dirs[@]}"; do
        pg_cluster_stop "$pid"
    done
    if [[ -f $T/.ports ]]; then
        while read -r pid; do
            rmdir "$_ota_port_locks/$pid" 2>/dev/null
        done <"$T/.ports"
    fi
    if [[ ${OTA_KEEP_TMP:-0} == 1 ]]; then
        echo "kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}

_ota_on_err()
{
    echo "FAIL [$_ota_test_name]: line $1: '$2' exited with status $3" >&2
}

trap _ota_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap '_ota_on_err "$LINENO" "$BASH_COMMAND" "$?"' ERR
