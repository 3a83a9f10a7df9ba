#!/usr/bin/env bash
# ota-server vehicle API: GET /v1/updates (200/204/304, ETag, poll_after) and
# POST /v1/status through every transition and each rejection (400, 413, 409), with the
# database unchanged by every rejected request.
source "$(dirname "$0")/lib.sh"

ota_setup
for v in VIN1 VIN2 VIN3; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
head -c 50000 /dev/urandom >"$T/a.bin"
A=$(ota_admin artifact upload "$T/a.bin" --version 1.2.3 --name fw)
C1=$(ota_admin campaign create --name c1 --artifact "$A" --vehicles VIN1,VIN2)
C2=$(ota_admin campaign create --name c2 --artifact "$A" --vehicles VIN3)
ota_admin campaign start "$C1" >/dev/null
ota_admin campaign start "$C2" >/dev/null
ota_start_server --set server.poll_after=7

# post NAME JSON [curl args]: POST /v1/status; prints the status code, body in $T/body.
post()
{
    local name=$1 json=$2
    shift 2
    ota_curl "$name" /v1/status -H 'Content-Type: application/json' --data-binary "$json" \
        -o "$T/body" -w '%{http_code}' "$@"
}
dump()
{
    sqlite3 "$T/ota.db" .dump
}
# refused WHAT EXPECTED-CODE NAME JSON [curl args]: the request is refused with the code
# and leaves the database exactly as it was.
refused()
{
    local what=$1 want=$2
    shift 2
    dump >"$T/before.sql"
    check_eq "$what" "$want" "$(post "$@")"
    check_contains "$what: JSON error" '"error":' "$(cat "$T/body")"
    dump >"$T/after.sql"
    cmp -s "$T/before.sql" "$T/after.sql" || {
        diff "$T/before.sql" "$T/after.sql" | head -20 >&2
        fail "$what: the database changed"
    }
    echo "ok - $what: database unchanged"
}
# state VIN: the deployment state of VIN in campaign C1.
state()
{
    sqlite3 "$T/ota.db" "SELECT state || ' ' || bytes FROM deployments WHERE campaign = $C1 AND vehicle = '$1'"
}

# ---- GET /v1/updates
check_eq "last_seen before any request" null "$(ota_admin vehicle show VIN1 --json | jq -r .last_seen)"
out=$(ota_curl VIN1 /v1/updates -D "$T/h" -w '\n%{http_code}')
# Recorded when the request completes, just after the client has its answer.
seen() { [[ $(ota_admin vehicle show VIN1 --json | jq -r .last_seen) == 20* ]]; }
wait_until 5 seen || fail "a poll did not record last_seen"
echo "ok - a poll records last_seen"
check_eq "updates 200" 200 "$(tail -n 1 <<<"$out")"
body=$(sed '$d' <<<"$out")
check_eq "updates campaign" "$C1" "$(jq -r .campaign <<<"$body")"
check_eq "updates sha256" "$A" "$(jq -r .artifact.sha256 <<<"$body")"
check_eq "updates size" 50000 "$(jq -r .artifact.size <<<"$body")"
check_eq "updates url" "/v1/artifacts/$A" "$(jq -r .artifact.url <<<"$body")"
check_eq "updates version" 1.2.3 "$(jq -r .artifact.version <<<"$body")"
check_eq "updates poll_after" 7 "$(jq -r .poll_after <<<"$body")"
check_contains "updates signature" "trusted comment: sha256:$A" "$(jq -r .artifact.signature <<<"$body")"
check_contains "updates content type" "Content-Type: application/json" "$(tr -d '\r' <"$T/h")"
ETAG=$(tr -d '\r' <"$T/h" | awk -F': ' 'tolower($1) == "etag" { print $2 }')
[[ $ETAG =~ ^\"u[0-9a-f]{32}\"$ ]] || fail "updates ETag '$ETAG'"
check_eq "If-None-Match current: 304, no body" "304 0" \
    "$(ota_curl VIN1 /v1/updates -H "If-None-Match: $ETAG" -o /dev/null -w '%{http_code} %{size_download}')"
# RFC 9110 8.6: a 304 carries no Content-Length, or the one a 200 would have.
cl=$(ota_curl VIN1 /v1/updates -H "If-None-Match: $ETAG" -D - -o /dev/null | tr -d '\r' |
    awk -F': ' 'tolower($1) == "content-length" { print $2 }')
[[ -z $cl || $cl == "$(printf %s "$body" | wc -c)" ]] ||
    fail "updates 304 Content-Length '$cl' is not the 200's"
echo "ok - updates 304 Content-Length"
check_eq "If-None-Match stale: 200" 200 \
    "$(ota_curl VIN1 /v1/updates -H 'If-None-Match: "u0"' -o /dev/null -w '%{http_code}')"
check_eq "HEAD /v1/updates" 200 "$(ota_curl VIN1 -I /v1/updates -o /dev/null -w '%{http_code}')"

# ---- rejections: 400, 413, 409, nothing changed
refused "malformed JSON" 400 VIN1 '{"campaign":'
refused "not an object" 400 VIN1 '[1,2]'
refused "empty body" 400 VIN1 ''
refused "unknown state" 400 VIN1 "{\"campaign\":$C1,\"state\":\"bogus\"}"
refused "pending is not reportable" 400 VIN1 "{\"campaign\":$C1,\"state\":\"pending\"}"
refused "cancelled is not reportable" 400 VIN1 "{\"campaign\":$C1,\"state\":\"cancelled\"}"
refused "campaign not an integer" 400 VIN1 '{"campaign":"1","state":"downloading"}'
refused "negative bytes" 400 VIN1 "{\"campaign\":$C1,\"state\":\"downloading\",\"bytes\":-5}"
big=$(head -c 6000 /dev/zero | tr '\0' x)
refused "oversized body (Content-Length)" 413 VIN1 \
    "{\"campaign\":$C1,\"state\":\"downloading\",\"detail\":\"$big\"}"
refused "oversized body (chunked)" 413 VIN1 \
    "{\"campaign\":$C1,\"state\":\"downloading\",\"detail\":\"$big$big\"}" -H 'Transfer-Encoding: chunked'
refused "foreign campaign" 409 VIN1 "{\"campaign\":$C2,\"state\":\"downloading\"}"
refused "unknown campaign" 409 VIN1 '{"campaign":999,"state":"downloading"}'
check_eq "still pending" "pending 0" "$(state VIN1)"

# ---- every transition, in order, with progress
events=$(sqlite3 "$T/ota.db" "SELECT count(*) FROM events WHERE kind LIKE 'status%'")
check_eq "downloading" 204 "$(post VIN1 "{\"campaign\":$C1,\"state\":\"downloading\",\"bytes\":100}")"
check_eq "state downloading" "downloading 100" "$(state VIN1)"
check_eq "progress" 204 "$(post VIN1 "{\"campaign\":$C1,\"state\":\"downloading\",\"bytes\":40000}")"
check_eq "state progress" "downloading 40000" "$(state VIN1)"
check_eq "downloaded" 204 "$(post VIN1 "{\"campaign\":$C1,\"state\":\"downloaded\",\"bytes\":50000}")"
check_eq "state downloaded" "downloaded 50000" "$(state VIN1)"
refused "backwards downloaded -> downloading" 409 VIN1 "{\"campaign\":$C1,\"state\":\"downloading\"}"
check_contains "409 says why" "backwards" "$(cat "$T/body")"
check_eq "installing" 204 "$(post VIN1 "{\"campaign\":$C1,\"state\":\"installing\",\"bytes\":50000}")"
check_eq "installed" 204 "$(post VIN1 "{\"campaign\":$C1,\"state\":\"installed\",\"bytes\":50000,\"detail\":\"rebooted\"}")"
check_eq "state installed" "installed 50000" "$(state VIN1)"
check_eq "repeat of installed (at-least-once)" 204 \
    "$(post VIN1 "{\"campaign\":$C1,\"state\":\"installed\",\"bytes\":50000}")"
refused "installed -> failed" 409 VIN1 "{\"campaign\":$C1,\"state\":\"failed\"}"
refused "installed -> installing" 409 VIN1 "{\"campaign\":$C1,\"state\":\"installing\"}"
check_eq "detail kept" rebooted \
    "$(sqlite3 "$T/ota.db" "SELECT detail FROM deployments WHERE campaign = $C1 AND vehicle = 'VIN1'")"
now=$(sqlite3 "$T/ota.db" "SELECT count(*) FROM events WHERE kind LIKE 'status%'")
check_eq "every accepted report is an event" $((events + 6)) "$now"
check_eq "no update after installed" 204 "$(ota_curl VIN1 /v1/updates -o /dev/null -w '%{http_code}')"

# ---- failed from an unfinished state, then nothing more
check_eq "VIN2 downloading" 204 "$(post VIN2 "{\"campaign\":$C1,\"state\":\"downloading\"}")"
check_eq "VIN2 failed" 204 "$(post VIN2 "{\"campaign\":$C1,\"state\":\"failed\",\"detail\":\"disk full\"}")"
check_eq "state failed" "failed 0" "$(state VIN2)"
refused "failed -> downloading" 409 VIN2 "{\"campaign\":$C1,\"state\":\"downloading\"}"
check_eq "campaign finished" finished "$(sqlite3 "$T/ota.db" "SELECT state FROM campaigns WHERE id = $C1")"

# ---- cancelled campaign: reports refused
ota_admin campaign cancel "$C2" >/dev/null
refused "report for a cancelled campaign" 409 VIN3 "{\"campaign\":$C2,\"state\":\"downloading\"}"
check_eq "no update after cancel" 204 "$(ota_curl VIN3 /v1/updates -o /dev/null -w '%{http_code}')"

# ---- the access log has one line per request
n=$(grep -c ' POST /v1/status ' "$T/server.log")
((n >= 20)) || fail "access log has $n POST lines"
echo "ok - access log lines for POST /v1/status ($n)"

ota_stop "$SERVER_PID"
