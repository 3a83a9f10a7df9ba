#!/usr/bin/env bash
# write_probe.sh OTA_ADMIN CONF VEHICLE OUT: another writer, for bench/scale.sh. Every
# 10 ms runs `ota-admin vehicle set VEHICLE --group probe` (one write transaction, through
# ota-origin's own busy handler) until SIGTERM or 30 minutes, then writes
# "n=N max_ms=M p99_ms=P failed=F base_ms=B" to OUT: how long an operator's command took
# while something else ran (base_ms: its median, the cost of the command itself; failed:
# commands that gave up, "database is locked by another writer").
admin=$1 conf=$2 vehicle=$3 out=$4
stop=0
trap 'stop=1' TERM
deadline=$((SECONDS + 1800))
: >"$out.ms"
failed=0
while [[ $stop == 0 && $SECONDS -lt $deadline ]]; do
    t0=$EPOCHREALTIME
    "$admin" --config "$conf" vehicle set "$vehicle" --group probe >/dev/null 2>&1 || failed=$((failed + 1))
    t1=$EPOCHREALTIME
    echo "$t0 $t1" | awk '{ printf "%.1f\n", ($2 - $1) * 1000 }' >>"$out.ms"
    sleep 0.01
done
sort -n "$out.ms" | awk -v f="$failed" '{ t[NR] = $1 } END {
    i = int(NR * 0.99); if (i < 1) i = 1
    printf "n=%d max_ms=%.1f p99_ms=%.1f failed=%d base_ms=%.1f\n", NR, t[NR], t[i], f, t[int((NR + 1) / 2)] }' >"$out"
rm -f "$out.ms"
