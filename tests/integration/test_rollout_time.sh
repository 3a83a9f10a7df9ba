#!/usr/bin/env bash
# test_rollout_time.sh: the time-driven rollout rules with a real server, broker and
# notifier, the clock moved through OTA_TEST_CLOCK (no test sleeps through a window):
#   1. --timeout turns a stuck deployment failed ("timed out"), which counts for the brake
#      (--max-failures 1 pauses); `campaign retry` offers it again.
#   2. --start-at: nothing before it. --window: closed, nothing is offered or notified; when it opens the vehicles are
#      notified and offered; a DDI client sees maintenanceWindow "available", and once the
#      window closes again "unavailable" (update "skip") for its deployment under way,
#      while the pending one is withdrawn.
#   3. Reports that cross a stage threshold at once through REST, MQTT and DDI open the
#      next stage exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/notifier_lib.sh"

export OTA_TEST_CLOCK=$T/clock
echo 0 >"$OTA_TEST_CLOCK"
sql()
{
    sqlite3 -readonly "$T/ota.db" "$1"
}
clock()
{
    echo "$1" >"$OTA_TEST_CLOCK.tmp" && mv "$OTA_TEST_CLOCK.tmp" "$OTA_TEST_CLOCK"
}

ota_start_broker
ota_setup "[server]" "poll_after = 1"
for v in T1 T2 W1 W2 F1 F2 F3 F4 F5 F6; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
head -c 30000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
ota_start_server
ota_start_notifier

code()
{
    local name=$1
    shift
    ota_curl "$name" -o "$T/body" -w '%{http_code}' "$@"
}
report()
{
    code "$1" -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"campaign\":$2,\"state\":\"$3\"}" /v1/status
}
dstate()
{
    sql "SELECT state || ' ' || detail FROM deployments WHERE campaign = $1 AND vehicle = '$2'"
}

# ---- 1. timeouts, the brake, retry
D=$(ota_admin campaign create --name stuck --artifact "$SHA" --vehicles T1,T2 --timeout 10m \
    --max-failures 1)
ota_admin campaign start "$D" >/dev/null
check_eq "T1 starts" 204 "$(report T1 "$D" downloading)"
sleep 2
check_eq "not timed out before 10 min" "downloading " "$(dstate "$D" T1)"
clock 660
timed_out()
{
    [[ $(dstate "$D" T1) == "failed timed out" ]]
}
wait_until 15 timed_out
check_eq "T2, never under way, stays" "pending " "$(dstate "$D" T2)"
check_eq "the timeout tripped the brake" paused "$(ota_admin campaign show "$D" --json | jq -r .state)"
check_contains "brake event" "max-failures 1 reached: 1 failed of 1 ended" \
    "$(ota_admin events --campaign "$D" --kind campaign.brake --json | jq -r '.events[].detail')"
check_contains "timeout event by the notifier" "notifier" \
    "$(ota_admin events --campaign "$D" --vehicle T1 --json | jq -r '.events[] | select(.state == "failed") | .actor')"
ota_admin campaign retry "$D" >"$T/retry.out"
check_contains "retry answer" "1 failed deployments offered again" "$(cat "$T/retry.out")"
check_eq "T1 pending again" "pending retry" "$(dstate "$D" T1)"
ota_admin campaign resume "$D" >/dev/null
check_eq "T1 offered again" 200 "$(code T1 /v1/updates)"
check_eq "offered campaign" "$D" "$(jq .campaign "$T/body")"
ota_expect 1 "retry with nothing failed" ota_admin campaign retry "$D"
check_contains "retry refusal" "no failed deployment" "$ERRS"
ota_admin campaign cancel "$D" >/dev/null
clock 0

# ---- 2a. --start-at: nothing offered or notified before it, both after it
S=$(ota_admin campaign create --name later --artifact "$SHA" --vehicles T2 \
    --start-at "@$(($(date -u +%s) + 3600))")
ota_admin campaign start "$S" >/dev/null
check_eq "before --start-at: nothing offered" 204 "$(code T2 /v1/updates)"
check_eq "before --start-at: nothing notified" 0 "$(sql "SELECT count(*) FROM outbox WHERE campaign = $S")"
clock 3660
started()
{
    [[ $(sql "SELECT count(*) FROM outbox WHERE campaign = $S AND state = 'published'") == 1 ]]
}
wait_until 15 started
check_eq "after --start-at: offered" 200 "$(code T2 /v1/updates)"
check_contains "start time event" "offering: start time" \
    "$(ota_admin events --campaign "$S" --kind campaign.window --json | jq -r '.events[].detail')"
ota_admin campaign cancel "$S" >/dev/null
clock 0

# ---- 2b. a maintenance window: one hour starting two hours from now (UTC)
now=$(date -u +%s)
h=$(((now / 3600 + 2) % 24))
start_s=$(((now / 3600 + 2) * 3600)) # the next time the window opens
W=$(printf '%02d:00-%02d:00' "$h" $((h + 1)))
W=${W/-24:00/-24:00}
E=$(ota_admin campaign create --name window --artifact "$SHA" --vehicles W1,W2 --window "$W")
ota_admin campaign start "$E" >/dev/null
check_eq "closed window: W1 offered nothing" 204 "$(code W1 /v1/updates)"
check_eq "closed window: nothing notified" 0 "$(sql "SELECT count(*) FROM outbox WHERE campaign = $E")"
ota_curl W2 /DEFAULT/controller/v1/W2 >"$T/poll"
check_eq "closed window: no DDI deployment" null "$(jq -c ._links.deploymentBase "$T/poll")"
check_eq "closed window: artifact refused" 404 "$(code W1 "/v1/artifacts/$SHA")"
clock $((start_s + 60 - now))
notified()
{
    [[ $(sql "SELECT count(*) FROM outbox WHERE campaign = $E AND state = 'published'") == 2 ]]
}
wait_until 15 notified
check_eq "open window: W1 offered" 200 "$(code W1 /v1/updates)"
retained_e()
{
    ntf_sub -t "ota/v1/vehicles/$1/update" --retained-only -W 2 -C 1 | jq -r '.campaign // ""'
}
check_eq "open window: W1's retained update" "$E" "$(retained_e W1)"
ota_curl W2 /DEFAULT/controller/v1/W2 >"$T/poll"
href=$(jq -r ._links.deploymentBase.href "$T/poll")
[[ $href == http* ]] || fail "open window: no deploymentBase link: $(cat "$T/poll")"
action=$(sed -E 's|.*/deploymentBase/([0-9]+).*|\1|' <<<"$href")
ota_curl W2 "/DEFAULT/controller/v1/W2/deploymentBase/$action" >"$T/dep"
check_eq "DDI inside the window" "available forced" \
    "$(jq -r '"\(.deployment.maintenanceWindow) \(.deployment.update)"' "$T/dep")"
check_eq "W2 under way (DDI feedback)" 200 "$(code W2 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"id":"'"$action"'","status":{"execution":"proceeding","result":{"finished":"none"}}}' \
    "/DEFAULT/controller/v1/W2/deploymentBase/$action/feedback")"
clock $((start_s + 2 * 3600 - now))
closed()
{
    [[ $(ota_admin campaign show "$E" --json | jq .rollout.offering) == false ]]
}
wait_until 15 closed
ota_curl W2 "/DEFAULT/controller/v1/W2/deploymentBase/$action" >"$T/dep"
check_eq "DDI outside the window, under way" "unavailable skip" \
    "$(jq -r '"\(.deployment.maintenanceWindow) \(.deployment.update)"' "$T/dep")"
check_eq "closed again: W1 (pending) withdrawn" 204 "$(code W1 /v1/updates)"
cleared()
{
    [[ -z $(retained_e W1) ]]
}
wait_until 15 cleared
check_contains "window events" "not offering: window $W closed" \
    "$(ota_admin events --campaign "$E" --kind campaign.window --json | jq -r '.events[].detail')"
ota_admin campaign cancel "$E" >/dev/null
clock 0

# ---- 3. a stage threshold crossed at once through REST, MQTT and DDI
F=$(ota_admin campaign create --name doors --artifact "$SHA" --vehicles F1,F2,F3,F4,F5,F6 \
    --stages 3)
ota_admin campaign start "$F" >/dev/null
mapfile -t s1 < <(ota_admin campaign show "$F" --vehicles --json |
    jq -r '.deployments[] | select(.stage == 1) | .vehicle')
check_eq "stage 1 of the doors campaign" 3 "${#s1[@]}"
rest=${s1[0]} mqtt=${s1[1]} ddi=${s1[2]}
check_eq "REST vehicle under way" 204 "$(report "$rest" "$F" installing)"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "ota/v1/vehicles/$mqtt/status" \
    -m "{\"campaign\":$F,\"state\":\"installing\"}"
ota_curl "$ddi" "/DEFAULT/controller/v1/$ddi" >"$T/poll"
action=$(jq -r ._links.deploymentBase.href "$T/poll" | sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')
FB=/DEFAULT/controller/v1/$ddi/deploymentBase/$action/feedback
check_eq "DDI vehicle under way" 200 "$(code "$ddi" -X POST -H 'Content-Type: application/json' \
    --data-binary '{"id":"'"$action"'","status":{"execution":"proceeding","result":{"finished":"none"}}}' "$FB")"
mqtt_under_way()
{
    [[ $(dstate "$F" "$mqtt") == "installing "* ]]
}
wait_until 15 mqtt_under_way
# all three final reports at once
report "$rest" "$F" installed >"$T/rest.code" &
p1=$!
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "ota/v1/vehicles/$mqtt/status" \
    -m "{\"campaign\":$F,\"state\":\"installed\"}" &
p2=$!
code "$ddi" -X POST -H 'Content-Type: application/json' --data-binary \
    '{"id":"'"$action"'","status":{"execution":"closed","result":{"finished":"success"}}}' \
    "$FB" >"$T/ddi.code" &
p3=$!
wait "$p1" "$p2" "$p3"
check_eq "REST final" 204 "$(cat "$T/rest.code")"
check_eq "DDI final" 200 "$(cat "$T/ddi.code")"
stage_two()
{
    [[ $(ota_admin campaign show "$F" --json | jq .rollout.stage_open) == 2 ]]
}
wait_until 15 stage_two
sleep 2 # the notifier's rule tick ran meanwhile too
check_eq "one stage opening" 1 "$(ota_admin events --campaign "$F" --kind campaign.stage --json | jq '.events | length')"
check_eq "stage opened by one of the doors" 1 "$(ota_admin events --campaign "$F" --kind campaign.stage --json |
    jq '[.events[] | select(.actor == "rest" or .actor == "mqtt" or .actor == "ddi")] | length')"
check_eq "each stage-2 vehicle notified once" "1 1 1" "$(sql "SELECT group_concat(n, ' ') FROM
    (SELECT count(*) AS n FROM outbox o JOIN deployments d ON d.campaign = o.campaign AND
     d.vehicle = o.vehicle WHERE o.campaign = $F AND d.stage = 2 AND o.payload_id IS NOT NULL
     GROUP BY o.vehicle)")"
echo "ok - the threshold crossed at once through three doors opened stage 2 once"
ota_stop "$NOTIFIER_PID"
ota_stop "$SERVER_PID"
