#!/usr/bin/env bash
# ota-vehicle failing on purpose (--fail-ids, --fail-rate, --fail-reason), for driving
# rollout brakes with real vehicles: a single vehicle and a fleet report `failed` with the
# reason after downloading and verifying; the --fail-rate choice is the documented hash
# rule (the same ids on every run); bad values are usage errors naming the option.
source "$(dirname "$0")/lib.sh"

N=10
ota_setup
for ((i = 1; i <= N; i++)); do
    ota_admin vehicle add "$(printf 'FV%02d' $i)" >/dev/null
done
ids=($(for ((i = 1; i <= N; i++)); do printf 'FV%02d ' $i; done))
"$OTA_SRC/certs/mkfleet.py" "$T/pki" "$T/pki" "${ids[@]}" || fail "mkfleet.py failed"
head -c 50000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
ota_start_server

# ---- usage errors: exit 2, the option named
usage()
{
    local want=$1
    shift
    ota_expect 2 "ota-vehicle $*" "$OTA_VEHICLE" --server "$SERVER_URL" --pubkey "$T/keys/ota.pub" \
        --dir "$T/u" --cert "$T/pki/FV01.crt" --key "$T/pki/FV01.key" "$@"
    check_contains "ota-vehicle $* names $want" "$want" "$ERRS"
}
usage --fail-rate --fail-rate 101
usage --fail-rate --fail-rate ten
usage --fail-rate --fail-rate -5
usage --fail-ids --fail-ids ''
usage --fail-ids --fail-ids 'FV01,,FV02'
usage --fail-ids --fail-ids 'not an id'
usage --fail-ids --fail-ids "@$T/no-such-file"
usage --fail-reason --fail-reason ''
usage --fail-reason --fail-reason "$(printf 'a\tb')"
usage --fail-reason --fail-reason "$(head -c 201 /dev/zero | tr '\0' x)"

# ---- one vehicle: downloads, verifies, reports installing, then failed with the reason
C1=$(ota_admin campaign create --name single --artifact "$SHA" --vehicles FV01)
ota_admin campaign start "$C1" >/dev/null
ota_vehicle_once FV01 --fail-ids FV01 --fail-reason "disk full on slot B"
check_eq "single failing vehicle exit" 1 "$VRC"
check_eq "single vehicle's deployment" "failed disk full on slot B" \
    "$(ota_admin campaign show "$C1" --vehicles --json | jq -r '.deployments[0] | "\(.state) \(.detail)"')"
check_eq "it reported every step first" "downloaded,downloading,failed,installing" \
    "$(ota_admin events --campaign "$C1" --vehicle FV01 --json |
        jq -r '[.events[] | select(.kind == "status") | .state] | unique | join(",")')"
check_eq "nothing installed" "" "$(ls "$T/FV01/installed" 2>/dev/null)"

# ---- a fleet: two listed ids and a rate; the failing set is the documented rule's
expected=$(python3 - "${ids[@]:1}" <<'PY'
import sys
def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    return h
print(" ".join(sorted({"FV03", "FV07"} | {i for i in sys.argv[1:] if fnv(i) % 10000 < 3000})))
PY
)
C2=$(ota_admin campaign create --name fleet --artifact "$SHA" --vehicles "$(IFS=,; echo "${ids[*]:1}")")
ota_admin campaign start "$C2" >/dev/null
rc=0
timeout 150 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" --pubkey "$T/keys/ota.pub" \
    --dir "$T/fleet" --fleet $((N - 1)) --fleet-certs "$T/pki" --fleet-ids 'FV%02d' --fleet-first 2 \
    --poll-interval 0.3 --timeout 60 --fail-ids FV03,FV07 --fail-rate 30 >"$T/fleet.out" 2>"$T/fleet.log" || rc=$?
check_eq "fleet with failures exits 1" 1 "$rc"
got=$(ota_admin campaign show "$C2" --vehicles --json |
    jq -r '[.deployments[] | select(.state == "failed") | .vehicle] | sort | join(" ")')
check_eq "the failing set" "$expected" "$got"
nfail=$(wc -w <<<"$expected")
[[ $(cat "$T/fleet.out") =~ ^done\ $((N - 1 - nfail))\ failed\ $nfail\  ]] ||
    fail "fleet summary: $(cat "$T/fleet.out") (want done $((N - 1 - nfail)) failed $nfail)"
check_eq "default reason" "simulated install failure" \
    "$(ota_admin campaign show "$C2" --json | jq -r '.failures[0].detail')"
echo "ok - failing on purpose: single and fleet, the documented choice"
ota_stop "$SERVER_PID"
