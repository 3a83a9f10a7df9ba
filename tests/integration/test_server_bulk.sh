#!/usr/bin/env bash
# ota-server bulk delivery: a body larger than the populated-mapping size sent from the
# file's shared, unpopulated mapping in batches of TLS records with the socket corked, to
# a slow reader and fast ones; a range at an unaligned offset into it; keep-alive after a
# corked body; one mapping shared by every download (the gauge shows one file's size).
source "$(dirname "$0")/lib.sh"

ota_setup
ota_client_cert VIN1
ota_admin vehicle add VIN1 >/dev/null
ART=$T/art.bin
head -c $((20 * 1024 * 1024 + 4321)) /dev/urandom >"$ART" # > SRV_ARTIFACT_POPULATE_MAX
SHA=$(ota_admin artifact upload "$ART" --version 1.0 --name fw)
CID=$(ota_admin campaign create --name c1 --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
URL=/v1/artifacts/$SHA

mapped()
{
    curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '$1 == "ota_artifact_mapped_bytes" { print $2 }'
}
mapped_nonzero() { test "$(mapped)" -gt 0; } # for wait_until

# The executable's own gnutls_record_send is the one libmicrohttpd binds to.
nm -D --defined-only "$OTA_SERVER" | grep -q ' T gnutls_record_send$' ||
    fail "ota-server does not export its gnutls_record_send (srv_tls_batch)"
echo "ok - ota-server interposes gnutls_record_send"
check_eq "mapped bytes before" 0 "$(mapped)"

# A slow reader: the socket fills, batches end in EAGAIN part-way. The file is mapped once
# and kept for the next request.
ota_curl VIN1 "$URL" --limit-rate 8M -o "$T/slow" -w '%{http_code}' >"$T/slow.code" &
CURL_PID=$!
wait_until 10 mapped_nonzero
check_eq "mapped bytes during the download" "$(stat -c %s "$ART")" "$(mapped)"
wait "$CURL_PID" || fail "slow download: curl failed"
check_eq "slow download status" 200 "$(<"$T/slow.code")"
cmp -s "$ART" "$T/slow" || fail "slow download: body differs ($(stat -c %s "$T/slow") bytes)"
echo "ok - slow download byte-exact"
check_eq "mapped bytes after the download (kept for reuse)" "$(stat -c %s "$ART")" "$(mapped)"

# Keep-alive: two corked bodies and a small answer on one connection, each complete.
OUT=$(ota_curl VIN1 "$URL" -o "$T/k1" -w '%{http_code} %{num_connects}\n' \
    "$URL" -o "$T/k2" -w '%{http_code} %{num_connects}\n' \
    /v1/updates -o "$T/k3" -w '%{http_code} %{num_connects}\n')
check_eq "keep-alive statuses and connections" "200 1|200 0|200 0" "$(echo "$OUT" | paste -sd'|')"
cmp -s "$ART" "$T/k1" || fail "first keep-alive body differs"
cmp -s "$ART" "$T/k2" || fail "second keep-alive body differs"
check_contains "updates after corked bodies" "\"$SHA\"" "$(<"$T/k3")"
echo "ok - keep-alive after corked bodies"

# A range at an unaligned offset deep into the unpopulated mapping.
CODE=$(ota_curl VIN1 -r 12345678-19999999 "$URL" -o "$T/r" -w '%{http_code}')
check_eq "unaligned range status" 206 "$CODE"
dd if="$ART" iflag=skip_bytes,count_bytes skip=12345678 count=$((19999999 - 12345678 + 1)) \
    bs=1M status=none | cmp -s - "$T/r" || fail "unaligned range body differs"
echo "ok - unaligned range byte-exact"

# Four at once, all byte-exact.
pids=()
for i in 1 2 3 4; do
    ota_curl VIN1 "$URL" -o "$T/p$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || fail "parallel download failed"
done
for i in 1 2 3 4; do
    cmp -s "$ART" "$T/p$i" || fail "parallel download $i differs"
done
echo "ok - 4 parallel downloads byte-exact"
check_eq "mapped bytes after 7 more downloads: still one mapping" "$(stat -c %s "$ART")" "$(mapped)"
ota_stop "$SERVER_PID"
