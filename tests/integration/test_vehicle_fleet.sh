#!/usr/bin/env bash
# ota-vehicle --fleet: N simulated vehicles in one process (curl multi), each with its own
# client certificate, all install one campaign; the summary line and exit status say so.
# An ids file works too, and a fleet with one unregistered vehicle exits 1.
source "$(dirname "$0")/lib.sh"

N=${OTA_TEST_FLEET:-20}
ota_setup
ids=()
for ((i = 1; i <= N; i++)); do
    ids+=("$(printf 'VEH%04d' $i)")
done
ota_fleet "${ids[@]}"
head -c 300000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 3.1 --name fw.bin)
CID=$(ota_admin campaign create --name fleet --artifact "$SHA" --all)
ota_admin campaign start "$CID" >/dev/null
ota_start_server

rc=0
timeout 170 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --pubkey "$T/keys/ota.pub" --dir "$T/fleet" --fleet "$N" --fleet-certs "$T/pki" \
    --fleet-ids 'VEH%04d' --parallel 8 --poll-interval 0.5 --timeout 120 \
    >"$T/fleet.out" 2>"$T/fleet.log" || rc=$?
[[ $rc -eq 0 ]] || ota_log_tail "$T/fleet.log"
check_eq "fleet exit status" 0 "$rc"
summary=$(cat "$T/fleet.out")
[[ $summary =~ ^done\ $N\ failed\ 0\ bytes\ ([0-9]+)\ seconds\ [0-9.]+$ ]] ||
    fail "summary: expected 'done $N failed 0 bytes B seconds S', got '$summary'"
check_eq "fleet bytes" $((N * 300000)) "${BASH_REMATCH[1]}"
check_eq "campaign installed count" "$N" \
    "$(ota_admin campaign show "$CID" --json | jq -r .counts.installed)"
for id in "${ids[@]}"; do
    cmp -s "$T/fw.bin" "$T/fleet/$id/installed/fw.bin" || fail "$id: installed bytes differ"
done
echo "ok - every vehicle's installed bytes match"
# Each vehicle presented its own certificate: one artifact download per id.
for id in "${ids[@]}"; do
    n=$(grep -cE "GET /v1/artifacts/$SHA 200 .* $id( |\$)" "$T/server.log" || true)
    [[ $n -eq 1 ]] || fail "$id: $n artifact downloads in the access log, want 1"
done
echo "ok - one download per vehicle, each under its own id"

# ---- --json summary, ids from a file; one id is not registered: exit 1, failed 1
ota_client_cert STRAY >/dev/null
printf '# two vehicles\nVEH0001\nSTRAY\n' >"$T/ids.txt"
rc=0
timeout 60 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --pubkey "$T/keys/ota.pub" --dir "$T/fleet2" --fleet 2 --fleet-certs "$T/pki" \
    --fleet-ids "@$T/ids.txt" --once --poll-interval 0.5 --timeout 5 --json \
    >"$T/fleet2.out" 2>"$T/fleet2.log" || rc=$?
check_eq "mixed fleet exit status" 1 "$rc"
check_eq "mixed fleet summary" "0 2" "$(jq -r '"\(.done) \(.failed)"' "$T/fleet2.out")"
check_contains "unregistered vehicle refused" "STRAY: server refused this vehicle (HTTP 403)" \
    "$(cat "$T/fleet2.log")"
ota_stop "$SERVER_PID"
