#!/usr/bin/env bash
# test_fleet_scale.sh: campaigns of tens of thousands of vehicles (issue "a million vehicles
# on one host"):
#   1. a start is done in batches and is invisible until it is whole: stopped in the
#      middle, vehicles are offered nothing, statuses are refused, nothing is published;
#      killed there (kill -9), `campaign start` again finishes it, each vehicle with
#      exactly one deployment and one message;
#   2. a campaign of a few thousand vehicles finishes with the right counts when their
#      reports arrive at once through REST (ota-vehicle --fleet, real downloads) and MQTT
#      (through ota-notifier): the counts kept per campaign equal a recount of the rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/notifier_lib.sh"

N=${OTA_TEST_SCALE:-30000}    # vehicles of the interrupted start: three batches and more
FIN=${OTA_TEST_SCALE_FIN:-3000} # vehicles of the finishing campaign
REST=${OTA_TEST_FLEET:-100}     # of them ota-vehicle --fleet over REST, the rest over MQTT

sql()
{
    sqlite3 -readonly "$T/ota.db" "$1"
}
campaign_state()
{
    ota_admin campaign show "$1" --json | jq -r .state
}

ota_setup
# as deploy/mosquitto.conf: mosquitto's default (1000) drops the statuses queued for the
# notifier beyond it when thousands of vehicles report at once
ota_start_broker "max_queued_messages 100000"
ota_start_server
ota_start_notifier
head -c 200000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)

# ------------------------------------------------------------ 1. an interrupted start
{
    echo "id,group"
    for ((i = 1; i <= N; i++)); do printf 'S%05d,big\n' "$i"; done
} >"$T/big.csv"
ota_expect 0 "import $N vehicles" ota_admin vehicle import "$T/big.csv"
first=S00001
last=$(printf 'S%05d' "$N")
ota_client_cert "$first" >/dev/null
ota_client_cert "$last" >/dev/null
C=$(ota_admin campaign create --name big --artifact "$SHA" --group big)

"$OTA_ADMIN" --config "$OTA_CONF" campaign start "$C" >"$T/start1.out" 2>&1 &
spid=$!
# stop it as soon as its first batch is in: 'starting', some deployments, not all
for ((i = 0; i < 3000; i++)); do
    n=$(sql "select count(*) from deployments where campaign = $C" 2>/dev/null || echo 0)
    if [[ $n -gt 0 ]]; then
        kill -STOP "$spid"
        break
    fi
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.005
done
kill -0 "$spid" 2>/dev/null || fail "the start finished before it could be stopped (N=$N)"
n=$(sql "select count(*) from deployments where campaign = $C")
echo "stopped with $n of $N deployments written"
[[ $n -gt 0 && $n -lt $N ]] || fail "stopped with $n deployments, want some but not all"
check_eq "stopped: the campaign is starting" starting "$(campaign_state "$C")"
check_eq "stopped: the first vehicle is offered nothing" 204 \
    "$(ota_curl "$first" /v1/updates -o /dev/null -w '%{http_code}')"
check_eq "stopped: its artifact is not served to it" 404 \
    "$(ota_curl "$first" "/v1/artifacts/$SHA" -o /dev/null -w '%{http_code}')"
check_eq "stopped: no message of it is due" 0 \
    "$(sql "select count(*) from outbox where campaign = $C and state <> 'held'")"

kill -KILL "$spid"
wait "$spid" 2>/dev/null || true
sleep 1
check_eq "killed: still starting" starting "$(campaign_state "$C")"
check_eq "killed: nothing published for the first vehicle" "" \
    "$(ntf_sub -t "ota/v1/vehicles/$first/update" --retained-only -W 2 -C 1)"
check_eq "killed: still offered nothing" 204 \
    "$(ota_curl "$first" /v1/updates -o /dev/null -w '%{http_code}')"
# (a status while it was stopped could have waited for its lock: the stop may fall
# inside a batch's transaction)
code=$(ota_curl "$first" /v1/status -o "$T/status.body" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data "{\"campaign\":$C,\"state\":\"downloading\",\"bytes\":0}")
check_eq "killed: a status for it is refused" 409 "$code"
check_contains "killed: as if it were not there" "is not in campaign $C" "$(cat "$T/status.body")"

ota_expect 0 "campaign start again" ota_admin campaign start "$C" --json
check_eq "resumed start: the whole campaign" "running $N 0" \
    "$(jq -r '[.state, .counts.pending, .counts.installed] | join(" ")' <<<"$OUT")"
check_eq "one deployment per vehicle" "$N|$N" \
    "$(sql "select count(*), count(distinct vehicle) from deployments where campaign = $C")"
check_eq "one message per vehicle, none held" "$N|$N|0" \
    "$(sql "select count(*), count(distinct vehicle), sum(state = 'held') from outbox where campaign = $C")"
check_eq "offered now" 200 "$(ota_curl "$last" /v1/updates -o /dev/null -w '%{http_code}')"
wait_until 120 ntf_drained || fail "the notifier did not publish the $N messages"
check_eq "published to the first vehicle" "$C" \
    "$(ntf_sub -t "ota/v1/vehicles/$first/update" --retained-only -W 2 -C 1 | jq -r .campaign)"
check_eq "the start is in the events once" 1 \
    "$(ota_admin events --campaign "$C" --kind campaign.start --json | jq '.events | length')"

# ------------------------------------------------------------ 2. finishing at once
{
    echo "id,group"
    for ((i = 1; i <= FIN; i++)); do printf 'F%05d,fin\n' "$i"; done
} >"$T/fin.csv"
ota_admin vehicle import "$T/fin.csv" >/dev/null
mapfile -t rest_ids < <(for ((i = 1; i <= REST; i++)); do printf 'F%05d\n' "$i"; done)
"$OTA_SRC/certs/mkfleet.py" "$T/pki" "$T/pki" "${rest_ids[@]}" || fail "mkfleet.py failed"
F=$(ota_admin campaign create --name fin --artifact "$SHA" --group fin)
ota_admin campaign start "$F" >/dev/null

# MQTT: the others report downloading then installed, through the broker and ota-notifier
for ((i = REST + 1; i <= FIN; i++)); do
    v=$(printf 'F%05d' "$i")
    printf 'ota/v1/vehicles/%s/status\t{"campaign":%s,"state":"downloading","bytes":0}\n' "$v" "$F"
    printf 'ota/v1/vehicles/%s/status\t{"campaign":%s,"state":"installed","bytes":200000}\n' "$v" "$F"
done >"$T/mqtt.lines"
python3 "$OTA_SRC/tests/integration/mqtt_pub.py" 127.0.0.1 "$MQTT_PORT" scale-test \
    <"$T/mqtt.lines" >"$T/mqtt.out" 2>&1 &
mpid=$!
# REST: real vehicles download and report at the same time
rc=0
timeout 170 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --pubkey "$T/keys/ota.pub" --dir "$T/fleet" --fleet "$REST" --fleet-certs "$T/pki" \
    --fleet-ids 'F%05d' --parallel 16 --poll-interval 0.5 --timeout 150 \
    >"$T/fleet.out" 2>"$T/fleet.log" || rc=$?
[[ $rc -eq 0 ]] || ota_log_tail "$T/fleet.log"
check_eq "REST fleet exit status" 0 "$rc"
rc=0
wait "$mpid" || rc=$?
check_eq "MQTT publisher: every status acknowledged by the broker" "0 published $(((FIN - REST) * 2))" \
    "$rc $(cat "$T/mqtt.out")"
finished()
{
    [[ $(campaign_state "$F") == finished ]]
}
wait_until 120 finished || fail "campaign $F is $(campaign_state "$F"): $(ota_admin campaign show "$F" --json | jq -c .counts)"
check_eq "every vehicle installed" "$FIN 0 0" \
    "$(ota_admin campaign show "$F" --json | jq -r '[.counts.installed, .counts.pending, .counts.downloading] | join(" ")')"
# the counts kept on the campaign row equal a recount of its deployments, state by state
states="pending downloading downloaded installing installed failed cancelled"
recount=""
kept=""
for st in $states; do
    recount+="$st=$(sql "select count(*) from deployments where campaign = $F and state = '$st'") "
    kept+="$st=$(sql "select n_$st from campaigns where id = $F") "
done
check_eq "kept counts equal a recount of the rows" "$recount" "$kept"
check_eq "no status refused by the notifier" 0 "$(grep -c 'refused' "$T/notifier.log" || true)"
echo "all fleet-scale checks passed"
