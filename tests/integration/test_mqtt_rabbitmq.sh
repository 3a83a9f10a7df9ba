#!/usr/bin/env bash
# The MQTT journey on a second broker (issue 19): RabbitMQ 3.10's MQTT plugin, a node of
# the test's own, with the notifier on [mqtt] protocol = 3.1.1: the retained update
# message, the download, status over MQTT recorded, and a cancel that clears the retained
# message and stops a vehicle mid-download. Then a notifier left on MQTT 5 against it:
# RabbitMQ closes the connection on the CONNECT, and the notifier's one line says so and
# points at [mqtt] protocol.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"
source "$(dirname "$0")/rabbitmq_lib.sh"

rmq_start
MQTT_PORT=$RMQ_MQTT_PORT
ota_setup "[notifier]" "stats_file = $T/stats.prom"
printf '[mqtt]\nhost = 127.0.0.1\nport = %s\nprotocol = 3.1.1\n' "$MQTT_PORT" >>"$OTA_CONF"
for v in VIN1 VIN2; do
    ota_client_cert $v
    ota_admin vehicle add $v >/dev/null
done
head -c 1000000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
C1=$(ota_admin campaign create --name rabbit --artifact "$SHA" --vehicles VIN1,VIN2)
ota_start_server
ota_start_notifier
wait_until 30 ntf_stat_is ota_notifier_broker_connected 1 || {
    ota_log_tail "$T/notifier.log"
    fail "the notifier got no session from RabbitMQ with MQTT 3.1.1"
}
echo "ok - notifier on RabbitMQ with MQTT 3.1.1: $(grep -o 'connected to broker.*' "$T/notifier.log" | head -n 1)"
ota_admin campaign start "$C1" >/dev/null
wait_until 10 ntf_drained || fail "update messages not published"

retained()
{
    timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -t "ota/v1/vehicles/$1/update" \
        -C 1 -W 2 2>/dev/null || true
}
check_contains "VIN1's retained update message" "\"sha256\":\"$SHA\"" "$(retained VIN1)"

vehicle()
{
    local id=$1
    shift
    VRC=0
    timeout 90 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --cert "$T/pki/$id.crt" --key "$T/pki/$id.key" --pubkey "$T/keys/ota.pub" \
        --dir "$T/$id" --once --mode mqtt --mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" \
        "$@" >"$T/$id.out" 2>>"$T/$id.log" || VRC=$?
}
state()
{
    ota_admin campaign show "$C1" --vehicles --json | jq -r --arg v "$1" '.deployments[] | select(.vehicle == $v) | .state'
}
state_is()
{
    [[ $(state "$1") == "$2" ]]
}

vehicle VIN1 --timeout 60 --poll-interval 60
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "VIN1: exit status" 0 "$VRC"
cmp -s "$T/fw.bin" "$T/VIN1/installed/fw.bin" || fail "VIN1: installed bytes differ"
wait_until 10 state_is VIN1 installed || fail "VIN1: deployment is '$(state VIN1)', want installed"
check_eq "VIN1: reports over REST" 0 "$(grep -c 'POST /v1/status .* VIN1' "$T/server.log" || true)"
echo "ok - VIN1 installed; its status went through RabbitMQ and the notifier"
wait_until 10 eval '[[ -z $(retained VIN1) ]]' || fail "VIN1: retained message not cleared"
echo "ok - VIN1's retained message cleared after the install"

timeout 60 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/VIN2.crt" --key "$T/pki/VIN2.key" --pubkey "$T/keys/ota.pub" \
    --dir "$T/VIN2" --once --mode mqtt --mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" \
    --timeout 50 --stall 40 --poll-interval 60 >"$T/VIN2.out" 2>>"$T/VIN2.log" &
vpid=$!
wait_until 20 state_is VIN2 downloading || fail "VIN2 never reported downloading"
ota_admin campaign cancel "$C1" >/dev/null
rc=0
wait "$vpid" || rc=$?
check_eq "cancel: VIN2's exit status" 4 "$rc"
check_contains "cancel: VIN2 says" "cancelled" "$(cat "$T/VIN2.out")"
check_eq "cancel: retained message" "" "$(retained VIN2)"
echo "ok - cancel: the cleared retained message stopped VIN2; nothing left on the broker"

# ---- MQTT 5 against RabbitMQ 3.10: closed on CONNECT, said once, with the hint
"$OTA_NOTIFIER" --config "$OTA_CONF" --set mqtt.protocol=5 --set mqtt.client_id=ota-notifier-5 \
    --set "notifier.stats_file=$T/stats5.prom" >>"$T/notifier5.log" 2>&1 &
n5=$!
ota_track "$n5" notifier5 strict
said()
{
    grep -q "no session: the broker closed the connection before its CONNACK (a broker without MQTT 5" "$T/notifier5.log"
}
wait_until 10 said || { ota_log_tail "$T/notifier5.log"; fail "MQTT 5: no line about the closed CONNECT"; }
sleep 3
check_eq "MQTT 5: lines" 1 "$(grep -c 'no session:' "$T/notifier5.log")"
echo "ok - MQTT 5 on RabbitMQ 3.10: $(grep -o 'no session:.*' "$T/notifier5.log" | cut -c1-110)"
ota_stop "$n5"
ota_stop "$NOTIFIER_PID"
ota_stop "$SERVER_PID"
