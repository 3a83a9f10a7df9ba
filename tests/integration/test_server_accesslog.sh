#!/usr/bin/env bash
# ota-server's access log is buffered per thread (server/srv_alog.c): one line per request
# still, whole lines only, each there once the client has its answer (the connection kept
# open), under a parallel burst, and nothing lost at SIGTERM. A download cut after 1 MiB
# is logged and counted in /metrics with the bytes that went to the socket, not the body's.
source "$(dirname "$0")/lib.sh"

ota_setup
for v in VIN1 VIN2 VIN3; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
head -c 5000 /dev/urandom >"$T/a.bin"
A=$(ota_admin artifact upload "$T/a.bin" --version 1.0.0 --name fw)
C=$(ota_admin campaign create --name c --artifact "$A" --vehicles VIN1)
ota_admin campaign start "$C" >/dev/null
head -c $((16 << 20)) /dev/urandom >"$T/big.bin"
BIG=$(ota_admin artifact upload "$T/big.bin" --version 2.0.0 --name big)
C=$(ota_admin campaign create --name big --artifact "$BIG" --vehicles VIN3)
ota_admin campaign start "$C" >/dev/null
ota_client_cert NOBODY >/dev/null

# lines PATTERN: access-log lines matching PATTERN (grep -E)
lines()
{
    grep -cE "$1" "$T/server.log" || true
}

ota_start_server --set server.threads=2
python3 - "$T" "$SERVER_PORT" <<'PY' || fail "access log checks"
import http.client, ssl, sys, threading, time
t, port = sys.argv[1:3]

def conn(name):
    ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
    ctx.load_cert_chain(t + "/pki/%s.crt" % name, t + "/pki/%s.key" % name)
    return http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)

def get(c, path="/v1/updates"):
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    return r.status

def count(needle):
    with open(t + "/server.log") as f:
        return sum(1 for l in f if needle in l)

# One request on a connection that stays open: its line is in the log when the answer is
# back (the server wrote it before waiting for more; a bounded look, not a sleep).
OK200 = " GET /v1/updates 200 "
c = conn("VIN1")
for i in range(1, 6):
    if get(c) != 200:
        sys.exit("FAIL probe %d: not 200" % i)
    deadline = time.monotonic() + 2
    while count(OK200) != i:
        if time.monotonic() > deadline:
            sys.exit("FAIL probe %d: no access-log line while the connection is open" % i)
        time.sleep(0.01)
print("ok - each line is written while the connection stays open")

# A refused request (403) is logged too, with its id.
n = conn("NOBODY")
if get(n) != 403:
    sys.exit("FAIL unknown client: not 403")
deadline = time.monotonic() + 2
while count(" GET /v1/updates 403 ") < 1:
    if time.monotonic() > deadline:
        sys.exit("FAIL no line for the 403")
    time.sleep(0.01)
print("ok - 403 logged")

# A burst on 8 connections: exactly one whole line per request.
N = 8 * 150
errs = []
def worker(k):
    try:
        c = conn("VIN1" if k % 2 else "VIN2")
        want = 200 if k % 2 else 204
        for i in range(150):
            if get(c) != want:
                errs.append("burst %d.%d: not %d" % (k, i, want))
                return
    except Exception as e:
        errs.append(repr(e))
ths = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for th in ths:
    th.start()
for th in ths:
    th.join(60)
if errs:
    sys.exit("FAIL " + errs[0])
deadline = time.monotonic() + 5
while (count(OK200), count(" GET /v1/updates 204 ")) != (5 + N // 2, N // 2):
    if time.monotonic() > deadline:
        sys.exit("FAIL burst: %d + %d lines, want %d + %d" % (count(OK200) - 5,
                 count(" GET /v1/updates 204 "), N // 2, N // 2))
    time.sleep(0.01)
print("ok - %d burst requests, %d lines" % (N, N))

# Then requests whose connections stay open until the server is stopped.
keep = [conn("VIN1") for _ in range(4)]
for i in range(50):
    for k, c in enumerate(keep):
        if get(c) != 200:
            sys.exit("FAIL last requests: not 200")
PY
# SIGTERM right after the last answers: every line is on disk once the server has exited.
ota_stop "$SERVER_PID"
check_eq "200 lines after SIGTERM (5 + 600 + 200)" 805 "$(lines ' GET /v1/updates 200 ')"
# Whole lines only: ts method path status bytes ms client, nothing glued or cut.
bad=$(grep -E ' GET /v1/updates' "$T/server.log" |
    grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z GET /v1/updates [0-9]{3} [0-9]+ [0-9]+\.[0-9]{3} [A-Za-z0-9._:-]+( cut)?$' || true)
check_eq "malformed access-log lines" 0 "$bad"
echo "ok - whole lines, none lost at SIGTERM"

# ---- a download cut after 1 MiB: logged and counted as what was sent
ota_start_server
metric()
{
    curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk '/^ota_http_response_bytes_total\{route="artifacts",method="GET"\}/ { print $2 }'
}
before=$(metric)
python3 - "$T" "$SERVER_PORT" "$BIG" <<'PY' || fail "cut download"
import socket, ssl, sys
t, port, sha = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
ctx.load_cert_chain(t + "/pki/VIN3.crt", t + "/pki/VIN3.key")
raw = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # little in flight
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(("GET /v1/artifacts/%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % sha).encode())
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(65536)
body = len(got) - got.index(b"\r\n\r\n") - 4
while body < (1 << 20):
    body += len(s.recv(65536))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
s.close()  # RST: the rest is never read
print("ok - read %d body bytes, then reset the connection" % body)
PY
line=""
wait_until 10 grep -q " GET /v1/artifacts/$BIG 200 .* cut$" "$T/server.log" ||
    fail "no cut line for the big download"
line=$(grep " GET /v1/artifacts/$BIG 200 " "$T/server.log" | tail -1)
logged=$(awk '{ print $5 }' <<<"$line")
echo "logged: $line"
[[ $logged -ge $((1 << 20)) && $logged -le $((6 << 20)) ]] ||
    fail "cut download logged as $logged bytes: not 1 MiB give or take what was in flight (body $((16 << 20)))"
echo "ok - a download cut after 1 MiB is logged as $logged bytes, not $((16 << 20))"
wait_until 5 test "$(metric)" != "$before" || fail "/metrics did not count the cut download"
check_eq "/metrics counts the same bytes as the log" "$logged" "$(($(metric) - ${before:-0}))"
