#!/usr/bin/env bash
# The README's quickstart, run as a newcomer would (twice, in one state folder): the whole
# stack on loopback, three vehicles through a campaign, every byte checked; the second run
# adds a new version and campaign to the same database. Then the journey is checked from
# the operator's side: campaigns finished, each vehicle installed, events recorded.
source "$(dirname "$0")/lib.sh"

export OTA_QUICKSTART_RANDOM_PORTS=1
state=$T/state
vins=(WVWZZZDEMO0000001 WVWZZZDEMO0000002 WVWZZZDEMO0000003)

for run in 1 2; do
    rc=0
    timeout 240 "$OTA_SRC/deploy/quickstart.sh" --exit --state "$state" --build "$OTA_BUILD" \
        >"$T/quickstart-$run.out" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || ota_log_tail "$T/quickstart-$run.out" 60
    check_eq "run $run: exit status" 0 "$rc"
    check_contains "run $run: all installed" \
        "all 3 vehicles installed firmware 1.0.$run and the bytes match." \
        "$(cat "$T/quickstart-$run.out")"
done
check_contains "second run keeps the initialised state" "already initialised" \
    "$(cat "$T/quickstart-2.out")"

admin() { "$OTA_ADMIN" --config "$state/ota.conf" "$@"; }
check_eq "campaigns" "finished finished finished finished" \
    "$(admin campaign list --json | jq -r '[.campaigns[].state] | join(" ")')"
# the staged rollouts (2 and 4): 9 installed, one failed on purpose, both stages opened,
# and campaign watch showed them
for cid in 2 4; do
    check_eq "staged campaign $cid" "9 1 demo: flash verify error" \
        "$(admin campaign show $cid --json | jq -r '"\(.counts.installed) \(.counts.failed) \(.failures[0].detail)"')"
    check_eq "staged campaign $cid stage openings" 2 \
        "$(admin events --campaign $cid --kind campaign.stage --json | jq '.events | length')"
done
check_contains "watch shows the stages" "stage 3   open" "$(cat "$T/quickstart-1.out")"
check_contains "watch ends at finished" "finished" "$(grep "^campaign 2 " "$T/quickstart-1.out" | tail -n 1)"
for cid in 1 3; do
    check_eq "campaign $cid counts" "3 3" \
        "$(admin campaign show $cid --vehicles --json | jq -r '"\(.counts.installed) \(.deployments | length)"')"
    for v in "${vins[@]}"; do
        states=$(admin events --campaign $cid --vehicle "$v" --json |
            jq -r '[.events[] | select(.kind == "status") | .state] | unique | join(",")')
        check_eq "campaign $cid $v reported" "downloaded,downloading,installed,installing" "$states"
    done
done
# Two vehicles learnt of the update over MQTT and reported there, one polled REST.
check_contains "MQTT reports recorded" '"actor":"mqtt"' "$(admin events --campaign 3 --json)"
check_contains "REST reports recorded" '"actor":"rest"' "$(admin events --campaign 3 --json)"
# Nothing of the stack is left running: its pid file is gone.
[[ ! -e $state/quickstart.pids ]] || fail "quickstart.pids left behind"
echo "ok - quickstart stopped its processes"
