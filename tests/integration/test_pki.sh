#!/usr/bin/env bash
# test_pki.sh: the test PKI of certs/ and the helpers of lib.sh (ports, broker, asserts,
# process tracking, cleanup), with stand-ins where the real daemons are not needed.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------------ certificates
ota_pki
ota_client_cert VIN1
ota_client_cert old --expired
ota_client_cert alien --foreign
ota_client_cert future --not-yet-valid
ota_edge_cert cdn1
P=$T/pki

for f in ca server VIN1 old alien future cdn1; do
    check_eq "$f.key is 0600" 600 "$(stat -c %a "$P/$f.key")"
    check_eq "$f.crt is ECDSA P-256" "NIST CURVE: P-256" \
        "$(openssl x509 -in "$P/$f.crt" -noout -text | grep -o 'NIST CURVE: P-256')"
done
check_eq "foreign CA key is 0600" 600 "$(stat -c %a "$P/foreign/ca.key")"

for f in VIN1 cdn1; do
    check_eq "$f verifies as a TLS client" "$P/$f.crt: OK" \
        "$(openssl verify -purpose sslclient -CAfile "$P/ca.crt" "$P/$f.crt" 2>&1)"
done
check_eq "server verifies as a TLS server" "$P/server.crt: OK" \
    "$(openssl verify -purpose sslserver -CAfile "$P/ca.crt" "$P/server.crt" 2>&1)"
check_contains "client CN is the id" "CN = VIN1" "$(openssl x509 -in "$P/VIN1.crt" -noout -subject)"
check_contains "client cert has clientAuth" "TLS Web Client Authentication" \
    "$(openssl x509 -in "$P/VIN1.crt" -noout -ext extendedKeyUsage)"
check_contains "client cert keyUsage" "Digital Signature" \
    "$(openssl x509 -in "$P/VIN1.crt" -noout -ext keyUsage)"
san=$(openssl x509 -in "$P/server.crt" -noout -ext subjectAltName)
check_contains "server SAN localhost" "DNS:localhost" "$san"
check_contains "server SAN 127.0.0.1" "IP Address:127.0.0.1" "$san"
check_contains "server SAN ::1" "IP Address:0:0:0:0:0:0:0:1" "$san"

out=$(openssl verify -CAfile "$P/ca.crt" "$P/old.crt" 2>&1 || true)
check_contains "expired cert fails as expired" "certificate has expired" "$out"
check_contains "expired cert: notAfter in the past" "notAfter=Feb  1 00:00:00 2020 GMT" \
    "$(openssl x509 -in "$P/old.crt" -noout -enddate)"
out=$(openssl verify -CAfile "$P/ca.crt" "$P/alien.crt" 2>&1 || true)
check_contains "foreign cert fails" "unable to get local issuer certificate" "$out"
check_eq "foreign cert verifies against its own CA" "$P/alien.crt: OK" \
    "$(openssl verify -CAfile "$P/foreign/ca.crt" "$P/alien.crt" 2>&1)"
out=$(openssl verify -CAfile "$P/ca.crt" "$P/future.crt" 2>&1 || true)
check_contains "future cert fails" "certificate is not yet valid" "$out"
# GnuTLS (what ota-server uses) agrees.
out=$(certtool --verify --load-ca-certificate "$P/ca.crt" --infile "$P/VIN1.crt" 2>&1 || true)
check_contains "gnutls verifies the client cert" "Verified" "$out"
out=$(certtool --verify --load-ca-certificate "$P/ca.crt" --infile "$P/old.crt" 2>&1 || true)
check_contains "gnutls: expired" "expired" "$out"

rc=0
"$OTA_SRC/certs/mkcert.sh" "$P" client 'bad id' 2>/dev/null || rc=$?
check_eq "mkcert.sh refuses a bad name (usage, exit 2)" 2 "$rc"
rc=0
"$OTA_SRC/certs/mkcert.sh" "$P" nosuchkind x 2>/dev/null || rc=$?
check_eq "mkcert.sh refuses a bad kind" 2 "$rc"
rc=0
"$OTA_SRC/certs/mkca.sh" "$P" 2>/dev/null || rc=$?
check_eq "mkca.sh does not replace a CA key" 1 "$rc"
rc=0
"$OTA_SRC/certs/mkcert.sh" "$T/nowhere" client x 2>/dev/null || rc=$?
check_eq "mkcert.sh without a CA fails" 1 "$rc"

# ------------------------------------------------------------ mutual TLS with these certs
SERVER_PORT=$(ota_free_port)
SERVER_URL=https://localhost:$SERVER_PORT
ota_spawn s_server openssl s_server -quiet -accept "127.0.0.1:$SERVER_PORT" -www \
    -cert "$P/server.crt" -key "$P/server.key" -CAfile "$P/ca.crt" -Verify 1 -verify_return_error
tls_pid=$SPAWN_PID
wait_until 10 _ota_port_accepts "$SERVER_PORT"
body=$(ota_curl VIN1 /v1/updates)
check_contains "mTLS with a fleet client cert" "Client certificate" "$body"
check_contains "the server saw CN=VIN1" "depth=0 CN = VIN1" "$(cat "$T/s_server.log")"
# The other certs are refused by a server that verifies the client (as ota-server must).
for bad in old alien future; do
    rc=0
    ota_curl "$bad" /v1/updates >/dev/null 2>&1 || rc=$?
    [[ $rc -ne 0 ]] || fail "mTLS with $bad.crt was accepted"
    echo "ok - mTLS with $bad.crt refused (curl $rc)"
done
rc=0
ota_curl - /v1/updates >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "mTLS without a client cert was accepted"
echo "ok - mTLS without a client cert refused"
ota_stop "$tls_pid" 2>/dev/null || true

# ota_curl's URL rewriting: only where a URL can stand.
check_eq "curl -o takes a value" 0 "$(_ota_curl_takes_value -o && echo 0 || echo 1)"
check_eq "curl -sSo takes a value" 0 "$(_ota_curl_takes_value -sSo && echo 0 || echo 1)"
check_eq "curl --output takes a value" 0 "$(_ota_curl_takes_value --output && echo 0 || echo 1)"
check_eq "curl -I takes none" 1 "$(_ota_curl_takes_value -I && echo 0 || echo 1)"
check_eq "curl --head takes none" 1 "$(_ota_curl_takes_value --head && echo 0 || echo 1)"

# ------------------------------------------------------------ ports and asserts
p1=$(ota_free_port)
p2=$(ota_free_port)
[[ $p1 =~ ^[0-9]+$ && $p1 -ge 20000 && $p1 -le 60000 ]] || fail "bad port '$p1'"
[[ $p1 != "$p2" ]] || fail "ota_free_port gave $p1 twice"
python3 -c 'import socket,sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' "$p1" ||
    fail "port $p1 is not bindable"
echo "ok - ota_free_port: $p1 $p2"

(check_eq "x" a b) 2>/dev/null && fail "check_eq a b passed"
(check_contains "x" needle haystack) 2>/dev/null && fail "check_contains passed wrongly"
check_contains "check_contains finds" "st" "haystack"
start=$(_ota_now_ms)
wait_until 0.5 false 2>/dev/null && fail "wait_until false succeeded"
el=$(($(_ota_now_ms) - start))
[[ $el -ge 400 && $el -lt 3000 ]] || fail "wait_until 0.5 took $el ms"
echo "ok - wait_until times out in $el ms"
touch "$T/later"
(sleep 0.3 && rm -f "$T/later") &
wait_until 5 test ! -e "$T/later"
echo "ok - wait_until sees a change"
wait

# ------------------------------------------------------------ broker
ota_start_broker
[[ $MQTT_PORT =~ ^[0-9]+$ ]] || fail "MQTT_PORT '$MQTT_PORT'"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t ota/v1/vehicles/VIN1/update -m '{"x":1}'
got=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -C 1 -W 5 \
    -t ota/v1/vehicles/VIN1/update)
check_eq "retained message round trip" '{"x":1}' "$got"
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -C 1 -W 8 -t live >"$T/live.out" &
sub=$!
# Publish until the subscriber (which may not have subscribed yet) has it.
publish_live()
{
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t live -m hello
    [[ -s $T/live.out ]]
}
wait_until 8 publish_live
wait "$sub" || true
check_eq "live message round trip" hello "$(head -n 1 "$T/live.out")"
check_contains "broker logs to \$T" "mosquitto version" "$(cat "$T/mosquitto.log")"
broker=$BROKER_PID
port=$MQTT_PORT
ota_stop "$BROKER_PID"
check_eq "mosquitto exits 0 on SIGTERM" 0 "$OTA_STOP_RC"
kill -0 "$broker" 2>/dev/null && fail "broker still running after ota_stop"
ota_start_broker
check_eq "a restarted broker keeps its port" "$port" "$MQTT_PORT"
[[ $BROKER_PID != "$broker" ]] || fail "broker not restarted"
echo "ok - broker restarted on port $MQTT_PORT"

# ------------------------------------------------------------ config, server stand-in
fake=$T/fake-server.py
cat >"$fake" <<'EOF'
# Stand-in for ota-server: answers /healthz on [server] admin_listen, exits 0 on SIGTERM.
import http.server, signal, sys
conf = sys.argv[sys.argv.index("--config") + 1]
port = None
for line in open(conf):
    k, _, v = line.partition("=")
    if k.strip() == "admin_listen":
        port = int(v.strip().rsplit(":", 1)[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        sys.stderr.write("fake %s\n" % (a[0] % a[1:]))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(int(sys.argv[-1]) if "--rc" in sys.argv else 0))
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
printf '#!/bin/sh\nexec python3 %s "$@"\n' "$fake" >"$T/fake-server"
chmod +x "$T/fake-server"
OTA_SERVER=$T/fake-server
OTA_ADMIN=/bin/true
ota_setup "[server]" "poll_after = 7"
conf=$(cat "$OTA_CONF")
check_contains "conf listen" "listen = 127.0.0.1:$SERVER_PORT" "$conf"
check_contains "conf admin_listen" "admin_listen = 127.0.0.1:$ADMIN_PORT" "$conf"
check_contains "conf public_url" "public_url = https://localhost:$SERVER_PORT" "$conf"
check_contains "conf db" "db = $T/ota.db" "$conf"
check_contains "conf client_ca" "client_ca = $T/pki/ca.crt" "$conf"
check_contains "conf mqtt port (broker started first)" "port = $MQTT_PORT" "$conf"
check_contains "conf extra lines" "poll_after = 7" "$conf"
check_eq "SERVER_URL" "https://localhost:$SERVER_PORT" "$SERVER_URL"
[[ $SERVER_PORT != "$ADMIN_PORT" ]] || fail "same port twice"
ota_start_server
check_eq "healthz of the stand-in" ok "$(curl -sf "http://127.0.0.1:$ADMIN_PORT/healthz")"
ota_stop "$SERVER_PID"
ota_start_server --rc 3
rc=0
ota_stop "$SERVER_PID" 2>/dev/null || rc=$?
check_eq "ota_stop fails on a non-zero exit" "1 3" "$rc $OTA_STOP_RC"

# ------------------------------------------------------------ cleanup of a nested test
# A test that leaves a broker and a daemon running, with a sanitizer report in a log,
# or a daemon that exits non-zero on SIGTERM, must fail and leave nothing behind.
nested()
{
    local mode=$1
    OTA_SRC=$OTA_SRC OTA_BUILD=$OTA_BUILD TMPDIR=$T bash -c '
        . "$OTA_SRC/tests/integration/lib.sh"
        echo "$T" >"$TMPDIR/nested.t"
        ota_start_broker
        echo "$BROKER_PID" >"$TMPDIR/nested.pid"
        case $1 in
        asan) echo "==1==ERROR: AddressSanitizer: heap-use-after-free on address" >"$T/server.log" ;;
        ubsan) echo "x.c:3:5: runtime error: signed integer overflow" >"$T/notifier.log" ;;
        strict)
            ota_spawn daemon bash -c "trap \"exit 3\" TERM; for i in \$(seq 600); do sleep 0.1; done"
            ota_track "$SPAWN_PID" daemon strict ;;
        check) check_eq "deliberate" a b ;;
        esac
        exit 0' nested "$mode" >"$T/nested.out" 2>&1
}
for mode in ok asan ubsan strict check; do
    rc=0
    nested "$mode" || rc=$?
    if [[ $mode == ok ]]; then
        check_eq "nested $mode: exit status" 0 "$rc"
    else
        [[ $rc -ne 0 ]] || fail "nested $mode: exit 0 (output: $(cat "$T/nested.out"))"
        echo "ok - nested $mode: exit $rc"
    fi
    pid=$(cat "$T/nested.pid")
    kill -0 "$pid" 2>/dev/null && fail "nested $mode: broker $pid still running"
    [[ ! -e $(cat "$T/nested.t") ]] || fail "nested $mode: temp dir left behind"
done
check_contains "nested asan: report printed" "heap-use-after-free" "$(nested asan || true; cat "$T/nested.out")"
check_contains "nested check: expected vs got" "expected 'a', got 'b'" \
    "$(nested check || true; cat "$T/nested.out")"

echo "test_pki: all checks passed"
