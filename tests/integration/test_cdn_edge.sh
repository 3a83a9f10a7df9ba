#!/usr/bin/env bash
# Behind the nginx edge of deploy/cdn/ (stock nginx, secure_link, slice, proxy_cache_lock),
# with [cdn] token = nginx:
# - the origin hands out absolute links at the edge (GET /v1/updates, DDI download and
#   md5sum hrefs), each with the vehicle's token;
# - the edge refuses, without calling the origin, a forged token, an expired one, another
#   vehicle's, another artifact's, a request without a token and one without a certificate,
#   and so whoever the origin refuses (unregistered, revoked, not in a campaign, cancelled)
#   gets no link that works;
# - a fleet of ota-vehicle downloads through it, some cut and resumed, all verify; the
#   origin sends each slice about once (its access log), and the offload is printed;
# - a vehicle whose link expires mid-download gets a fresh one and finishes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cdn_lib.sh"

cdn_prepare
ota_setup "${CDN_CONF[@]}" "token_ttl = 8" "[server]" "poll_after = 2"
size=$((20 << 20)) # three 8 MiB slices
head -c "$size" /dev/urandom >"$T/fw.bin"
A=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
head -c 4096 /dev/urandom >"$T/other.bin"
B=$(ota_admin artifact upload "$T/other.bin" --version 1.0 --name other.bin)
for v in VIN1 VIN2 NOCAMPAIGN REVOKED CANCELLED; do
    ota_client_cert "$v" >/dev/null
    ota_admin vehicle add "$v" >/dev/null
done
ota_client_cert UNREGISTERED >/dev/null
C=$(ota_admin campaign create --name edge --artifact "$A" --vehicles VIN1,VIN2,REVOKED)
ota_admin campaign start "$C" >/dev/null
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
