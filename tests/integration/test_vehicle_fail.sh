#!/usr/bin/env bash
# ota-vehicle failing on purpose (--fail-ids, --fail-rate, --fail-reason), for driving
# rollout brakes with real vehicles: a single vehicle and a fleet report `failed` with the
# reason after downloading and verifying, the others install; the --fail-rate choice is
# the documented hash rule (0 none, 100 all, in between the same ids on every run); bad
# values are usage errors naming the option.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

N=10
ota_setup
for ((i = 1; i <= N; i++)); do
    ota_admin vehicle add "$(printf 'FV%02d' $i)" >/dev/null
done
mapfile -t ids < <(for ((i = 1; i <= N; i++)); do printf 'FV%02d\n' $i; done)
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
usage --fail-rate --fail-rate 12.345
usage --fail-ids --fail-ids ''
usage --fail-ids --fail-ids 'FV01,,FV02'
usage --fail-ids --fail-ids 'not an id'
usage --fail-ids --fail-ids "@$T/no-such-file"
usage --fail-ids --fail-ids "@$T/pki" # a folder: unreadable as a list
: >"$T/empty-ids"
usage --fail-ids --fail-ids "@$T/empty-ids"
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
check_eq "it reported every step first, in order" "downloading,downloaded,installing,failed" \
    "$(ota_admin events --campaign "$C1" --vehicle FV01 --json |
        jq -r '[.events[] | select(.kind == "status") | .state] |
            [foreach .[] as $s ([null, null]; [.[1], $s]; select(.[0] != .[1]) | .[1])] | join(",")')"
check_eq "nothing installed" "" "$(ls "$T/FV01/installed" 2>/dev/null)"

# ---- fleets of all N vehicles, one campaign (and one new artifact) per run
# fleet_run NAME ARGS...: a campaign for every vehicle, then a fleet with ARGS; sets CID,
# FRC (exit status), FSUM (the summary line) and FAILED (the failed vehicles, sorted).
run_no=0
fleet_run()
{
    local name=$1 sha
    shift
    run_no=$((run_no + 1))
    head -c 20000 /dev/urandom >"$T/$name.bin"
    sha=$(ota_admin artifact upload "$T/$name.bin" --version "2.$run_no" --name fw.bin)
    CID=$(ota_admin campaign create --name "$name" --artifact "$sha" --vehicles "$(IFS=,; echo "${ids[*]}")")
    ota_admin campaign start "$CID" >/dev/null
    FRC=0
    timeout 150 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --pubkey "$T/keys/ota.pub" --dir "$T/$name" --fleet "$N" --fleet-certs "$T/pki" \
        --fleet-ids 'FV%02d' --poll-interval 0.3 --timeout 60 "$@" \
        >"$T/$name.out" 2>"$T/$name.log" || FRC=$?
    FSUM=$(cut -d' ' -f1-4 "$T/$name.out")
    FAILED=$(ota_admin campaign show "$CID" --vehicles --json |
        jq -r '[.deployments[] | select(.state == "failed") | .vehicle] | sort | join(" ")')
}
# states CID: "VEHICLE STATE DETAIL" per deployment, sorted by vehicle
states()
{
    ota_admin campaign show "$1" --vehicles --json |
        jq -r '.deployments | sort_by(.vehicle)[] | "\(.vehicle) \(.state) \(.detail // "")"'
}

# two listed ids fail with the reason, the other eight install
fleet_run ids --fail-ids FV03,FV07 --fail-reason "flash write error on slot B"
check_eq "fleet with two failing ids exits 1" 1 "$FRC"
check_eq "its summary" "done $((N - 2)) failed 2" "$FSUM"
want=""
for id in "${ids[@]}"; do
    case $id in
    FV03 | FV07) want+="$id failed flash write error on slot B"$'\n' ;;
    *) want+="$id installed "$'\n' ;;
    esac
done
check_eq "exactly FV03 and FV07 failed, with the reason" "${want%$'\n'}" "$(states "$CID")"
check_eq "nothing installed on FV03" "" "$(ls "$T/ids/FV03/installed" 2>/dev/null)"
cmp -s "$T/ids.bin" "$T/ids/FV04/installed/fw.bin" || fail "FV04: installed bytes differ"

# --fail-rate: the documented rule, FNV-1a 64 of the id mod 10000 below P*100
rule()
{
    python3 - "$1" "${ids[@]}" <<'PY'
import sys
def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    return h
bp = round(float(sys.argv[1]) * 100)
print(" ".join(sorted(i for i in sys.argv[2:] if fnv(i) % 10000 < bp)))
PY
}
fleet_run rate0 --fail-rate 0
check_eq "rate 0: exit 0" 0 "$FRC"
check_eq "rate 0: summary" "done $N failed 0" "$FSUM"
check_eq "rate 0: none failed" "" "$FAILED"
fleet_run rate100 --fail-rate 100
check_eq "rate 100: exit 1" 1 "$FRC"
check_eq "rate 100: summary" "done 0 failed $N" "$FSUM"
check_eq "rate 100: all failed" "${ids[*]}" "$FAILED"
check_eq "rate 100: the default reason" "simulated install failure" \
    "$(ota_admin campaign show "$CID" --vehicles --json | jq -r '[.deployments[].detail] | unique | join(",")')"
expected=$(rule 37.5)
[[ -n $expected && $expected != "${ids[*]}" ]] || fail "rate 37.5 picks '$expected': pick another rate"
fleet_run rate_a --fail-rate 37.5
check_eq "rate 37.5: the rule's set" "$expected" "$FAILED"
nfail=$(wc -w <<<"$expected")
check_eq "rate 37.5: summary" "done $((N - nfail)) failed $nfail" "$FSUM"
# again, with a listed id as well: the rate picks the same ids, the list adds its own
[[ " $expected " != *" FV04 "* ]] || fail "rate 37.5 picks FV04: list another id"
fleet_run rate_b --fail-rate 37.5 --fail-ids FV04
check_eq "rate 37.5 and FV04: the same set again, and FV04" \
    "$(tr ' ' '\n' <<<"$expected FV04" | sort | paste -sd' ')" "$FAILED"
echo "ok - failing on purpose: single and fleet, the documented choice"
ota_stop "$SERVER_PID"
