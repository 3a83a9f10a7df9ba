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

# The wal-index fast path (server/srv_dbwatch.c): a request answered without a read
# transaction must still see every commit made before it. Another process (this script's
# sqlite3 connection and the sqlite3 CLI) writes between requests of kept-alive
# connections: revocation and campaign state of one vehicle flip back and forth, unrelated
# rows change, checkpoints (PASSIVE and TRUNCATE, which restarts the WAL) come between
# requests and right before a change, and the WAL is refilled after a TRUNCATE to exactly
# the frame count the server last recorded, with a change in it (a fast path comparing
# only mxFrame would serve the old answer). Meanwhile a thread polls as another vehicle
# and a thread commits unrelated rows, so the server also runs its checks while commits
# land. Every answer is compared with what the database says at that moment.
for v in VIN5 VIN6 VIN7 VIN8; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
C5=$(ota_admin campaign create --name c5 --artifact "$A" --vehicles VIN5)
C6=$(ota_admin campaign create --name c6 --artifact "$A" --vehicles VIN6)
C7=$(ota_admin campaign create --name c7 --artifact "$A" --vehicles VIN7)
C8=$(ota_admin campaign create --name c8 --artifact "$A" --vehicles VIN8)
for c in "$C5" "$C6" "$C7" "$C8"; do
    ota_admin campaign start "$c" >/dev/null
done

# stress THREADS VA VB CAMPAIGN_OF_VA: VA's state flips, VB is the background poller.
stress()
{
    local threads=$1
    ota_start_server --set server.threads="$threads"
    python3 - "$T" "$SERVER_PORT" "$threads" "$2" "$3" "$4" <<'PY' ||
import http.client, random, shutil, sqlite3, ssl, struct, subprocess, sys, threading, time
t, port, threads, va, vb, camp = sys.argv[1:7]
db_path = t + "/ota.db"
rnd = random.Random(7 + int(threads))

def conn(name):
    ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
    ctx.load_cert_chain(t + "/pki/%s.crt" % name, t + "/pki/%s.key" % name)
    return http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)

def get(c):
    c.request("GET", "/v1/updates")
    r = c.getresponse()
    r.read()
    return r.status

def fail(msg):
    stop.set()
    sys.exit("FAIL %s (threads %s)" % (msg, threads))

db = sqlite3.connect(db_path, timeout=30, isolation_level=None)

def expected():
    (vstate,) = db.execute("SELECT state FROM vehicles WHERE id = ?", (va,)).fetchone()
    (cstate,) = db.execute("SELECT state FROM campaigns WHERE id = ?", (int(camp),)).fetchone()
    if vstate != "active":
        return 403
    return 200 if cstate == "running" else 204

def flip_vehicle():
    db.execute("UPDATE vehicles SET state = CASE state WHEN 'active' THEN 'revoked' "
               "ELSE 'active' END WHERE id = ?", (va,))

def flip_campaign():
    db.execute("UPDATE campaigns SET state = CASE state WHEN 'running' THEN 'cancelled' "
               "ELSE 'running' END WHERE id = ?", (int(camp),))

def flip():
    (flip_vehicle if rnd.random() < 0.5 else flip_campaign)()

noise_n = [0]
def noise(d=db):
    noise_n[0] += 1
    d.execute("UPDATE vehicles SET attributes = ? WHERE id = ?",
              ('{"n":"%d"}' % noise_n[0], vb))

cli = shutil.which("sqlite3")
def cli_checkpoint(mode):
    # The sqlite3 CLI when installed (a process of its own), else a fresh connection here.
    if cli:
        subprocess.run([cli, db_path, "PRAGMA busy_timeout = 10000;",
                        "PRAGMA wal_checkpoint(%s);" % mode], check=True, capture_output=True)
        return
    d = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    d.execute("PRAGMA wal_checkpoint(%s)" % mode).fetchall()
    d.close()

def mx_frame():
    # WalIndexHdr copy 0 (walformat.html 2.2.1): mxFrame at byte 16, native order.
    with open(db_path + "-shm", "rb") as f:
        return struct.unpack("=I", f.read(48)[16:20])[0]

checks = [0]
def check(c, what):
    want, got = expected(), get(c)
    checks[0] += 1
    if want != got:
        fail("%s: expected %d, got %d" % (what, want, got))

# Background: another vehicle polls (its answer never changes), and another connection
# commits unrelated rows, while the checks run.
stop = threading.Event()
bg_err = []
def poller():
    try:
        c = conn(vb)
        while not stop.is_set():
            s = get(c)
            if s != 200:
                bg_err.append("poller: got %d" % s)
                return
    except Exception as e:
        bg_err.append("poller: %r" % e)
def writer():
    try:
        d = sqlite3.connect(db_path, timeout=30, isolation_level=None)
        i = 0
        while not stop.is_set():
            i += 1
            d.execute("UPDATE vehicles SET attributes = ? WHERE id = ?",
                      ('{"w":"%d"}' % i, vb))
            time.sleep(0.002)
    except Exception as e:
        bg_err.append("writer: %r" % e)
bgs = [threading.Thread(target=poller, daemon=True), threading.Thread(target=writer, daemon=True)]
for b in bgs:
    b.start()

try:
    a, a2 = conn(va), conn(va)
    check(a, "start")
    for i in range(120):
        op = rnd.choice(["flip", "flip", "noise+flip", "passive", "truncate", "flip+noise"])
        check(a, "before op %d (%s)" % (i, op))
        check(a, "before op %d (%s), again" % (i, op))
        if op == "flip":
            flip()
        elif op == "noise+flip":
            for _ in range(rnd.randint(1, 5)):
                noise()
            flip()
        elif op == "flip+noise":
            flip()
            noise()
        elif op == "passive":
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            flip()
        else:
            cli_checkpoint("TRUNCATE")
            flip()
        check(a if i % 3 else a2, "after op %d (%s)" % (i, op))
        check(a, "after op %d (%s), again" % (i, op))
    if bg_err:
        fail(bg_err[0])
    print("ok - %d answers matched the database through flips, noise and checkpoints "
          "(threads %s)" % (checks[0], threads))

    # Refill the WAL after a TRUNCATE to the frame count of the header the server recorded,
    # with a change inside. The background writer pauses so that the count is ours.
    stop.set()
    for b in bgs:
        b.join(15)
    stop.clear()
    hit = 0
    for attempt in range(20):
        for _ in range(12):
            noise()
        check(a, "refill %d: before" % attempt)
        check(a, "refill %d: before, again" % attempt)  # header recorded, fast path next
        check(a, "refill %d: before, third" % attempt)
        m = mx_frame()
        cli_checkpoint("TRUNCATE")
        if mx_frame() != 0:
            continue  # a reader held the WAL: try again
        flip()
        for _ in range(m):
            if mx_frame() >= m:
                break
            noise()
        if mx_frame() != m:
            continue  # overshot: try again
        hit += 1
        check(a, "refill %d: same mxFrame %d, changed content" % (attempt, m))
        if hit >= 3:
            break
    if hit == 0:
        fail("could not refill the WAL to the same frame count")
    print("ok - same mxFrame after a WAL restart, new content seen (%d times, threads %s)"
          % (hit, threads))
finally:
    stop.set()
if bg_err:
    fail(bg_err[0])
PY
        fail "wal-index checks with $threads thread(s)"
    ota_stop "$SERVER_PID"
}

stress 1 VIN5 VIN6 "$C5"
stress 2 VIN7 VIN8 "$C7"
