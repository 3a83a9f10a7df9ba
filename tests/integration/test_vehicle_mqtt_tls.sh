#!/usr/bin/env bash
# ota-vehicle over MQTT with TLS and its client certificate: learns of the update from a
# retained message on a broker that requires certificates, and its status reports arrive
# on its status topic (a subscriber checks them; no notifier needed).
source "$(dirname "$0")/lib.sh"

ota_setup
ota_client_cert VIN1
ota_client_cert SPY
"$OTA_SRC/certs/mkcert.sh" "$T/pki" broker broker >/dev/null || fail "mkcert.sh broker failed"
ota_admin vehicle add VIN1 >/dev/null
head -c 200000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
CID=$(ota_admin campaign create --name tls --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
ota_start_broker "cafile $T/pki/ca.crt" "certfile $T/pki/broker.crt" \
    "keyfile $T/pki/broker.key" "require_certificate true" "use_identity_as_username true"
tls=(--cafile "$T/pki/ca.crt" --cert "$T/pki/SPY.crt" --key "$T/pki/SPY.key" -h localhost
    -p "$MQTT_PORT")

# What the notifier would publish: the /v1/updates body, retained.
ota_curl VIN1 /v1/updates -o "$T/update.json"
check_eq "update body campaign" "$CID" "$(jq -r .campaign "$T/update.json")"
mosquitto_pub "${tls[@]}" -q 1 -r -t ota/v1/vehicles/VIN1/update -f "$T/update.json" ||
    fail "mosquitto_pub over TLS failed"
timeout 30 mosquitto_sub "${tls[@]}" -q 1 -t ota/v1/vehicles/VIN1/status -W 25 \
    >"$T/status.txt" 2>>"$T/sub.err" &
sub=$!
sleep 0.5

rc=0
timeout 60 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/VIN1.crt" --key "$T/pki/VIN1.key" --pubkey "$T/keys/ota.pub" \
    --dir "$T/VIN1" --once --timeout 30 --poll-interval 60 --mode mqtt \
    --mqtt-host localhost --mqtt-port "$MQTT_PORT" --mqtt-cafile "$T/pki/ca.crt" \
    >"$T/VIN1.out" 2>"$T/VIN1.log" || rc=$?
[[ $rc -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "tls: exit status" 0 "$rc"
cmp -s "$T/fw.bin" "$T/VIN1/installed/fw.bin" || fail "tls: installed bytes differ"
echo "ok - tls: installed bytes match"
wait_until 10 grep -q '"installed"' "$T/status.txt" || fail "tls: no installed report on the topic"
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true
check_eq "tls: status states on the topic" "downloading downloaded installing installed" \
    "$(jq -r .state "$T/status.txt" | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//')"
check_contains "tls: broker saw the certificate's identity" "as VIN1" "$(cat "$T/mosquitto.log")"
check_eq "tls: no REST reports" 0 "$(grep -cE 'POST /v1/status .* VIN1' "$T/server.log" || true)"
check_eq "tls: polls: the test's own and the vehicle's one at start" 2 \
    "$(grep -cE 'GET /v1/updates .* VIN1' "$T/server.log" || true)"
ota_stop "$SERVER_PID"
