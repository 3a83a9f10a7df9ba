#!/usr/bin/env bash
# The whole stack on PostgreSQL (#15): a cluster of the test's own, `ota-admin init` on a
# postgresql:// URL, a campaign for 20 vehicles that ota-notifier announces over MQTT and
# ota-vehicle installs through ota-server; the database restarted while the daemons run
# (they reconnect by themselves, the campaign goes on and nothing is lost); wrong,
# unreachable and missing databases stop each program at start with paths.db named and
# no password shown.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=20
ota_pg_start
ota_setup
check_contains "init made the schema" "1" "$(pg_sql ota 'SELECT max(version) FROM ota_schema')"
ota_start_broker
ntf_vehicles $N
for ((i = 1; i <= N; i++)); do
    ota_client_cert "VIN$i" >/dev/null
done
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name pg1 --artifact "$sha" --all)
ota_start_server
ota_start_notifier
ota_admin campaign start "$cid" >/dev/null
wait_until 10 ntf_drained || fail "the notifier did not publish the campaign"
ntf_check_retained "campaign retained (from PostgreSQL's outbox)"

installed()
{
    ota_admin campaign show "$cid" --json | jq -r '.counts.installed'
}
# half of the fleet, then PostgreSQL restarts under the running daemons, then the rest
for ((i = 1; i <= N / 2; i++)); do
    ota_vehicle_once "VIN$i" --timeout 60
    [[ $VRC -eq 0 ]] || fail "VIN$i did not install (before the restart): exit $VRC"
done
check_eq "half installed" $((N / 2)) "$(installed)"
_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 restart >/dev/null 2>&1 ||
    fail "pg_ctl restart failed"
echo "ok - PostgreSQL restarted under the running ota-server and ota-notifier"
for ((i = N / 2 + 1; i <= N; i++)); do
    # the first request after the restart may meet the dead session (503): ota-vehicle
    # retries, as against any passing outage
    ota_vehicle_once "VIN$i" --timeout 60
    [[ $VRC -eq 0 ]] || fail "VIN$i did not install (after the restart): exit $VRC"
done
check_eq "every vehicle installed" "$N" "$(installed)"
check_eq "campaign finished" finished "$(ota_admin campaign show "$cid" --json | jq -r .state)"
wait_until 10 ntf_drained || fail "the notifier did not publish the clearing messages"
check_eq "no retained message left" "" "$(ntf_retained)"
kill -0 "$SERVER_PID" && kill -0 "$NOTIFIER_PID" || fail "a daemon died with the database restart"
echo "ok - the daemons reconnected; every vehicle installed, the campaign finished"

# ---- an artifact the database knows but this origin's store lacks (several origins
# sharing a store that has not caught up): 503, which neither a CDN nor a vehicle takes
# as gone
mv "$T/store/sha256/${sha:0:2}/$sha" "$T/held-back"
code=$(ota_curl VIN1 "/v1/artifacts/$sha" -o "$T/missing.json" -w '%{http_code}' || true)
check_eq "artifact missing from the store" 503 "$code"
check_contains "it says so" "missing from this origin's store" "$(cat "$T/missing.json")"
mv "$T/held-back" "$T/store/sha256/${sha:0:2}/$sha"
check_eq "back in the store" 200 "$(ota_curl VIN1 "/v1/artifacts/$sha" -o /dev/null -w '%{http_code}')"

# ---- databases that cannot be used stop each program at start, naming paths.db
conf_with()
{
    sed "s|^db = .*|db = $1|" "$OTA_CONF" >"$T/bad.conf"
}
refused()
{
    local what=$1 want=$2 name out rc
    for name in ota-admin ota-server ota-notifier; do
        rc=0
        case $name in
        ota-admin) out=$(timeout 20 "$OTA_ADMIN" --config "$T/bad.conf" vehicle list 2>&1) || rc=$? ;;
        ota-server) out=$(timeout 20 "$OTA_SERVER" --config "$T/bad.conf" 2>&1) || rc=$? ;;
        ota-notifier) out=$(timeout 20 "$OTA_NOTIFIER" --config "$T/bad.conf" 2>&1) || rc=$? ;;
        esac
        [[ $rc -ne 0 && $rc -ne 124 ]] || fail "$what: $name exited $rc: $out"
        [[ $out == *paths.db* || $out == *"database postgresql://"* ]] ||
            fail "$what: $name names neither paths.db nor the database: $out"
        check_contains "$what: $name says why" "$want" "$out"
        [[ $out != *sekret* ]] || fail "$what: $name shows the password: $out"
    done
}
conf_with "postgresql://postgres:sekret@127.0.0.1:$(ota_free_port)/ota"
refused "nothing listening" "cannot connect to postgresql://postgres:***@"
conf_with "$(pg_url no_such_db)"
refused "no such database" "does not exist"
conf_with "postgresql://postgres@127.0.0.1:notaport/ota"
refused "a bad URL" "not a valid PostgreSQL URL"
pg_sql "CREATE DATABASE empty"
conf_with "$(pg_url empty)"
refused "a database without the schema" "ota-admin init"
