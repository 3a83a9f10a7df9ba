#!/usr/bin/env bash
# Several nodes on one PostgreSQL database (#15): two ota-servers behind a TCP balancer,
# two ota-notifiers (one leads, one stands by), mosquitto, and a campaign for N vehicles
# (OTA_TEST_FLEET, default 200) run as one ota-vehicle fleet. Mid-campaign the leading
# notifier and one server are killed with SIGKILL: the standby takes the lead (only after
# the leader is gone: never two publishing at once), the balancer sends vehicles to the
# surviving server, every vehicle installs, the campaign finishes, and every outbox row is
# published with the broker's retained messages matching the outbox.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

N=${OTA_TEST_FLEET:-200}
ota_pg_start
ota_setup "[server]" "poll_after = 1"
ota_start_broker
ids=()
for ((i = 1; i <= N; i++)); do
    ids+=("$(printf 'NODE%04d' "$i")")
done
ota_fleet "${ids[@]}"
head -c 100000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
CID=$(ota_admin campaign create --name nodes --artifact "$SHA" --all)

# ---- two origins (same database, same store), a balancer in front of them
ota_start_server
SERVER_A=$SERVER_PID
PORT_B=$(ota_free_port)
ADMIN_B=$(ota_free_port)
sed -e "s|^listen = .*|listen = 127.0.0.1:$PORT_B|" -e "s|^admin_listen = .*|admin_listen = 127.0.0.1:$ADMIN_B|" \
    "$OTA_CONF" >"$T/ota-b.conf"
ota_spawn server-b "$OTA_SERVER" --config "$T/ota-b.conf"
SERVER_B=$SPAWN_PID
wait_until 15 _ota_port_accepts "$PORT_B" || fail "the second ota-server did not start"
LB_PORT=$(ota_free_port)
ota_spawn balancer python3 "$(dirname "$0")/tcp_balance.py" "$LB_PORT" "$SERVER_PORT" "$PORT_B"
wait_until 10 _ota_port_accepts "$LB_PORT" || fail "the balancer did not start"

# ---- two notifiers: the first leads, the second stands by
ota_start_notifier --set mqtt.client_id=ota-notifier-a
NOTIFIER_A=$NOTIFIER_PID
wait_until 10 eval 'grep -q "started: broker" "$T/notifier.log"' || fail "notifier A did not start"
# B tells systemd where it stands (Type=notify; sd_listen.py as the notification socket)
ota_spawn sdnotify-b python3 "$OTA_SRC/tests/integration/sd_listen.py" "$T/notify-b.sock"
wait_until 5 test -S "$T/notify-b.sock" || fail "sd_listen.py did not bind $T/notify-b.sock"
ota_spawn notifier-b env NOTIFY_SOCKET="$T/notify-b.sock" "$OTA_NOTIFIER" --config "$OTA_CONF" \
    --set mqtt.client_id=ota-notifier-b
NOTIFIER_B=$SPAWN_PID
wait_until 10 eval 'grep -q "standing by" "$T/notifier-b.log"' ||
    fail "notifier B did not stand by: $(cat "$T/notifier-b.log")"
echo "ok - notifier B stands by while A leads"
wait_until 5 grep -qx "READY=1 | STATUS=standing by: another ota-notifier leads" "$T/sdnotify-b.log" ||
    fail "B did not tell systemd it is ready and standing by: $(cat "$T/sdnotify-b.log")"
echo "ok - B is READY for systemd while standing by"

ota_admin campaign start "$CID" >/dev/null
ota_spawn fleet timeout 200 "$OTA_VEHICLE" --server "https://localhost:$LB_PORT" \
    --cacert "$T/pki/ca.crt" --pubkey "$T/keys/ota.pub" --dir "$T/fleet" --fleet "$N" \
    --fleet-certs "$T/pki" --fleet-ids 'NODE%04d' --parallel 16 --poll-interval 0.5 \
    --timeout 180 --once
FLEET=$SPAWN_PID

installed()
{
    ota_admin campaign show "$CID" --json | jq -r .counts.installed
}
some_installed()
{
    [[ $(installed) -ge $((N / 4)) ]]
}
wait_until 120 some_installed || fail "a quarter of the fleet did not install: $(installed)"
kill -KILL "$NOTIFIER_A" "$SERVER_A"
killed_at=$(date -u +%Y-%m-%dT%H:%M:%S)
wait "$NOTIFIER_A" "$SERVER_A" 2>/dev/null || true
unset "_ota_names[$NOTIFIER_A]" "_ota_names[$SERVER_A]"
echo "ok - killed the leading notifier and one server (SIGKILL) with $(installed) of $N installed"
wait_until 15 eval 'grep -q "took the lead" "$T/notifier-b.log"' ||
    fail "notifier B did not take the lead: $(cat "$T/notifier-b.log")"
took_at=$(grep -m1 "took the lead" "$T/notifier-b.log" | cut -c1-19)
[[ ! $took_at < $killed_at ]] || fail "B took the lead at $took_at, before A was killed at $killed_at"
echo "ok - notifier B took the lead after A was gone ($took_at)"
wait_until 10 grep -q "^STATUS=publishing: connected to broker" "$T/sdnotify-b.log" ||
    fail "B's status did not follow the lead: $(cat "$T/sdnotify-b.log")"
echo "ok - B's systemd status: publishing, connected"

rc=0
wait "$FLEET" || rc=$?
unset "_ota_names[$FLEET]"
[[ $rc -eq 0 ]] || { ota_log_tail "$T/fleet.log"; fail "the fleet exited $rc"; }
check_eq "every vehicle installed" "$N" "$(installed)"
check_eq "campaign finished" finished "$(ota_admin campaign show "$CID" --json | jq -r .state)"
for id in "${ids[@]}"; do
    cmp -s "$T/fw.bin" "$T/fleet/$id/installed/fw.bin" || fail "$id: installed bytes differ"
done
echo "ok - every vehicle's installed bytes match"
wait_until 15 ntf_drained || fail "rows left unpublished: $(ota_admin outbox list --json | jq -c '[.outbox[] | select(.state == "pending")] | length')"
ntf_check_retained "after the failover"
grep -q "ota-notifier-b" "$T/mosquitto.log" || fail "notifier B never reached the broker"
kill -0 "$SERVER_B" && kill -0 "$NOTIFIER_B" || fail "the surviving server or notifier died"
echo "ok - every outbox row published; the broker's retained messages match the outbox"
