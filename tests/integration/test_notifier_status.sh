#!/usr/bin/env bash
# ota-notifier status intake: bad MQTT payloads on status topics (non-JSON, huge, wrong
# types, unknown vehicle, foreign campaign, backward move) are counted and change nothing;
# a valid report is recorded. The daemon never crashes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker
ntf_vehicles 3
sha=$(ntf_artifact fw 1.0)
c1=$(ota_admin campaign create --name c1 --artifact "$sha" --vehicles VIN1,VIN2)
c2=$(ota_admin campaign create --name c2 --artifact "$sha" --vehicles VIN3)
ota_admin campaign start "$c1" >/dev/null
ota_admin campaign start "$c2" >/dev/null
# A wildcard in the topic prefix is a bad value: the notifier stops at start, naming it.
rc=0
timeout 5 "$OTA_NOTIFIER" --config "$OTA_CONF" --set 'mqtt.topic_prefix=ota/#' \
    >"$T/prefix.log" 2>&1 || rc=$?
check_eq "exit status with a wildcard topic_prefix" 1 "$rc"
check_contains "wildcard topic_prefix error" "mqtt.topic_prefix" "$(cat "$T/prefix.log")"

ota_start_notifier
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1
wait_until 5 ntf_drained

pub()
{
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "ota/v1/vehicles/$1/status" "${@:2}"
}
state_of()
{
    ota_admin campaign show "$1" --vehicles --json | jq -r --arg v "$2" '.. | objects | select(.vehicle? == $v) | .state' | head -n 1
}
snapshot()
{
    for c in "$c1" "$c2"; do ota_admin campaign show "$c" --vehicles --json | jq -c '[.. | objects | select(.vehicle?) | {vehicle, state, bytes}]'; done
    ota_admin outbox list --json | jq -c '[.outbox[] | {id, state}]'
}

pub VIN1 -m "{\"campaign\":$c1,\"state\":\"installing\",\"bytes\":4096}"
wait_until 5 ntf_stat_is ota_notifier_status_applied_total 1
check_eq "valid report recorded" installing "$(state_of "$c1" VIN1)"
before=$(snapshot)

head -c 5000 /dev/zero | tr '\0' 'x' >"$T/huge.txt"
pub VIN2 -m 'not json at all'
pub VIN2 -m '{"campaign":'
pub VIN2 -m "{\"campaign\":\"$c1\",\"state\":\"downloading\"}"
pub VIN2 -m "{\"campaign\":$c1,\"state\":7}"
pub VIN2 -m "{\"campaign\":$c1,\"state\":\"pending\"}"
pub VIN2 -m "{\"campaign\":$c1,\"state\":\"downloading\",\"bytes\":-5}"
pub VIN2 -m '[]'
pub VIN2 -n
pub VIN2 -f "$T/huge.txt"
wait_until 5 ntf_stat_is 'ota_notifier_status_bad_total{reason="payload"}' 9 ||
    fail "payload refusals: expected 9, got $(ntf_stat 'ota_notifier_status_bad_total{reason="payload"}')"
echo "ok - 9 malformed/oversized payloads counted"

pub NOSUCHVIN -m "{\"campaign\":$c1,\"state\":\"downloading\"}"   # unknown vehicle
pub VIN3 -m "{\"campaign\":$c1,\"state\":\"downloading\"}"        # foreign campaign
pub VIN1 -m "{\"campaign\":999,\"state\":\"downloading\"}"        # no such campaign
wait_until 5 ntf_stat_is 'ota_notifier_status_bad_total{reason="unknown"}' 3 ||
    fail "unknown refusals: expected 3, got $(ntf_stat 'ota_notifier_status_bad_total{reason="unknown"}')"
echo "ok - unknown vehicle / foreign campaign counted"

pub VIN1 -m "{\"campaign\":$c1,\"state\":\"downloading\"}"        # backward move
wait_until 5 ntf_stat_is 'ota_notifier_status_bad_total{reason="rejected"}' 1 ||
    fail "backward move: expected 1 rejected, got $(ntf_stat 'ota_notifier_status_bad_total{reason="rejected"}')"
echo "ok - backward move counted"

# Topics outside the vehicle pattern never reach us (the subscription is vehicles/+/status),
# and a bad id in the topic is refused.
pub 'bad%id' -m "{\"campaign\":$c1,\"state\":\"downloading\"}"
wait_until 5 ntf_stat_is 'ota_notifier_status_bad_total{reason="topic"}' 1 ||
    fail "bad topic id: expected 1, got $(ntf_stat 'ota_notifier_status_bad_total{reason="topic"}')"
echo "ok - invalid vehicle id in the topic counted"

check_eq "database unchanged by bad reports" "$before" "$(snapshot)"
check_eq "status_applied unchanged" 1 "$(ntf_stat ota_notifier_status_applied_total)"

# At-least-once: a final report delivered twice is applied once and counted as a duplicate.
pub VIN1 -m "{\"campaign\":$c1,\"state\":\"installed\"}"
wait_until 5 ntf_stat_is ota_notifier_status_applied_total 2
pub VIN1 -m "{\"campaign\":$c1,\"state\":\"installed\"}"
wait_until 5 ntf_stat_is ota_notifier_status_duplicate_total 1 ||
    fail "duplicate: expected 1, got $(ntf_stat ota_notifier_status_duplicate_total)"
check_eq "duplicate not applied again" 2 "$(ntf_stat ota_notifier_status_applied_total)"
check_eq "duplicate leaves the deployment installed" installed "$(state_of "$c1" VIN1)"
kill -0 "$NOTIFIER_PID" || fail "notifier died"
ota_stop "$NOTIFIER_PID"
