#!/usr/bin/env bash
# clients.sh: misbehaving clients against ota-server, nginx alongside where it compares:
# memory held by stalled and silent connections, how long trickled bytes keep a connection
# open, and the per-IP connection limit. Each case is bounded in count and time.
#
# Usage: bench/clients.sh [CASE...]        (no CASE: all of them, one at a time)
#   stall    1,000 mTLS connections that each GET the 64 MiB artifact and never read the
#            body: server RSS and PSS before and after, per connection
#   silent   10,000 TCP connections that send nothing (no ClientHello), then 10,000 that do
#            the mTLS handshake and then nothing: RSS per connection, and polls meanwhile
#   trickle  a few clients sending one byte every 2 s: the HTTP header section after a
#            handshake with a client certificate, the same without one, and the ClientHello
#            itself: seconds until the server ends each connection
#   perip    [server] per_ip_limit: N mTLS connections from 127.0.0.1, how many get served
#
# Environment:
#   BENCH_QUICK=1           smoke run: small counts, 12 s trickle bound (< 2 minutes)
#   BENCH_STALL             stalled connections (default 1000; quick 100)
#   BENCH_STALL_MB          artifact size in MiB (default 64; quick 8)
#   BENCH_SILENT            silent connections (default 10000; quick 500)
#   BENCH_TRICKLE           clients per trickle kind (default 3)
#   BENCH_TRICKLE_MAX       seconds a trickling client keeps going (default 60; quick 12)
#   BENCH_HEADER_TIMEOUT    [server] header_timeout (if ota-server has the key) and nginx's
#                           client_header_timeout in the trickle case (default 10)
#   BENCH_PERIP_LIMIT       [server] per_ip_limit in the perip case (default 16)
#   BENCH_PERIP_N           connections tried in the perip case (default 40)
#   BENCH_POLLS             polls by a registered vehicle during each load (default 5)
#   BENCH_WORKERS           nginx workers and ota-server threads (default: nproc)
#   BENCH_BUILD             build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1        use the binaries in BENCH_BUILD as they are
#   BENCH_OUT               results file (default bench/results/clients.md for a full run,
#                           clients-partial.md when cases are named, clients-quick.md quick)
#   BENCH_KEEP=1            keep the temp dir (logs, configs, client output)
# Everything runs on 127.0.0.1 with free ports; processes are started and stopped by PID and
# the temp dir is removed at exit (tests/integration/lib.sh does both).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
ALL_CASES="stall silent trickle perip"

for a in "$@"; do
    if [[ $a == -h || $a == --help ]]; then
        sed -n '2,/^# the temp dir is removed/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
    fi
    case " $ALL_CASES " in
    *" $a "*) ;;
    *)
        echo "clients.sh: unknown case '$a' (cases: $ALL_CASES; --help)" >&2
        exit 2
        ;;
    esac
done
CASES=${*:-$ALL_CASES}

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    STALL=${BENCH_STALL:-100} STALL_MB=${BENCH_STALL_MB:-8} SILENT=${BENCH_SILENT:-500}
    TRICKLE_MAX=${BENCH_TRICKLE_MAX:-12} OUT=${BENCH_OUT:-$BENCH/results/clients-quick.md}
else
    STALL=${BENCH_STALL:-1000} STALL_MB=${BENCH_STALL_MB:-64} SILENT=${BENCH_SILENT:-10000}
    TRICKLE_MAX=${BENCH_TRICKLE_MAX:-60} OUT=${BENCH_OUT:-$BENCH/results/clients.md}
fi
[[ $QUICK != 1 && $# -gt 0 && -z ${BENCH_OUT:-} ]] && OUT=$BENCH/results/clients-partial.md
TRICKLE=${BENCH_TRICKLE:-3} HEADER_TIMEOUT=${BENCH_HEADER_TIMEOUT:-10}
PERIP_LIMIT=${BENCH_PERIP_LIMIT:-16} PERIP_N=${BENCH_PERIP_N:-40} POLLS=${BENCH_POLLS:-5}
WORKERS=${BENCH_WORKERS:-$(nproc)}
for v in "$STALL" "$STALL_MB" "$SILENT" "$TRICKLE" "$TRICKLE_MAX" "$HEADER_TIMEOUT" \
    "$PERIP_LIMIT" "$PERIP_N" "$POLLS" "$WORKERS"; do
    [[ $v =~ ^[1-9][0-9]{0,4}$ ]] || { echo "clients.sh: bad number '$v' in BENCH_*" >&2; exit 2; }
done
((STALL <= 15000 && SILENT <= 15000 && PERIP_N <= 15000)) ||
    { echo "clients.sh: at most 15000 connections per case" >&2; exit 2; }

log() { printf '[clients %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- build (as bench/run.sh)

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    if [[ ! -f $B/build.ninja ]]; then
        log "meson setup $B (release)"
        meson setup "$B" "$SRC" --buildtype=release >&2 || exit 1
    fi
    ninja -C "$B" server/ota-server admin/ota-admin >&2 || { echo "clients.sh: build failed" >&2; exit 1; }
fi
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] ||
    { echo "clients.sh: please install nginx" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# the silent case holds 10,000 descriptors on each side
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
((NOFILE > SILENT + 512)) || { echo "clients.sh: ulimit -n $NOFILE is too low for $SILENT" >&2; exit 1; }

export OTA_BUILD=$B OTA_SRC=$SRC
[[ ${BENCH_KEEP:-0} == 1 ]] && export OTA_KEEP_TMP=1
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=clients
: >"$T/rows"
: >"$T/notes"

# ---------------------------------------------------------------- helpers

# shellcheck source=lib.sh
. "$BENCH/lib.sh"
note() { log "note: $*"; printf '%s\n' "$*" >>"$T/notes"; }
# row CASE METRIC OTA NGINX: one table row; "-" where a column does not apply
row() { printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >>"$T/rows"; }

# mem_of PID...: "RSS PSS ANON FILE" in KiB, summed (VmRSS, RssAnon, RssFile from status;
# Pss from smaps_rollup, where a page mapped by several processes counts once in all)
mem_of()
{
    local p rss=0 pss=0 anon=0 file=0 r a f s
    for p in "$@"; do
        read -r r a f < <(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
            END { print r + 0, a + 0, f + 0 }' "/proc/$p/status" 2>/dev/null || echo 0 0 0)
        s=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || s=0
        rss=$((rss + ${r:-0})) anon=$((anon + ${a:-0})) file=$((file + ${f:-0})) pss=$((pss + ${s:-0}))
    done
    echo "$rss $pss $anon $file"
}
# fds_of PID...: open descriptors, summed
fds_of()
{
    local p n=0
    for p in "$@"; do
        n=$((n + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)))
    done
    echo "$n"
}
# the kernel's TCP buffer memory, both ends of every loopback connection, in KiB
tcp_mem_kib() { awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) * 4 }' /proc/net/sockstat; }

tgt_port() { if [[ $1 == ota ]]; then echo "$SERVER_PORT"; else echo "$NGINX_PORT"; fi; }
tgt_pids()
{
    if [[ $1 == ota ]]; then
        echo "$SERVER_PID"
    else
        # shellcheck disable=SC2046 # one word per worker PID
        echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID")
    fi
}

CERT_ARGS=(--ca "$T/pki/ca.crt" --cert "$T/pki/bench-vehicle.crt" --key "$T/pki/bench-vehicle.key")

# polls TARGET: BENCH_POLLS polls of GET /v1/updates by poll-vehicle, a new connection each
# (a full handshake), 10 s at most each. Prints "ANSWERED MEDIAN_MS MAX_MS".
polls()
{
    local i out code t ok=0 times=()
    for ((i = 0; i < POLLS; i++)); do
        out=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
            --cacert "$T/pki/ca.crt" --cert "$T/pki/poll-vehicle.crt" --key "$T/pki/poll-vehicle.key" \
            "https://127.0.0.1:$(tgt_port "$1")/v1/updates" 2>/dev/null) || true
        read -r code t <<<"$out"
        if [[ $code == 200 ]]; then
            ok=$((ok + 1))
            times+=("$t")
        fi
    done
    if [[ $ok -eq 0 ]]; then
        echo "0 - -"
        return 0
    fi
    printf '%s\n' "${times[@]}" | sort -g | awk -v ok="$ok" '{ t[NR] = $1 * 1000 }
        END { printf "%d %.1f %.1f\n", ok, (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2, t[NR] }'
}

# ---------------------------------------------------------------- state, PKI, data

log "certificates, ota-origin state, a ${STALL_MB} MiB artifact"
ota_pki >/dev/null
ota_client_cert bench-vehicle >/dev/null
ota_client_cert poll-vehicle >/dev/null

# Does this ota-server have [server] header_timeout? (An unknown key stops it at start,
# naming the key, before anything else is checked.)
HAS_HT=1
probe=$("$OTA_SERVER" --set server.header_timeout=1 2>&1) || true
[[ $probe != *"header_timeout: unknown key"* ]] || HAS_HT=0
# The memory cases measure connections held for a while: both servers' idle and header
# timeouts are raised out of their way (the trickle case sets them back).
ht_line=()
[[ $HAS_HT == 0 ]] || ht_line=("header_timeout = 600")
ota_setup "[server]" "threads = $WORKERS" "timeout = 600" "connection_limit = $((SILENT + 1024))" \
    "${ht_line[@]}"
ota_admin vehicle add bench-vehicle --model bench >/dev/null
ota_admin vehicle add poll-vehicle --model bench >/dev/null
(
    set +o pipefail
    openssl enc -aes-128-ctr -nosalt -pass pass:ota-clients -in /dev/zero 2>/dev/null |
        head -c "$((STALL_MB * 1024 * 1024))" >"$T/artifact.bin"
)
ART_SHA=$(ota_admin artifact upload "$T/artifact.bin" --version 1.0 --name stall.bin | tail -n 1)
[[ $ART_SHA =~ ^[0-9a-f]{64}$ ]] || fail "artifact upload printed '$ART_SHA'"
rm -f "$T/artifact.bin"
CID=$(ota_admin campaign create --name clients --artifact "$ART_SHA" --vehicles bench-vehicle,poll-vehicle)
ota_admin campaign start "$CID" >/dev/null
ART_FILE=$T/store/sha256/${ART_SHA:0:2}/$ART_SHA
cat "$ART_FILE" >/dev/null # in the page cache (upload writes with O_DIRECT)
ota_start_server
log "ota-server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT, header_timeout key: $([[ $HAS_HT == 1 ]] && echo yes || echo no)"

# nginx serves poll-vehicle's real answer as a static file, and the artifact
mkdir -p "$T/www/v1/artifacts" "$T/nginx/tmp"
code=$(ota_curl poll-vehicle "/v1/updates" -o "$T/www/v1/updates" -w '%{http_code}')
check_eq "ota-server GET /v1/updates for poll-vehicle" 200 "$code" >/dev/null
ln -s "$ART_FILE" "$T/www/v1/artifacts/$ART_SHA"
NGINX_PORT=$(ota_free_port)
# nginx_conf FILE HEADER_TIMEOUT: bench/nginx.conf.in, plus client_header_timeout (which in
# nginx also bounds the TLS handshake and the wait for a first request)
nginx_conf()
{
    local user_line=""
    [[ $(id -u) -ne 0 ]] || user_line="user root;" # workers must read $T (mode 0700)
    sed -e "s|@USER_LINE@|$user_line|" -e "s|@WORKERS@|$WORKERS|" -e "s|@NOFILE@|$NOFILE|" \
        -e "s|@WORKER_CONNECTIONS@|$((NOFILE - 64))|" -e "s|@PREFIX@|$T/nginx|g" \
        -e "s|@PORT@|$NGINX_PORT|" -e "s|@PKI@|$T/pki|g" -e "s|@DOCROOT@|$T/www|" \
        -e "s|@ACCESS_LOG@|$T/nginx/access.log combined buffer=256k flush=1s|" \
        -e "s|^\( *\)keepalive_timeout .*|&\n\1client_header_timeout $2s;|" \
        "$BENCH/nginx.conf.in" >"$1"
    "$NGINX" -t -p "$T/nginx" -c "$1" -e "$T/nginx/error.log" >"$T/nginx/t.log" 2>&1 ||
        { cat "$T/nginx/t.log" >&2; fail "nginx -t $1 failed"; }
}
nginx_conf "$T/nginx/hold.conf" 600
nginx_conf "$T/nginx/trickle.conf" "$HEADER_TIMEOUT"
nginx_up() { [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" --cert "$T/pki/poll-vehicle.crt" --key "$T/pki/poll-vehicle.key" "https://127.0.0.1:$NGINX_PORT/v1/updates") == 200 ]]; }
NGINX_PID=""
# start_nginx CONF: master in the foreground of a background job (its PID is ours)
start_nginx()
{
    "$NGINX" -p "$T/nginx" -c "$1" -e "$T/nginx/error.log" -g 'daemon off;' >>"$T/nginx.log" 2>&1 &
    NGINX_PID=$!
    ota_track "$NGINX_PID" nginx
    wait_until 15 nginx_up || { cat "$T/nginx/error.log" >&2; fail "nginx does not answer"; }
    wait_until 5 [ "$(ps -o pid= --ppid "$NGINX_PID" | wc -l)" -ge "$WORKERS" ] || true
}

# fresh TARGET [args]: a new server process (RSS of one that served other cases says little);
# for ota the args go to ota-server (--set ...), for nginx the one arg is the config
fresh()
{
    local tgt=$1
    shift
    if [[ $tgt == ota ]]; then
        ota_stop "$SERVER_PID" || note "ota-server exited with status $OTA_STOP_RC on SIGTERM"
        ota_start_server "$@"
    else
        if [[ -n $NGINX_PID ]]; then
            ota_stop "$NGINX_PID" || note "nginx exited with status $OTA_STOP_RC on SIGTERM"
        fi
        start_nginx "${1:-$T/nginx/hold.conf}"
    fi
    # one poll: TLS, caches and the database warm, as for a server that has been up a while
    polls "$tgt" >/dev/null
    sleep 1
}

# ---------------------------------------------------------------- hold: stall, silent

# hold_start MODE N [clients.py args]: clients.py hold as a coprocess (HOLD, HOLD_PID);
# waits (bounded) for its "up K failed F seconds S capped C" line into HOLD_UP HOLD_FAILED
# HOLD_SECS HOLD_CAPPED
hold_start()
{
    local mode=$1 n=$2 line port=$3
    shift 3
    coproc HOLD { exec python3 "$BENCH/clients.py" hold "$mode" "$port" "$n" "$@"; }
    ota_track "$HOLD_PID" clients_py
    read -r -t 600 line <&"${HOLD[0]}" || fail "clients.py hold $mode $n: no result in 600 s"
    read -r _ HOLD_UP _ HOLD_FAILED _ HOLD_SECS _ HOLD_CAPPED <<<"$line"
}
hold_cmd()
{
    local line
    echo "$1" >&"${HOLD[1]}"
    read -r -t 30 line <&"${HOLD[0]}" || fail "clients.py did not answer '$1'"
    echo "$line"
}
hold_end()
{
    local pid=$HOLD_PID
    exec {HOLD[1]}>&-
    wait "$pid" 2>/dev/null || true
    unset "_ota_names[$pid]"
}

# rss_settled PIDS...: true when RSS moved by less than 1 % over the last second
_last_rss=0
rss_settled()
{
    local r
    read -r r _ <<<"$(mem_of "$@")"
    local prev=$_last_rss
    _last_rss=$r
    [[ $prev -gt 0 ]] && (((r > prev ? r - prev : prev - r) * 100 < prev))
}

# hold_case NAME TARGET MODE N [clients.py args]: one target, fresh, N held connections;
# sets H_* for the rows
hold_case()
{
    local name=$1 tgt=$2 mode=$3 n=$4 pids m0 m1 f0 f1 k0 k1 up
    shift 4
    fresh "$tgt"
    read -ra pids <<<"$(tgt_pids "$tgt")"
    m0=$(mem_of "${pids[@]}") f0=$(fds_of "${pids[@]}") k0=$(tcp_mem_kib)
    hold_start "$mode" "$n" "$(tgt_port "$tgt")" "$@"
    up=$HOLD_UP
    log "$name $tgt: $up up, $HOLD_FAILED failed in $HOLD_SECS s"
    [[ $HOLD_CAPPED -eq 0 ]] ||
        note "$name $tgt: $HOLD_CAPPED connections not opened: the host's TCP memory passed $KMEM_MAX MiB"
    # until the server holds them all (its descriptors), then until its RSS stops moving
    wait_until 60 [ "$(fds_of "${pids[@]}")" -ge $((f0 + up)) ] ||
        note "$name $tgt: the server holds $(($(fds_of "${pids[@]}") - f0)) descriptors for $up connections after 60 s"
    _last_rss=0
    wait_until 30 rss_settled "${pids[@]}" || note "$name $tgt: RSS still moving after 30 s"
    m1=$(mem_of "${pids[@]}") f1=$(fds_of "${pids[@]}") k1=$(tcp_mem_kib)
    H_POLLS=$(polls "$tgt")
    H_OPEN=$(hold_cmd check)
    H_OPEN=${H_OPEN#open }
    hold_end
    H_UP=$up H_FAILED=$HOLD_FAILED H_SECS=$HOLD_SECS H_FDS=$((f1 - f0))
    read -r H_RSS0 H_PSS0 H_ANON0 H_FILE0 <<<"$m0"
    read -r H_RSS1 H_PSS1 H_ANON1 H_FILE1 <<<"$m1"
    H_TCP=$((k1 - k0))
}

# hold_rows CASE: the rows of the last hold_case pair (O_* = ota, N_* = nginx)
perconn() { [[ $2 -gt 0 ]] && fcalc "($1) / $2" || echo -; }
hold_rows()
{
    local c=$1
    row "$c" "connections up (of $2)" "$O_UP" "$N_UP"
    row "$c" "server descriptors added" "$O_FDS" "$N_FDS"
    row "$c" "server RSS before → after, MiB" \
        "$(fcalc "$O_RSS0 / 1024") → $(fcalc "$O_RSS1 / 1024")" "$(fcalc "$N_RSS0 / 1024") → $(fcalc "$N_RSS1 / 1024")"
    row "$c" "server PSS before → after, MiB" \
        "$(fcalc "$O_PSS0 / 1024") → $(fcalc "$O_PSS1 / 1024")" "$(fcalc "$N_PSS0 / 1024") → $(fcalc "$N_PSS1 / 1024")"
    row "$c" "RSS per connection, KiB" "$(perconn "$O_RSS1 - $O_RSS0" "$O_UP")" "$(perconn "$N_RSS1 - $N_RSS0" "$N_UP")"
    row "$c" "PSS per connection, KiB" "$(perconn "$O_PSS1 - $O_PSS0" "$O_UP")" "$(perconn "$N_PSS1 - $N_PSS0" "$N_UP")"
    row "$c" "anonymous RSS per connection, KiB" "$(perconn "$O_ANON1 - $O_ANON0" "$O_UP")" "$(perconn "$N_ANON1 - $N_ANON0" "$N_UP")"
    row "$c" "file-backed RSS before → after, MiB" \
        "$(fcalc "$O_FILE0 / 1024") → $(fcalc "$O_FILE1 / 1024")" "$(fcalc "$N_FILE0 / 1024") → $(fcalc "$N_FILE1 / 1024")"
    row "$c" "kernel TCP buffers (both ends), MiB" "$(fcalc "$O_TCP / 1024")" "$(fcalc "$N_TCP / 1024")"
    row "$c" "still open after the polls" "$O_OPEN" "$N_OPEN"
    local op np
    read -ra op <<<"$O_POLLS"
    read -ra np <<<"$N_POLLS"
    row "$c" "polls answered meanwhile (of $POLLS)" "${op[0]}" "${np[0]}"
    row "$c" "poll latency median, ms" "${op[1]}" "${np[1]}"
    row "$c" "poll latency max, ms" "${op[2]}" "${np[2]}"
}
# keep TAG: copies H_* into TAG_* (O or N)
keep()
{
    local v
    for v in UP FAILED SECS FDS RSS0 PSS0 ANON0 FILE0 RSS1 PSS1 ANON1 FILE1 TCP OPEN POLLS; do
        printf -v "${1}_$v" '%s' "$(eval echo "\"\$H_$v\"")"
    done
}

# The clients announce a 1460-byte MSS (an Ethernet or cellular path) instead of loopback's
# 64 KiB: the kernel sizes a sender's buffer in segments, and at 64 KiB each a stalled
# connection pins ~2.8 MiB of kernel memory on the server side; 1,000 of them would pass
# the host's tcp_mem limit and starve every other TCP user of the machine. --kmem-max keeps
# the host below the point where the kernel starts to squeeze sockets (tcp_mem "low").
KMEM_MAX=$(awk '{ printf "%d", $1 * 4096 / 1048576 * 0.75 }' /proc/sys/net/ipv4/tcp_mem)
case_stall()
{
    local c="stall: $STALL × GET ${STALL_MB} MiB, body never read"
    local args=("${CERT_ARGS[@]}" --path "/v1/artifacts/$ART_SHA" --mss 1460 --kmem-max "$KMEM_MAX")
    hold_case "$c" ota get "$STALL" "${args[@]}"
    keep O
    hold_case "$c" nginx get "$STALL" "${args[@]}"
    keep N
    hold_rows "$c" "$STALL"
}

case_silent()
{
    local c="silent: $SILENT × TCP connect, nothing sent"
    hold_case "$c" ota tcp "$SILENT" --window 256
    keep O
    hold_case "$c" nginx tcp "$SILENT" --window 256
    keep N
    hold_rows "$c" "$SILENT"
    c="silent: $SILENT × mTLS handshake, then nothing"
    hold_case "$c" ota tls "$SILENT" "${CERT_ARGS[@]}" --window 32
    keep O
    hold_case "$c" nginx tls "$SILENT" "${CERT_ARGS[@]}" --window 32
    keep N
    hold_rows "$c" "$SILENT"
}

# ---------------------------------------------------------------- trickle

# trickle_rows KIND LABEL: from $T/trickle.{ota,nginx}.KIND
trickle_cell()
{
    local f=$1 s
    s=$(grep '^n=' "$f" 2>/dev/null) || { echo "failed"; return 0; }
    awk -v max="$TRICKLE_MAX" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["open"] == v["n"]) printf "≥ %s (all %s open)", max, v["n"]
        else if (v["min"] == v["max"]) printf "%s (%s)", v["median"], v["how"]
        else printf "%s (%s–%s; %s)", v["median"], v["min"], v["max"], v["how"]
    }' <<<"$s"
}
case_trickle()
{
    local c="trickle: $TRICKLE per kind, 1 byte / 2 s, bound $TRICKLE_MAX s" kind tgt pids=() ota_args=() how
    if [[ $HAS_HT == 1 ]]; then
        ota_args=(--set "server.header_timeout=$HEADER_TIMEOUT")
        how="ota-server header_timeout = $HEADER_TIMEOUT s"
    else
        how="ota-server has no header_timeout key"
    fi
    fresh ota "${ota_args[@]}"
    fresh nginx "$T/nginx/trickle.conf"
    # light: every kind against both servers at the same time
    for tgt in ota nginx; do
        for kind in cert nocert hello; do
            case $kind in
            cert) set -- header "${CERT_ARGS[@]}" ;;
            nocert) set -- header --ca "$T/pki/ca.crt" ;;
            hello) set -- hello --ca "$T/pki/ca.crt" ;;
            esac
            python3 "$BENCH/clients.py" trickle "$1" "$(tgt_port "$tgt")" "$TRICKLE" "${@:2}" \
                --max "$TRICKLE_MAX" >"$T/trickle.$tgt.$kind" 2>&1 &
            pids+=($!)
            ota_track "$!" "trickle-$tgt-$kind"
        done
    done
    sleep 4
    O_POLLS=$(polls ota) N_POLLS=$(polls nginx)
    for p in "${pids[@]}"; do
        wait "$p" || note "trickle client $p exited with status $?"
        unset "_ota_names[$p]"
    done
    row "$c" "header section, with client certificate: s until closed" \
        "$(trickle_cell "$T/trickle.ota.cert")" "$(trickle_cell "$T/trickle.nginx.cert")"
    row "$c" "header section, no client certificate: s until closed" \
        "$(trickle_cell "$T/trickle.ota.nocert")" "$(trickle_cell "$T/trickle.nginx.nocert")"
    row "$c" "ClientHello: s until closed" \
        "$(trickle_cell "$T/trickle.ota.hello")" "$(trickle_cell "$T/trickle.nginx.hello")"
    local op np
    read -ra op <<<"$O_POLLS"
    read -ra np <<<"$N_POLLS"
    row "$c" "polls answered meanwhile (of $POLLS)" "${op[0]}" "${np[0]}"
    row "$c" "poll latency median, ms" "${op[1]}" "${np[1]}"
    note "trickle: $how; nginx client_header_timeout = $HEADER_TIMEOUT s"
}

# ---------------------------------------------------------------- per-IP limit (ota only)

case_perip()
{
    local c="perip: per_ip_limit = $PERIP_LIMIT, $PERIP_N mTLS connections from 127.0.0.1" ans
    fresh ota --set "server.per_ip_limit=$PERIP_LIMIT"
    # one at a time, so that the first PERIP_LIMIT are the ones in
    hold_start tls "$PERIP_N" "$SERVER_PORT" "${CERT_ARGS[@]}" --window 1
    local p_during
    p_during=$(polls ota)
    ans=$(hold_cmd "get /v1/updates")
    local open
    open=$(hold_cmd check)
    hold_end
    local p_after
    p_after=$(polls ota)
    row "$c" "handshakes completed (of $PERIP_N)" "$HOLD_UP" "-"
    row "$c" "requests answered on them" "$(awk '{ print $2 " (" $3 ")" }' <<<"$ans")" "-"
    row "$c" "still open after that" "${open#open }" "-"
    row "$c" "polls from the same address meanwhile (of $POLLS)" "${p_during%% *}" "-"
    row "$c" "polls once they are closed (of $POLLS)" "${p_after%% *}" "-"
}

# ---------------------------------------------------------------- run

T_START=$SECONDS
for c in $CASES; do
    log "case $c"
    "case_$c"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        note "ota-server (pid $SERVER_PID) died during case $c; see server.log"
        fail "ota-server died"
    fi
done

fmt_table()
{
    awk -F'|' '
    function num(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?$/ }
    function f(v) {
        v += 0
        if (v == int(v)) return sprintf("%d", v)
        if (v >= 100 || v <= -100) return sprintf("%.0f", v)
        if (v >= 10 || v <= -10) return sprintf("%.1f", v)
        return sprintf("%.2f", v)
    }
    function fs(v,   out, w, n, i) {   # numbers inside text, e.g. "12.345678 → 20.5"
        n = split(v, w, " ")
        out = ""
        for (i = 1; i <= n; i++) out = out (i > 1 ? " " : "") (num(w[i]) ? f(w[i]) : w[i])
        return out
    }
    BEGIN {
        print "| case | metric | ota-origin | nginx | ota/nginx |"
        print "|---|---|--:|--:|--:|"
    }
    {
        # a ratio only of two positive figures (a per-connection delta near 0 is noise)
        r = (num($3) && num($4) && $3 + 0 > 0 && $4 + 0 > 0) ? sprintf("%.2f", $3 / $4) : "-"
        printf "| %s | %s | %s | %s | %s |\n", $1, $2, fs($3), fs($4), r
    }' "$T/rows"
}

TABLE=$(fmt_table)
mkdir -p "$(dirname "$OUT")"
{
    echo "# ota-origin bounded clients: $([[ $QUICK == 1 ]] && echo "quick smoke run" || echo "run")"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- software: ota-server $(git -C "$SRC" describe --always --dirty 2>/dev/null) (release build), $("$NGINX" -v 2>&1 | sed 's/.*: //'), GnuTLS $(pkg-config --modversion gnutls), libmicrohttpd $(pkg-config --modversion libmicrohttpd), Python $(python3 -c 'import ssl, sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)') clients"
    echo "- servers: $WORKERS ota-server threads / nginx workers, each restarted before each case; both idle timeouts 600 s in stall and silent$([[ $HAS_HT == 1 ]] && echo " (ota-server header_timeout too)"); ota-server $([[ $HAS_HT == 1 ]] && echo "header_timeout = $HEADER_TIMEOUT s" || echo "without a header_timeout key") and nginx client_header_timeout $HEADER_TIMEOUT s in trickle"
    echo "- one run per case, ota-server first; RSS and PSS summed over the server's processes (nginx: master + workers); per connection = (after − before) / connections up"
    echo "- command: \`bench/clients.sh${*:+ $*}\`$([[ $QUICK == 1 ]] && echo " with BENCH_QUICK=1"), $((SECONDS - T_START)) s"
    echo
    echo "$TABLE"
    if [[ -s $T/notes ]]; then
        echo
        echo "Notes:"
        sed 's/^/- /' "$T/notes"
    fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo
cat "$OUT"
log "written to ${OUT#"$SRC"/}"
