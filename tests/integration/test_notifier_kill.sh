#!/usr/bin/env bash
# ota-notifier SIGKILLed mid-campaign and restarted: nothing is lost, and no row is marked
# published that the broker did not get (a subscriber connected throughout has seen every
# published row's message).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=60
ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker
ntf_vehicles $N
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name c1 --artifact "$sha" --all)

# Everything the broker accepts is recorded by this subscriber.
ntf_sub -t 'ota/v1/vehicles/+/update' -v -W 60 >"$T/seen.txt" &
sleep 0.3

# A stopped broker lets the notifier put messages on the wire without PUBACKs.
ota_start_notifier --set notifier.max_inflight=8
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1
kill -STOP "$BROKER_PID"
ota_admin campaign start "$cid" >/dev/null
wait_until 5 ntf_stat_is ota_notifier_inflight 8
kill -KILL "$NOTIFIER_PID"
wait "$NOTIFIER_PID" 2>/dev/null || true
unset "_ota_names[$NOTIFIER_PID]" "_ota_strict[$NOTIFIER_PID]"
kill -CONT "$BROKER_PID"
check_eq "no row published by a notifier that never saw a PUBACK" 0 "$(ntf_count published)"

# Restart: every row goes out, and the broker holds every vehicle's message.
ota_start_notifier
wait_until 10 ntf_drained || fail "rows still pending after the restart"
check_eq "all rows published" $N "$(ntf_count published)"
ntf_check_retained "after notifier restart"

# No false "published": each published row's payload was seen on its topic.
sleep 0.5
missing=0
while read -r topic payload; do
    grep -qxF "$topic $payload" "$T/seen.txt" || missing=$((missing + 1))
done < <(ota_admin outbox list --json | jq -r '.outbox[] | select(.state == "published") | "ota/v1/\(.topic) \(.payload)"')
check_eq "published rows the subscriber never saw" 0 "$missing"

# Kill again while idle, restart: nothing is sent twice needlessly and nothing is pending.
kill -KILL "$NOTIFIER_PID"
wait "$NOTIFIER_PID" 2>/dev/null || true
unset "_ota_names[$NOTIFIER_PID]" "_ota_strict[$NOTIFIER_PID]"
ota_start_notifier
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1
check_eq "pending after an idle restart" 0 "$(ntf_count pending)"
ntf_check_retained "after the second restart"
ota_stop "$NOTIFIER_PID"
