#!/usr/bin/env bash
# ota-server identity and authorisation: each certificate failure (401/403), revocation
# on the next request of the same connection, the artifact rule for vehicles and edges,
# 404/405, TLS 1.1 refused and AES-GCM chosen over a client's ChaCha20 preference.
source "$(dirname "$0")/lib.sh"

ota_setup
for v in VIN1 VIN2 VIN3 VIN4 VINX VINF VINN; do
    ota_client_cert "$v" >/dev/null
done
ota_client_cert VINX --expired >/dev/null
ota_client_cert VINF --foreign >/dev/null
ota_client_cert VINN --not-yet-valid >/dev/null
ota_client_cert GHOST >/dev/null
ota_client_cert VINR >/dev/null
ota_edge_cert cdn1 >/dev/null
ota_edge_cert cdn2 >/dev/null
for v in VIN1 VIN2 VIN3 VIN4 VINX VINF VINN VINR; do
    ota_admin vehicle add "$v" >/dev/null
done
ota_admin vehicle revoke VINR >/dev/null
ota_admin edge add cdn1 >/dev/null
ota_admin edge add cdn2 >/dev/null
ota_admin edge revoke cdn2 >/dev/null

head -c 100000 /dev/urandom >"$T/a1.bin"
head -c 200000 /dev/urandom >"$T/a2.bin"
A1=$(ota_admin artifact upload "$T/a1.bin" --version 1 --name a1)
A2=$(ota_admin artifact upload "$T/a2.bin" --version 2 --name a2)
C1=$(ota_admin campaign create --name c1 --artifact "$A1" --vehicles VIN1)
C3=$(ota_admin campaign create --name c3 --artifact "$A2" --vehicles VIN3)
ota_admin campaign start "$C1" >/dev/null
ota_admin campaign start "$C3" >/dev/null
ota_start_server

# code NAME PATH [curl args]: the status code (000 when TLS fails).
code()
{
    local name=$1 path=$2
    shift 2
    ota_curl "$name" "$path" -o "$T/body" -w '%{http_code}' "$@" 2>/dev/null || true
}

# ---- certificate failures
check_eq "no certificate" 401 "$(code - /v1/updates)"
check_contains "401 JSON body" '"error":"no_certificate"' "$(cat "$T/body")"
check_eq "expired certificate" 401 "$(code VINX /v1/updates)"
check_contains "expired: JSON" '"error":"bad_certificate"' "$(cat "$T/body")"
check_eq "not yet valid certificate" 401 "$(code VINN /v1/updates)"
check_eq "foreign CA" 401 "$(code VINF /v1/updates)"
check_eq "foreign CA on an artifact" 401 "$(code VINF "/v1/artifacts/$A1")"
check_eq "unknown id" 403 "$(code GHOST /v1/updates)"
check_contains "unknown: JSON" '"error":"unknown_client"' "$(cat "$T/body")"
check_eq "revoked id" 403 "$(code VINR /v1/updates)"
check_contains "revoked: JSON" '"error":"revoked"' "$(cat "$T/body")"
check_eq "revoked edge" 403 "$(code cdn2 "/v1/artifacts/$A1")"

# ---- revocation takes effect on the next request, on the same TLS connection
python3 - "$T" "$SERVER_PORT" "$OTA_ADMIN" "$OTA_CONF" <<'PY' || fail "revocation on a kept-alive connection"
import http.client, ssl, subprocess, sys
t, port, admin, conf = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
ctx.load_cert_chain(t + "/pki/VIN4.crt", t + "/pki/VIN4.key")
c = http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)
c.request("GET", "/v1/updates")
r = c.getresponse(); r.read()
assert r.status == 204, "before revoke: %d" % r.status
subprocess.run([admin, "--config", conf, "vehicle", "revoke", "VIN4"], check=True,
               stdout=subprocess.DEVNULL)
c.request("GET", "/v1/updates")
r = c.getresponse(); body = r.read()
assert r.status == 403, "after revoke: %d %r" % (r.status, body)
print("ok - VIN4: 204, revoked, 403 on the same connection")
PY

# ---- artifacts: a vehicle gets only its own non-cancelled deployments' artifacts
check_eq "own artifact" 200 "$(code VIN1 "/v1/artifacts/$A1")"
cmp -s "$T/a1.bin" "$T/body" || fail "own artifact: body differs"
check_eq "own artifact signature" 200 "$(code VIN1 "/v1/artifacts/$A1.minisig")"
check_eq "other campaign's artifact" 404 "$(code VIN1 "/v1/artifacts/$A2")"
check_eq "other campaign's signature" 404 "$(code VIN1 "/v1/artifacts/$A2.minisig")"
check_eq "no deployment" 404 "$(code VIN2 "/v1/artifacts/$A1")"
check_eq "unknown artifact" 404 "$(code VIN1 "/v1/artifacts/$(printf '0%.0s' {1..64})")"
check_eq "malformed artifact id" 404 "$(code VIN1 "/v1/artifacts/$A1.tar")"
check_eq "uppercase artifact id" 404 "$(code VIN1 "/v1/artifacts/${A1^^}")"
check_eq "VIN3 before cancel" 200 "$(code VIN3 "/v1/artifacts/$A2")"
ota_admin campaign cancel "$C3" >/dev/null
check_eq "VIN3 after its campaign is cancelled" 404 "$(code VIN3 "/v1/artifacts/$A2")"

# ---- edges: any artifact, public caching, no vehicle endpoint
check_eq "edge any artifact" 200 "$(code cdn1 "/v1/artifacts/$A2" -D "$T/h")"
cmp -s "$T/a2.bin" "$T/body" || fail "edge artifact: body differs"
check_contains "edge Cache-Control public" "Cache-Control: public, max-age=31536000, immutable" \
    "$(tr -d '\r' <"$T/h")"
check_eq "edge on /v1/updates" 403 "$(code cdn1 /v1/updates)"
check_eq "edge on /v1/status" 403 \
    "$(code cdn1 /v1/status -H 'Content-Type: application/json' --data '{"campaign":1,"state":"downloading"}')"

# ---- unknown paths and methods
check_eq "unknown path" 404 "$(code VIN1 /v2/nothing)"
check_contains "404 JSON" '"error":"not_found"' "$(cat "$T/body")"
check_eq "PUT /v1/updates" 405 "$(code VIN1 /v1/updates -X PUT -D "$T/h")"
check_contains "405 Allow" "Allow: GET, HEAD" "$(tr -d '\r' <"$T/h")"
check_eq "DELETE artifact" 405 "$(code VIN1 "/v1/artifacts/$A1" -X DELETE)"
check_eq "GET /v1/status" 405 "$(code VIN1 /v1/status -D "$T/h")"
check_contains "405 Allow POST" "Allow: POST" "$(tr -d '\r' <"$T/h")"
check_eq "unauthenticated 404 hides paths" 401 "$(code - /v2/nothing)"

# ---- TLS versions and ciphers
rc=0
ota_curl VIN1 /v1/updates --tlsv1.1 --tls-max 1.1 -o /dev/null 2>/dev/null || rc=$?
((rc != 0)) || fail "TLS 1.1 accepted by curl"
echo "ok - TLS 1.1 refused (curl exit $rc)"
GCLI=(gnutls-cli --x509cafile "$T/pki/ca.crt" --x509certfile "$T/pki/VIN1.crt"
    --x509keyfile "$T/pki/VIN1.key" -p "$SERVER_PORT" localhost)
rc=0
out=$(timeout 10 "${GCLI[@]}" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.1" </dev/null 2>&1) || rc=$?
((rc != 0)) || fail "TLS 1.1 accepted by gnutls-cli: $out"
echo "ok - TLS 1.1 refused (gnutls-cli)"
rc=0
out=$(timeout 10 "${GCLI[@]}" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC" </dev/null 2>&1) || rc=$?
((rc != 0)) || fail "a CBC-only TLS 1.2 client was accepted: $out"
echo "ok - non-AEAD ciphers refused"
for v in TLS1.3 TLS1.2; do
    out=$(timeout 10 "${GCLI[@]}" \
        --priority "NORMAL:-VERS-ALL:+VERS-$v:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-256-GCM:+AES-128-GCM" \
        </dev/null 2>&1) || true
    desc=$(grep -m1 'Description:' <<<"$out" || true)
    check_contains "$v ChaCha20-first client gets AES-GCM" "AES-" "$desc"
    [[ $desc != *CHACHA* ]] || fail "$v: ChaCha20 negotiated: $desc"
done

# ---- session resumption (tickets), and the resumed session is still authenticated
for v in TLS1.3 TLS1.2; do
    out=$(printf 'GET /v1/updates HTTP/1.1\r\nHost: localhost\r\n\r\n' |
        timeout 10 "${GCLI[@]}" --resume --priority "NORMAL:-VERS-ALL:+VERS-$v" 2>&1) || true
    check_contains "$v session resumed" "This is a resumed session" "$out"
    check_contains "$v resumed session answered" "HTTP/1.1 200 OK" "$(sed -n '/resumed session/,$p' <<<"$out")"
done

# ---- the failures are counted
for p in /metrics /healthz; do
    h=$(curl -sS -X POST "http://127.0.0.1:$ADMIN_PORT$p" -D - -o /dev/null | tr -d '\r')
    check_contains "admin POST $p: 405" "HTTP/1.1 405" "$h"
    check_contains "admin POST $p: Allow (RFC 9110 15.5.6)" "Allow: GET, HEAD" "$h"
done
M=$(curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics")
for r in no_cert bad_cert unknown revoked edge_forbidden; do
    n=$(awk -v r="reason=\"$r\"" 'index($0, r) && /^ota_auth_failures_total/ { print $2 }' <<<"$M")
    ((n > 0)) || fail "metrics: ota_auth_failures_total{reason=\"$r\"} is '$n'"
    echo "ok - metrics count $r failures ($n)"
done
n=$(awk '/^ota_tls_failures_total/ { print $2 }' <<<"$M")
((n > 0)) || fail "metrics: ota_tls_failures_total is '$n'"
echo "ok - metrics count failed TLS handshakes ($n)"

ota_stop "$SERVER_PID"
