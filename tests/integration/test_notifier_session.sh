#!/usr/bin/env bash
# ota-notifier without a broker session (issue 19): a broker that refuses the CONNACK and
# one that closes the connection on our CONNECT (what RabbitMQ 3.10 does to MQTT 5) each
# get one log line with the reason, attempts that thin out (counted at a TCP gate in front
# of the broker: each wait at least as long as the one before), the failures in the
# stats, and a line when the session comes; then everything pending goes out.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

ota_setup "[notifier]" "stats_file = $T/stats.prom"
ntf_vehicles 3
sha=$(ntf_artifact fw 1.0)
c1=$(ota_admin campaign create --name c1 --artifact "$sha" --vehicles VIN1,VIN2,VIN3)
ota_admin campaign start "$c1" >/dev/null

# ---- a CONNACK that refuses: anonymous clients not allowed, no password file
ota_start_broker "allow_anonymous false"
ota_start_notifier
refused_logged()
{
    grep -q "no session: CONNACK refused the session: 0x87 Not authorized" "$T/notifier.log"
}
wait_until 10 refused_logged || {
    ota_log_tail "$T/notifier.log"
    fail "refusal: no line naming the CONNACK's reason"
}
echo "ok - refusal: $(grep -o 'no session: CONNACK refused[^;]*' "$T/notifier.log" | head -n 1)"
wait_until 5 eval '[[ $(ntf_stat ota_notifier_broker_session_failures_total) -ge 1 ]]' ||
    fail "refusal: not counted in the stats"
check_eq "refusal: pending rows" 3 "$(ntf_count pending)"
ota_stop "$NOTIFIER_PID"
ota_stop "$BROKER_PID"
: >"$T/notifier.log"
rm -f "$T/stats.prom"

# ---- closed on CONNECT, behind the gate
ota_start_broker
GATE_PORT=$(ota_free_port)
echo refuse >"$T/gate.mode"
: >"$T/gate.log"
ota_spawn gate python3 "$OTA_SRC/tests/integration/tcp_gate.py" "$GATE_PORT" "$MQTT_PORT" \
    "$T/gate.mode" "$T/gate.log"
wait_until 5 _ota_port_accepts "$GATE_PORT" || fail "the gate does not listen"
: >"$T/gate.log" # that probe is not an attempt
ota_start_notifier --set "mqtt.port=$GATE_PORT"
sleep 8
echo pass >"$T/gate.mode"
n=$(grep -c refuse "$T/gate.log")
# A fixed 500 ms retry (what it did before) makes 16 attempts in 8 s; waits from 0.5 s
# doubling, each jittered down to half, make 5 or 6 (at 0, ≤0.5, ≤1.5, ≤3.5, ≤7.5 s and
# ≥7.75 s); one either way for a slow start (the sanitizer build).
[[ $n -ge 4 && $n -le 7 ]] || fail "closed on CONNECT: $n attempts in 8 s, want 4 to 7"
echo "ok - closed on CONNECT: $n attempts in 8 s"
gaps=$(awk '$2 == "refuse" { if (prev) printf "%d ", $1 - prev; prev = $1 }' "$T/gate.log")
prev=0
for g in $gaps; do
    [[ $g -ge $((prev - 100)) ]] || fail "closed on CONNECT: a wait shrank (gaps in ms: $gaps)"
    prev=$g
done
echo "ok - closed on CONNECT: each wait at least the one before (gaps in ms: $gaps)"
lines=$(grep -c "no session: the broker closed the connection before its CONNACK" \
    "$T/notifier.log" || true)
check_eq "closed on CONNECT: log lines naming it" 1 "$lines"
check_contains "closed on CONNECT: the line's hint" "[mqtt] protocol" \
    "$(grep "no session:" "$T/notifier.log")"
f=$(ntf_stat ota_notifier_broker_session_failures_total)
[[ $f -ge $((n - 1)) && $f -le $n ]] ||
    fail "closed on CONNECT: stats count $f failures, the gate saw $n attempts"
echo "ok - closed on CONNECT: the stats count $f failures"
d=$(ntf_stat ota_notifier_broker_retry_delay_ms)
[[ $d -ge 1000 && $d -le 30000 ]] || fail "closed on CONNECT: retry delay $d ms"
check_eq "closed on CONNECT: connected gauge" 0 "$(ntf_stat ota_notifier_broker_connected)"

# ---- the gate opens: the session comes with a line saying what it ends
wait_until 20 ntf_stat_is ota_notifier_broker_connected 1 || {
    ota_log_tail "$T/notifier.log"
    fail "recovery: no session 20 s after the gate opened"
}
check_contains "recovery line" "session established (MQTT 5, session new) after" \
    "$(cat "$T/notifier.log")"
echo "ok - recovery: $(grep -o 'session established.*' "$T/notifier.log" | head -n 1)"
wait_until 10 ntf_drained || fail "recovery: rows still pending"
ntf_check_retained "recovery"
check_eq "recovery: retry delay gauge" 0 "$(ntf_stat ota_notifier_broker_retry_delay_ms)"
ota_stop "$NOTIFIER_PID"
