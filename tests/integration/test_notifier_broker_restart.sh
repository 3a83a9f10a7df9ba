#!/usr/bin/env bash
# ota-notifier: the broker is SIGKILLed and restarted, with (argument "persistent",
# autosave every second) or without ("volatile") broker persistence. Rows queued while it
# is away go out after the restart, rows in flight at the kill are sent again, and
# retained messages the broker lost are published again: in the end every row is
# published and every vehicle's topic holds its newest message. What it tells systemd
# follows (Type=notify, sd_listen.py as the notification socket): READY, the broker lost
# and connected again in STATUS, STOPPING.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

mode=${1:-volatile}
broker_conf=()
if [[ $mode == persistent ]]; then
    broker_conf=("persistence true" "persistence_location $T/" "autosave_interval 1")
fi

ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker "${broker_conf[@]}"
ntf_vehicles 40 A
ntf_vehicles 40 B
sha1=$(ntf_artifact fw 1.0)
sha2=$(ntf_artifact fw 2.0)
ca=$(ota_admin campaign create --name a --artifact "$sha1" --vehicles "$(echo A{1..40} | tr ' ' ,)")
cb=$(ota_admin campaign create --name b --artifact "$sha2" --vehicles "$(echo B{1..40} | tr ' ' ,)")
ota_spawn sdnotify python3 "$OTA_SRC/tests/integration/sd_listen.py" "$T/notify.sock"
wait_until 5 test -S "$T/notify.sock" || fail "sd_listen.py did not bind $T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock ota_start_notifier
# sd_said PATTERN: the last thing systemd was told matches PATTERN (grep -E)
sd_said()
{
    tail -n 1 "$T/sdnotify.log" | grep -qE -- "$1"
}
wait_until 5 grep -qE "^READY=1 \| STATUS=publishing: connecting to broker 127.0.0.1:$MQTT_PORT\$" \
    "$T/sdnotify.log" || fail "no READY=1: $(cat "$T/sdnotify.log")"
wait_until 5 sd_said "^STATUS=publishing: connected to broker 127.0.0.1:$MQTT_PORT\$" ||
    fail "no STATUS connected: $(cat "$T/sdnotify.log")"
echo "ok - READY=1, then STATUS connected"
ota_admin campaign start "$ca" >/dev/null
wait_until 5 ntf_drained
ntf_check_retained "[$mode] campaign a delivered"
sleep 1.2 # let a persistent broker take a snapshot with campaign a in it

# 1. Broker killed; a campaign starts while it is away.
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
ota_admin campaign start "$cb" >/dev/null
sleep 1.5
kill -0 "$NOTIFIER_PID" || fail "notifier died while the broker was away"
check_eq "[$mode] rows wait while the broker is away" 40 "$(ntf_count pending)"
wait_until 5 ntf_stat_is ota_notifier_broker_connected 0
echo "ok - broker_connected is 0"
sd_said "^STATUS=broker 127.0.0.1:$MQTT_PORT lost \(.*\): reconnecting\$" ||
    fail "the lost broker is not in STATUS: $(cat "$T/sdnotify.log")"
echo "ok - STATUS says the broker is lost"
ota_start_broker "${broker_conf[@]}"
wait_until 40 ntf_drained || fail "rows still pending after the broker came back"
sd_said "^STATUS=publishing: connected to broker" ||
    fail "STATUS not connected again: $(cat "$T/sdnotify.log")"
echo "ok - [$mode] rows queued while away were published"
ntf_check_retained "[$mode] after restart 1"

# 2. Broker killed with messages in flight: SIGSTOP first so that the PUBLISHes reach
#    its socket but no PUBACK comes back, then SIGKILL. Nothing may be marked published.
ota_stop "$NOTIFIER_PID"
sd_said "^STOPPING=1 \| STATUS=stopping" || fail "no STOPPING=1: $(cat "$T/sdnotify.log")"
echo "ok - STOPPING=1 at SIGTERM"
ota_start_notifier --set notifier.max_inflight=5
wait_until 5 ntf_stat_is ota_notifier_broker_connected 1
sha3=$(ntf_artifact fw 3.0)
cc=$(ota_admin campaign create --name c --artifact "$sha3" --all)
kill -STOP "$BROKER_PID"
ota_admin campaign start "$cc" --supersede >/dev/null
wait_until 5 ntf_stat_is ota_notifier_inflight 5
echo "ok - 5 messages in flight with the broker stopped"
published_c()
{
    ota_admin outbox list --json | jq --argjson c "$cc" '[.outbox[] | select(.campaign == $c and .state == "published")] | length'
}
check_eq "[$mode] no row of campaign c marked published without PUBACK" 0 "$(published_c)"
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
sleep 1
check_eq "[$mode] still none published after the kill" 0 "$(published_c)"
ota_start_broker "${broker_conf[@]}"
wait_until 40 ntf_drained || fail "rows still pending after the broker came back"
ntf_check_retained "[$mode] after restart 2"
check_eq "[$mode] no row left unpublished" 0 "$(( $(ntf_count pending) + $(ntf_count held) ))"
grep -q "queued .* retained message(s) again" "$T/notifier.log" ||
    fail "expected the notifier to queue retained messages again after the restart"
echo "ok - requeue logged: $(grep -o 'queued [0-9]* retained[^(]*([^)]*)' "$T/notifier.log" | tail -n 2 | tr '\n' ';')"
ota_stop "$NOTIFIER_PID"
