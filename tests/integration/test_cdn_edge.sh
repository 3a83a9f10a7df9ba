#!/usr/bin/env bash
# Behind the nginx edge of deploy/cdn/ (stock nginx, secure_link, slice, proxy_cache_lock),
# with [cdn] token = nginx:
# - the origin hands out absolute links at the edge (GET /v1/updates, the MQTT update
#   message, DDI download and md5sum hrefs), each with the vehicle's token;
# - the edge refuses, without calling the origin, a forged token, an expired one, another
#   vehicle's, another artifact's, a request without a token and one without a certificate,
#   and so whoever the origin refuses (unregistered, revoked, not in a campaign, cancelled)
#   gets no link that works;
# - a fleet of ota-vehicle downloads through it, some cut and resumed, all verify; the
#   origin sends each slice about once (its access log), and the offload is printed;
# - a vehicle whose link expires mid-download gets a fresh one and finishes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cdn_lib.sh"
source "$(dirname "$0")/notifier_lib.sh"

cdn_prepare
ota_setup "${CDN_CONF[@]}" "token_ttl = 8" "[server]" "poll_after = 2"
size=$((20 << 20)) # three 8 MiB slices
head -c "$size" /dev/urandom >"$T/fw.bin"
A=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
head -c 4096 /dev/urandom >"$T/other.bin"
B=$(ota_admin artifact upload "$T/other.bin" --version 1.0 --name other.bin)
FLEET=8
fleet_ids=()
for ((i = 1; i <= FLEET; i++)); do
    fleet_ids+=("$(printf 'FLT%03d' "$i")")
done
for v in VIN1 VIN2 NOCAMPAIGN REVOKED CANCELLED EXP1 "${fleet_ids[@]}"; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
ota_client_cert UNREGISTERED >/dev/null
C=$(ota_admin campaign create --name edge --artifact "$A" --vehicles VIN1,VIN2,REVOKED)
ota_admin campaign start "$C" >/dev/null
CF=$(ota_admin campaign create --name fleet --artifact "$A" --vehicles "$(IFS=,; echo "${fleet_ids[*]},EXP1")")
ota_admin campaign start "$CF" >/dev/null
CX=$(ota_admin campaign create --name cancelled --artifact "$B" --vehicles CANCELLED)
ota_admin campaign start "$CX" >/dev/null
ota_start_server
cdn_start_edge

# ---- the links the origin hands out
link_of() # VEHICLE: artifact.url of its /v1/updates answer
{
    ota_curl "$1" "/v1/updates" | jq -r .artifact.url
}
L1=$(link_of VIN1)
L2=$(link_of VIN2)
[[ $L1 =~ ^$EDGE_URL/v1/artifacts/$A\?md5=[A-Za-z0-9_-]{22}\&expires=[0-9]+$ ]] ||
    fail "VIN1's link is not a tokened edge link: $L1"
[[ $L1 != "$L2" ]] || fail "two vehicles got the same link"
echo "ok - /v1/updates links to the edge with the vehicle's token"
# the answer's ETag stays while the link does (idle polls stay 304); a half-period
# boundary between the two requests changes the link, so three tries
code=0
for try in 1 2 3; do
    etag=$(ota_curl VIN1 -D - -o /dev/null "/v1/updates" | tr -d '\r' | awk 'tolower($1)=="etag:" {print $2}')
    code=$(ota_curl VIN1 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" /v1/updates)
    [[ $code != 304 ]] || break
done
check_eq "a poll with the ETag, same half-period" 304 "$code"
# hawkBit DDI: the download and md5sum hrefs are the same content-addressed edge links
base=/DEFAULT/controller/v1/VIN1
action=$(ota_curl VIN1 "$base" | jq -r '._links.deploymentBase.href' | sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')
ota_curl VIN1 "$base/deploymentBase/$action" >"$T/ddi.json"
dl=$(jq -r '.deployment.chunks[0].artifacts[0]._links.download.href' "$T/ddi.json")
md5=$(jq -r '.deployment.chunks[0].artifacts[0]._links.md5sum.href' "$T/ddi.json")
[[ $dl =~ ^$EDGE_URL/v1/artifacts/$A\?md5= ]] || fail "DDI download href is not at the edge: $dl"
[[ $md5 =~ ^$EDGE_URL/v1/artifacts/$A.MD5SUM\?md5= ]] || fail "DDI md5sum href is not at the edge: $md5"
check_eq "the DDI md5sum file through the edge" "$(md5sum "$T/fw.bin" | cut -d' ' -f1)  fw.bin" \
    "$(ota_curl_edge VIN1 "$md5")"
echo "ok - DDI download and md5sum hrefs are edge links, and the md5sum file is served"

# MQTT: the notifier publishes each vehicle's own edge link (the stored message has the
# origin path; the link is made as it is published), and it works at the edge
ota_start_broker
ota_start_notifier
msg_of() # VEHICLE: its retained update message
{
    ntf_sub -t "ota/v1/vehicles/$1/update" --retained-only -W 2 -C 1
}
wait_until 10 test -n "$(msg_of FLT001)" || fail "no retained update message for FLT001"
M=$(msg_of FLT001 | jq -r .artifact.url)
[[ $M =~ ^$EDGE_URL/v1/artifacts/$A\?md5=[A-Za-z0-9_-]{22}\&expires=[0-9]+$ ]] ||
    fail "FLT001's MQTT message does not carry an edge link: $M"
[[ $M != "$(msg_of FLT002 | jq -r .artifact.url)" ]] || fail "two vehicles' messages share a link"
check_contains "the stored message keeps the origin path" "\"url\":\"/v1/artifacts/$A\"" \
    "$(ota_admin outbox list --vehicle FLT001 --json | jq -r '.outbox[0].payload')"
check_eq "FLT001's MQTT link at the edge" 206 \
    "$(ota_curl_edge FLT001 -o /dev/null -w '%{http_code}' -r 0-0 "$M")"
echo "ok - the MQTT update message carries the vehicle's own edge link"
ota_stop "$NOTIFIER_PID"
ota_stop "$BROKER_PID"

# ---- refused at the edge, the origin never asked
origin_artifact_lines()
{
    grep -c " /v1/artifacts/" "$T/server.log" || true
}
edge_code() # NAME URL: HTTP status of a HEAD-less GET (first byte only) at the edge
{
    ota_curl_edge "$1" -o /dev/null -w '%{http_code}' -r 0-0 "$2"
}
check_eq "VIN1 with its own link" 206 "$(edge_code VIN1 "$L1")"
wait_until 5 test "$(origin_artifact_lines)" -ge 1 || fail "the origin did not see the first fetch"
before=$(origin_artifact_lines)
forged=$(sed -E 's/md5=[A-Za-z0-9_-]{4}/md5=AAAA/' <<<"$L1")
check_eq "forged token" 403 "$(edge_code VIN1 "$forged")"
expired=$(ota_admin cdn link "$A" --vehicle VIN1 --expires @$(($(date +%s) - 10)))
check_eq "expired token" 410 "$(edge_code VIN1 "$expired")"
check_eq "another vehicle's link (VIN2 uses VIN1's)" 403 "$(edge_code VIN2 "$L1")"
other=$(sed "s|/v1/artifacts/$A|/v1/artifacts/$B|" <<<"$L1")
check_eq "another artifact with VIN1's token" 403 "$(edge_code VIN1 "$other")"
check_eq "no token" 403 "$(edge_code VIN1 "$EDGE_URL/v1/artifacts/$A")"
check_eq "no certificate" 400 "$(edge_code - "$L1")"
check_eq "unregistered certificate with VIN1's link" 403 "$(edge_code UNREGISTERED "$L1")"
check_eq "a registered vehicle in no campaign with VIN1's link" 403 "$(edge_code NOCAMPAIGN "$L1")"
check_eq "NOCAMPAIGN gets no link" 204 "$(ota_curl NOCAMPAIGN -o /dev/null -w '%{http_code}' /v1/updates)"
ota_admin vehicle revoke REVOKED >/dev/null
check_eq "a revoked vehicle gets no link" 403 "$(ota_curl REVOKED -o /dev/null -w '%{http_code}' /v1/updates)"
ota_admin campaign cancel "$CX" >/dev/null
check_eq "a cancelled vehicle gets no link" 204 "$(ota_curl CANCELLED -o /dev/null -w '%{http_code}' /v1/updates)"
check_eq "not an artifact path" 404 "$(edge_code VIN1 "$EDGE_URL/v1/updates")"
check_eq "the origin saw none of the refused requests" "$before" "$(origin_artifact_lines)"

# ---- a fleet through the edge: half cut half way and resumed, every byte verified
origin_bytes() # bytes the origin sent for artifact A (all to the edge)
{
    awk -v p="/v1/artifacts/$A" '$3 == p && ($4 == 200 || $4 == 206) { s += $5 } END { print s + 0 }' "$T/server.log"
}
origin_fetches()
{
    awk -v p="/v1/artifacts/$A" '$3 == p && ($4 == 200 || $4 == 206) { n++ } END { print n + 0 }' "$T/server.log"
}
fleet_run() # NAME FIRST COUNT [options]
{
    local name=$1 first=$2 count=$3
    shift 3
    ota_spawn "$name" timeout 170 "$OTA_VEHICLE" --server "$SERVER_URL" --cacert "$T/pki/ca.crt" \
        --pubkey "$T/keys/ota.pub" --dir "$T/$name" --fleet "$count" --fleet-certs "$T/pki" \
        --fleet-ids 'FLT%03d' --fleet-first "$first" --parallel 4 --poll-interval 0.2 \
        --timeout 120 --once "$@"
}
fleet_run cut 1 $((FLEET / 2)) --cut-after $((size / 2 + 12345)) --cuts 1
cut_pid=$SPAWN_PID
fleet_run whole $((FLEET / 2 + 1)) $((FLEET / 2))
whole_pid=$SPAWN_PID
delivered=0
for name in cut whole; do
    pid=cut_pid
    [[ $name == cut ]] || pid=whole_pid
    rc=0
    wait "${!pid}" || rc=$?
    unset "_ota_names[${!pid}]"
    [[ $rc -eq 0 ]] || { ota_log_tail "$T/$name.log"; fail "fleet $name exited $rc"; }
    summary=$(grep '^done ' "$T/$name.log")
    [[ $summary =~ ^done\ $((FLEET / 2))\ failed\ 0\ bytes\ ([0-9]+) ]] ||
        fail "fleet $name: summary '$summary'"
    delivered=$((delivered + BASH_REMATCH[1]))
done
for id in "${fleet_ids[@]}"; do
    dir=$T/cut/$id
    [[ -d $dir ]] || dir=$T/whole/$id
    cmp -s "$T/fw.bin" "$dir/installed/fw.bin" || fail "$id: installed bytes differ"
done
echo "ok - $FLEET vehicles installed through the edge, every byte verified"
n=$(grep -c "resuming" "$T/cut.log" || true)
[[ $n -ge $((FLEET / 2)) ]] || fail "only $n of the cut downloads resumed"
grep -E "CN=FLT001.* \"/v1/artifacts/$A\?md5=[^ ]*\" 206 " "$T/edge/access.log" >/dev/null ||
    fail "no resumed (206) request of FLT001 at the edge"
echo "ok - the cut downloads resumed at the edge (206)"
if grep -qE " /v1/artifacts/$A [0-9]+ [0-9]+ [0-9.]+ FLT" "$T/server.log"; then
    fail "a fleet vehicle fetched the artifact from the origin"
fi
fetches=$(origin_fetches) sent=$(origin_bytes) slices=$(((size + (8 << 20) - 1) / (8 << 20)))
echo "origin: $fetches fetches, $sent bytes for $slices slices of a $size-byte artifact"
[[ $fetches -le $((2 * slices)) && $sent -le $((size + size / 2)) ]] ||
    fail "the origin sent $sent bytes in $fetches fetches: slices are not fetched about once"
echo "ok - each slice fetched about once from the origin ($fetches fetches, $sent bytes)"
echo "offload: the origin sent $sent bytes for $delivered delivered: $(awk -v a="$sent" -v b="$delivered" 'BEGIN { printf "%.4f", a / b }') origin bytes per delivered byte"

# ---- a link that expires mid-download: the edge says 410, the vehicle asks the origin for
# a fresh link and finishes (token_ttl 8: links live 4 to 8 s; the download stalls 10 s
# half way, then is cut, and the resume meets the expired link)
ota_vehicle_once EXP1 --stall 10 --cut-after $((size * 6 / 10)) --cuts 1 --timeout 60
[[ $VRC -eq 0 ]] || { ota_log_tail "$T/EXP1.log"; fail "EXP1 exited $VRC"; }
cmp -s "$T/fw.bin" "$T/EXP1/installed/fw.bin" || fail "EXP1: installed bytes differ"
grep -qE "CN=EXP1.* 410 " "$T/edge/access.log" || fail "the edge never refused EXP1's expired link"
check_contains "EXP1 asked for a new link" "asking for a new one" "$(cat "$T/EXP1.log")"
check_contains "EXP1 resumed with it" "new download link; resuming" "$(cat "$T/EXP1.log")"
echo "ok - a link that expired mid-download was refreshed and the download finished"
ota_stop "$EDGE_PID"
ota_stop "$SERVER_PID"
