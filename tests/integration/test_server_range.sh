#!/usr/bin/env bash
# ota-server delivery: every Range form, multipart bodies, RFC 9110 conditionals, HEAD,
# resume with curl -C -, the .minisig, keep-alive.
source "$(dirname "$0")/lib.sh"

ota_setup
ota_client_cert VIN1
ota_admin vehicle add VIN1 >/dev/null
ART=$T/art.bin
SIZE=3000000 # > several 256 KiB read blocks
head -c $SIZE /dev/urandom >"$ART"
SHA=$(ota_admin artifact upload "$ART" --version 1.0 --name fw)
CID=$(ota_admin campaign create --name c1 --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
URL=/v1/artifacts/$SHA
ETAG="\"$SHA\""

# fetch CURL-ARGS...: GET $URL as VIN1; sets CODE, headers in $T/h, body in $T/b.
fetch()
{
    rm -f "$T/h" "$T/b"
    CODE=$(ota_curl VIN1 "$URL" -D "$T/h" -o "$T/b" -w '%{http_code}' "$@")
}
# hdr NAME: the value of response header NAME from $T/h.
hdr()
{
    awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" 'BEGIN { FS = ": " }
        { sub(/\r$/, "") } tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }' "$T/h"
}
# slice FIRST LAST: bytes FIRST..LAST (inclusive) of the artifact.
slice()
{
    dd if="$ART" iflag=skip_bytes,count_bytes skip="$1" count=$(($2 - $1 + 1)) bs=64K status=none
}
check_body_slice()
{
    slice "$2" "$3" >"$T/want"
    cmp -s "$T/want" "$T/b" || fail "$1: body differs from bytes $2-$3 ($(stat -c %s "$T/b") bytes)"
    echo "ok - $1 body"
}
check_full_body()
{
    cmp -s "$ART" "$T/b" || fail "$1: body differs from the artifact ($(stat -c %s "$T/b") bytes)"
    echo "ok - $1 body"
}
check_multipart()
{
    python3 "$OTA_SRC/tests/integration/server_multipart.py" "$T/h" "$T/b" "$ART" "$2" ||
        fail "$1: multipart body"
    echo "ok - $1 multipart"
}

# ---- whole body and HEAD
fetch
check_eq "GET status" 200 "$CODE"
check_full_body "GET"
check_eq "ETag" "$ETAG" "$(hdr ETag)"
check_eq "Accept-Ranges" bytes "$(hdr Accept-Ranges)"
check_eq "Cache-Control" "private, max-age=31536000, immutable" "$(hdr Cache-Control)"
check_eq "Content-Length" $SIZE "$(hdr Content-Length)"
check_eq "Content-Type" application/octet-stream "$(hdr Content-Type)"
LASTMOD=$(hdr Last-Modified)
[[ $LASTMOD =~ ^[A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ GMT$ ]] ||
    fail "Last-Modified is not an IMF-fixdate: '$LASTMOD'"

fetch -I
check_eq "HEAD status" 200 "$CODE"
check_eq "HEAD Content-Length" $SIZE "$(hdr Content-Length)"
check_eq "HEAD ETag" "$ETAG" "$(hdr ETag)"
check_eq "HEAD body" 0 "$(ota_curl VIN1 -I "$URL" -o /dev/null -w '%{size_download}')"
fetch -I -H "Range: bytes=0-9"
check_eq "HEAD ignores Range (RFC 9110 14.2)" 200 "$CODE"

# ---- single ranges, three forms
fetch -r 0-499
check_eq "a-b status" 206 "$CODE"
check_eq "a-b Content-Range" "bytes 0-499/$SIZE" "$(hdr Content-Range)"
check_eq "a-b Content-Length" 500 "$(hdr Content-Length)"
check_body_slice "a-b" 0 499
fetch -r 2999000-
check_eq "a- status" 206 "$CODE"
check_eq "a- Content-Range" "bytes 2999000-2999999/$SIZE" "$(hdr Content-Range)"
check_body_slice "a-" 2999000 2999999
fetch -H "Range: bytes=-1000"
check_eq "-n status" 206 "$CODE"
check_eq "-n Content-Range" "bytes 2999000-2999999/$SIZE" "$(hdr Content-Range)"
check_body_slice "-n" 2999000 2999999
fetch -r 262000-1600000
check_eq "range across read blocks" 206 "$CODE"
check_body_slice "range across read blocks" 262000 1600000
fetch -r 2999990-5000000
check_eq "last-pos clipped" "bytes 2999990-2999999/$SIZE" "$(hdr Content-Range)"
check_body_slice "last-pos clipped" 2999990 2999999
fetch -H "Range: bytes=-9999999"
check_eq "suffix longer than file" "bytes 0-2999999/$SIZE" "$(hdr Content-Range)"
check_full_body "suffix longer than file"

# ---- multiple ranges: multipart/byteranges parsed back byte for byte
fetch -r 0-99,1000-1999,-100
check_eq "multi status" 206 "$CODE"
check_multipart "three ranges" "0-99,1000-1999,2999900-2999999"
fetch -r 0-300000,1000000-1400000,2999999-
check_multipart "large parts across blocks" "0-300000,1000000-1400000,2999999-2999999"
fetch -r 500-1500,0-600,5000-5009
check_multipart "overlapping coalesced, sorted" "0-1500,5000-5009"
fetch -r 0-9,10-19,20-29,100000-100009
check_multipart "adjacent coalesced" "0-29,100000-100009"
fetch -r 0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0
check_eq "repeated range: one part" 206 "$CODE"
check_eq "repeated range: Content-Range" "bytes 0-0/$SIZE" "$(hdr Content-Range)"
R=$(seq 0 200 | awk '{ printf "%s%d-%d", (NR > 1 ? "," : ""), $1 * 10000, $1 * 10000 + 99 }')
fetch -r "$R"
check_eq "201 distinct parts refused: whole body" 200 "$CODE"
check_full_body "201 parts"
# SWUpdate's zchunk delta handler asks for up to 150 ranges at once
R=$(seq 0 149 | awk '{ printf "%s%d-%d", (NR > 1 ? "," : ""), $1 * 19000 + 7, $1 * 19000 + 4102 }')
fetch -r "$R"
check_eq "150 parts served" 206 "$CODE"
check_contains "lower-case boundary" "boundary=ota-byteranges-" "$(hdr Content-Type)"
check_multipart "150 parts" "$(echo "$R")"
fetch -r 3000000-,0-9
check_eq "unsatisfiable part dropped" "bytes 0-9/$SIZE" "$(hdr Content-Range)"

# ---- unsatisfiable and malformed
fetch -r 3000000-
check_eq "416 status" 416 "$CODE"
check_eq "416 Content-Range" "bytes */$SIZE" "$(hdr Content-Range)"
fetch -H "Range: bytes=-0"
check_eq "bytes=-0 is 416" 416 "$CODE"
for bad in "bytes=abc" "items=0-1" "bytes=5-1" "bytes=" "bytes=1-2,x"; do
    fetch -H "Range: $bad"
    check_eq "malformed '$bad' ignored" 200 "$CODE"
done
check_full_body "malformed range"

# ---- If-Range
fetch -r 0-9 -H "If-Range: $ETAG"
check_eq "If-Range current ETag" 206 "$CODE"
fetch -r 0-9 -H "If-Range: \"0000stale\""
check_eq "If-Range stale ETag: whole body" 200 "$CODE"
check_full_body "If-Range stale"
fetch -r 0-9 -H "If-Range: W/$ETAG"
check_eq "If-Range weak ETag never matches" 200 "$CODE"
fetch -r 0-9 -H "If-Range: $LASTMOD"
check_eq "If-Range Last-Modified date" 206 "$CODE"
fetch -r 0-9 -H "If-Range: Thu, 01 Jan 2015 00:00:00 GMT"
check_eq "If-Range older date" 200 "$CODE"

# ---- If-None-Match / If-Modified-Since / If-Match / If-Unmodified-Since
fetch -H "If-None-Match: $ETAG"
check_eq "If-None-Match 304" 304 "$CODE"
check_eq "304 ETag" "$ETAG" "$(hdr ETag)"
check_eq "304 no body" 0 "$(stat -c %s "$T/b" 2>/dev/null || echo 0)"
# RFC 9110 8.6: a 304 carries no Content-Length, or the one a 200 would have.
cl=$(hdr Content-Length)
[[ -z $cl || $cl == "$SIZE" ]] || fail "304 Content-Length '$cl' is not the 200's ($SIZE)"
echo "ok - 304 Content-Length"
# ... and the connection stays usable: the next answer is not read as a 304's body.
n=$(python3 - "$T" "$SERVER_PORT" "$URL" "$ETAG" <<'PY'
import http.client, ssl, sys
t, port, url, etag = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=t + "/pki/ca.crt")
ctx.load_cert_chain(t + "/pki/VIN1.crt", t + "/pki/VIN1.key")
c = http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=10)
out = []
for h in ({"If-None-Match": etag}, {"Range": "bytes=0-9"}):
    c.request("GET", url, headers=h)
    r = c.getresponse()
    out += [str(r.status), str(len(r.read()))]
print(" ".join(out))
PY
)
check_eq "keep-alive after a 304" "304 0 206 10" "$n"
fetch -H "If-None-Match: \"x\", W/$ETAG"
check_eq "If-None-Match weak in list 304" 304 "$CODE"
fetch -H "If-None-Match: *"
check_eq "If-None-Match * 304" 304 "$CODE"
fetch -H "If-None-Match: \"other\"" -r 0-9
check_eq "If-None-Match other then Range" 206 "$CODE"
fetch -H "If-Modified-Since: $LASTMOD"
check_eq "If-Modified-Since 304" 304 "$CODE"
fetch -H "If-Modified-Since: Thu, 01 Jan 2015 00:00:00 GMT"
check_eq "If-Modified-Since older 200" 200 "$CODE"
fetch -H "If-None-Match: \"other\"" -H "If-Modified-Since: $LASTMOD"
check_eq "If-None-Match overrides If-Modified-Since" 200 "$CODE"
fetch -H "If-Match: \"other\""
check_eq "If-Match 412" 412 "$CODE"
fetch -H "If-Match: W/$ETAG"
check_eq "If-Match weak 412 (strong comparison)" 412 "$CODE"
fetch -H "If-Match: $ETAG" -r 0-9
check_eq "If-Match current then Range" 206 "$CODE"
fetch -H "If-Match: \"other\"" -r 3000000-
check_eq "If-Match before Range (412 not 416)" 412 "$CODE"
fetch -H "If-Unmodified-Since: Thu, 01 Jan 2015 00:00:00 GMT"
check_eq "If-Unmodified-Since older 412" 412 "$CODE"
fetch -H "If-Unmodified-Since: $LASTMOD"
check_eq "If-Unmodified-Since equal 200" 200 "$CODE"

# ---- resume: a prefix on disk, then curl -C -; and a download cut by the client
slice 0 999999 >"$T/resume.bin"
ota_curl VIN1 "$URL" -C - -o "$T/resume.bin"
cmp -s "$ART" "$T/resume.bin" || fail "curl -C - after a prefix: file differs"
echo "ok - resume from a prefix with curl -C -"
rc=0
ota_curl VIN1 "$URL" --limit-rate 500k --max-time 1 -o "$T/cut.bin" 2>/dev/null || rc=$?
check_eq "cut download ends with curl timeout" 28 "$rc"
got=$(stat -c %s "$T/cut.bin")
((got > 0 && got < SIZE)) || fail "cut download has $got bytes"
ota_curl VIN1 "$URL" -C - -o "$T/cut.bin"
cmp -s "$ART" "$T/cut.bin" || fail "resume of a cut download: file differs"
echo "ok - resume of a download cut at $got bytes"

# ---- the signature
SIG=$(ota_admin artifact show "$SHA" --json | jq -r .signature)
fetch_sig=$(ota_curl VIN1 "$URL.minisig" -w '\n%{http_code} %{content_type}')
check_eq ".minisig status/type" "200 text/plain; charset=utf-8" "$(tail -n 1 <<<"$fetch_sig")"
check_eq ".minisig body" "$SIG" "$(sed '$d' <<<"$fetch_sig")"

# ---- keep-alive: three requests, one connection
n=$(ota_curl VIN1 "$URL" -r 0-0 -o /dev/null "$URL" -r 0-0 -o /dev/null /v1/updates -o /dev/null \
    -w '%{num_connects}\n' | paste -sd ' ')
check_eq "keep-alive reuses the connection" "1 0 0" "$n"

# ---- bodies up to 8 MiB are sent from a file mapping, larger ones streamed: both ways,
# whole and ranged, at a page boundary and off it, give the file's bytes
BIG=$T/big.bin
head -c $((9 * 1024 * 1024 + 12345)) /dev/urandom >"$BIG"
BSHA=$(ota_admin artifact upload "$BIG" --version 2.0 --name big)
ota_admin edge add cdnr >/dev/null
ota_client_cert cdnr >/dev/null
# big RANGE: GET the big artifact as the edge (whole when RANGE is empty) into $T/b.
big()
{
    ota_curl cdnr "/v1/artifacts/$BSHA" ${1:+-r "$1"} -o "$T/b" -w '%{http_code}'
}
check_eq "big whole (streamed)" 200 "$(big '')"
cmp -s "$BIG" "$T/b" || fail "big whole: body differs"
echo "ok - big whole body"
for r in 0-4095 4096-1052671 4095-8392703 1000-8389607 5-9449999 9000000-; do
    first=${r%-*} last=${r#*-}
    [[ -n $last ]] || last=$(($(stat -c %s "$BIG") - 1))
    check_eq "big range $r" 206 "$(big "$r")"
    dd if="$BIG" iflag=skip_bytes,count_bytes skip="$first" count=$((last - first + 1)) bs=64K \
        status=none >"$T/want"
    cmp -s "$T/want" "$T/b" || fail "big range $r: body differs"
done
echo "ok - big ranges, mapped and streamed, give the file's bytes"

# ---- access log and metrics
check_contains "access log line" "GET $URL 206 10 " "$(cat "$T/server.log")"
M=$(curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics")
check_contains "metrics 206" 'ota_http_requests_total{route="artifacts",method="GET",status="206"}' "$M"
check_contains "metrics 416" 'status="416"' "$M"

ota_stop "$SERVER_PID"
