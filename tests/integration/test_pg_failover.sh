#!/usr/bin/env bash
# Failover (#15): a PostgreSQL primary and a streaming standby (pg_basebackup), the
# daemons on libpq's multi-host URL with target_session_attrs=read-write. Mid-campaign
# the primary is stopped and the standby promoted: ota-server and ota-notifier reconnect
# by themselves to the new primary, the campaign finishes, what was installed before the
# failover is still there, and every outbox row is published.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=12
ota_pg_start
ota_pg_standby
PRIMARY_PORT=$PG_PORT
export OTA_DB_URL="postgresql://postgres@127.0.0.1:$PRIMARY_PORT,127.0.0.1:$PG_STANDBY_PORT/ota?target_session_attrs=read-write&connect_timeout=2"
ota_setup "[server]" "poll_after = 1"
ota_start_broker
ids=()
for ((i = 1; i <= N; i++)); do
    ids+=("FO$i")
done
ota_fleet "${ids[@]}"
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name failover --artifact "$sha" --all)
ota_start_server
ota_start_notifier
ota_admin campaign start "$cid" >/dev/null
wait_until 10 ntf_drained || fail "the campaign was not published"

installed()
{
    ota_admin campaign show "$cid" --json | jq -r .counts.installed
}
for ((i = 1; i <= N / 2; i++)); do
    ota_vehicle_once "FO$i" --timeout 60
    [[ $VRC -eq 0 ]] || fail "FO$i did not install before the failover: exit $VRC"
done
check_eq "half installed before the failover" $((N / 2)) "$(installed)"
# the standby has replayed it (the campaign's rows are on both)
synced()
{
    [[ $(psql -X -A -t "postgresql://postgres@127.0.0.1:$PG_STANDBY_PORT/ota" \
        -c "SELECT n_installed FROM campaigns WHERE id = $cid" 2>/dev/null) == $((N / 2)) ]]
}
wait_until 10 synced || fail "the standby did not replay the first half"

_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    fail "stopping the primary failed"
_pg_as "$PG_BIN/pg_ctl" -D "$PG_STANDBY_DIR/data" -w -t 30 promote >/dev/null 2>&1 ||
    fail "promoting the standby failed"
echo "ok - primary stopped, standby promoted"

for ((i = N / 2 + 1; i <= N; i++)); do
    ota_vehicle_once "FO$i" --timeout 60
    [[ $VRC -eq 0 ]] || fail "FO$i did not install after the failover: exit $VRC"
done
check_eq "every vehicle installed" "$N" "$(installed)"
check_eq "campaign finished" finished "$(ota_admin campaign show "$cid" --json | jq -r .state)"
kill -0 "$SERVER_PID" && kill -0 "$NOTIFIER_PID" || fail "a daemon died in the failover"
wait_until 15 ntf_drained || fail "rows left unpublished after the failover"
ntf_check_retained "after the failover"
echo "ok - the daemons followed the promoted standby; the campaign finished"
