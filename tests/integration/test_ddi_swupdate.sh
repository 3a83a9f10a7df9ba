#!/bin/bash
# test_ddi_swupdate.sh: Debian's stock SWUpdate (suricatta, hawkBit server) against
# ota-server's DDI API over mutual TLS: poll, configData, deploymentBase, a download that
# is cut half way and resumed (Range: bytes=N- -> 206), install with the rawfile handler
# into $T, feedback, the confirm after "reboot" (swupdate -c 2) -> installed, and a
# cancelled campaign that reaches it as cancelAction and is acknowledged.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=swupdate/swupdate_lib.sh
source "$(dirname "$0")/swupdate/swupdate_lib.sh"

SWU=$OTA_SRC/tests/integration/swupdate
swupdate_check
command -v python3 >/dev/null || fail "python3 is needed for the cutting relay"

PROXY_PORT=$(ota_free_port)
ota_setup "[server]" "poll_after = 2" "public_url = https://localhost:$PROXY_PORT"
ota_client_cert VIN1
ota_admin vehicle add VIN1 --model m1 >/dev/null

# ---- the .swu: 1 MiB of random bytes installed to $T/installed/payload.bin
mkdir -p "$T/installed" "$T/swtmp" "$T/img"
"$SWU/mkswu.sh" signer "$T/signer"
head -c 1048576 /dev/urandom >"$T/img/payload.bin"
"$SWU/mkswu.sh" build "$T/img/update.swu" "$T/img/payload.bin" "$T/installed/payload.bin" \
    "$T/signer" 1.0.0
SWU_SIZE=$(stat -c %s "$T/img/update.swu")
SHA=$(ota_admin artifact upload "$T/img/update.swu" --version 1.0.0)
check_eq "artifact name keeps .swu" "update.swu" \
    "$(ota_admin artifact show "$SHA" --json | jq -r .name)"
CID=$(ota_admin campaign create --name swu1 --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null

ota_start_server
# The relay cuts the first connection that carries more than 256 KiB to the client: the
# artifact download (polls and JSON answers are a few KiB).
ota_spawn cutproxy python3 "$SWU/cutproxy.py" "$PROXY_PORT" "$SERVER_PORT" 262144
wait_until 10 _ota_port_accepts "$PROXY_PORT"

# ---- suricatta's configuration: mTLS client certificate, the fleet CA, DEFAULT tenant
swupdate_config VIN1 "https://localhost:$PROXY_PORT"

dep_field()
{
    ota_admin campaign show "$1" --vehicles --json | jq -r ".deployments[] | select(.vehicle == \"VIN1\") | .$2"
}
dep_state_is()
{
    [[ $(dep_field "$1" state) == "$2" ]]
}
installed_ok()
{
    cmp -s "$T/img/payload.bin" "$T/installed/payload.bin"
}
log_has()
{
    grep -q -- "$2" "$T/$1.log" 2>/dev/null
}
vehicle_attrs()
{
    ota_admin vehicle show VIN1 --json | jq -c .attributes
}

# ---- 1: poll, configData, deploymentBase, cut + resumed download, install
swupdate_run swupdate1
wait_until 60 installed_ok || fail "the payload was not installed into $T/installed"
echo "ok - swupdate installed the payload through the rawfile handler"
wait_until 20 log_has swupdate1 "Update successful" || fail "swupdate did not report success"
check_contains "configData stored as attributes" '"hwRevision":"1.0"' "$(vehicle_attrs)"
check_contains "configData serial" '"serial":"VIN1-serial"' "$(vehicle_attrs)"
# After installing, SWUpdate says "proceeding" (1/1: All Chunks Installed) and waits for the
# reboot to say "closed": installing, awaiting the confirm.
wait_until 10 dep_state_is "$CID" installing || fail "deployment is $(dep_field "$CID" state)"
echo "ok - the action stays open (installing) until the confirm"
swupdate_stop
# SWUpdate reports no byte counts: the server counts what it sent (cut + resumed).
B=$(dep_field "$CID" bytes)
[[ $B -ge $SWU_SIZE ]] || fail "deployment bytes $B, expected at least the $SWU_SIZE sent"
echo "ok - the deployment counts $B bytes sent to SWUpdate"

ALOG=$T/server.log
ART_PATH="/DEFAULT/controller/v1/VIN1/softwaremodules/$CID/artifacts/update.swu"
check_contains "cut relay fired" "cut conn" "$(cat "$T/cutproxy.log")"
check_contains "poll answered" "GET /DEFAULT/controller/v1/VIN1 200" "$(cat "$ALOG")"
check_contains "configData PUT answered 200" "PUT /DEFAULT/controller/v1/VIN1/configData 200" \
    "$(cat "$ALOG")"
check_contains "deploymentBase answered" "GET /DEFAULT/controller/v1/VIN1/deploymentBase/" \
    "$(cat "$ALOG")"
check_contains "feedback answered 200" "/feedback 200" "$(cat "$ALOG")"
R206=$(grep -F "GET $ART_PATH 206 " "$ALOG" | head -n1 || true)
[[ -n $R206 ]] || {
    grep -F "$ART_PATH" "$ALOG" >&2 || true
    fail "no 206 for the resumed artifact download"
}
echo "ok - the resumed download got 206: $R206"
# The 206 carried the rest of the file from where the cut left it (bytes=N- with N > 0).
B206=$(awk '{print $5}' <<<"$R206")
[[ $B206 -gt 0 && $B206 -lt $SWU_SIZE ]] ||
    fail "206 carried $B206 bytes, expected between 0 and $SWU_SIZE (a bytes=N- range)"
echo "ok - 206 body $B206 of $SWU_SIZE bytes"
# SWUpdate's channel saw the cut and retried (it resumes with CURLOPT_RESUME_FROM: bytes=N-).
check_contains "swupdate retried the cut download" "Channel sleeps" "$(cat "$T/swupdate1.log")"

# ---- 2: the confirm after the "reboot": swupdate -c 2 sends closed/success
swupdate_run swupdate2 -c 2
wait_until 30 dep_state_is "$CID" installed ||
    fail "deployment is $(dep_field "$CID" state) after swupdate -c 2, expected installed"
echo "ok - swupdate -c 2 closed the action: deployment installed"
check_eq "campaign finished" finished "$(ota_admin campaign show "$CID" --json | jq -r .state)"
swupdate_stop
NEV=$(ota_admin events --campaign "$CID" --json | jq '[.events[] | select(.actor == "ddi")] | length')
[[ $NEV -ge 2 ]] || fail "expected ddi events for campaign $CID, got $NEV"
echo "ok - $NEV ddi events recorded"

# ---- 3: a cancelled campaign reaches SWUpdate as cancelAction and is acknowledged
head -c 4096 /dev/urandom >"$T/img/payload2.bin"
"$SWU/mkswu.sh" build "$T/img/update2.swu" "$T/img/payload2.bin" "$T/installed/payload2.bin" \
    "$T/signer" 2.0.0
SHA2=$(ota_admin artifact upload "$T/img/update2.swu" --version 2.0.0)
CID2=$(ota_admin campaign create --name swu2 --artifact "$SHA2" --vehicles VIN1)
ota_admin campaign start "$CID2" >/dev/null
ota_admin campaign cancel "$CID2" >/dev/null
swupdate_run swupdate3
ack_done()
{
    [[ $(dep_field "$CID2" cancel_acked) == true ]]
}
wait_until 30 ack_done || fail "cancel not acknowledged: cancel_acked '$(dep_field "$CID2" cancel_acked)'"
echo "ok - swupdate acknowledged the cancelAction"
check_contains "cancelAction fetched" "GET /DEFAULT/controller/v1/VIN1/cancelAction/" "$(cat "$ALOG")"
check_contains "cancel feedback 200" "/feedback 200" \
    "$(grep -F /cancelAction/ "$ALOG" | grep -F POST)"
# Once acknowledged, the poll no longer announces it and nothing was installed.
POLL=$(ota_curl VIN1 /DEFAULT/controller/v1/VIN1)
check_eq "poll after the ack announces no action" "false false" \
    "$(jq -r '[((._links // {}) | has("cancelAction")), ((._links // {}) | has("deploymentBase"))] | map(tostring) | join(" ")' <<<"$POLL")"
[[ ! -e $T/installed/payload2.bin ]] || fail "the cancelled update was installed"
swupdate_stop
check_eq "cancelled deployment" cancelled "$(dep_field "$CID2" state)"

# ---- 4: cancelled after the device installed, before its confirming run: the install the
# device then confirms is recorded (hawkBit's "canceling": the cancel came too late)
head -c 4096 /dev/urandom >"$T/img/payload3.bin"
"$SWU/mkswu.sh" build "$T/img/update3.swu" "$T/img/payload3.bin" "$T/installed/payload3.bin" \
    "$T/signer" 3.0.0
SHA3=$(ota_admin artifact upload "$T/img/update3.swu" --version 3.0.0)
CID3=$(ota_admin campaign create --name swu3 --artifact "$SHA3" --vehicles VIN1)
ota_admin campaign start "$CID3" >/dev/null
installed3() { cmp -s "$T/img/payload3.bin" "$T/installed/payload3.bin"; }
swupdate_run swupdate4
wait_until 60 installed3 || fail "update 3 was not installed"
wait_until 10 dep_state_is "$CID3" installing || fail "deployment is $(dep_field "$CID3" state)"
swupdate_stop
ota_admin campaign cancel "$CID3" >/dev/null
check_eq "cancelled while installing" cancelled "$(dep_field "$CID3" state)"
# the confirming run finds a cancelAction and acknowledges it (SWUpdate 2022.12 sends no
# closed/success then): the device runs the update, and that is what is recorded
swupdate_run swupdate5 -c 2
confirmed3() { dep_state_is "$CID3" installed; }
wait_until 30 confirmed3 ||
    fail "deployment 3 is $(dep_field "$CID3" state) after the confirming run, expected installed"
swupdate_stop
check_eq "the vehicle runs version 3.0.0" 3.0.0 \
    "$(ota_admin vehicle show VIN1 --json | jq -r .installed_version)"
check_eq "the campaign stays cancelled" cancelled \
    "$(ota_admin campaign show "$CID3" --json | jq -r .state)"
echo "ok - an install confirmed after the cancel is recorded"
echo "ok - test_ddi_swupdate"
