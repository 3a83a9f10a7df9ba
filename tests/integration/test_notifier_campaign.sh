#!/usr/bin/env bash
# ota-notifier: a campaign for N vehicles reaches every vehicle's retained topic promptly,
# later subscribers still get it, cancel clears it, status over MQTT moves the deployment,
# and the counters land in the stats file. SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=25
ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker
ntf_vehicles $N
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name c1 --artifact "$sha" --all)
ota_start_notifier
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1
echo "ok - broker connected (stats file)"

# A subscriber connected before the start sees the messages arrive live.
ntf_sub -t 'ota/v1/vehicles/+/update' -v -C $N -W 8 >"$T/live.txt" &
sub_pid=$!
sleep 0.5
t0=$(date +%s%N)
ota_admin campaign start "$cid" >/dev/null
wait_until 5 ntf_drained
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "all $N rows published ${ms} ms after campaign start"
[[ $ms -lt 2500 ]] || fail "campaign start took $ms ms to publish (want about a second)"
wait "$sub_pid" || true
check_eq "live subscriber got one message per vehicle" $N "$(grep -c '^ota/v1/vehicles/VIN[0-9]*/update {' "$T/live.txt")"

# Every topic holds the retained message, for a subscriber that connects later.
ntf_check_retained "campaign retained"
msg=$(ntf_sub -t 'ota/v1/vehicles/VIN7/update' -C 1 -W 3)
check_eq "VIN7 update names the campaign" "$cid" "$(jq -r .campaign <<<"$msg")"
check_eq "VIN7 update names the artifact" "$sha" "$(jq -r .artifact.sha256 <<<"$msg")"
check_contains "VIN7 update has issued_at" '"issued_at":"' "$msg"
wait_until 3 ntf_stat_is ota_notifier_published_total $N
echo "ok - published counter is $N"

# A valid status over MQTT moves the deployment.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t ota/v1/vehicles/VIN3/status \
    -m "{\"campaign\":$cid,\"state\":\"downloading\",\"bytes\":100}"
vin3_state()
{
    ota_admin campaign show "$cid" --vehicles --json | jq -r '.. | objects | select(.vehicle? == "VIN3") | .state' | head -n 1
}
# vin3_is STATE: evaluated on every try of wait_until.
vin3_is() { [[ $(vin3_state) == "$1" ]]; }
wait_until 5 vin3_is downloading || fail "VIN3 state: expected downloading, got $(vin3_state)"
echo "ok - status over MQTT moved VIN3 to downloading"
wait_until 3 ntf_stat_is ota_notifier_status_applied_total 1
echo "ok - status_applied counter"

# Installed ends the deployment: the notifier publishes VIN3's clearing message.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t ota/v1/vehicles/VIN3/status \
    -m "{\"campaign\":$cid,\"state\":\"installed\"}"
wait_until 5 vin3_is installed || fail "VIN3 state: expected installed, got $(vin3_state)"
wait_until 5 ntf_drained
check_eq "VIN3 topic cleared after installed" "" "$(ntf_sub -t ota/v1/vehicles/VIN3/update -C 1 -W 1 --retained-only)"
ntf_check_retained "after VIN3 installed"

# Cancel clears every topic.
ota_admin campaign cancel "$cid" >/dev/null
wait_until 5 ntf_drained
check_eq "no retained message after cancel" "" "$(ntf_retained)"
ntf_check_retained "after cancel"

ota_stop "$NOTIFIER_PID"
check_contains "summary line logged" "stats: broker=" "$(cat "$T/notifier.log")"
check_eq "no error lines" 0 "$(grep -c ' err ' "$T/notifier.log" || true)"
