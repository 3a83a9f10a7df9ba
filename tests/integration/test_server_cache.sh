#!/usr/bin/env bash
# ota-server's per-thread answer cache: every change is seen on the next request, on kept-
# alive connections, whether this server thread, its sibling or ota-admin made it.
source "$(dirname "$0")/lib.sh"

ota_setup
for v in VIN1 VIN2 VIN3 VIN4; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
head -c 30000 /dev/urandom >"$T/a.bin"
head -c 20000 /dev/urandom >"$T/b.bin"
A=$(ota_admin artifact upload "$T/a.bin" --version 1.0.0 --name fw)
B=$(ota_admin artifact upload "$T/b.bin" --version 2.0.0 --name fw)
C1=$(ota_admin campaign create --name c1 --artifact "$A" --vehicles VIN1,VIN2)
C3=$(ota_admin campaign create --name c3 --artifact "$A" --vehicles VIN3,VIN4)
ota_admin campaign start "$C1" >/dev/null
ota_admin campaign start "$C3" >/dev/null

# run THREADS VA VB CAMPAIGN: the checks against a server with that many threads (1: every
# connection shares one cache, so this thread's own writes must drop it), with vehicles VA
# and VB of CAMPAIGN.
run()
{
    local threads=$1
    ota_start_server --set server.threads="$threads"
    python3 - "$T" "$SERVER_PORT" "$OTA_ADMIN" "$OTA_CONF" "$4" "$B" "$threads" "$2" "$3" <<'PY' ||
import http.client, json, ssl, subprocess, sys
t, port, admin, conf, c1, art_b, threads, va, vb = sys.argv[1:10]

def conn(name):
    ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
    ctx.load_cert_chain(t + "/pki/%s.crt" % name, t + "/pki/%s.key" % name)
    return http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)

def req(c, method, path, body=None, headers=None):
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.getheader("ETag"), r.read()

def admin_run(*args):
    return subprocess.run([admin, "--config", conf] + list(args), check=True,
                          capture_output=True, text=True).stdout.strip()

def check(what, want, got):
    if want != got:
        sys.exit("FAIL %s (threads %s): expected %r, got %r" % (what, threads, want, got))
    print("ok - %s (threads %s)" % (what, threads))

v1, v1b, v2 = conn(va), conn(va), conn(vb)
# The same answer twice (the second from the cache), then 304 for its ETag, HEAD alike.
s1, e1, b1 = req(v1, "GET", "/v1/updates")
s2, e2, b2 = req(v1, "GET", "/v1/updates")
check("200 twice, same ETag and body", (200, e1, b1), (s2, e2, b2))
check("campaign in the body", int(c1), json.loads(b1)["campaign"])
check("304 for the ETag", (304, e1, b""), req(v1, "GET", "/v1/updates", headers={"If-None-Match": e1}))
check("200 for another ETag", 200, req(v1, "GET", "/v1/updates", headers={"If-None-Match": '"x"'})[0])
s, e, b = req(v1, "HEAD", "/v1/updates")
check("HEAD: 200, same ETag, no body", (200, e1, b""), (s, e, b))
check("the other vehicle has its own answer", 200, req(v2, "GET", "/v1/updates")[0])

# This server's own write (status POST on one connection) is seen by the next poll on
# another connection of the same vehicle, which had the answer cached.
check("second connection: 200 cached", 200, req(v1b, "GET", "/v1/updates")[0])
for st in ("downloading", "downloaded", "installing", "installed"):
    check("status " + st, 204, req(v1, "POST", "/v1/status",
          json.dumps({"campaign": int(c1), "state": st, "bytes": 30000}))[0])
check("after installed: 204 on the other connection", 204, req(v1b, "GET", "/v1/updates")[0])
check("after installed: 204 on the same connection", 204, req(v1, "GET", "/v1/updates")[0])

# ota-admin's campaign start shows on the next poll (a new ETag), cancel likewise.
c2 = admin_run("campaign", "create", "--name", "c2-" + va, "--artifact", art_b, "--vehicles", va)
check("before c2 starts: 204", 204, req(v1, "GET", "/v1/updates")[0])
admin_run("campaign", "start", c2)
s, e, b = req(v1, "GET", "/v1/updates")
check("c2 started: 200 at once", (200, int(c2)), (s, json.loads(b)["campaign"]))
check("c2: a new ETag", True, e != e1)
check("old ETag: 200 now", 200, req(v1b, "GET", "/v1/updates", headers={"If-None-Match": e1})[0])
admin_run("campaign", "cancel", c2)
check("c2 cancelled: 204 at once", 204, req(v1b, "GET", "/v1/updates")[0])

# Revocation: 403 on the next request of a kept-alive connection answered from the cache.
check("other vehicle cached", 200, req(v2, "GET", "/v1/updates")[0])
check("other vehicle cached", 200, req(v2, "GET", "/v1/updates")[0])
admin_run("vehicle", "revoke", vb)
check("revoked: 403 on the same connection", 403, req(v2, "GET", "/v1/updates")[0])
v2.close()
v2 = conn(vb)
check("revoked: 403 on a new connection", 403, req(v2, "GET", "/v1/updates")[0])
PY
        fail "cache checks with $threads thread(s)"
    ota_stop "$SERVER_PID"
}

run 1 VIN1 VIN2 "$C1"
run 2 VIN3 VIN4 "$C3"
