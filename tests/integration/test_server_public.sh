#!/usr/bin/env bash
# Public artifacts (#17): an artifact the operator marks public is served to clients
# without a certificate (GET and HEAD, the same Range/ETag rules); every other artifact,
# and every other endpoint, still wants a verified, registered client, and a bad
# certificate is refused as before. `artifact public` turns it on and off on the next
# request; upload --public sets it at once; bad arguments change nothing.
source "$(dirname "$0")/lib.sh"

ota_setup
ota_client_cert VIN1 >/dev/null
ota_client_cert VINF --foreign >/dev/null
ota_edge_cert cdn1 >/dev/null
ota_admin vehicle add VIN1 >/dev/null
ota_admin vehicle add VINF >/dev/null
ota_admin edge add cdn1 >/dev/null
head -c 300000 /dev/urandom >"$T/priv.bin"
head -c 500000 /dev/urandom >"$T/pub.zck"
PRIV=$(ota_admin artifact upload "$T/priv.bin" --version 1 --name priv.bin)
PUB=$(ota_admin artifact upload "$T/pub.zck" --version 1 --name pub.zck --public)
ota_start_server

code()
{
    local name=$1 path=$2
    shift 2
    ota_curl "$name" "$path" -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@" 2>/dev/null || true
}
hdr()
{
    tr -d '\r' <"$T/hdrs" | awk -v n="$1" 'BEGIN { IGNORECASE = 1 } index(tolower($0), tolower(n) ": ") == 1 { sub(/^[^:]*: /, ""); print; exit }'
}

check_eq "show: public" "true" "$(ota_admin artifact show "$PUB" --json | jq -r .public)"
check_eq "show: private" "false" "$(ota_admin artifact show "$PRIV" --json | jq -r .public)"

# ---- without a certificate
check_eq "private artifact" 401 "$(code - "/v1/artifacts/$PRIV")"
check_contains "private: JSON" '"error":"no_certificate"' "$(cat "$T/body")"
check_eq "unknown artifact: the same answer" 401 "$(code - "/v1/artifacts/$(printf '%064d' 7)")"
check_eq "updates still need a certificate" 401 "$(code - /v1/updates)"
check_eq "public artifact" 200 "$(code - "/v1/artifacts/$PUB")"
cmp -s "$T/body" "$T/pub.zck" || fail "public artifact: bytes differ"
ETAG=$(hdr ETag)
check_eq "public: ETag" "\"$PUB\"" "$ETAG"
check_eq "public: If-None-Match" 304 "$(code - "/v1/artifacts/$PUB" -H "If-None-Match: $ETAG")"
check_eq "public: Range" 206 "$(code - "/v1/artifacts/$PUB" -r 1000-1999)"
cmp -s "$T/body" <(tail -c +1001 "$T/pub.zck" | head -c 1000) || fail "public Range: bytes differ"
check_eq "public: If-Range stale" 200 "$(code - "/v1/artifacts/$PUB" -r 0-9 -H 'If-Range: "x"')"
check_eq "public: multi-range" 206 "$(code - "/v1/artifacts/$PUB" -r 0-9,100000-100099)"
check_contains "public: multipart" "multipart/byteranges; boundary=ota-byteranges-" "$(hdr Content-Type)"
check_eq "public: HEAD" 200 "$(code - "/v1/artifacts/$PUB" -I)"
check_eq "public: HEAD length" 500000 "$(hdr Content-Length)"
check_eq "public: signature" 200 "$(code - "/v1/artifacts/$PUB.minisig")"
check_eq "public: POST (no route: a certificate first)" 401 "$(code - "/v1/artifacts/$PUB" -X POST)"
check_eq "public: bad certificate still refused" 401 "$(code VINF "/v1/artifacts/$PUB")"
check_contains "public: bad certificate JSON" '"error":"bad_certificate"' "$(cat "$T/body")"
log_line=$(grep "GET /v1/artifacts/$PUB 200" "$T/server.log" | grep -c " 127.0.0.1" || true)
[[ $log_line -ge 1 ]] || fail "the access log names an anonymous client by its address"

# ---- with a certificate: a vehicle outside any campaign, an edge
check_eq "vehicle, no campaign: public" 200 "$(code VIN1 "/v1/artifacts/$PUB")"
check_eq "vehicle, no campaign: private" 404 "$(code VIN1 "/v1/artifacts/$PRIV")"
check_eq "edge: public" 200 "$(code cdn1 "/v1/artifacts/$PUB")"
check_contains "edge: cacheable" "public" "$(hdr Cache-Control)"

# ---- on and off, seen at the next request
ota_expect 0 "artifact public --off" ota_admin artifact public "$PUB" --off
check_eq "made private" 401 "$(code - "/v1/artifacts/$PUB")"
check_eq "made private: vehicle without campaign" 404 "$(code VIN1 "/v1/artifacts/$PUB")"
ota_expect 0 "artifact public" ota_admin artifact public "$PRIV"
check_eq "made public" 200 "$(code - "/v1/artifacts/$PRIV")"
cmp -s "$T/body" "$T/priv.bin" || fail "made public: bytes differ"
ota_expect 0 "artifact public again (no change)" ota_admin artifact public "$PRIV"
# upload --public, --off, on again; the repeat records nothing
check_eq "audit events" 3 "$(ota_admin events --json | jq '[.events[] | select(.kind == "artifact.public" or .kind == "artifact.private")] | length')"

# ---- bad arguments: a clear error, nothing changes
before=$(ota_admin artifact list --json | jq -c '[.artifacts[] | {sha256, public}]')
ota_expect 2 "public: no SHA256" ota_admin artifact public
ota_expect 2 "public: bad SHA256" ota_admin artifact public XYZ
ota_expect 2 "public: unknown option" ota_admin artifact public "$PRIV" --of
ota_expect 1 "public: unknown artifact" ota_admin artifact public "$(printf '%064d' 7)"
check_contains "unknown artifact: says" "no artifact" "$ERRS"
ota_expect 2 "upload: --public takes no value" ota_admin artifact upload "$T/pub.zck" --version 2 --public=yes
check_eq "nothing changed" "$before" "$(ota_admin artifact list --json | jq -c '[.artifacts[] | {sha256, public}]')"
ota_admin artifact delete "$PRIV" >/dev/null
check_eq "deleted public artifact" 401 "$(code - "/v1/artifacts/$PRIV")"
ota_stop "$SERVER_PID"
