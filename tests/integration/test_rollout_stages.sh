#!/usr/bin/env bash
# test_rollout_stages.sh: staged rollouts with real vehicles, a real broker and notifier
# (issue "staged rollouts"). 200 vehicles, stages 5%,25%,100%:
#   1. 10% of the fleet fails (some in stage 1): the campaign pauses itself inside stage 1,
#      the event names the rule and the counts, and no vehicle of a later stage was ever
#      notified (outbox and the broker's retained messages) or offered (its polls: 204).
#   2. No failures: every stage opens in order, each only after the one before met its
#      success threshold (every vehicle's first report comes after its stage opened).
#   3. --manual: the next stage waits for `campaign advance`, which is refused (exit 2)
#      while the stage is not done and on an unstaged campaign.
# Bad rollout options at create: exit 2, the option named, nothing written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/notifier_lib.sh"

# 200 vehicles; the sanitizer build drives 50 (each costs several times more there)
N=${OTA_TEST_FLEET:-200}
S1=$(((N * 5 + 99) / 100))   # stage sizes, cumulative: 5 % and 25 %, rounded up
S2=$(((N * 25 + 99) / 100))
sql()
{
    sqlite3 -readonly "$T/ota.db" "$1"
}

ota_start_broker
ota_setup "[server]" "poll_after = 1"
ids=()
{
    echo "id,group"
    for ((i = 1; i <= N; i++)); do
        id=$(printf 'R%03d' $i)
        ids+=("$id")
        echo "$id,fleet"
    done
} >"$T/fleet.csv"
ota_admin vehicle import "$T/fleet.csv" >/dev/null
"$OTA_SRC/certs/mkfleet.py" "$T/pki" "$T/fleet-certs" "${ids[@]}" || fail "mkfleet.py failed"
for v in 1 2 3; do
    head -c $((40000 + v)) /dev/urandom >"$T/fw$v.bin"
    SHA[v]=$(ota_admin artifact upload "$T/fw$v.bin" --version "$v.0" --name "fw$v.bin")
done
ota_start_server
ota_start_notifier

# ---- bad rollout options: exit 2 naming the option, nothing written
digest_before=$(sqlite3 -readonly "$T/ota.db" .dump | sha256sum)
bad()
{
    local want=$1
    shift
    ota_expect 2 "create $*" ota_admin campaign create --name bad --artifact "${SHA[1]}" --all "$@"
    check_contains "create $* names $want" "$want" "$ERRS"
}
bad --stages --stages 25%,10%
bad --stages --stages 50%,150%
bad --stages --stages 0%,100%
bad --stages --stages 1,1
bad --stages --stages 300          # more than the 200 targets
bad --stages --stages 0.1%,0.2%    # 1 and 1 vehicle: stage 2 holds none
bad --success --stages 5% --success 0%
bad --success --stages 5% --success 101%
bad --max-failures --max-failures 0
bad --max-failures --max-failures 120%
bad --min-finished --min-finished 5
bad --min-finished --max-failures 3 --min-finished 0
bad --timeout --timeout 0s
bad --timeout --timeout 40d
bad --window --window 'mon-fri 05:00-05:00'
bad --window --window 'someday 01:00-02:00'
bad --window --window ''
bad --start-at --start-at 2020-01-01T00:00:00Z
bad --start-at --start-at tomorrow
bad --manual --manual
bad --canary --canary fleet
bad --canary --stages 5% --canary nosuchgroup
check_eq "refused creates wrote nothing" "$digest_before" "$(sqlite3 -readonly "$T/ota.db" .dump | sha256sum)"
ota_expect 2 "advance on an unknown campaign id form" ota_admin campaign advance x

# stage_of CID VEHICLE; stage_members CID STAGE: from campaign show --vehicles
members()
{
    ota_admin campaign show "$1" --vehicles --json | jq -r --argjson s "$2" \
        '.deployments[] | select(.stage == $s) | .vehicle' | LC_ALL=C sort
}
# run_fleet NAME TIMEOUT [N] [ota-vehicle args]: R001..RN (default all) as one fleet
run_fleet()
{
    local name=$1 timeout=$2 n=$N
    shift 2
    [[ ${1:-} != [0-9]* ]] || { n=$1; shift; }
    # FLEET_EXEC=1 (in the background): exec, so that $! is timeout(1), which passes a
    # SIGTERM on to ota-vehicle
    ${FLEET_EXEC:+exec} timeout $((timeout + 30)) "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --pubkey "$T/keys/ota.pub" --dir "$T/$name" --fleet "$n" --fleet-certs "$T/fleet-certs" \
        --fleet-ids 'R%03d' --parallel 16 --poll-interval 0.5 --timeout "$timeout" "$@" \
        >"$T/$name.out" 2>"$T/$name.log"
}
events_of()
{
    ota_admin events --campaign "$1" --kind "$2" --json | jq -r '.events[] | .detail'
}

# ---- 1. the brake: 10 % of the fleet fails, two of them in stage 1
A=$(ota_admin campaign create --name brake --artifact "${SHA[1]}" --all --stages 5%,25%,100% \
    --max-failures 10% --min-finished 3)
ota_admin campaign start "$A" >/dev/null
members "$A" 1 >"$T/a1"
check_eq "stage 1 size" "$S1" "$(wc -l <"$T/a1")"
check_eq "stage 2 size" $((S2 - S1)) "$(members "$A" 2 | wc -l)"
check_eq "stage 3 size" $((N - S2)) "$(members "$A" 3 | wc -l)"
# 10 % of the fleet fails: the first two of stage 1 and the rest in stage 3
{
    head -n 2 "$T/a1"
    members "$A" 3 | head -n $((N / 10 - 2))
} >"$T/a-fail"
check_eq "failing vehicles" $((N / 10)) "$(wc -l <"$T/a-fail")"
# the fleet: stage 1 and ten vehicles of stage 3 (which must keep polling and get nothing)
{
    cat "$T/a1"
    members "$A" 3 | head -n 10
} >"$T/a-fleet"
FLEET_EXEC=1 run_fleet fleet-a 60 "$(wc -l <"$T/a-fleet")" --fleet-ids "@$T/a-fleet" \
    --fail-ids "@$T/a-fail" --fail-reason "flash write error" &
fleet_pid=$!
paused()
{
    [[ $(ota_admin campaign show "$A" --json | jq -r .state) == paused ]]
}
wait_until 60 paused || { ota_log_tail "$T/fleet-a.log"; fail "the brake did not pause the campaign"; }
sleep 1 # the fleet goes on polling meanwhile: nothing more may be offered
kill -TERM "$fleet_pid"
wait "$fleet_pid" || true
pgrep -f -- "--dir $T/fleet-a " >/dev/null && fail "fleet A still runs after SIGTERM"
check_eq "brake campaign state" paused "$(ota_admin campaign show "$A" --json | jq -r .state)"
brake=$(events_of "$A" campaign.brake)
check_contains "brake event names the rule" "max-failures 10% reached: " "$brake"
[[ $brake =~ ([0-9]+)\ failed\ of\ ([0-9]+)\ ended ]] || fail "brake event counts: '$brake'"
f=${BASH_REMATCH[1]} e=${BASH_REMATCH[2]}
((e >= 3 && f * 10 >= e && f <= 2)) || fail "brake at $f failed of $e ended"
echo "ok - paused by the brake inside stage 1: $brake"
check_eq "stage 1 still the open one" 1 "$(ota_admin campaign show "$A" --json | jq .rollout.stage_open)"
# nobody outside stage 1 was ever notified or offered
ota_admin outbox list --json | jq -r --argjson c "$A" \
    '.outbox[] | select(.campaign == $c) | .vehicle' | LC_ALL=C sort -u >"$T/a-notified"
check_eq "only stage-1 vehicles in the outbox" "" "$(comm -13 "$T/a1" "$T/a-notified")"
[[ -s $T/a-notified ]] || fail "stage 1 was never notified"
# the broker: once the notifier drained, A's update is retained only for deployments
# still under way (a pause lets those finish), never for a later stage's vehicle
wait_until 30 ntf_drained || fail "the notifier did not drain the outbox"
ntf_retained | { grep "\"campaign\":$A," || true; } | sed 's|^ota/v1/vehicles/\([^/]*\)/update .*|\1|' |
    LC_ALL=C sort >"$T/a-retained"
sql "SELECT vehicle FROM deployments WHERE campaign = $A AND state IN ('downloading',
    'downloaded', 'installing') ORDER BY vehicle" | LC_ALL=C sort >"$T/a-under-way"
check_eq "retained updates of the paused campaign, beyond those under way" "" \
    "$(comm -23 "$T/a-retained" "$T/a-under-way")"
check_eq "no later-stage deployment moved" 0 \
    "$(sql "SELECT count(*) FROM deployments WHERE campaign = $A AND stage > 1 AND state <> 'pending'")"
check_eq "a later-stage vehicle's artifact request (paused)" 409 \
    "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" \
        --cert "$T/fleet-certs/$(members "$A" 2 | head -n 1).crt" \
        --key "$T/fleet-certs/$(members "$A" 2 | head -n 1).key" "$SERVER_URL/v1/artifacts/${SHA[1]}")"
# the later stages' vehicles polled (204) and were never offered anything (200)
members "$A" 3 | sed 's/^/ /; s/$/$/' >"$T/a3.re"
polled=$(grep -E "GET /v1/updates 204 " "$T/server.log" | grep -cf "$T/a3.re" || true)
offered=$(grep -E "GET /v1/updates 200 " "$T/server.log" | grep -cf "$T/a3.re" || true)
((polled > 0)) || fail "no stage-3 vehicle polled"
check_eq "stage-3 polls answered with an update" 0 "$offered"
fails=$(ota_admin campaign show "$A" --json | jq -r '.failures[] | "\(.count) \(.detail)"')
check_contains "show groups the failure reasons" "flash write error" "$fails"
show=$(ota_admin campaign show "$A")
check_contains "show has stage 1" "stage 1   open" "$show"
check_contains "show has stage 3" "stage 3   waiting" "$show"
echo "ok - no vehicle of stage 2 or 3 was notified or offered"
ota_admin campaign cancel "$A" >/dev/null

# ---- 2. no failures: every stage in order, each after the one before met its threshold
B=$(ota_admin campaign create --name clean --artifact "${SHA[2]}" --all --stages 5%,25%,100%)
ota_admin campaign start "$B" >/dev/null
ota_admin campaign watch "$B" --json --interval 100 --timeout 200 >"$T/watch.jsonl" 2>"$T/watch.err" &
watch_pid=$!
run_fleet fleet-b 150 || { ota_log_tail "$T/fleet-b.log"; fail "fleet B failed"; }
rc=0
wait "$watch_pid" || rc=$?
check_eq "watch --json ends with the campaign" 0 "$rc"
jq -e . "$T/watch.jsonl" >/dev/null || fail "watch --json: a line that is not JSON"
check_eq "watch saw every stage open, in order" "1 2 3" \
    "$(jq -r .stage_open "$T/watch.jsonl" | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "watch's last line" "finished $N" "$(tail -n 1 "$T/watch.jsonl" | jq -r '"\(.state) \(.counts.installed)"')"
[[ $(wc -l <"$T/watch.jsonl") -ge 4 ]] || fail "watch --json: only $(wc -l <"$T/watch.jsonl") lines"
[[ $(jq -c '[.counts, .stage_open, .state]' "$T/watch.jsonl" | uniq -d | wc -l) -eq 0 ]] ||
    fail "watch --json printed a line without a change"
# on a terminal it redraws (clears the screen) and shows the stages
script -qfec "$OTA_ADMIN --config $OTA_CONF campaign watch $B" /dev/null >"$T/watch.tty" </dev/null
grep -q $'\e\[H\e\[2J' "$T/watch.tty" || fail "watch on a terminal does not redraw"
check_contains "watch on a terminal" "stage 3   open" "$(cat "$T/watch.tty")"
echo "ok - campaign watch: one JSON line per change, a redrawn screen on a terminal"
check_eq "clean campaign finished" finished "$(ota_admin campaign show "$B" --json | jq -r .state)"
check_eq "all installed" $N "$(ota_admin campaign show "$B" --json | jq .counts.installed)"
events_of "$B" campaign.stage >"$T/b-stages"
check_eq "two stage openings" 2 "$(wc -l <"$T/b-stages")"
check_contains "stage 2 after stage 1 met" "stage 2 of 3 opened: stage 1 of 3 met success 100%: $S1 of $S1 installed" "$(cat "$T/b-stages")"
check_contains "stage 3 after stage 2 met" "stage 3 of 3 opened: stage 2 of 3 met success 100%: $S2 of $S2 installed" "$(cat "$T/b-stages")"
# every vehicle's first report comes after its stage opened (event ids are in commit order)
for s in 2 3; do
    opened=$(ota_admin events --campaign "$B" --kind campaign.stage --json |
        jq --arg p "stage $s of" '[.events[] | select(.detail | startswith($p)) | .id] | min')
    early=$(sql "SELECT count(*) FROM events e JOIN deployments d ON d.campaign = e.campaign AND
        d.vehicle = e.vehicle WHERE e.campaign = $B AND e.kind = 'status' AND d.stage = $s AND
        e.id < $opened")
    check_eq "stage $s reports before it opened" 0 "$early"
done
echo "ok - stages opened in order, each after the one before was installed"

# ---- 3. --manual: stage 2 waits for campaign advance
M=10 # the manual campaign's vehicles: R001..R010
C=$(ota_admin campaign create --name manual --artifact "${SHA[3]}" \
    --vehicles "$(printf 'R%03d,' $(seq 1 $M) | sed 's/,$//')" --stages 10% --manual)
ota_expect 2 "advance before stage 1 is done" ota_admin campaign advance "$C"
ota_admin campaign start "$C" >/dev/null
ota_expect 2 "advance while stage 1 runs" ota_admin campaign advance "$C"
check_contains "advance refusal says why" "is not waiting" "$ERRS"
FLEET_EXEC=1 run_fleet fleet-c 60 "$M" &
fleet_pid=$!
waiting()
{
    [[ $(ota_admin campaign show "$C" --json | jq .rollout.waiting) == true ]]
}
wait_until 60 waiting
check_contains "waiting event" "waiting for 'campaign advance'" "$(events_of "$C" campaign.waiting)"
sleep 1.5 # the notifier's rule tick (every second) ran meanwhile: still nothing opened
check_eq "nothing opened without advance" 1 "$(ota_admin campaign show "$C" --json | jq .rollout.stage_open)"
check_eq "stage 2 not notified" 0 "$(sql "SELECT count(*) FROM outbox o JOIN deployments d ON
    d.campaign = o.campaign AND d.vehicle = o.vehicle WHERE o.campaign = $C AND d.stage = 2")"
ota_admin campaign advance "$C" >"$T/advance.out"
check_contains "advance answer" "stage 2 of 2 open" "$(cat "$T/advance.out")"
rc=0
wait "$fleet_pid" || rc=$?
check_eq "manual fleet exit" 0 "$rc"
check_eq "manual campaign finished" finished "$(ota_admin campaign show "$C" --json | jq -r .state)"
ota_expect 2 "advance on a finished campaign" ota_admin campaign advance "$C"
D=$(ota_admin campaign create --name flat --artifact "${SHA[1]}" --vehicles R001)
ota_admin campaign start "$D" >/dev/null
ota_expect 2 "advance on an unstaged campaign" ota_admin campaign advance "$D"
check_contains "unstaged refusal" "not staged" "$ERRS"
echo "ok - --manual waits for advance; advance refused when not waiting"
ota_stop "$NOTIFIER_PID"
ota_stop "$SERVER_PID"
