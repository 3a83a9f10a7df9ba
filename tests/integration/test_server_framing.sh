#!/usr/bin/env bash
# Strict HTTP/1.1 framing (DESIGN.md "HTTP/1.1 framing", srv_guard.h): raw bytes over mTLS,
# as an attacker sends them. Each refused case: the status, the connection closed, and a
# request pipelined behind it never answered. Plus absolute-form targets, the header
# deadline (trickled headers, with and without a certificate), 413 for a chunked body
# without reading it, multipart parts in request order, and the log lines of refusals.
source "$(dirname "$0")/lib.sh"

ota_setup "[server]" "header_timeout = 3" "timeout = 30"
ota_client_cert VIN1
ota_client_cert NOBODY # a valid fleet certificate for an id that is not registered
ota_admin vehicle add VIN1 >/dev/null
ART=$T/art.bin
head -c 100000 /dev/urandom >"$ART"
SHA=$(ota_admin artifact upload "$ART" --version 1.0 --name fw)
CID=$(ota_admin campaign create --name c1 --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
PKI=$T/pki
RAW="python3 $OTA_SRC/tests/integration/raw_http.py"
H="Host: localhost"
GOOD="GET /v1/updates HTTP/1.1\r\n$H\r\n\r\n"

# raw FORMAT: sends printf FORMAT's bytes as VIN1; the answer summary in $OUT (one line
# per response, then closed/open, then "responses N").
raw()
{
    OUT=$(printf "$1" | $RAW send "$SERVER_PORT" "$PKI/ca.crt" "$PKI/VIN1.crt" "$PKI/VIN1.key")
}
# refused WHAT FORMAT [STATUS]: the request in FORMAT, with a good one pipelined behind it,
# gets STATUS (400) as the only answer, and the connection is closed.
refused()
{
    local want=${3:-400}
    raw "$2$GOOD"
    check_eq "$1: one answer, $want, closed" \
        "$(printf 'status %s\nclosed\nresponses 1' "$want")" "$(sed 's/ bytes [0-9]*//' <<<"$OUT")"
}

# ---- Content-Length and Transfer-Encoding
P="POST /v1/status HTTP/1.1\r\n$H\r\n"
BODY='{"campaign":1,"state":"downloading","bytes":1}'
CHUNKED="$(printf "%x" ${#BODY})\r\n$BODY\r\n0\r\n\r\n" # a valid chunked body
CHUNKED_LEN=$(printf "$CHUNKED" | wc -c)
refused "Content-Length with Transfer-Encoding" \
    "${P}Content-Length: $CHUNKED_LEN\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED"
refused "two Content-Length" "${P}Content-Length: ${#BODY}\r\nContent-Length: ${#BODY}\r\n\r\n$BODY"
refused "Content-Length list" "${P}Content-Length: ${#BODY}, ${#BODY}\r\n\r\n$BODY"
refused "Transfer-Encoding: chunked, identity" "${P}Transfer-Encoding: chunked, identity\r\n\r\n"
refused "Transfer-Encoding: gzip, chunked" "${P}Transfer-Encoding: gzip, chunked\r\n\r\n"
refused "unknown Transfer-Encoding" "${P}Transfer-Encoding: x-ota\r\n\r\n"
refused "Transfer-Encoding twice" \
    "${P}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refused "Transfer-Encoding in HTTP/1.0" \
    "POST /v1/status HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

# ---- Host and field syntax
refused "HTTP/1.1 without Host" "GET /v1/updates HTTP/1.1\r\n\r\n"
refused "two Host fields" "GET /v1/updates HTTP/1.1\r\n$H\r\n$H\r\n\r\n"
refused "space before the colon" "GET /v1/updates HTTP/1.1\r\n$H\r\nTransfer-Encoding : chunked\r\n\r\n"
refused "obs-fold" "GET /v1/updates HTTP/1.1\r\n$H\r\nX-A: a\r\n b\r\n\r\n"
refused "NUL in a Range value" \
    "GET /v1/artifacts/$SHA HTTP/1.1\r\n${H}\r\nRange: bytes=0-1\0,5-6\r\n\r\n"
refused "NUL in If-None-Match" \
    "GET /v1/artifacts/$SHA HTTP/1.1\r\n${H}\r\nIf-None-Match: \"$SHA\"\0junk\r\n\r\n"
refused "NUL in Content-Length" "${P}Content-Length: 47\0""999\r\n\r\n$BODY"
refused "CR inside a value" "GET /v1/updates HTTP/1.1\r\n$H\r\nX-A: a\rb\r\n\r\n"
refused "bare LF inside the fields" "GET /v1/updates HTTP/1.1\r\n$H\r\nX-A: a\nX-B: b\r\n\r\n"

# ---- request-target
refused "%00 in an artifact path" "GET /v1/artifacts/$SHA%%00.minisig HTTP/1.1\r\n$H\r\n\r\n"
refused "%00 after /v1/updates" "GET /v1/updates%%00x HTTP/1.1\r\n$H\r\n\r\n"
refused "%00 in a DDI path" \
    "GET /DEFAULT/controller/v1/VIN1/softwaremodules/1/artifacts/fw.MD5SUM%%00 HTTP/1.1\r\n$H\r\n\r\n"
refused "control character escaped in the path" "GET /v1/updates%%0d%%0a HTTP/1.1\r\n$H\r\n\r\n"
refused "HTTP/2.0 request line" "GET /v1/updates HTTP/2.0\r\n$H\r\n\r\n" 505

# absolute-form (RFC 9112 §3.2.2) is served like origin-form
raw "HEAD https://localhost:$SERVER_PORT/v1/artifacts/$SHA HTTP/1.1\r\n$H\r\n\r\n"
check_eq "absolute-form HEAD of the artifact" "status 200 bytes 0" "$(head -n 1 <<<"$OUT")"
raw "GET https://localhost:$SERVER_PORT/v1/updates HTTP/1.1\r\n$H\r\n\r\n"
check_eq "absolute-form GET /v1/updates" 200 "$(head -n 1 <<<"$OUT" | cut -d' ' -f2)"

# ---- a good request, then a bad one in the same write: the first is answered, then 400
raw "$GOOD""GET /v1/updates HTTP/1.1\r\n\r\n$GOOD"
check_eq "good then bad: 200, then 400, closed" "$(printf 'status 200\nstatus 400\nclosed\nresponses 2')" \
    "$(sed 's/ bytes [0-9]*//' <<<"$OUT")"

# ---- bodies over the route's limit: 413 on the announcement, without reading the body
CHUNK="${P}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"
raw "$CHUNK"
check_eq "chunk of 2^64-1 on /v1/status: 413, closed" \
    "$(printf 'status 413\nclosed\nresponses 1')" "$(sed 's/ bytes [0-9]*//' <<<"$OUT")"
raw "${P}Content-Length: 5000\r\n\r\n"
check_eq "Content-Length over the limit: 413" 413 "$(head -n 1 <<<"$OUT" | cut -d' ' -f2)"
EXT=$(head -c 100000 /dev/zero | tr '\0' 'e')
raw "${P}Transfer-Encoding: chunked\r\n\r\n1;$EXT\r\nx\r\n0\r\n\r\n"
check_eq "100 KB chunk extension: 400, closed" "$(printf 'status 400\nclosed\nresponses 1')" \
    "$(sed 's/ bytes [0-9]*//' <<<"$OUT")"
# a correct chunked report still works
raw "${P}Transfer-Encoding: chunked\r\n\r\n$(printf '%x' ${#BODY})\r\n$BODY\r\n0\r\n\r\n"
check_eq "chunked status report accepted" 204 "$(head -n 1 <<<"$OUT" | cut -d' ' -f2)"

# ---- multipart parts in the order requested (RFC 9110 §14.6), overlaps coalesced
rm -f "$T/h" "$T/b"
ota_curl VIN1 "/v1/artifacts/$SHA" -H 'Range: bytes=90000-90099,0-99,50-150' -D "$T/h" -o "$T/b"
ranges=$(tr -d '\r' <"$T/b" | sed -n 's/^Content-Range: bytes \([0-9]*-[0-9]*\)\/.*/\1/p' | paste -sd,)
check_eq "multipart parts in request order" "90000-90099,0-150" "$ranges"

# ---- header_timeout (3 s): a trickle of one byte a second is cut, certificate or not
trickle()
{
    printf "GET /v1/updates HTTP/1.1\r\n$H\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" |
        $RAW trickle "$SERVER_PORT" "$PKI/ca.crt" "$@" --interval 1 --max 20
}
for who in cert none; do
    if [[ $who == cert ]]; then r=$(trickle "$PKI/VIN1.crt" "$PKI/VIN1.key"); else r=$(trickle); fi
    [[ $r == "closed after "* ]] || fail "trickled header ($who): $r"
    secs=${r#closed after }
    # closed at the deadline, not by an idle timeout (30 s) nor early
    awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s < 8) }' ||
        fail "trickled header ($who): closed after $secs s, want ~3"
    echo "ok - trickled header ($who certificate) closed after $secs s"
done
# an idle keep-alive connection is governed by [server] timeout, not header_timeout
printf "$GOOD" | $RAW trickle "$SERVER_PORT" "$PKI/ca.crt" "$PKI/VIN1.crt" "$PKI/VIN1.key" \
    --interval 0.01 --max 5 >"$T/keep" || true
check_contains "a whole header section in time is answered" "answered HTTP/1.1 200" "$(cat "$T/keep")"

# ---- the log lines: refusals name the peer's certificate id when it was verified
raw "GET /v1/updates HTTP/1.1\r\n\r\n"
OUT=$(printf "$GOOD" | $RAW send "$SERVER_PORT" "$PKI/ca.crt" "$PKI/NOBODY.crt" "$PKI/NOBODY.key")
check_eq "unregistered id: 403" 403 "$(head -n 1 <<<"$OUT" | cut -d' ' -f2)"
wait_until 5 grep -q ' 403 [0-9]* [0-9.]* NOBODY$' "$T/server.log" ||
    fail "the 403 log line does not name NOBODY"
echo "ok - a 403 is logged with the certificate's id"
check_contains "a refused request is logged with its status" " GET /v1/updates 400 " \
    "$(cat "$T/server.log")"
metrics=$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")
check_contains "framing refusals counted by reason" 'ota_http_refused_total{reason="host"}' \
    "$metrics"
[[ $(sed -n 's/^ota_http_header_timeouts_total \([0-9]*\)$/\1/p' <<<"$metrics") -ge 2 ]] ||
    fail "header timeouts not counted"
echo "ok - header timeouts counted"

# ---- batching off (the path an unproven libmicrohttpd takes) serves byte-exact bodies
ota_stop "$SERVER_PID"
echo "tls_batching = 0" >>"$OTA_CONF"
ota_start_server
grep -q "TLS batching off" "$T/server.log" || fail "tls_batching = 0 not in effect"
rm -f "$T/b"
ota_curl VIN1 "/v1/artifacts/$SHA" -o "$T/b"
cmp -s "$ART" "$T/b" || fail "unbatched body differs"
echo "ok - unbatched download byte-exact"
ota_stop "$SERVER_PID"
