#!/usr/bin/env bash
# ota-server operation: bad configurations stop the start naming the key (exit 1),
# SIGTERM during a download (the download completes, new connections are refused, exit 0
# in bound), SIGHUP reloads the certificate while kept-alive connections go on; what it
# tells systemd (Type=notify, sd_listen.py as the notification socket): READY with the
# listeners up, RELOADING/READY around a reload, a failed reload in STATUS, STOPPING.
source "$(dirname "$0")/lib.sh"

ota_setup
ota_client_cert VIN1 >/dev/null
ota_admin vehicle add VIN1 >/dev/null

# ---- bad configurations
# bad WHAT KEY ARGS...: ota-server refuses to start (exit 1) and names KEY on stderr.
bad()
{
    local what=$1 key=$2 rc=0
    shift 2
    timeout 10 "$OTA_SERVER" "$@" >"$T/bad.out" 2>&1 || rc=$?
    check_eq "bad config, $what: exit code" 1 "$rc"
    check_contains "bad config, $what: names $key" "$key" "$(cat "$T/bad.out")"
}
bad "missing cert file" tls.cert --config "$OTA_CONF" --set "tls.cert=$T/none.crt"
bad "missing key file" tls.key --config "$OTA_CONF" --set "tls.key=$T/none.key"
bad "CA file without a certificate" tls.client_ca --config "$OTA_CONF" --set "tls.client_ca=$OTA_CONF"
bad "bad number" server.threads --config "$OTA_CONF" --set server.threads=many
bad "number out of range" server.timeout --config "$OTA_CONF" --set server.timeout=99999999999
cp "$OTA_CONF" "$T/unknown.conf"
printf '[server]\nbogus = 1\n' >>"$T/unknown.conf"
bad "unknown key" server.bogus --config "$T/unknown.conf"
bad "unknown --set key" server.nope --config "$OTA_CONF" --set server.nope=1
bad "empty required key" tls.client_ca --config "$OTA_CONF" --set tls.client_ca=
bad "bad listen address" server.listen --config "$OTA_CONF" --set server.listen=nowhere
bad "bad priorities" tls.priorities --config "$OTA_CONF" --set tls.priorities=NOT-A-PRIORITY
bad "no database" paths.db --config "$OTA_CONF" --set "paths.db=$T/none.db"
bad "no store" paths.store --config "$OTA_CONF" --set "paths.store=$T/none"
bad "missing config file" "$T/none.conf" --config "$T/none.conf"
rc=0
timeout 10 "$OTA_SERVER" --bogus-flag >/dev/null 2>&1 || rc=$?
check_eq "unknown option: usage exit code" 2 "$rc"
timeout 10 "$OTA_SERVER" -h | grep -q -- --config || fail "-h prints no usage"
echo "ok - -h prints the usage"

# ---- the listener is taken: refused with the key named
ota_start_server
bad "port in use" server.listen --config "$OTA_CONF"

# ---- SIGTERM during a download
SIZE=$((8 * 1024 * 1024))
head -c $SIZE /dev/urandom >"$T/big.bin"
SHA=$(ota_admin artifact upload "$T/big.bin" --version 1 --name big)
CID=$(ota_admin campaign create --name big --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_spawn download ota_curl VIN1 "/v1/artifacts/$SHA" --limit-rate 3M -o "$T/dl.bin"
DL_PID=$SPAWN_PID
wait_until 10 test -s "$T/dl.bin"
t0=$(date +%s%N)
kill -TERM "$SERVER_PID"
sleep 0.3
rc=0
ota_curl VIN1 /v1/updates -o /dev/null --max-time 3 2>/dev/null || rc=$?
((rc != 0)) || fail "a new connection was served after SIGTERM"
echo "ok - new connections refused after SIGTERM (curl exit $rc)"
_ota_wait_exit "$SERVER_PID" 15
t1=$(date +%s%N)
check_eq "server exit status after SIGTERM" 0 "${_ota_rc:-still running}"
unset "_ota_names[$SERVER_PID]" "_ota_strict[$SERVER_PID]"
ms=$(((t1 - t0) / 1000000))
((ms < 12000)) || fail "server took $ms ms to stop"
echo "ok - server stopped ${ms} ms after SIGTERM"
_ota_wait_exit "$DL_PID" 10
check_eq "download in flight completed" 0 "${_ota_rc:-still running}"
unset "_ota_names[$DL_PID]"
cmp -s "$T/big.bin" "$T/dl.bin" || fail "download in flight: file differs ($(stat -c %s "$T/dl.bin") bytes)"
echo "ok - download in flight is complete and intact"
check_contains "in-flight download logged" "GET /v1/artifacts/$SHA 200 $SIZE " "$(cat "$T/server.log")"

# ---- SIGHUP reload, told to systemd
ota_spawn sdnotify python3 "$OTA_SRC/tests/integration/sd_listen.py" "$T/notify.sock"
wait_until 5 test -S "$T/notify.sock" || fail "sd_listen.py did not bind $T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock ota_start_server
# sd_said N PATTERN: line N of what systemd was told matches PATTERN (grep -E)
sd_said()
{
    sed -n "$1p" "$T/sdnotify.log" | grep -qE -- "$2"
}
wait_until 5 sd_said 1 "^READY=1 \| STATUS=serving on 127.0.0.1:$SERVER_PORT, admin on 127.0.0.1:$ADMIN_PORT\$" ||
    fail "no READY=1 naming the listeners: $(cat "$T/sdnotify.log")"
echo "ok - READY=1 once listening, STATUS names both listeners"
serial()
{
    openssl s_client -connect "127.0.0.1:$SERVER_PORT" -servername localhost \
        -CAfile "$T/pki/ca.crt" -cert "$T/pki/VIN1.crt" -key "$T/pki/VIN1.key" </dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
OLD=$(serial)
[[ $OLD == serial=* ]] || fail "no server certificate serial: '$OLD'"
python3 - "$T" "$SERVER_PORT" >"$T/keepalive.out" 2>&1 <<'PY' &
import http.client, os, ssl, sys, time
t, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
ctx.load_cert_chain(t + "/pki/VIN1.crt", t + "/pki/VIN1.key")
c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
c.request("GET", "/v1/updates")
r = c.getresponse(); r.read()
sock = c.sock
cert = sock.getpeercert(binary_form=True)
open(t + "/ka.ready", "w").close()
for _ in range(200):
    if os.path.exists(t + "/ka.go"):
        break
    time.sleep(0.1)
c.request("GET", "/v1/updates")
r2 = c.getresponse(); r2.read()
same = c.sock is sock and c.sock.getpeercert(binary_form=True) == cert
print("first=%d second=%d same_connection=%s" % (r.status, r2.status, same))
PY
KA_PID=$!
ota_track "$KA_PID" keepalive
wait_until 10 test -e "$T/ka.ready"
"$OTA_SRC/certs/mkcert.sh" "$T/pki" server server >/dev/null
kill -HUP "$SERVER_PID"
wait_until 10 grep -q "reloaded" "$T/server.log"
wait_until 5 sd_said 3 "^READY=1 \| STATUS=.*\(certificate reloaded\)\$" ||
    fail "reload not told to systemd: $(cat "$T/sdnotify.log")"
sd_said 2 "^RELOADING=1 \| STATUS=reloading" || fail "no RELOADING=1: $(cat "$T/sdnotify.log")"
echo "ok - RELOADING=1, then READY=1 with the reload in STATUS"
NEW=$(serial)
[[ $NEW == serial=* && $NEW != "$OLD" ]] || fail "after SIGHUP: serial '$NEW', before '$OLD'"
echo "ok - new connections get the new certificate ($OLD -> $NEW)"
touch "$T/ka.go"
_ota_wait_exit "$KA_PID" 15
unset "_ota_names[$KA_PID]"
check_eq "kept-alive connection across SIGHUP" "first=200 second=200 same_connection=True" \
    "$(cat "$T/keepalive.out")"
# A broken certificate file: the reload is refused, the server keeps the last good one.
echo "garbage" >"$T/pki/server.crt"
kill -HUP "$SERVER_PID"
wait_until 10 grep -q "reload failed" "$T/server.log"
wait_until 5 sd_said 5 "^READY=1 \| STATUS=certificate reload failed, serving the old one: .*tls.cert" ||
    fail "the failed reload is not in STATUS: $(cat "$T/sdnotify.log")"
echo "ok - a failed reload is told to systemd (STATUS), the server stays READY"
check_eq "after a failed reload: same certificate" "$NEW" "$(serial)"
check_eq "after a failed reload: still serving" 200 \
    "$(ota_curl VIN1 /v1/updates -o /dev/null -w '%{http_code}')"
kill -0 "$SERVER_PID" || fail "server died on a bad reload"
ota_stop "$SERVER_PID"
echo "ok - exit 0 on SIGTERM"
sd_said 6 "^STOPPING=1 \| STATUS=stopping" || fail "no STOPPING=1: $(cat "$T/sdnotify.log")"
check_eq "messages to systemd" 6 "$(wc -l <"$T/sdnotify.log")"
echo "ok - STOPPING=1 at SIGTERM"
