#!/usr/bin/env bash
# testssl.sh: scans a real ota-server with testssl.sh and fails on anything MEDIUM or worse,
# on a protocol other than TLS 1.2/1.3 and on a non-AEAD cipher. Findings about the test
# certificates and browser-only HTTP headers are listed with the reason they are accepted
# (the `accepted` table below) and do not fail it. Not part of the meson suite: a scan
# takes several minutes.
#
# Usage: tests/testssl.sh [extra testssl options, e.g. --fast]
#
# The server runs as in the integration tests (tests/integration/lib.sh): a fresh test PKI
# and database in a temp dir, 127.0.0.1 on a free port, default [tls] priorities. testssl
# connects as a registered vehicle: its certificate and key in one PEM, given with --mtls
# when the installed testssl has it (3.2 and later); Debian 12's testssl 3.0.8 has not, so
# it then gets an openssl wrapper that adds the same `-cert PEM` to every s_client
# connection, which is all --mtls does. The fleet CA is added with --add-ca.
#
# Environment:
#   OTA_BUILD        build dir with server/ota-server, admin/ota-admin (default build;
#                    configured and built when missing)
#   TESTSSL          the testssl binary (default: testssl, else testssl.sh, from PATH)
#   TESTSSL_TIMEOUT  seconds before the scan is stopped (default 1200)
#   OTA_KEEP_TMP=1   keep the temp dir (testssl's JSON, server log)
# Prints testssl's output, then the findings that are not OK/INFO and one verdict line.
# Exit: 0 clean, 1 a finding (or the scan or the setup failed), 2 usage.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^# Exit:/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
fi

TESTSSL=${TESTSSL:-$(command -v testssl || command -v testssl.sh || true)}
[[ -n $TESTSSL && -x $TESTSSL ]] || {
    echo "testssl.sh: testssl not found (Debian package testssl.sh, or set TESTSSL)" >&2
    exit 2
}
TIMEOUT=${TESTSSL_TIMEOUT:-1200}
[[ $TIMEOUT =~ ^[1-9][0-9]{0,4}$ ]] || { echo "testssl.sh: bad TESTSSL_TIMEOUT" >&2; exit 2; }

export OTA_SRC=$SRC OTA_BUILD=${OTA_BUILD:-$SRC/build}
if [[ ! -f $OTA_BUILD/build.ninja ]]; then
    meson setup "$OTA_BUILD" "$SRC" >/dev/null || { echo "testssl.sh: meson setup failed" >&2; exit 1; }
fi
ninja -C "$OTA_BUILD" server/ota-server admin/ota-admin >/dev/null ||
    { echo "testssl.sh: build failed" >&2; exit 1; }

# lib.sh: $T, free ports, PKI, ota.conf, processes stopped by PID, cleanup at exit
# shellcheck source=integration/lib.sh
. "$SRC/tests/integration/lib.sh"
_ota_test_name=testssl
trap - ERR

ota_setup
ota_client_cert scan-vehicle >/dev/null
ota_admin vehicle add scan-vehicle >/dev/null
ota_start_server
PEM=$T/pki/scan-vehicle.pem
cat "$T/pki/scan-vehicle.crt" "$T/pki/scan-vehicle.key" >"$PEM"
# the certificate is good for the API: a poll with nothing to do
check_eq "GET /v1/updates with the scan certificate" 204 \
    "$(ota_curl scan-vehicle /v1/updates -o /dev/null -w '%{http_code}')" >/dev/null

ver=$("$TESTSSL" --version 2>&1 | sed 's/\x1b\[[0-9;]*m//g' |
    sed -n 's/^ *testssl[.sh]* *\([0-9][^ ]*\) from.*/\1/p' | head -n 1)
args=(--quiet --color 0 --warnings batch --full --ip 127.0.0.1 --add-ca "$T/pki/ca.crt"
    --jsonfile "$T/testssl.json")
if "$TESTSSL" --help 2>&1 | grep -q -- '--mtls'; then
    args+=(--mtls "$PEM")
    how="--mtls"
else
    openssl=$(command -v openssl) || fail "openssl not found"
    cat >"$T/openssl-mtls" <<EOF
#!/bin/sh
# openssl, with the scan vehicle's certificate on every s_client (testssl 3.2's --mtls)
if [ "\$1" = s_client ]; then
    shift
    exec "$openssl" s_client -cert "$PEM" "\$@"
fi
exec "$openssl" "\$@"
EOF
    chmod +x "$T/openssl-mtls"
    args+=(--openssl "$T/openssl-mtls")
    how="an openssl wrapper adding -cert (this testssl has no --mtls)"
fi

echo "# testssl ${ver:-?} against ota-server $(git -C "$SRC" describe --always --dirty 2>/dev/null)" \
    "on 127.0.0.1:$SERVER_PORT, client certificate through $how"
t0=$SECONDS
rc=0
# the HTTP checks look at the answer to a vehicle's poll
timeout "$TIMEOUT" "$TESTSSL" "${args[@]}" "$@" "https://localhost:$SERVER_PORT/v1/updates" || rc=$?
secs=$((SECONDS - t0))
[[ $rc -ne 124 ]] || fail "testssl did not finish within $TIMEOUT s"
[[ -s $T/testssl.json ]] || fail "testssl (exit $rc) wrote no JSON"
kill -0 "$SERVER_PID" 2>/dev/null || fail "ota-server died during the scan (see server.log)"

# The verdict, from testssl's flat JSON: a list of {id, severity, finding}.
echo
vrc=0
python3 - "$T/testssl.json" "${ver:-?}" "$secs" >"$T/verdict" <<'PY' || vrc=$?
import json, re, sys

findings = json.load(open(sys.argv[1]))
if isinstance(findings, dict):                      # --jsonfile-pretty shape
    findings = [f for s in findings.get("scanResult", []) for v in s.values()
                if isinstance(v, list) for f in v]
bad, notes = [], []
by_id = {f.get("id"): f for f in findings}

# Findings that are not about ota-server's TLS configuration, with the reason each is
# accepted; they are listed but do not fail the verdict.
accepted = {
    # the test PKI's certificates (certs/mkcert.sh) name no CRL or OCSP responder: a fleet
    # PKI decides that; ota-server checks revocation itself (vehicle/edge revoke)
    "cert_revocation": "the test PKI names no CRL/OCSP; revocation is ota-admin's revoke",
    "DNS_CAArecord": "no DNS for 127.0.0.1",
    # HTTP headers for browsers (HSTS, X-Frame-Options, ...): the API answers vehicles
    "security_headers": "browser headers; the API's clients are vehicles and edges",
    "HSTS": "browser header; the API's clients are vehicles and edges",
}
for f in findings:
    sev, fid = f.get("severity", ""), f.get("id")
    if sev in ("LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"):
        why = accepted.get(fid)
        notes.append("%-8s %-28s %s%s" % (sev, fid, f.get("finding"),
                                          "  [accepted: %s]" % why if why else ""))
    if sev in ("MEDIUM", "HIGH", "CRITICAL") and fid not in accepted:
        bad.append("%s %s: %s" % (sev, fid, f.get("finding")))

# protocols: only TLS 1.2 and 1.3
offered = []
for pid, name in (("SSLv2", "SSLv2"), ("SSLv3", "SSLv3"), ("TLS1", "TLS 1.0"),
                  ("TLS1_1", "TLS 1.1"), ("TLS1_2", "TLS 1.2"), ("TLS1_3", "TLS 1.3")):
    f = by_id.get(pid)
    if f is None:
        bad.append("protocol %s: not tested" % name)
        continue
    fin = f.get("finding", "")
    if fin.startswith("offered"):
        offered.append(name)
    elif "not offered" not in fin:
        bad.append("protocol %s: unclear: %s" % (name, fin))
for name in offered:
    if name not in ("TLS 1.2", "TLS 1.3"):
        bad.append("protocol %s offered" % name)
if not offered:
    bad.append("no protocol offered: the scan did not reach the server")

# ciphers: every cipher accepted per protocol (-E, part of --full) must be an AEAD; the
# finding is "TLS 1.3  x1301  TLS_AES_128_GCM_SHA256  ECDH 253  AESGCM  128  IANA_NAME"
aead = re.compile(r"_GCM_|_CCM(_|$)|_CHACHA20_POLY1305_")
ciphers = {}
for f in findings:
    m = re.match(r"cipher-(tls1_[0-3]|ssl[23])_x[0-9a-f]+$", f.get("id", ""))
    if not m:
        continue
    words = f.get("finding", "").split()
    iana = words[-1] if words else "?"
    ciphers.setdefault(m.group(1), []).append(iana)
    if not aead.search(iana):
        bad.append("non-AEAD cipher %s on %s" % (iana, m.group(1)))
if not ciphers:
    bad.append("no per-protocol cipher list in the results (-E did not run)")
for cat in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE", "OBSOLETED"):
    f = by_id.get("cipherlist_" + cat)
    if f and f.get("finding", "").startswith("offered"):
        bad.append("cipher category %s offered" % cat)

print("## findings other than OK/INFO")
print("\n".join(notes) if notes else "(none)")
print()
print("## ciphers per protocol")
for p in sorted(ciphers):
    print("%s: %s" % (p, " ".join(ciphers[p])))
print()
n = sum(len(v) for v in ciphers.values())
nonaead = [b for b in bad if b.startswith("non-AEAD")]
summary = "protocols offered: %s; %d cipher suites, %s" % (
    ", ".join(offered) or "none", n, "%d not AEAD" % len(nonaead) if nonaead else "all AEAD")
head = "VERDICT: %s (testssl %s, %s s): " % ("FAIL" if bad else "PASS", sys.argv[2], sys.argv[3])
if bad:
    print(head + summary + "; failed on: " + "; ".join(bad))
    sys.exit(1)
print(head + summary + "; no finding MEDIUM or worse about the TLS configuration")
PY
ota_stop "$SERVER_PID"
cat "$T/verdict"
# A failed verdict is about the scan's findings, not the daemons: keep their logs out of
# lib.sh's failure dump, so that the verdict stays the last line.
if [[ $vrc -ne 0 ]]; then
    mkdir -p "$T/logs"
    mv "$T"/*.log "$T/logs/" 2>/dev/null || true
fi
exit "$vrc"
