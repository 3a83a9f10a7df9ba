#!/usr/bin/env bash
# Status published while ota-notifier is away (issue 19): its status subscription is a
# persistent session (MQTT 5 session expiry, or clean session off with 3.1.1), so reports
# vehicles publish while it is stopped wait at the broker and are recorded when it is back.
# Usage: test_notifier_offline.sh [5|3.1.1]   (the notifier's [mqtt] protocol)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker
ntf_protocol "${1:-5}"
ids=(VIN1 VIN2 VIN3)
for v in "${ids[@]}"; do
    ota_client_cert "$v"
    ota_admin vehicle add "$v" >/dev/null
done
head -c 300000 /dev/urandom >"$T/fw.bin"
sha=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
c1=$(ota_admin campaign create --name offline --artifact "$sha" --vehicles VIN1,VIN2,VIN3)
ota_start_server
ota_start_notifier
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1 || fail "notifier not connected"
check_contains "notifier speaks MQTT $PROTO" "as ota-notifier ($P," "$(cat "$T/mosquitto.log")"
ota_admin campaign start "$c1" >/dev/null
wait_until 10 ntf_drained || fail "update messages not published"
ota_stop "$NOTIFIER_PID"

states()
{
    ota_admin campaign show "$c1" --vehicles --json |
        jq -r '[.deployments[] | .state] | sort | join(",")'
}
pids=()
for v in "${ids[@]}"; do
    timeout 60 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/$v.crt" --key "$T/pki/$v.key" --pubkey "$T/keys/ota.pub" \
        --dir "$T/$v" --once --timeout 50 --poll-interval 60 --mode mqtt \
        --mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" >"$T/$v.out" 2>"$T/$v.log" &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    [[ $rc -eq 0 ]] || ota_log_tail "$T/${ids[$i]}.log"
    check_eq "${ids[$i]}: exit status" 0 "$rc"
done
check_eq "reports over REST" 0 "$(grep -c 'POST /v1/status' "$T/server.log" || true)"
before=$(states)
[[ $before != *installed* ]] || fail "a report was recorded with the notifier stopped: $before"
echo "ok - all installed, reported over MQTT only, the database still says $before"

ota_start_notifier
installed_all()
{
    [[ $(states) == installed,installed,installed ]]
}
wait_until 15 installed_all || {
    ota_log_tail "$T/notifier.log"
    fail "after the notifier's return the deployments are $(states)"
}
echo "ok - MQTT $PROTO: every report published while the notifier was away is recorded"
wait_until 5 eval '[[ $(ntf_stat ota_notifier_status_applied_total) -ge 9 ]]' ||
    fail "status_applied: $(ntf_stat ota_notifier_status_applied_total), want >= 9 (3 per vehicle at least)"
check_contains "session kept" "(MQTT $PROTO, session present)" "$(grep "connected to broker" "$T/notifier.log")"
ota_stop "$NOTIFIER_PID"
ota_stop "$SERVER_PID"
