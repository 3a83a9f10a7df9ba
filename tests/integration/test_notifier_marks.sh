#!/usr/bin/env bash
# ota-notifier marks rows published in runs of consecutive ids (one UPDATE per run): a
# row the broker refused in the middle of a run stays pending, deferred, while its
# neighbours are marked, and goes out once the broker takes it. A pause stops the drain
# although rows were already read into its buffer; the resume announces again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

sqlc() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1], timeout=10).execute(sys.argv[2]).fetchone()[0])' "$T/ota.db" "$1"; }
state_of() { sqlc "SELECT state FROM outbox WHERE vehicle = '$1' AND campaign = $2"; }

# Anonymous clients may publish anywhere but to VIN7's update topic: mosquitto answers
# that publish with PUBACK reason 0x87 (not authorized) to an MQTT 5 client.
printf 'topic deny ota/v1/vehicles/VIN7/update\ntopic readwrite #\n' >"$T/acl"
ota_setup "[notifier]" "stats_file = $T/stats.prom"
ota_start_broker "acl_file $T/acl"
N=30
ntf_vehicles $N
sha=$(ntf_artifact fw 1.0)
cid=$(ota_admin campaign create --name c1 --artifact "$sha" --all)
ota_start_notifier
ota_admin campaign start "$cid" >/dev/null
others_out() { [[ $(sqlc "SELECT count(*) FROM outbox WHERE state = 'published'") == $((N - 1)) ]]; }
wait_until 10 others_out || fail "expected $((N - 1)) rows published, got $(ntf_count published)"
check_eq "refused row not marked" pending "$(state_of VIN7 "$cid")"
# Rows follow vehicle ids as text: VIN6, VIN7, VIN8 have consecutive row ids.
for v in VIN6 VIN8; do
    check_eq "$v (a neighbour by id) marked" published "$(state_of "$v" "$cid")"
done
check_eq "refused row lies inside the campaign's id range" 1 \
    "$(sqlc "SELECT (SELECT id FROM outbox WHERE vehicle = 'VIN7') BETWEEN min(id) + 1 AND max(id) - 1 FROM outbox WHERE campaign = $cid")"
attempts=$(sqlc "SELECT attempts FROM outbox WHERE vehicle = 'VIN7' AND campaign = $cid")
[[ $attempts -ge 1 ]] || fail "refused row: attempts $attempts, expected >= 1 (deferred)"
wait_until 5 ntf_stat_is ota_notifier_published_total $((N - 1)) ||
    fail "published_total $(ntf_stat ota_notifier_published_total), want $((N - 1))"
[[ $(ntf_stat ota_notifier_refused_total) -ge 1 ]] || fail "refused_total not counted"
echo "ok - the refused row stays pending between marked neighbours (attempts $attempts)"
ntf_check_retained "with one refused"

# The broker takes VIN7 after an ACL reload: the deferred row goes out on its retry.
printf 'topic readwrite #\n' >"$T/acl"
kill -HUP "$BROKER_PID"
wait_until 20 ntf_drained || fail "VIN7's row still $(state_of VIN7 "$cid") after the ACL allows it"
check_eq "VIN7 published after the retry" published "$(state_of VIN7 "$cid")"
ntf_check_retained "all published"

# Pause mid-drain: whatever was read ahead into the drain's buffer is not sent (the pause
# dropped it); the held vehicles' topics are cleared, and announced again on resume.
M=3000
python3 - "$T/ota.db" "$M" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
c.executemany("INSERT INTO vehicles (id, model, grp, created_at) VALUES (?, 'm', 'big', 0)",
              (("W%05d" % i,) for i in range(1, int(sys.argv[2]) + 1)))
c.commit()
PY
cid2=$(ota_admin campaign create --name c2 --artifact "$sha" --group big)
# A stopped broker takes no PUBACKs to us: the window fills (max_inflight) while the rest of
# the page the drain read waits in its buffer.
before=$(ntf_stat ota_notifier_sent_total)
kill -STOP "$BROKER_PID"
ota_admin campaign start "$cid2" >/dev/null
window_full() { [[ $(($(ntf_stat ota_notifier_sent_total) - before)) -ge 100 ]]; }
wait_until 10 window_full || { kill -CONT "$BROKER_PID"; fail "the window did not fill"; }
ota_admin campaign pause "$cid2" >/dev/null
kill -CONT "$BROKER_PID"
sleep 2 # PUBACKs of the window arrive; the stats file is written once a second
sent=$(($(ntf_stat ota_notifier_sent_total) - before))
[[ $sent -ge 100 ]] || fail "campaign 2 sent $sent before the pause, expected a full window (100)"
# The pause dropped every unsent announcement (the PUBACKs of the window's in-flight ones
# mark nothing: they are no longer pending) and queued the clearing message instead.
check_eq "no pending announcement of the paused campaign" 0 \
    "$(sqlc "SELECT count(*) FROM outbox WHERE campaign = $cid2 AND state = 'pending' AND payload_id IS NOT NULL")"
check_eq "announcements acknowledged after the pause stay dropped" 0 \
    "$(sqlc "SELECT count(*) FROM outbox WHERE campaign = $cid2 AND state = 'published' AND payload_id IS NOT NULL")"
cleared() { [[ $(sqlc "SELECT count(*) FROM outbox WHERE campaign = $cid2 AND state = 'published' AND payload_id IS NULL") == "$M" ]]; }
wait_until 60 cleared || fail "the paused campaign's topics were not all cleared"
ntf_check_retained "paused: every held vehicle's topic cleared"
ota_admin campaign resume "$cid2" >/dev/null
all2() { [[ $(sqlc "SELECT count(*) FROM outbox WHERE campaign = $cid2 AND state = 'published' AND payload_id IS NOT NULL") == "$M" ]]; }
wait_until 60 all2 || fail "campaign 2: not every vehicle announced again after resume"
ntf_check_retained "after pause and resume"
ota_stop "$NOTIFIER_PID"
check_eq "no error lines" 0 "$(grep -c ' error ' "$T/notifier.log" || true)"
echo "ok - marks, refusal and pause"
