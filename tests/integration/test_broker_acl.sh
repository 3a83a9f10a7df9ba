#!/usr/bin/env bash
# deploy/mosquitto.conf + mosquitto.acl: TLS with client certificates; each vehicle reads
# only its own update topic and writes only its own status topic; ota-notifier connects
# with its own certificate. Also: bad [mqtt] TLS settings stop the notifier at start with
# the key named.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

ota_pki
"$OTA_SRC/certs/mkcert.sh" "$T/pki" broker broker
for c in VIN1 VIN2 ota-notifier; do ota_client_cert "$c"; done

MQTT_PORT=$(ota_free_port)
export MQTT_PORT
ota_setup "[mqtt]" "cafile = $T/pki/ca.crt" "certfile = $T/pki/ota-notifier.crt" \
    "keyfile = $T/pki/ota-notifier.key" "[notifier]" "stats_file = $T/stats.prom"

# The deployed configuration with ports and paths made local.
cp "$OTA_SRC/deploy/mosquitto.acl" "$T/ota.acl"
sed -e "s|^listener 8883\$|listener $MQTT_PORT 127.0.0.1|" \
    -e "s|/etc/ota-origin/tls/|$T/pki/|" \
    -e "s|^acl_file .*|acl_file $T/ota.acl|" \
    -e "s|^persistence_location .*|persistence_location $T/|" \
    -e "s|^log_dest .*|log_dest file $T/mosquitto.log\nuser $(id -un)|" \
    "$OTA_SRC/deploy/mosquitto.conf" >"$T/mosquitto-deploy.conf"
grep -q "listener $MQTT_PORT 127.0.0.1" "$T/mosquitto-deploy.conf" || fail "listener not substituted"
ota_spawn mosquitto mosquitto -c "$T/mosquitto-deploy.conf"
BROKER_PID=$SPAWN_PID
wait_until 10 _ota_port_accepts "$MQTT_PORT" || fail "broker does not listen"

# As a vehicle NAME: mosquitto_sub/pub over TLS with its certificate.
vsub()
{
    local name=$1
    shift
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 --cafile "$T/pki/ca.crt" \
        --cert "$T/pki/$name.crt" --key "$T/pki/$name.key" "$@" 2>>"$T/sub.err" || true
}
vpub()
{
    local name=$1
    shift
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 --cafile "$T/pki/ca.crt" \
        --cert "$T/pki/$name.crt" --key "$T/pki/$name.key" -q 1 "$@" 2>>"$T/pub.err" || true
}

ntf_vehicles 2
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name c1 --artifact "$sha" --vehicles VIN1,VIN2)
ota_start_notifier
wait_until 10 ntf_stat_is ota_notifier_broker_connected 1 ||
    fail "notifier did not connect over TLS: $(tail -n 3 "$T/notifier.log")"
echo "ok - notifier connected with its client certificate"
ota_admin campaign start "$cid" >/dev/null
wait_until 5 ntf_drained
check_eq "no PUBACK refused" 0 "$(ntf_stat ota_notifier_refused_total)"

own2=$(vsub VIN2 -t ota/v1/vehicles/VIN2/update -C 1 -W 3)
check_eq "VIN2 reads its own update" "$cid" "$(jq -r .campaign <<<"$own2")"
own1=$(vsub VIN1 -t ota/v1/vehicles/VIN1/update -C 1 -W 3)
check_eq "VIN1 reads its own update" "$cid" "$(jq -r .campaign <<<"$own1")"
check_eq "VIN1 cannot read VIN2's update" "" "$(vsub VIN1 -t ota/v1/vehicles/VIN2/update -C 1 -W 2)"
check_eq "VIN1 cannot read updates by wildcard" "" \
    "$(vsub VIN1 -t 'ota/v1/vehicles/+/update' -v -W 2 | grep -v '^ota/v1/vehicles/VIN1/update ' || true)"
vsub VIN1 -t 'ota/v1/vehicles/+/status' -C 1 -W 3 >"$T/vin1-status.txt" &
spy=$!
sleep 0.5
vpub VIN2 -t ota/v1/vehicles/VIN2/status -m '{"campaign":0}'
wait "$spy" || true
check_eq "VIN1 cannot read status topics" "" "$(cat "$T/vin1-status.txt")"

# VIN1 forging VIN2's status: the notifier never sees it.
applied0=$(ntf_stat ota_notifier_status_applied_total)
bad0=$(( $(ntf_stat 'ota_notifier_status_bad_total{reason="payload"}') ))
vpub VIN1 -t ota/v1/vehicles/VIN2/status -m "{\"campaign\":$cid,\"state\":\"downloading\"}"
# VIN1 forging VIN2's update: refused too; VIN2's retained message stays the notifier's.
vpub VIN1 -t ota/v1/vehicles/VIN2/update -r -m '{"campaign":999}'
vpub VIN1 -t ota/v1/vehicles/VIN1/status -m "{\"campaign\":$cid,\"state\":\"downloading\",\"bytes\":5}"
wait_until 5 ntf_stat_is ota_notifier_status_applied_total $((applied0 + 1)) ||
    fail "VIN1's own status was not applied"
echo "ok - VIN1 writes its own status"
sleep 0.5
check_eq "VIN1's forged status for VIN2 never arrived" $((applied0 + 1)) "$(ntf_stat ota_notifier_status_applied_total)"
state()
{
    ota_admin campaign show "$cid" --vehicles --json | jq -r --arg v "$1" '.. | objects | select(.vehicle? == $v) | .state' | head -n 1
}
check_eq "VIN2 deployment untouched" pending "$(state VIN2)"
check_eq "VIN1 deployment moved" downloading "$(state VIN1)"
check_eq "VIN2's retained update unchanged" "$own2" "$(vsub VIN2 -t ota/v1/vehicles/VIN2/update -C 1 -W 3)"
ota_stop "$NOTIFIER_PID"

# Bad TLS settings: exit 1 at start, naming the key.
bad_start()
{
    local what=$1 needle=$2 rc=0
    shift 2
    "$OTA_NOTIFIER" --config "$OTA_CONF" "$@" >"$T/bad.out" 2>&1 || rc=$?
    check_eq "$what: exit status" 1 "$rc"
    check_contains "$what: key named" "$needle" "$(cat "$T/bad.out")"
}
bad_start "missing keyfile" mqtt.keyfile --set mqtt.keyfile="$T/nope.key"
bad_start "missing cafile" mqtt.cafile --set mqtt.cafile="$T/nope.crt"
bad_start "not a CA file" mqtt.cafile --set mqtt.cafile="$T/ota.acl"
bad_start "key of another certificate" mqtt.certfile/mqtt.keyfile --set mqtt.keyfile="$T/pki/VIN1.key"
bad_start "cert without key" mqtt.keyfile --set mqtt.keyfile=
bad_start "max_inflight 0" notifier.max_inflight --set notifier.max_inflight=0
