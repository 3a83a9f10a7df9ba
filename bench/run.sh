#!/usr/bin/env bash
# run.sh: the ota-origin benchmark suite (issue 7): ota-server vs nginx, same load, alternating.
#
# Usage: bench/run.sh [CASE...]        (no CASE: all of them)
#   bulk       one download of the whole artifact (curl, client certificate, to /dev/null)
#   bulk4      four parallel downloads of it
#   ranges     sequential 1 MiB Range requests on one keep-alive connection (loadgen)
#   multirange SWUpdate's zchunk delta request: 150 ranges of 12-70 KiB in one request
#              (206 multipart), against one range of the same bytes (loadgen, 1 connection)
#   updates    GET /v1/updates at 1/16/64/256 connections (nginx: a static file, same size)
#   poll304    GET /v1/updates with If-None-Match at 64 connections
#   handshake  full mutual-TLS handshakes (openssl s_time -new)
#   resume     resumed handshakes (openssl s_time -reuse)
#   idle       10,000 idle mTLS connections held, then one poll each (RSS per connection)
#   campaign   10,000-vehicle campaign: start -> every outbox row published (ota-notifier +
#              mosquitto) vs the same payloads through `mosquitto_pub -q 1 -l`
#   upload     ota-admin artifact upload of a 2 GiB file vs sha256sum of it
#
# Environment:
#   BENCH_QUICK=1       smoke run: small sizes, one repetition, 1 s loads (< 2 minutes)
#   BENCH_REPS          repetitions, A B A B ... (default 3; quick 1)
#   BENCH_SECONDS       seconds per timed load (default 5; quick 1)
#   BENCH_BULK_MB       artifact size in MiB (default 512; quick 32)
#   BENCH_CONNS         connection counts of `updates` (default "1 16 64 256"; quick "1 64")
#   BENCH_IDLE          idle connections (default 10000; quick 300)
#   BENCH_FLEET         campaign vehicles (default 10000; quick 300)
#   BENCH_UPLOAD_MB     upload size in MiB (default 2048; quick 128)
#   BENCH_WORKERS       nginx workers and ota-server threads (default: nproc)
#   BENCH_BUILD         build dir (default $SRC/build-bench, buildtype=release)
#   BENCH_NO_BUILD=1    use the binaries in BENCH_BUILD as they are
#   BENCH_LOADGEN       path of a loadgen binary to use instead
#   BENCH_TARGETS       the two columns, default "ota nginx"; "nginx nginx" checks the
#                       harness without ota-server
#   BENCH_OUT           results file (default bench/results/latest.md for a full run,
#                       partial.md when cases are named, quick.md for BENCH_QUICK=1)
#   BENCH_KEEP=1        keep the temp dir (logs, configs)
# Everything runs on 127.0.0.1 with free ports; processes are stopped by PID and the temp dir
# is removed at exit (tests/integration/lib.sh does both).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$SRC/bench
ALL_CASES="bulk bulk4 ranges multirange updates poll304 handshake resume idle campaign upload"

for a in "$@"; do
    if [[ $a == -h || $a == --help ]]; then
        sed -n '2,/^# is removed/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
    fi
    case " $ALL_CASES " in
    *" $a "*) ;;
    *)
        echo "run.sh: unknown case '$a' (cases: $ALL_CASES; --help)" >&2
        exit 2
        ;;
    esac
done
CASES=${*:-$ALL_CASES}

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    REPS=${BENCH_REPS:-1} SECS=${BENCH_SECONDS:-1} BULK_MB=${BENCH_BULK_MB:-32}
    CONNS=${BENCH_CONNS:-"1 64"} IDLE=${BENCH_IDLE:-300} FLEET=${BENCH_FLEET:-300}
    UPLOAD_MB=${BENCH_UPLOAD_MB:-128} OUT=${BENCH_OUT:-$BENCH/results/quick.md}
else
    REPS=${BENCH_REPS:-3} SECS=${BENCH_SECONDS:-5} BULK_MB=${BENCH_BULK_MB:-512}
    CONNS=${BENCH_CONNS:-"1 16 64 256"} IDLE=${BENCH_IDLE:-10000} FLEET=${BENCH_FLEET:-10000}
    UPLOAD_MB=${BENCH_UPLOAD_MB:-2048} OUT=${BENCH_OUT:-$BENCH/results/latest.md}
fi
# Only a full run (every case) stands for "the latest results": a run of some cases goes
# to partial.md by default and leaves latest.md and bench/README.md alone.
FULL=0
[[ $QUICK != 1 && $# -eq 0 ]] && FULL=1
[[ $QUICK != 1 && $# -gt 0 && -z ${BENCH_OUT:-} ]] && OUT=$BENCH/results/partial.md
WORKERS=${BENCH_WORKERS:-$(nproc)}
read -r TGT_A TGT_B <<<"${BENCH_TARGETS:-ota nginx}"
for v in "$REPS" "$SECS" "$BULK_MB" "$IDLE" "$FLEET" "$UPLOAD_MB" "$WORKERS" $CONNS; do
    [[ $v =~ ^[1-9][0-9]{0,6}$ ]] || { echo "run.sh: bad number '$v' in BENCH_*" >&2; exit 2; }
done
for v in "$TGT_A" "$TGT_B"; do
    [[ $v == ota || $v == nginx ]] || { echo "run.sh: BENCH_TARGETS: ota or nginx" >&2; exit 2; }
done
NEED_OTA=0
[[ "$TGT_A $TGT_B" == *ota* ]] && NEED_OTA=1

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- build

B=${BENCH_BUILD:-$SRC/build-bench}
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    if [[ ! -f $B/build.ninja ]]; then
        log "meson setup $B (release)"
        meson setup "$B" "$SRC" --buildtype=release >"${TMPDIR:-/tmp}/bench-setup.$$.log" 2>&1 || {
            cat "${TMPDIR:-/tmp}/bench-setup.$$.log" >&2
            rm -f "${TMPDIR:-/tmp}/bench-setup.$$.log"
            exit 1
        }
        rm -f "${TMPDIR:-/tmp}/bench-setup.$$.log"
    fi
    targets=()
    if [[ $NEED_OTA == 1 ]]; then
        targets+=(server/ota-server admin/ota-admin)
        [[ " $CASES " != *" campaign "* ]] || targets+=(notifier/ota-notifier)
    fi
    if [[ ${#targets[@]} -gt 0 ]]; then
        log "ninja -C $B ${targets[*]}"
        ninja -C "$B" "${targets[@]}" >&2 || { echo "run.sh: build failed" >&2; exit 1; }
    fi
    # bench/meson.build builds loadgen once the top-level meson.build has subdir('bench');
    # until then (or if that fails) compile it directly.
    if ninja -C "$B" bench/loadgen >/dev/null 2>&1; then
        LOADGEN=$B/bench/loadgen
    else
        LOADGEN=$B/bench-loadgen
        if [[ ! -x $LOADGEN || $BENCH/loadgen.c -nt $LOADGEN ]]; then
            log "cc bench/loadgen.c (not in the meson build yet)"
            # shellcheck disable=SC2046
            cc -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
                -Wno-missing-field-initializers "$BENCH/loadgen.c" -o "$LOADGEN" \
                $(pkg-config --cflags --libs libcurl gnutls) || exit 1
        fi
    fi
else
    LOADGEN=$B/bench/loadgen
    [[ -x $LOADGEN ]] || LOADGEN=$B/bench-loadgen
fi
LOADGEN=${BENCH_LOADGEN:-$LOADGEN}

# nginx (Debian package) and the client tools
need_pkgs=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_pkgs+=(nginx)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v curl >/dev/null || need_pkgs+=(curl)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
command -v mosquitto_pub >/dev/null || need_pkgs+=(mosquitto-clients)
command -v sqlite3 >/dev/null || need_pkgs+=(sqlite3)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        log "apt-get install ${need_pkgs[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >&2 || exit 1
    else
        echo "run.sh: please install ${need_pkgs[*]}" >&2
        exit 1
    fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# 10,000 idle connections need 10,000 descriptors on each side
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

# lib.sh: $T, free ports, PKI, ota.conf, start/stop by PID, cleanup at exit.
export OTA_BUILD=$B OTA_SRC=$SRC
[[ ${BENCH_KEEP:-0} == 1 ]] && export OTA_KEEP_TMP=1
# shellcheck source=../tests/integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=bench
# shellcheck source=lib.sh
. "$BENCH/lib.sh"
RES=$T/results.tsv
: >"$RES"
: >"$T/meta.tsv"
: >"$T/notes"
mkdir -p "$T/data" "$T/www/v1/artifacts"

# ---------------------------------------------------------------- helpers

now() { echo "$EPOCHREALTIME"; }
# kv KEY LINE: the value of KEY=... in a loadgen result line
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# meta CASE METRIC UNIT GOAL [REF]: declares a table row. GOAL is "" or "r>=1.0", "r<=0.8"
# (on the ratio) or "a<=32" (on the ota value); REF names the reference column's program.
# Cases run in subshells, so rows, results and notes go to files.
meta() { printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "${5:-nginx}" >>"$T/meta.tsv"; }

# note TEXT: a line under the table (failures, warnings)
note() { log "note: $*"; printf '%s\n' "$*" >>"$T/notes"; }

# rec CASE METRIC COLUMN VALUE: one measurement (COLUMN is A or B)
rec() { printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }

# Target description: URL base, PIDs whose CPU/RSS count as "the server".
tgt_port() { if [[ $1 == ota ]]; then echo "$SERVER_PORT"; else echo "$NGINX_PORT"; fi; }
tgt_base() { echo "https://127.0.0.1:$(tgt_port "$1")"; }
tgt_pids()
{
    if [[ $1 == ota ]]; then
        echo "$SERVER_PID"
    else
        # shellcheck disable=SC2046 # one word per worker PID
        echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID")
    fi
}
tgt_etag() { if [[ $1 == ota ]]; then echo "$OTA_ETAG"; else echo "$NGINX_ETAG"; fi; }
col_of() { if [[ $1 == A ]]; then echo "$TGT_A"; else echo "$TGT_B"; fi; }

CURL_CERT=(--cacert "$T/pki/ca.crt" --cert "$T/pki/bench-vehicle.crt" --key "$T/pki/bench-vehicle.key")
LG_CERT=(--cacert "$T/pki/ca.crt" --cert "$T/pki/bench-vehicle.crt" --key "$T/pki/bench-vehicle.key")

# ---------------------------------------------------------------- data, PKI, ota state

log "certificates and data (artifact ${BULK_MB} MiB)"
ota_pki >/dev/null
ota_client_cert bench-vehicle >/dev/null

# Incompressible bytes fast: AES-CTR keystream (urandom is ~10x slower)
mkdata()
{
    (
        set +o pipefail
        openssl enc -aes-128-ctr -nosalt -pass pass:ota-bench -in /dev/zero 2>/dev/null |
            head -c "$(($2 * 1024 * 1024))" >"$1"
    )
}
mkdata "$T/data/artifact.bin" "$BULK_MB"
ART_SIZE=$(stat -c %s "$T/data/artifact.bin")

if [[ $NEED_OTA == 1 ]]; then
    [[ -x $OTA_SERVER && -x $OTA_ADMIN ]] || fail "ota-server/ota-admin not built in $B"
    # header_timeout as nginx's client_header_timeout (default 60 s): both count from the
    # accept, so the idle case's connections, up for ~15 s before their first request,
    # are held by both (ota-server's default of 10 s cut them: 408)
    ota_setup "[server]" "threads = $WORKERS" "timeout = 600" "connection_limit = $((IDLE + 1024))" \
        "poll_after = 300" "header_timeout = 60"
    ota_admin vehicle add bench-vehicle --model bench >/dev/null
    ART_SHA=$(ota_admin artifact upload "$T/data/artifact.bin" --version 1.0 --name bench.bin | tail -n 1)
    [[ $ART_SHA =~ ^[0-9a-f]{64}$ ]] || fail "artifact upload printed '$ART_SHA'"
    CID=$(ota_admin campaign create --name bench --artifact "$ART_SHA" --vehicles bench-vehicle)
    ota_admin campaign start "$CID" >/dev/null
    ART_FILE=$T/store/sha256/${ART_SHA:0:2}/$ART_SHA
    [[ -f $ART_FILE ]] || fail "artifact not at $ART_FILE"
    rm -f "$T/data/artifact.bin"
    # upload writes with O_DIRECT: read the file once so that neither server's first
    # download (ota-server goes first) pays the disk
    cat "$ART_FILE" >/dev/null
    ota_start_server
    log "ota-server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT"
    # the real /v1/updates answer, served by nginx as a static file of the same size
    code=$(curl -sS "${CURL_CERT[@]}" -D "$T/updates.hdr" -o "$T/www/v1/updates" \
        -w '%{http_code}' "https://127.0.0.1:$SERVER_PORT/v1/updates")
    check_eq "ota-server GET /v1/updates" 200 "$code" >/dev/null
    OTA_ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$T/updates.hdr")
    [[ -n $OTA_ETAG ]] || log "warning: ota-server /v1/updates has no ETag"
else
    ART_SHA=$(sha256sum "$T/data/artifact.bin" | cut -d' ' -f1)
    ART_FILE=$T/data/$ART_SHA
    mv "$T/data/artifact.bin" "$ART_FILE"
    # nginx-only debug run: a /v1/updates-like body of the usual size (~1 KiB)
    python3 - "$ART_SHA" "$ART_SIZE" >"$T/www/v1/updates" <<'PY'
import json, sys
sig = "untrusted comment: signature from minisign secret key\n" + "R" * 100 + \
      "\ntrusted comment: sha256:%s size:%s name:bench.bin version:1.0 hw:\n" % (sys.argv[1], sys.argv[2]) + "S" * 88 + "\n"
print(json.dumps({"campaign": 1, "artifact": {"sha256": sys.argv[1], "size": int(sys.argv[2]),
      "name": "bench.bin", "version": "1.0", "url": "/v1/artifacts/" + sys.argv[1],
      "signature": sig}, "poll_after": 300}, separators=(",", ":")), end="")
PY
fi
ln -s "$ART_FILE" "$T/www/v1/artifacts/$ART_SHA"
UPDATES_SIZE=$(stat -c %s "$T/www/v1/updates")

# ---------------------------------------------------------------- nginx

NGINX_PORT=$(ota_free_port)
mkdir -p "$T/nginx/tmp"
user_line=""
[[ $(id -u) -ne 0 ]] || user_line="user root;" # workers must read $T (mode 0700)
wc=$((NOFILE - 64))
sed -e "s|@USER_LINE@|$user_line|" -e "s|@WORKERS@|$WORKERS|" -e "s|@NOFILE@|$NOFILE|" \
    -e "s|@WORKER_CONNECTIONS@|$wc|" -e "s|@PREFIX@|$T/nginx|g" -e "s|@PORT@|$NGINX_PORT|" \
    -e "s|@PKI@|$T/pki|g" -e "s|@DOCROOT@|$T/www|" \
    -e "s|@ACCESS_LOG@|$T/nginx/access.log combined buffer=256k flush=1s|" \
    "$BENCH/nginx.conf.in" >"$T/nginx/nginx.conf"
"$NGINX" -t -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" >"$T/nginx/t.log" 2>&1 ||
    { cat "$T/nginx/t.log" >&2; fail "nginx -t failed"; }
nginx_up() { [[ $(curl -s -o /dev/null -w '%{http_code}' "${CURL_CERT[@]}" "https://127.0.0.1:$NGINX_PORT/v1/updates") == 200 ]]; }
# start_nginx: master in the foreground of a background job (its PID is ours), workers forked
start_nginx()
{
    "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" -g 'daemon off;' \
        >>"$T/nginx.log" 2>&1 &
    NGINX_PID=$!
    ota_track "$NGINX_PID" nginx
    wait_until 15 nginx_up || { cat "$T/nginx/error.log" >&2; fail "nginx does not answer"; }
    # all workers forked (tgt_pids lists them)
    wait_until 5 [ "$(ps -o pid= --ppid "$NGINX_PID" | wc -l)" -ge "$WORKERS" ] || true
}
start_nginx
# nginx's ETag is mtime-size: the same for every request
NGINX_ETAG=$(curl -sS "${CURL_CERT[@]}" -D - -o /dev/null "https://127.0.0.1:$NGINX_PORT/v1/updates" |
    sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p')
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" "https://127.0.0.1:$NGINX_PORT/v1/updates")
check_eq "nginx without client certificate" 400 "$code" >/dev/null
log "nginx pid $NGINX_PID on 127.0.0.1:$NGINX_PORT ($(tgt_pids nginx | wc -w) processes), /v1/updates ${UPDATES_SIZE} B"

# tls_info TARGET: what an OpenSSL client negotiates (protocol, cipher, key exchange)
tls_info()
{
    local out
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$(tgt_port "$1")" -brief \
        -CAfile "$T/pki/ca.crt" -cert "$T/pki/bench-vehicle.crt" -key "$T/pki/bench-vehicle.key" \
        </dev/null 2>&1) || true
    printf '%s %s, %s' "$(sed -n 's/^Protocol version: //p' <<<"$out")" \
        "$(sed -n 's/^Ciphersuite: //p' <<<"$out")" \
        "$(sed -n 's/^\(Server \)\{0,1\}[Tt]emp [Kk]ey: //p' <<<"$out" | head -n 1)"
}
TLS_INFO=""
for tgt in $(printf '%s\n' "$TGT_A" "$TGT_B" | sort -u); do
    TLS_INFO="$TLS_INFO${TLS_INFO:+; }$tgt: $(tls_info "$tgt")"
done
log "negotiated: $TLS_INFO"

# ---------------------------------------------------------------- cases

# guard FN ARGS...: runs FN in a subshell with set -e; a failure becomes a note under the
# table and the run goes on. (Processes must be started outside guard: lib.sh's cleanup
# only knows PIDs recorded in the main shell.)
guard()
{
    local rc
    set +e
    (
        set -e
        "$@"
    )
    rc=$?
    set -e
    [[ $rc -eq 0 ]] || note "$* failed (exit $rc)"
    return 0
}

# restart_target ota|nginx: a fresh server process (for RSS figures); main shell only
restart_target()
{
    if [[ $1 == ota ]]; then
        ota_stop "$SERVER_PID" || note "ota-server exited with status $OTA_STOP_RC on SIGTERM"
        ota_start_server
    else
        ota_stop "$NGINX_PID" || note "nginx exited with status $OTA_STOP_RC on SIGTERM"
        start_nginx
    fi
}

# each_target FN ARGS...: each rep runs FN COL TARGET REP ARGS... for A then B, so both see
# the same machine state. With EACH_RESTART=1 the target is restarted before each run.
each_target()
{
    local fn=$1 rep col tgt
    shift
    for ((rep = 1; rep <= REPS; rep++)); do
        for col in A B; do
            tgt=$(col_of "$col")
            [[ ${EACH_RESTART:-0} != 1 ]] || restart_target "$tgt"
            guard "$fn" "$col" "$tgt" "$rep" "$@"
        done
    done
}

run_bulk()
{
    local col=$1 tgt=$2 n=$4 pids c0 c1 t0 t1 out i cpids=()
    read -ra pids <<<"$(tgt_pids "$tgt")"
    c0=$(cpu_of "${pids[@]}")
    t0=$(now)
    for ((i = 0; i < n; i++)); do
        curl -sS --max-time 300 "${CURL_CERT[@]}" -o /dev/null \
            -w '%{http_code} %{size_download}\n' \
            "$(tgt_base "$tgt")/v1/artifacts/$ART_SHA" >"$T/bulk.$i" 2>&1 &
        cpids+=($!)
    done
    for i in "${cpids[@]}"; do
        wait "$i" || true
    done
    t1=$(now)
    c1=$(cpu_of "${pids[@]}")
    for ((i = 0; i < n; i++)); do
        out=$(<"$T/bulk.$i")
        [[ $out == "200 $ART_SIZE" ]] || fail "$tgt bulk download $i: got '$out'"
    done
    local name=bulk
    [[ $n -eq 1 ]] || name="bulk x$n"
    rec "$name" "MB/s" "$col" "$(fcalc "$n * $ART_SIZE / ($t1 - $t0) / 1e6")"
    rec "$name" "server CPU s/GiB" "$col" "$(fcalc "($c1 - $c0) / ($n * $ART_SIZE / 1073741824)")"
}
case_bulk()
{
    meta bulk "MB/s" MB/s "r>=1.0"
    meta bulk "server CPU s/GiB" s "r<=0.8"
    each_target run_bulk 1
}
case_bulk4()
{
    meta "bulk x4" "MB/s" MB/s "r>=1.0"
    meta "bulk x4" "server CPU s/GiB" s "r<=0.8"
    each_target run_bulk 4
}

# loadgen_run TGT ARGS...: prints loadgen's result line; fails the run on errors
loadgen_run()
{
    local tgt=$1 pids out rc=0
    shift
    pids=$(tgt_pids "$tgt" | tr ' \n' ',,' | sed 's/,*$//')
    out=$("$LOADGEN" "${LG_CERT[@]}" --pids "$pids" "$@" 2>"$T/loadgen.err") || rc=$?
    if [[ $rc -ne 0 && ( $rc -ne 3 || -z $out ) ]]; then
        cat "$T/loadgen.err" >&2
        fail "loadgen against $tgt exited $rc: $out"
    fi
    # exit 3: some requests got the wrong answer; keep the figures, say so under the table
    [[ $rc -eq 0 ]] || note "$tgt: loadgen $* -> $out $(head -c 300 "$T/loadgen.err")"
    echo "$out"
}

run_ranges()
{
    local col=$1 tgt=$2 out
    out=$(loadgen_run "$tgt" --url "$(tgt_base "$tgt")/v1/artifacts/$ART_SHA" --conns 1 \
        --seconds "$SECS" --range-size 1048576 --range-total "$ART_SIZE" --expect 206)
    rec "ranges 1 MiB" "MB/s" "$col" "$(fcalc "$(kv bytes_s "$out") / 1e6")"
    rec "ranges 1 MiB" "req/s" "$col" "$(kv req_s "$out")"
    rec "ranges 1 MiB" "server CPU s/GiB" "$col" \
        "$(fcalc "$(kv cpu_s "$out") / ($(kv bytes "$out") / 1073741824)")"
}
case_ranges()
{
    meta "ranges 1 MiB" "MB/s" MB/s "r>=1.0"
    meta "ranges 1 MiB" "req/s" req/s ""
    meta "ranges 1 MiB" "server CPU s/GiB" s "r<=0.8"
    each_target run_ranges
}

# The shape of a delta request from SWUpdate's zchunk handler: up to 150 chunk ranges
# (zchunk's chunks are ~12-70 KiB) in ascending order, spread over the file; a fixed seed
# so that both targets and every repetition get the same header.
multirange_spec()
{
    awk -v size="$ART_SIZE" 'BEGIN {
        srand(17); slot = int(size / 150); sep = ""
        for (i = 0; i < 150; i++) {
            len = 12288 + int(rand() * 59392)
            if (len > slot) len = slot
            at = i * slot + int(rand() * (slot - len))
            printf "%s%d-%d", sep, at, at + len - 1; sep = ","; total += len
        }
        printf " %d\n", total
    }'
}
run_multirange()
{
    local col=$1 tgt=$2 spec total name out
    read -r spec total < <(multirange_spec)
    for name in "150 ranges" "1 range"; do
        local range=$spec
        [[ $name == "1 range" ]] && range=0-$((total - 1))
        out=$(loadgen_run "$tgt" --url "$(tgt_base "$tgt")/v1/artifacts/$ART_SHA" --conns 1 \
            --seconds "$SECS" --header "Range: bytes=$range" --expect 206)
        rec "delta request, $name" "req/s" "$col" "$(kv req_s "$out")"
        rec "delta request, $name" "server CPU µs/req" "$col" \
            "$(fcalc "$(kv cpu_s "$out") * 1e6 / $(kv requests "$out")")"
    done
}
case_multirange()
{
    local name
    for name in "150 ranges" "1 range"; do
        meta "delta request, $name" "req/s" req/s ""
        meta "delta request, $name" "server CPU µs/req" µs ""
    done
    each_target run_multirange
}

run_updates()
{
    local col=$1 tgt=$2 rep=$3 conns=$4 name=$5 out
    shift 5
    out=$(loadgen_run "$tgt" --url "$(tgt_base "$tgt")/v1/updates" --conns "$conns" \
        --seconds "$SECS" "$@")
    rec "$name" "req/s" "$col" "$(kv req_s "$out")"
    rec "$name" "server CPU µs/req" "$col" "$(fcalc "$(kv cpu_s "$out") * 1e6 / $(kv requests "$out")")"
    rec "$name" "p99 latency ms" "$col" "$(kv p99_ms "$out")"
}
case_updates()
{
    local c goal
    for c in $CONNS; do
        goal=""
        [[ $c -ne 64 ]] || goal="r>=1.0"
        meta "updates c=$c" "req/s" req/s "$goal"
        meta "updates c=$c" "server CPU µs/req" µs ""
        meta "updates c=$c" "p99 latency ms" ms ""
        each_target run_updates "$c" "updates c=$c" --expect 200
    done
}

run_poll304()
{
    local col=$1 tgt=$2 rep=$3 etag
    etag=$(tgt_etag "$tgt")
    [[ -n $etag ]] || fail "$tgt: no ETag on /v1/updates, cannot poll with If-None-Match"
    run_updates "$col" "$tgt" "$rep" 64 "poll304 c=64" --header "If-None-Match: $etag" --expect 304
}
case_poll304()
{
    meta "poll304 c=64" "req/s" req/s "r>=1.0"
    meta "poll304 c=64" "server CPU µs/req" µs ""
    meta "poll304 c=64" "p99 latency ms" ms ""
    each_target run_poll304
}

# openssl s_time: every connection does the mTLS handshake and one GET /v1/updates
# (HTTP/1.0), so that TLS 1.3 session tickets arrive for -reuse.
run_stime()
{
    local col=$1 tgt=$2 rep=$3 mode=$4 name=$5 pids c0 c1 t0 t1 out n nres
    read -ra pids <<<"$(tgt_pids "$tgt")"
    c0=$(cpu_of "${pids[@]}")
    t0=$(now)
    out=$(openssl s_time -connect "127.0.0.1:$(tgt_port "$tgt")" -CAfile "$T/pki/ca.crt" \
        -cert "$T/pki/bench-vehicle.crt" -key "$T/pki/bench-vehicle.key" "$mode" \
        -time "$SECS" -www /v1/updates 2>&1) || true
    t1=$(now)
    c1=$(cpu_of "${pids[@]}")
    n=$(sed -n 's/^\([0-9][0-9]*\) connections in [0-9.]* real seconds.*/\1/p' <<<"$out" | tail -n 1)
    [[ -n $n && $n -gt 0 ]] || fail "$tgt s_time $mode: $(tail -n 5 <<<"$out")"
    rec "$name" "handshakes/s" "$col" "$(fcalc "$n / ($t1 - $t0)")"
    rec "$name" "server CPU µs/handshake" "$col" "$(fcalc "($c1 - $c0) * 1e6 / $n")"
    if [[ $mode == -reuse ]]; then
        # s_time prints 'r' for a resumed session and '*' for a new one
        nres=$(grep -E '^[*r]+$' <<<"$out" | tr -cd 'r' | wc -c)
        rec "$name" "resumed %" "$col" "$(fcalc "100 * $nres / $n")"
    fi
}
case_handshake()
{
    meta "handshake full" "handshakes/s" 1/s "r>=0.9"
    meta "handshake full" "server CPU µs/handshake" µs ""
    each_target run_stime -new "handshake full"
}
case_resume()
{
    meta "handshake resumed" "handshakes/s" 1/s "r>=1.0"
    meta "handshake resumed" "server CPU µs/handshake" µs ""
    meta "handshake resumed" "resumed %" % "a>=99"
    each_target run_stime -reuse "handshake resumed"
}

run_idle()
{
    local col=$1 tgt=$2 out name="idle $IDLE"
    out=$(loadgen_run "$tgt" --url "$(tgt_base "$tgt")/v1/updates" --idle "$IDLE" --hold 2 \
        --window 32)
    rec "$name" "answered" "$col" "$(kv answered "$out")"
    rec "$name" "server RSS held MiB" "$col" "$(fcalc "$(kv rss_held_kib "$out") / 1024")"
    rec "$name" "KiB per connection" "$col" "$(kv kib_per_conn "$out")"
    rec "$name" "connects/s" "$col" "$(fcalc "$(kv up "$out") / $(kv connect_s "$out")")"
    rec "$name" "answer all s" "$col" "$(kv request_s "$out")"
}
case_idle()
{
    local name="idle $IDLE"
    meta "$name" "answered" n "a>=$IDLE"
    meta "$name" "server RSS held MiB" MiB ""
    meta "$name" "KiB per connection" KiB "a<=32"
    meta "$name" "connects/s" 1/s ""
    meta "$name" "answer all s" s ""
    # fresh processes: RSS of a server that served the other cases says little
    EACH_RESTART=1 each_target run_idle
}

# ---- campaign: ota-notifier vs mosquitto_pub -q 1 -l (not an A/B of servers)

sql() { sqlite3 -cmd ".timeout 5000" "$T/ota.db" "$@"; }
unpublished_is() { [[ $(sql "SELECT count(*) FROM outbox WHERE state <> 'published'") == "$1" ]]; }

campaign_rep()
{
    local rep=$1 grp="fleet$1" cid t0 t1 t2 c0 c1 b0 b1 name="campaign $FLEET" pub_out
    sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $FLEET)
         INSERT INTO vehicles (id, model, grp, created_at)
         SELECT printf('BENCH%d-%06d', $rep, i), 'bench', '$grp', strftime('%s') FROM n;"
    cid=$(ota_admin campaign create --name "bench-fleet-$rep" --artifact "$ART_SHA" --group "$grp")
    # The end is when the last row is marked: a watcher with one open connection checks
    # every 2 ms (started before the clock, so its start-up is not measured; mosquitto_pub
    # below ends exactly when its last PUBACK came).
    python3 - "$T/ota.db" "$cid" >"$T/campaign.end" 2>&1 <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5)
cid, deadline, started, left = int(sys.argv[2]), time.time() + 600, False, -1
while time.time() < deadline:
    # both index lookups: the campaign's row, then its unpublished rows (a partial index)
    started = started or db.execute("SELECT state <> 'created' FROM campaigns WHERE id = ?",
                                    (cid,)).fetchone()[0] == 1
    if started:
        left = db.execute("SELECT count(*) FROM outbox WHERE campaign = ? AND state <> 'published'",
                          (cid,)).fetchone()[0]
    if started and left == 0:
        print("%.6f" % time.time())
        sys.exit(0)
    time.sleep(0.002)
print("left %d" % left)
sys.exit(1)
PY
    local watcher=$!
    c0=$(cpu_of "$NOTIFIER_PID")
    b0=$(cpu_of "$BROKER_PID")
    t0=$(now)
    ota_admin campaign start "$cid" >/dev/null
    t1=$(now)
    wait "$watcher" || fail "campaign $cid: $(<"$T/campaign.end") outbox rows still unpublished after 600 s"
    t2=$(<"$T/campaign.end")
    c1=$(cpu_of "$NOTIFIER_PID")
    b1=$(cpu_of "$BROKER_PID")
    rec "$name" "messages/s" A "$(fcalc "$FLEET / ($t2 - $t0)")"
    rec "$name" "seconds" A "$(fcalc "$t2 - $t0")"
    rec "$name" "client CPU µs/msg" A "$(fcalc "($c1 - $c0) * 1e6 / $FLEET")"
    rec "$name" "broker CPU µs/msg" A "$(fcalc "($b1 - $b0) * 1e6 / $FLEET")"
    rec "$name" "campaign start s" A "$(fcalc "$t1 - $t0")"

    # the same payloads, one per line, through the stock client
    sql "SELECT payload FROM outbox_messages WHERE campaign = $cid ORDER BY id" >"$T/payloads.txt"
    b0=$(cpu_of "$BROKER_PID")
    t0=$(now)
    pub_out=$(/usr/bin/time -f 'TIME %e %U %S' mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r \
        -i "bench-ref-$rep" -t "ota/v1/bench/reference" -l <"$T/payloads.txt" 2>&1) ||
        fail "mosquitto_pub: $pub_out"
    t2=$(now)
    b1=$(cpu_of "$BROKER_PID")
    read -r _ _ u s <<<"$(grep '^TIME' <<<"$pub_out")"
    rec "$name" "messages/s" B "$(fcalc "$FLEET / ($t2 - $t0)")"
    rec "$name" "seconds" B "$(fcalc "$t2 - $t0")"
    rec "$name" "client CPU µs/msg" B "$(fcalc "($u + $s) * 1e6 / $FLEET")"
    rec "$name" "broker CPU µs/msg" B "$(fcalc "($b1 - $b0) * 1e6 / $FLEET")"
}
case_campaign()
{
    local name="campaign $FLEET" rep ref="mosquitto_pub -q 1 -l"
    meta "$name" "messages/s" msg/s "r>=1.0" "$ref"
    meta "$name" "seconds" s "" "$ref"
    meta "$name" "client CPU µs/msg" µs "" "$ref"
    meta "$name" "broker CPU µs/msg" µs "" "$ref"
    meta "$name" "campaign start s" s "" "$ref"
    if [[ -z ${NOTIFIER_PID:-} ]]; then
        note "campaign: ota-notifier is not built or did not start"
        return 0
    fi
    # the notifier drains the bench vehicle's row first
    if ! wait_until 30 unpublished_is 0; then
        note "campaign: ota-notifier publishes nothing within 30 s (see notifier.log)"
        return 0
    fi
    for ((rep = 1; rep <= REPS; rep++)); do
        guard campaign_rep "$rep"
    done
}

# ---- upload: ota-admin artifact upload vs sha256sum (wall, peak RSS)

case_upload()
{
    local name="upload $UPLOAD_MB MiB" ref="sha256sum" rep sum
    meta "$name" "wall s" s "r<=1.0" "$ref"
    meta "$name" "MB/s" MB/s "" "$ref"
    meta "$name" "peak RSS MiB" MiB "a<64" "$ref"
    meta "$name" "CPU s" s "" "$ref"
    log "upload data: $UPLOAD_MB MiB"
    mkdata "$T/data/upload.bin" "$UPLOAD_MB"
    sum=$(sha256sum "$T/data/upload.bin" | cut -d' ' -f1) # also warms the page cache
    for ((rep = 1; rep <= REPS; rep++)); do
        guard upload_rep "$rep" "$name" "$sum"
    done
    rm -f "$T/data/upload.bin"
}
upload_rep()
{
    local rep=$1 name=$2 sum=$3 d w m u s
    d=$T/up$rep
    mkdir -p "$d"
    printf '[paths]\ndb = %s/ota.db\nstore = %s/store\nkeys = %s/keys\n' "$d" "$d" "$d" >"$d/ota.conf"
    "$OTA_ADMIN" --config "$d/ota.conf" init >/dev/null 2>&1 || fail "ota-admin init ($d)"
    /usr/bin/time -f '%e %M %U %S' -o "$d/time" "$OTA_ADMIN" --config "$d/ota.conf" \
        artifact upload "$T/data/upload.bin" --version 1 --name upload.bin >"$d/out" 2>&1 ||
        { cat "$d/out" >&2; fail "ota-admin artifact upload failed"; }
    [[ $(tail -n 1 "$d/out") == "$sum" ]] || fail "upload printed '$(tail -n 1 "$d/out")', want $sum"
    read -r w m u s <"$d/time"
    rec "$name" "wall s" A "$w"
    rec "$name" "MB/s" A "$(fcalc "$UPLOAD_MB * 1048576 / $w / 1e6")"
    rec "$name" "peak RSS MiB" A "$(fcalc "$m / 1024")"
    rec "$name" "CPU s" A "$(fcalc "$u + $s")"
    rm -rf "$d"
    /usr/bin/time -f '%e %M %U %S' -o "$T/sha.time" sha256sum "$T/data/upload.bin" >/dev/null
    read -r w m u s <"$T/sha.time"
    rec "$name" "wall s" B "$w"
    rec "$name" "MB/s" B "$(fcalc "$UPLOAD_MB * 1048576 / $w / 1e6")"
    rec "$name" "peak RSS MiB" B "$(fcalc "$m / 1024")"
    rec "$name" "CPU s" B "$(fcalc "$u + $s")"
}

# ---------------------------------------------------------------- run

# mosquitto and ota-notifier run only during the campaign case (started in the main shell,
# so that lib.sh's cleanup knows their PIDs), so they take no CPU from the other cases
start_mqtt()
{
    [[ -x $OTA_NOTIFIER ]] || return 0
    ota_start_broker
    ota_start_notifier
    log "mosquitto pid $BROKER_PID port $MQTT_PORT, ota-notifier pid $NOTIFIER_PID"
}
stop_mqtt()
{
    if [[ -n ${NOTIFIER_PID:-} ]]; then
        ota_stop "$NOTIFIER_PID" || note "ota-notifier: exit status $OTA_STOP_RC on SIGTERM"
    fi
    if [[ -n ${BROKER_PID:-} ]]; then
        ota_stop "$BROKER_PID" || note "mosquitto: exit status $OTA_STOP_RC on SIGTERM"
    fi
    NOTIFIER_PID="" BROKER_PID=""
}

T_START=$(now)
for c in $CASES; do
    if [[ $NEED_OTA == 0 && ($c == campaign || $c == upload) ]]; then
        note "case $c skipped: it needs ota-admin/ota-notifier"
        continue
    fi
    log "case $c ($REPS x $TGT_A/$TGT_B)"
    [[ $c != campaign ]] || start_mqtt
    "case_$c"
    [[ $c != campaign ]] || stop_mqtt
    if [[ -n ${SERVER_PID:-} ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
        note "ota-server (pid $SERVER_PID) died during case $c; see server.log"
        SERVER_PID=""
    fi
done
T_END=$(now)

# ---------------------------------------------------------------- table

fmt_table()
{
    awk -F'|' '!seen[$1 "|" $2]++' "$T/meta.tsv" |
        awk -F'|' -v res="$RES" -v ca="$TGT_A" -v cb="$TGT_B" '
    function median(key,   n, i, j, t, a) {
        n = cnt[key]
        if (n == 0) return ""
        for (i = 1; i <= n; i++) a[i] = val[key, i]
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function f(v) {
        if (v == "") return "-"
        v += 0
        if (v < 0) return sprintf("%.3g", v)
        if (v >= 100) return sprintf("%.0f", v)
        if (v >= 10) return sprintf("%.1f", v)
        if (v >= 1) return sprintf("%.2f", v)
        return sprintf("%.3g", v)
    }
    BEGIN {
        while ((getline line < res) > 0) {
            split(line, p, "|")
            key = p[1] "|" p[2] "|" p[3]
            cnt[key]++
            val[key, cnt[key]] = p[4]
        }
        refa = (ca == "ota") ? "ota-origin" : ca
        printf "| case | metric | %s | reference | %s/ref | target | |\n", refa, refa
        printf "|---|---|--:|--:|--:|---|---|\n"
    }
    {
        c = $1; m = $2; goal = $4; ref = $5
        a = median(c "|" m "|A"); b = median(c "|" m "|B")
        r = (a != "" && b != "" && b + 0 != 0) ? a / b : ""
        verdict = ""
        if (goal != "") {
            what = substr(goal, 1, 1); op = substr(goal, 2, 2); lim = substr(goal, 4) + 0
            if (op !~ /[<>=]=/) { op = substr(goal, 2, 1); lim = substr(goal, 3) + 0 }
            x = (what == "r") ? r : a
            if (x != "" && a != "") {
                x += 0
                ok = (op == ">=") ? x >= lim : (op == "<=") ? x <= lim : (op == "<") ? x < lim : (op == ">") ? x > lim : x == lim
                verdict = ok ? "ok" : "**miss**"
            }
            goal = (what == "r") ? "ratio " op " " lim : op " " lim
        }
        refname = (ref == "nginx") ? cb : ref
        printf "| %s | %s | %s | %s (%s) | %s | %s | %s |\n", c, m, f(a), f(b), refname, (r == "" ? "-" : sprintf("%.2f", r)), goal, verdict
    }'
}

TABLE=$(fmt_table)
mkdir -p "$(dirname "$OUT")"
{
    echo "# ota-origin benchmark: $( [[ $QUICK == 1 ]] && echo "quick smoke run" || echo "full run")"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- software: $("$NGINX" -v 2>&1 | sed 's/.*: //'), GnuTLS $(pkg-config --modversion gnutls), libmicrohttpd $(pkg-config --modversion libmicrohttpd), $(openssl version | cut -d' ' -f1-2), mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p' | head -n 1)"
    echo "- columns: ${TGT_A} (A) vs ${TGT_B} (B) unless the reference column names another program; median of $REPS repetitions, A and B alternating"
    echo "- sizes: artifact $BULK_MB MiB, /v1/updates body $UPDATES_SIZE B, ${SECS} s per timed load, $WORKERS nginx workers / ota-server threads, idle $IDLE, fleet $FLEET, upload $UPLOAD_MB MiB"
    echo "- TLS as negotiated by an OpenSSL 3 client: $TLS_INFO"
    echo "- client and servers share the same cores (and other jobs may run): CPU-per-unit is the steadier figure; throughput is noisy"
    echo "- command: \`bench/run.sh${*:+ $*}\`$( [[ $QUICK == 1 ]] && echo " with BENCH_QUICK=1"), $(fcalc "$T_END - $T_START" | cut -d. -f1) s"
    echo
    echo "$TABLE"
    if [[ -s $T/notes ]]; then
        echo
        echo "Notes:"
        sed 's/^/- /' "$T/notes"
    fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# a full run with the default output also refreshes the table in bench/README.md
if [[ $FULL == 1 && -z ${BENCH_OUT:-} && -f $BENCH/README.md ]] &&
    grep -q '^<!-- latest:begin -->' "$BENCH/README.md"; then
    awk -v f="$OUT" '
        /^<!-- latest:begin -->/ { print; while ((getline l < f) > 0) if (l !~ /^# /) print l; skip = 1; next }
        /^<!-- latest:end -->/ { skip = 0 }
        !skip' "$BENCH/README.md" >"$BENCH/README.md.tmp" && mv "$BENCH/README.md.tmp" "$BENCH/README.md"
fi
echo
cat "$OUT"
log "written to ${OUT#"$SRC"/}"
