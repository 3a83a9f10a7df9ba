#!/usr/bin/env bash
# ota-vehicle in poll mode against the real ota-server: learns of its update from
# GET /v1/updates, downloads, verifies, installs, reports over REST; a second run has
# nothing to do; a hw-restricted artifact installs on matching hardware only.
source "$(dirname "$0")/lib.sh"

# state ID CAMPAIGN: the deployment state of vehicle ID in campaign CAMPAIGN.
state()
{
    ota_admin campaign show "$2" --vehicles --json | jq -r --arg v "$1" '.deployments[] | select(.vehicle == $v) | .state'
}

ota_setup
ota_client_cert VIN1
ota_client_cert VIN2
ota_admin vehicle add VIN1 >/dev/null
ota_admin vehicle add VIN2 >/dev/null
head -c 2000000 /dev/urandom >"$T/fw1.bin"
SHA=$(ota_admin artifact upload "$T/fw1.bin" --version 1.0 --name fw.bin)
CID=$(ota_admin campaign create --name poll --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server

# ---- install, id taken from the certificate's CN
ota_vehicle_once VIN1 --timeout 60
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "vehicle exit status" 0 "$VRC"
check_eq "vehicle says" "VIN1 installed" "$(cat "$T/VIN1.out")"
cmp -s "$T/fw1.bin" "$T/VIN1/installed/fw.bin" || fail "installed bytes differ from the artifact"
echo "ok - installed bytes match"
check_eq "deployment state" installed "$(state VIN1 "$CID")"
check_eq "campaign counts" '1 0' \
    "$(ota_admin campaign show "$CID" --json | jq -r '"\(.counts.installed) \(.counts.failed)"')"
check_eq "state.json" "installed $SHA" "$(jq -r '"\(.state) \(.sha256)"' "$T/VIN1/state.json")"
check_eq "no partial left" "" "$(ls "$T/VIN1/partial")"
log=$(cat "$T/server.log")
check_contains "poll in access log" "GET /v1/updates 200" "$log"
check_contains "download in access log" "GET /v1/artifacts/$SHA 200" "$log"
check_contains "REST status reports" "POST /v1/status 204" "$log"
reports=$(grep -c "POST /v1/status 204" "$T/server.log" || true)
[[ $reports -ge 4 ]] || fail "expected >= 4 status reports (downloading..installed), got $reports"
echo "ok - $reports status reports"
check_contains "events recorded" installed "$(ota_admin events --vehicle VIN1 2>&1)"

# ---- a second run: already installed, nothing to do within --timeout (exit 3)
ota_vehicle_once VIN1 --timeout 2
check_eq "second run exit status" 3 "$VRC"
check_contains "second run says" "nothing" "$(cat "$T/VIN1.out")"

# ---- a vehicle without a deployment: 204, nothing to do
ota_vehicle_once VIN2 --timeout 2
check_eq "no deployment exit status" 3 "$VRC"

# ---- hw: signed hw list must contain the vehicle's --hw
head -c 100000 /dev/urandom >"$T/fw2.bin"
SHA2=$(ota_admin artifact upload "$T/fw2.bin" --version 2.0 --name fw.bin --hw rev-a,rev-b)
CID2=$(ota_admin campaign create --name hw --artifact "$SHA2" --vehicles VIN1,VIN2)
ota_admin campaign start "$CID2" >/dev/null
ota_vehicle_once VIN1 --timeout 60 --hw rev-b
check_eq "hw match exit status" 0 "$VRC"
cmp -s "$T/fw2.bin" "$T/VIN1/installed/fw.bin" || fail "hw match: installed bytes differ"
ota_vehicle_once VIN2 --timeout 60 --hw rev-c
check_eq "hw mismatch exit status" 1 "$VRC"
check_contains "hw mismatch reason" "hw (signed comment) mismatch" "$(cat "$T/VIN2.out")"
check_eq "hw mismatch deployment" failed "$(state VIN2 "$CID2")"
check_contains "hw mismatch detail recorded" "hw" \
    "$(ota_admin campaign show "$CID2" --vehicles --json | jq -r '.deployments[] | select(.vehicle == "VIN2") | .detail')"
[[ ! -e $T/VIN2/installed/fw.bin ]] || fail "hw mismatch: something was installed"
echo "ok - nothing installed on the wrong hardware"

# ---- usage errors exit 2
rc=0
"$OTA_VEHICLE" --server "$SERVER_URL" >/dev/null 2>&1 || rc=$?
check_eq "usage exit status" 2 "$rc"
ota_stop "$SERVER_PID"
