#!/usr/bin/env bash
# ota-vehicle in mqtt mode: learns of its update from the retained message the notifier
# publishes (and its one poll at start), reports over MQTT (no REST report at all), stops
# when a cancel clears the message, the cancel leaves no retained message behind, and with
# the broker down it polls and reports over REST. With an empty broker (no notifier) it
# installs through its REST safety net; offered bytes it runs already, it reports
# installed without downloading them.
# Usage: test_vehicle_mqtt.sh [5|3.1.1]   (ota-notifier's [mqtt] protocol; default 5)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

vehicle_args()
{
    local id=$1
    echo --server "$SERVER_URL" --cacert "$T/pki/ca.crt" --cert "$T/pki/$id.crt" \
        --key "$T/pki/$id.key" --pubkey "$T/keys/ota.pub" --dir "$T/$id" --once \
        --mode mqtt --mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT"
}
vehicle()
{
    local id=$1
    shift
    VRC=0
    # shellcheck disable=SC2046 # paths in $T have no blanks
    timeout 120 "$OTA_VEHICLE" $(vehicle_args "$id") "$@" >"$T/$id.out" 2>>"$T/$id.log" ||
        VRC=$?
}
state()
{
    ota_admin campaign show "$2" --vehicles --json | jq -r --arg v "$1" '.deployments[] | select(.vehicle == $v) | .state'
}
# state_is ID CAMPAIGN STATE: for wait_until, which evaluates its arguments only once.
state_is()
{
    [[ $(state "$1" "$2") == "$3" ]]
}
rest_lines()
{
    grep -cE "$1.* $2( |\$)" "$T/server.log" || true
}

ota_setup
ota_start_broker
ntf_protocol "${1:-5}"
for v in VIN1 VIN2 VIN3 VIN4 VIN5; do
    ota_client_cert $v
    ota_admin vehicle add $v >/dev/null
done
head -c 1000000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
C1=$(ota_admin campaign create --name mqtt --artifact "$SHA" --vehicles VIN1,VIN2)
ota_start_server
ota_start_notifier
ota_admin campaign start "$C1" >/dev/null
wait_until 5 eval 'grep -q "as ota-notifier ($P," "$T/mosquitto.log"' ||
    fail "the notifier did not connect with MQTT $PROTO ($P)"
echo "ok - the notifier connected with MQTT $PROTO"

# ---- learn from the retained message, report over MQTT only
vehicle VIN1 --timeout 60 --poll-interval 60
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "mqtt: exit status" 0 "$VRC"
cmp -s "$T/fw.bin" "$T/VIN1/installed/fw.bin" || fail "mqtt: installed bytes differ"
echo "ok - mqtt: installed bytes match"
wait_until 10 state_is VIN1 "$C1" installed ||
    fail "mqtt: deployment is '$(state VIN1 "$C1")', want installed (status over MQTT)"
echo "ok - mqtt: deployment installed through the notifier"
# the poll at start, unless the retained message came first and stopped it
polls=$(rest_lines "GET /v1/updates" VIN1)
[[ $polls -le 1 ]] || fail "mqtt: $polls polls, want the one at start at most"
check_eq "mqtt: REST reports" 0 "$(rest_lines "POST /v1/status" VIN1)"
check_eq "mqtt: artifact over HTTPS" 1 "$(grep -c "GET /v1/artifacts/$SHA 200 .* VIN1" "$T/server.log" || true)"

# ---- cancel mid-download: the cleared retained message stops the vehicle
rc=0
# shellcheck disable=SC2046
timeout 60 "$OTA_VEHICLE" $(vehicle_args VIN2) --timeout 50 --stall 40 >"$T/VIN2.out" \
    2>>"$T/VIN2.log" &
vpid=$!
wait_until 20 state_is VIN2 "$C1" downloading ||
    fail "cancel: VIN2 never reported downloading"
ota_admin campaign cancel "$C1" >/dev/null
wait "$vpid" || rc=$?
check_eq "cancel: exit status" 4 "$rc"
check_contains "cancel: vehicle says" "cancelled" "$(cat "$T/VIN2.out")"
check_eq "cancel: deployment" cancelled "$(state VIN2 "$C1")"
check_eq "cancel: partial deleted" "" "$(ls "$T/VIN2/partial")"
[[ ! -e $T/VIN2/installed/fw.bin ]] || fail "cancel: something was installed"
echo "ok - cancel: nothing installed"
no_retained()
{
    [[ -z $(ntf_retained) ]]
}
wait_until 10 no_retained || fail "cancel: retained messages left: $(ntf_retained | cut -c1-100)"
echo "ok - cancel: no retained update message left on the broker"

# ---- an empty broker (notifier stopped before the campaign): the REST safety net
ota_stop "$NOTIFIER_PID"
C3=$(ota_admin campaign create --name emptybroker --artifact "$SHA" --vehicles VIN4)
ota_admin campaign start "$C3" >/dev/null
vehicle VIN4 --timeout 60 --poll-interval 60
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN4.log"
check_eq "empty broker: exit status" 0 "$VRC"
cmp -s "$T/fw.bin" "$T/VIN4/installed/fw.bin" || fail "empty broker: installed bytes differ"
check_eq "empty broker: retained messages" "" "$(ntf_retained)"
ota_start_notifier
wait_until 10 state_is VIN4 "$C3" installed ||
    fail "empty broker: deployment is '$(state VIN4 "$C3")', want installed"
echo "ok - empty broker: installed through the poll, reported over MQTT"

# ---- offered what it runs already (flashed in the workshop: VIN1's state): no download
cp -a "$T/VIN1" "$T/VIN5"
C4=$(ota_admin campaign create --name flashed --artifact "$SHA" --vehicles VIN5)
ota_admin campaign start "$C4" >/dev/null
vehicle VIN5 --timeout 60 --poll-interval 60
check_eq "already installed: exit status" 0 "$VRC"
check_contains "already installed: says" "installed here; reporting installed" \
    "$(cat "$T/VIN5.log")"
wait_until 10 state_is VIN5 "$C4" installed ||
    fail "already installed: deployment is '$(state VIN5 "$C4")', want installed"
check_eq "already installed: artifact downloads" 0 "$(rest_lines "GET /v1/artifacts" VIN5)"
echo "ok - already installed: reported installed, nothing downloaded"

# ---- broker down: poll and report over REST
ota_stop "$BROKER_PID" || true
C2=$(ota_admin campaign create --name nobroker --artifact "$SHA" --vehicles VIN3)
ota_admin campaign start "$C2" >/dev/null
vehicle VIN3 --timeout 60 --poll-interval 0.5
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN3.log"
check_eq "no broker: exit status" 0 "$VRC"
check_eq "no broker: deployment" installed "$(state VIN3 "$C2")"
n=$(grep -cE "POST /v1/status 204 .* VIN3( |\$)" "$T/server.log" || true)
[[ $n -ge 4 ]] || fail "no broker: expected >= 4 REST status reports, got $n"
echo "ok - no broker: $n reports over REST"
ota_stop "$SERVER_PID"
