#!/usr/bin/env bash
# ota-notifier with the database busy: another process holds the write lock (BEGIN
# EXCLUSIVE) for longer than the busy timeout while PUBACKs and a status report arrive.
# The notifier waits and retries: no crash, no loss, nothing marked before it is acked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=10
ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker
ntf_vehicles $N
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name c1 --artifact "$sha" --all)
ota_start_notifier
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1

# Messages go out while the broker is stopped, so their PUBACKs arrive under the lock.
kill -STOP "$BROKER_PID"
ota_admin campaign start "$cid" >/dev/null
wait_until 5 ntf_stat_is ota_notifier_inflight $N

python3 - "$T/ota.db" "$T/locked" 7 <<'PY' >>"$T/locker.log" 2>&1 &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
c.execute("UPDATE vehicles SET last_seen = last_seen WHERE 0")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
c.execute("COMMIT")
PY
locker=$!
ota_track "$locker" locker
wait_until 5 test -e "$T/locked"
kill -CONT "$BROKER_PID"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t ota/v1/vehicles/VIN2/status \
    -m "{\"campaign\":$cid,\"state\":\"downloading\",\"bytes\":1}"
sleep 2
check_eq "nothing marked while the database is locked" 0 "$(ntf_count published)"
kill -0 "$NOTIFIER_PID" || fail "notifier died while the database was locked"
wait "$locker" || fail "the locker failed"
unset "_ota_names[$locker]"

wait_until 15 ntf_drained || fail "rows still pending after the lock was released"
check_eq "all rows published" $N "$(ntf_count published)"
ntf_check_retained "after the lock"
wait_until 10 ntf_stat_is ota_notifier_status_applied_total 1 ||
    fail "the status report that met the lock was not applied"
echo "ok - status report applied after the lock"
busy=$(ntf_stat ota_notifier_db_busy_total)
[[ $busy -ge 1 ]] || fail "db_busy_total: expected >= 1, got $busy"
echo "ok - db_busy_total = $busy"
ota_stop "$NOTIFIER_PID"
