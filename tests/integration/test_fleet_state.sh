#!/usr/bin/env bash
# test_fleet_state.sh: the fleet's state stays true under the operator's hands (issue
# "fleet state"): an upload whose file changes while it is read, or that is stopped, leaves
# nothing; pause brakes a running download (409, the broker's message cleared) and resume
# lets it go on from its partial file; a vehicle is never sent what it has installed; one
# unfinished deployment per vehicle, also when two operators start campaigns at once;
# revoking a vehicle mid-download ends its deployment and its campaign; reinstate undoes a
# revoke; and ota-admin's messages for a database it cannot use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/notifier_lib.sh"

db_digest()
{
    sqlite3 -readonly "$T/ota.db" .dump | sha256sum
}

sql()
{
    sqlite3 -readonly "$T/ota.db" "$1"
}

# rchar PID: bytes PID has read so far (builtins only, so the loop below is quick).
rchar()
{
    local k v
    while read -r k v; do
        if [[ $k == rchar: ]]; then
            echo "$v"
            return
        fi
    done <"/proc/$1/io" 2>/dev/null
    echo 0
}

state()
{
    ota_admin campaign show "$2" --vehicles --json |
        jq -r --arg v "$1" '.deployments[] | select(.vehicle == $v) | .state'
}
state_is()
{
    [[ $(state "$1" "$2") == "$3" ]]
}
campaign_state()
{
    ota_admin campaign show "$1" --json | jq -r .state
}
campaign_state_is()
{
    [[ $(campaign_state "$1") == "$2" ]]
}
# retained ID: the retained update payload the broker holds for vehicle ID ("" for none).
retained()
{
    ntf_sub -t "ota/v1/vehicles/$1/update" --retained-only -W 2 -C 1
}
retained_campaign_is()
{
    [[ $(retained "$1" | jq -r '.campaign // ""' 2>/dev/null) == "$2" ]]
}
partial_size()
{
    local f
    for f in "$T/$1"/partial/*; do
        [[ -f $f ]] && stat -c %s "$f" && return
    done
    echo 0
}
partial_past()
{
    [[ $(partial_size "$1") -ge $2 ]]
}
has_temp()
{
    [[ -n $(find "$T/store/tmp" -type f) ]]
}
log_has()
{
    grep -q -- "$2" "$1" 2>/dev/null
}
http_status()
{
    ota_curl "$1" -o /dev/null -w '%{http_code}' "$2"
}

ota_setup
ota_start_broker
for v in VIN1 VIN2 VIN3 VIN4; do
    ota_client_cert $v
    ota_admin vehicle add $v >/dev/null
done
ota_edge_cert cdn1
ota_admin edge add cdn1 >/dev/null
head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/fw1.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/fw2.bin"
SHA1=$(ota_admin artifact upload "$T/fw1.bin" --version 1.0 --name fw.bin)
SHA2=$(ota_admin artifact upload "$T/fw2.bin" --version 2.0 --name fw.bin)

# ------------------------------------------------------------ 1. a file that changes while read
# The upload is stopped (SIGSTOP) once it has read a little of a 256 MiB file, the file is
# changed, and the upload goes on: it must notice and record nothing.
changed_upload()
{
    local what=$1 how=$2 before pid rc=0
    truncate -s 0 "$T/moving.swu"
    truncate -s 256M "$T/moving.swu"
    before=$(db_digest)
    "$OTA_ADMIN" --config "$OTA_CONF" artifact upload "$T/moving.swu" --version 5 \
        >"$T/moving.out" 2>"$T/moving.err" &
    pid=$!
    while [[ $(rchar "$pid") -lt 1048576 ]] && kill -0 "$pid" 2>/dev/null; do :; done
    kill -STOP "$pid" 2>/dev/null || fail "$what: the upload ended before it could be stopped"
    case $how in
    grow) printf 'more' >>"$T/moving.swu" ;;
    truncate) truncate -s 100M "$T/moving.swu" ;;
    rewrite) printf 'X' | dd of="$T/moving.swu" bs=1 seek=$((200 * 1024 * 1024)) conv=notrunc status=none ;;
    esac
    kill -CONT "$pid"
    wait "$pid" || rc=$?
    check_eq "$what: exit status" 1 "$rc"
    check_contains "$what: message" "the file changed while it was read" "$(cat "$T/moving.err")"
    check_eq "$what: no output" "" "$(cat "$T/moving.out")"
    check_eq "$what: database unchanged" "$before" "$(db_digest)"
    check_eq "$what: no temp file" "" "$(find "$T/store/tmp" -type f)"
}
changed_upload "grown during the upload" grow
changed_upload "truncated during the upload" truncate
changed_upload "rewritten in place during the upload" rewrite
check_eq "only the two artifacts are stored" 2 "$(find "$T/store/sha256" -type f | wc -l)"

# ------------------------------------------------------------ 2. an upload stopped by a signal
# SIGINT and SIGTERM end it between chunks with its temp file removed (SIGKILL leaves one:
# test_admin_crash.sh has 'store gc' remove it).
for sig in INT TERM; do
    before=$(db_digest)
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    "$OTA_ADMIN" --config "$OTA_CONF" artifact upload "$T/fifo" --name s.swu --version 1 \
        >"$T/sig.out" 2>"$T/sig.err" &
    pid=$!
    exec 7>"$T/fifo"
    head -c $((16 * 1024 * 1024)) /dev/zero >&7
    wait_until 10 has_temp || fail "SIG$sig: no temp file while uploading"
    kill -"$sig" "$pid"
    # keep the pipe flowing so the upload reaches its next chunk and sees the signal
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null && head -c 65536 /dev/zero >&7 2>/dev/null || break
    done
    rc=0
    wait "$pid" || rc=$?
    exec 7>&-
    [[ $rc -ne 0 ]] || fail "SIG$sig: the upload succeeded"
    check_contains "SIG$sig: says it stopped" "stopped" "$(cat "$T/sig.err")"
    check_eq "SIG$sig: no temp file" "" "$(find "$T/store/tmp" -type f)"
    check_eq "SIG$sig: database unchanged" "$before" "$(db_digest)"
done

ota_start_server
ota_start_notifier

# ------------------------------------------------------------ 3. pause brakes a download
# Pause holds the deployments not yet under way. VIN1 (mqtt) has its announcement, but the
# server has no status from it (the notifier, which records MQTT statuses, is stopped), so
# its deployment is still pending when the campaign is paused: VIN1 stalls at half, reads
# on to 3/4 where its connection is cut, and the retry is refused 409: it waits, keeping its
# partial file. /v1/updates says 204, the broker's message is cleared (once the notifier is
# back), and the statuses VIN1 sent meanwhile do not start a paused deployment. Resume
# announces again and the vehicle finishes from its partial file.
C1=$(ota_admin campaign create --name brake --artifact "$SHA1" --vehicles VIN1)
ota_admin campaign start "$C1" >/dev/null
wait_until 10 retained_campaign_is VIN1 "$C1" || fail "pause: no retained update for VIN1"
ota_stop "$NOTIFIER_PID"
timeout 120 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/VIN1.crt" --key "$T/pki/VIN1.key" --pubkey "$T/keys/ota.pub" \
    --dir "$T/VIN1" --once --mode mqtt --mqtt-host 127.0.0.1 --mqtt-port "$MQTT_PORT" \
    --poll-interval 0.5 --timeout 100 --stall 4 --cut-after $((6 * 1024 * 1024)) \
    >"$T/VIN1.out" 2>>"$T/VIN1.log" &
vpid=$!
wait_until 30 partial_past VIN1 $((4 * 1024 * 1024)) || fail "pause: VIN1 never got half way"
ota_expect 0 "campaign pause mid-download" ota_admin campaign pause "$C1"
wait_until 20 log_has "$T/VIN1.log" "is paused; waiting" ||
    fail "pause: the vehicle did not hold ($(tail -n 3 "$T/VIN1.log"))"
echo "ok - pause: the retry was refused and the vehicle waits"
ota_curl VIN1 "/v1/artifacts/$SHA1" -o "$T/paused.body" -w '%{http_code}\n' >"$T/paused.code"
check_eq "pause: artifact status" 409 "$(cat "$T/paused.code")"
check_eq "pause: artifact body" paused "$(jq -r .error "$T/paused.body")"
check_eq "pause: /v1/updates" 204 "$(http_status VIN1 /v1/updates)"
ota_start_notifier
wait_until 10 ntf_drained || fail "pause: the notifier did not publish the clear"
check_eq "pause: no retained update for VIN1" "" "$(retained VIN1)"
wait_until 10 log_has "$T/notifier.log" "status from VIN1 refused (rejected): campaign $C1 is paused" ||
    fail "pause: the notifier did not get VIN1's queued statuses"
check_eq "pause: queued statuses do not start a paused deployment" pending "$(state VIN1 "$C1")"
kept=$(partial_size VIN1)
[[ $kept -ge $((6 * 1024 * 1024)) ]] || fail "pause: the partial file has $kept bytes, want >= 6 MiB"
echo "ok - pause: the partial file is kept ($kept bytes)"
kill -0 "$vpid" 2>/dev/null || fail "pause: the vehicle gave up ($(tail -n 3 "$T/VIN1.log"))"
ota_expect 0 "campaign resume" ota_admin campaign resume "$C1"
rc=0
wait "$vpid" || rc=$?
[[ $rc -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "resume: vehicle exit status" 0 "$rc"
cmp -s "$T/fw1.bin" "$T/VIN1/installed/fw.bin" || fail "resume: installed bytes differ"
check_contains "resume: offered again" "offered again; resuming" "$(cat "$T/VIN1.log")"
# the last artifact request was a Range request from where the partial file ended
last=$(grep "GET /v1/artifacts/$SHA1 " "$T/server.log" | grep ' VIN1' | tail -n 1)
check_contains "resume: from the partial file" " 206 " "$last"
wait_until 10 state_is VIN1 "$C1" installed || fail "resume: deployment is $(state VIN1 "$C1")"
wait_until 10 campaign_state_is "$C1" finished || fail "resume: campaign is $(campaign_state "$C1")"
check_eq "installed version recorded" "1.0 $SHA1" \
    "$(ota_admin vehicle show VIN1 --json | jq -r '[.installed_version, .installed_artifact] | join(" ")')"
check_eq "vehicle list --version 1.0" VIN1 \
    "$(ota_admin vehicle list --version 1.0 --json | jq -r '[.vehicles[].id] | join(" ")')"

# ------------------------------------------------------------ 4. never sent what it has
C2=$(ota_admin campaign create --name again --artifact "$SHA1" --vehicles VIN1,VIN2)
ota_expect 0 "start over an installed vehicle" ota_admin campaign start "$C2" --json
check_eq "start report: targets installed pending" "2 1 1" \
    "$(jq -r '[.start.targets, .start.installed, .start.pending] | join(" ")' <<<"$OUT")"
check_eq "VIN1's deployment is installed at once" installed "$(state VIN1 "$C2")"
check_eq "no announcement for VIN1" 0 \
    "$(ota_admin outbox list --vehicle VIN1 --json | jq --argjson c "$C2" '[.outbox[] | select(.campaign == $c)] | length')"
check_eq "an announcement for VIN2" 1 \
    "$(ota_admin outbox list --vehicle VIN2 --json | jq --argjson c "$C2" '[.outbox[] | select(.campaign == $c)] | length')"

# ------------------------------------------------------------ 5. busy vehicles
C3=$(ota_admin campaign create --name next --artifact "$SHA2" --vehicles VIN2,VIN3)
before=$(db_digest)
ota_expect 1 "start over a busy vehicle" ota_admin campaign start "$C3"
check_contains "busy: the way out" "--supersede" "$ERRS"
check_eq "busy: database unchanged" "$before" "$(db_digest)"
ota_expect 0 "start --supersede" ota_admin campaign start "$C3" --supersede --json
check_eq "supersede report" "2 1 1 2" \
    "$(jq -r '[.start.targets, .start.busy, .start.superseded, .start.pending] | join(" ")' <<<"$OUT")"
check_eq "superseded deployment" cancelled "$(state VIN2 "$C2")"
check_eq "its campaign finished (nobody left)" finished "$(campaign_state "$C2")"
check_contains "superseded: the event" "superseded by campaign $C3" \
    "$(ota_admin events --campaign "$C2" --json | jq -r '.events[].detail')"
wait_until 10 retained_campaign_is VIN2 "$C3" || fail "supersede: VIN2's retained update is not campaign $C3"
echo "ok - supersede: the broker offers VIN2 the new campaign"

# Cancelling the newer campaign does not revive the older one the vehicle was in.
old=$(ota_admin campaign create --name older --artifact "$SHA1" --vehicles VIN4)
ota_admin campaign start "$old" >/dev/null
newer=$(ota_admin campaign create --name newer --artifact "$SHA2" --vehicles VIN4)
ota_admin campaign start "$newer" --supersede >/dev/null
ota_expect 0 "cancel the newer campaign" ota_admin campaign cancel "$newer"
check_eq "the older deployment stays ended" cancelled "$(state VIN4 "$old")"
check_eq "nothing offered after the cancel" 204 "$(http_status VIN4 /v1/updates)"
wait_until 10 ntf_drained || fail "cancel: the notifier did not publish"
check_eq "no retained update after the cancel" "" "$(retained VIN4)"

# ------------------------------------------------------------ 6. revoke mid-download, reinstate
timeout 60 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
    --cert "$T/pki/VIN3.crt" --key "$T/pki/VIN3.key" --pubkey "$T/keys/ota.pub" \
    --dir "$T/VIN3" --once --poll-interval 0.2 --timeout 50 --stall 30 \
    >"$T/VIN3.out" 2>>"$T/VIN3.log" &
vpid=$!
wait_until 20 state_is VIN3 "$C3" downloading || fail "revoke: VIN3 never reported downloading"
ota_expect 0 "vehicle revoke mid-download" ota_admin vehicle revoke VIN3
check_eq "revoke: deployment ended" cancelled "$(state VIN3 "$C3")"
check_eq "revoke: its detail" "vehicle revoked" \
    "$(ota_admin campaign show "$C3" --vehicles --json | jq -r '.deployments[] | select(.vehicle == "VIN3") | .detail')"
check_eq "revoke: artifact refused" 403 "$(http_status VIN3 "/v1/artifacts/$SHA2")"
wait_until 10 ntf_drained || fail "revoke: the notifier did not publish the clear"
check_eq "revoke: no retained update" "" "$(retained VIN3)"
kill "$vpid" 2>/dev/null || true
wait "$vpid" 2>/dev/null || true
# VIN2 finishes: the campaign is done, since the revoked vehicle's deployment ended
OTA_VEHICLE_PUBKEY=$T/keys/ota.pub ota_vehicle_once VIN2 --timeout 60
check_eq "VIN2 installs" 0 "$VRC"
wait_until 10 campaign_state_is "$C3" finished || fail "revoke: campaign is $(campaign_state "$C3")"
echo "ok - revoke: the campaign finished without the revoked vehicle"
check_eq "vehicle list --version 2.0" VIN2 \
    "$(ota_admin vehicle list --version 2.0 --json | jq -r '[.vehicles[].id] | join(" ")')"
ota_expect 1 "reinstate an active vehicle" ota_admin vehicle reinstate VIN2
check_contains "reinstate active: message" "vehicle VIN2 is not revoked" "$ERRS"
ota_expect 1 "vehicle add of a revoked id" ota_admin vehicle add VIN3
check_contains "revoked id: the way back" "'vehicle reinstate' makes it active again" "$ERRS"
ota_expect 0 "vehicle reinstate" ota_admin vehicle reinstate VIN3
check_eq "reinstated: active" active "$(ota_admin vehicle show VIN3 --json | jq -r .state)"
check_eq "reinstated: served again" 204 "$(http_status VIN3 /v1/updates)"
check_eq "edge serves" 200 "$(http_status cdn1 "/v1/artifacts/$SHA2")"
ota_admin edge revoke cdn1 >/dev/null
check_eq "revoked edge refused" 403 "$(http_status cdn1 "/v1/artifacts/$SHA2")"
ota_expect 0 "edge reinstate" ota_admin edge reinstate cdn1
check_eq "reinstated edge serves" 200 "$(http_status cdn1 "/v1/artifacts/$SHA2")"
check_eq "reinstate events" "vehicle.reinstate edge.reinstate" \
    "$(ota_admin events --json | jq -r '[.events[] | select(.kind | endswith("reinstate")) | .kind] | join(" ")')"

# ------------------------------------------------------------ 7. two operators at once
# Two campaigns over overlapping vehicles, both started with --supersede at the same
# moment, five times: whatever the order, each vehicle has exactly one unfinished
# deployment (the database's unique index and the start transaction together).
{
    echo id
    for ((i = 1; i <= 40; i++)); do echo "R$i"; done
} >"$T/r.csv"
ota_admin vehicle import "$T/r.csv" >/dev/null
for round in 1 2 3 4 5; do
    a=$(ota_admin campaign create --name "race$round-a" --artifact "$SHA1" \
        --vehicles "$(seq -s, -f 'R%g' 1 30)")
    b=$(ota_admin campaign create --name "race$round-b" --artifact "$SHA2" \
        --vehicles "$(seq -s, -f 'R%g' 11 40)")
    ota_admin campaign start "$a" --supersede --json >"$T/race-a.out" 2>&1 &
    pa=$!
    ota_admin campaign start "$b" --supersede --json >"$T/race-b.out" 2>&1 &
    pb=$!
    ra=0 rb=0
    wait "$pa" || ra=$?
    wait "$pb" || rb=$?
    [[ $ra -eq 0 && $rb -eq 0 ]] ||
        fail "race $round: start exit $ra/$rb: $(cat "$T/race-a.out" "$T/race-b.out")"
    # the first start ends the previous round's 40, the second the overlap's 20
    check_eq "race $round: superseded" $((round == 1 ? 20 : 60)) \
        "$(jq -s 'map(.start.superseded) | add' "$T/race-a.out" "$T/race-b.out")"
    check_eq "race $round: one unfinished deployment per vehicle" "40|40" \
        "$(sql "select count(*), count(distinct vehicle) from deployments
                where vehicle like 'R%' and state not in ('installed','failed','cancelled')")"
done

# ------------------------------------------------------------ 8. a database ota-admin cannot use
ota_expect 1 "outbox list for an unknown vehicle" ota_admin outbox list --vehicle NOPE
check_contains "unknown vehicle: message" "no vehicle NOPE" "$ERRS"
before=$(db_digest)
ota_expect 2 "a --name with a path" ota_admin artifact upload "$T/fw1.bin" --version 9 --name ../../etc/x
check_contains "path name: message" "--name: a plain file name" "$ERRS"
: >"$T/empty.swu"
ota_expect 1 "an empty file" ota_admin artifact upload "$T/empty.swu" --version 9
check_contains "empty file: message" "the file is empty" "$ERRS"
check_eq "refused uploads: database unchanged" "$before" "$(db_digest)"

# the store file of an artifact is gone: a campaign cannot start with it
C4=$(ota_admin campaign create --name gone --artifact "$SHA2" --vehicles VIN4)
mv "$T/store/sha256/${SHA2:0:2}/$SHA2" "$T/gone.bin"
before=$(db_digest)
ota_expect 1 "start with the store file gone" ota_admin campaign start "$C4"
check_contains "store file gone: message" "$SHA2" "$ERRS"
check_eq "store file gone: database unchanged" "$before" "$(db_digest)"
mv "$T/gone.bin" "$T/store/sha256/${SHA2:0:2}/$SHA2"

# a database the user may read but not write: reading works, a change says why
chmod 0755 "$T"
chmod 0644 "$T/ota.db"
OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$OTA_ADMIN" --config "$OTA_CONF" \
    vehicle list 2>"$T/ro.err") || fail "read-only: vehicle list failed: $(cat "$T/ro.err")"
check_contains "read-only: vehicle list" "VIN1" "$OUT"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$OTA_ADMIN" --config "$OTA_CONF" \
    vehicle add VRO >/dev/null 2>"$T/ro.err" || rc=$?
check_eq "read-only: vehicle add exit" 1 "$rc"
check_contains "read-only: message" "adding the vehicle: the database is read-only for this user" "$(cat "$T/ro.err")"
chmod 0600 "$T/ota.db"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$OTA_ADMIN" --config "$OTA_CONF" \
    vehicle list >/dev/null 2>"$T/ro.err" || rc=$?
check_eq "unreadable: exit" 1 "$rc"
check_contains "unreadable: names the file" "$T/ota.db" "$(cat "$T/ro.err")"
check_contains "unreadable: says why" "ermission denied" "$(cat "$T/ro.err")"
check_eq "refused as another user: database unchanged" "$before" "$(db_digest)"

ota_expect 1 "init into a missing folder" ota_admin --db "$T/no/such/dir/ota.db" init
check_contains "missing folder: message" "$T/no/such/dir" "$ERRS"
[[ ! -e $T/no ]] || fail "init created $T/no"
mkdir "$T/emptykeys"
ota_expect 1 "init with an empty keys folder over signed artifacts" \
    ota_admin --keys "$T/emptykeys" init
check_contains "empty keys: message" "holds no key, but the database's artifacts are signed" "$ERRS"
check_eq "empty keys: no key made" "" "$(ls "$T/emptykeys")"
mkdir -m 0700 "$T/otherkeys"
minisign -G -W -p "$T/otherkeys/ota.pub" -s "$T/otherkeys/ota.key" >/dev/null </dev/null
ota_expect 1 "init with another key over signed artifacts" ota_admin --keys "$T/otherkeys" init
check_contains "another key: message" "the keys folder $T/otherkeys is not this database's" "$ERRS"

echo "all fleet-state checks passed"
