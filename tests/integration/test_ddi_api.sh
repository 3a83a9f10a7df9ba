#!/bin/bash
# test_ddi_api.sh: the hawkBit DDI endpoints with curl over mTLS: poll shape, identity
# and tenant checks, deploymentBase, softwaremodules downloads (.MD5SUM, HEAD, Range,
# ETag), feedback answers (200/400/404/410/413), configData and cancelAction.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

ota_setup "[server]" "poll_after = 90"
ota_client_cert VIN1
ota_client_cert VIN2
ota_edge_cert EDGE1
ota_admin vehicle add VIN1 >/dev/null
ota_admin vehicle add VIN2 >/dev/null
ota_admin edge add EDGE1 >/dev/null
head -c 300000 /dev/urandom >"$T/fw.swu"
SHA=$(ota_admin artifact upload "$T/fw.swu" --version 3.1)
MD5=$(md5sum "$T/fw.swu" | cut -d' ' -f1)
SHA1=$(sha1sum "$T/fw.swu" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/fw.swu")
CID=$(ota_admin campaign create --name api1 --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server

B=/DEFAULT/controller/v1/VIN1
PUB=$SERVER_URL$B

# status NAME ARGS...: prints the HTTP status of an mTLS request
status()
{
    local name=$1
    shift
    ota_curl "$name" -o /dev/null -w '%{http_code}' "$@"
}

# ---- poll
POLL=$(ota_curl VIN1 "$B")
check_eq "poll sleep" "00:01:30" "$(jq -r .config.polling.sleep <<<"$POLL")"
DEP_HREF=$(jq -r ._links.deploymentBase.href <<<"$POLL")
check_contains "deploymentBase href is absolute" "$PUB/deploymentBase/" "$DEP_HREF"
check_contains "deploymentBase href has ?c=" "?c=" "$DEP_HREF"
check_eq "configData linked before attributes are known" "$PUB/configData" \
    "$(jq -r ._links.configData.href <<<"$POLL")"
check_eq "tenant is case-insensitive" 200 "$(status VIN1 /default/controller/v1/VIN1)"
check_eq "HEAD poll" 200 "$(status VIN1 -I "$B")"

# ---- identity, tenant, edges, methods
check_eq "controllerId of another vehicle" 403 "$(status VIN2 "$B")"
check_eq "unknown tenant" 404 "$(status VIN1 /OTHER/controller/v1/VIN1)"
check_eq "edge on DDI" 403 "$(status EDGE1 "$B")"
check_eq "no certificate" 401 "$(status - "$B")"
check_eq "unknown DDI resource" 404 "$(status VIN1 "$B/nothing")"
check_eq "DELETE on DDI" 405 "$(status VIN1 -X DELETE "$B")"
check_eq "POST on the poll" 405 "$(status VIN1 -X POST --data '{}' "$B")"
check_eq "native API still 405s" 405 "$(status VIN1 -X PUT --data '{}' /v1/status)"

# ---- deploymentBase
ACTION=$(sed -E 's|.*/deploymentBase/([0-9]+).*|\1|' <<<"$DEP_HREF")
DEP=$(ota_curl VIN1 "$DEP_HREF")
check_eq "action id is numeric text" "$ACTION" "$(jq -r .id <<<"$DEP")"
ART=$(jq -c '.deployment.chunks[0].artifacts[0]' <<<"$DEP")
check_eq "artifact filename" "fw.swu" "$(jq -r .filename <<<"$ART")"
check_eq "sha1" "$SHA1" "$(jq -r .hashes.sha1 <<<"$ART")"
check_eq "md5" "$MD5" "$(jq -r .hashes.md5 <<<"$ART")"
check_eq "sha256" "$SHA" "$(jq -r .hashes.sha256 <<<"$ART")"
check_eq "size is a number" "number $SIZE" "$(jq -r '.size | "\(type) \(.)"' <<<"$ART")"
check_eq "chunk version" "3.1" "$(jq -r '.deployment.chunks[0].version' <<<"$DEP")"
DL=$(jq -r ._links.download.href <<<"$ART")
check_eq "download href" "$PUB/softwaremodules/$CID/artifacts/fw.swu" "$DL"
check_eq "md5sum href" "$DL.MD5SUM" "$(jq -r ._links.md5sum.href <<<"$ART")"
check_eq "other vehicle's deploymentBase" 404 "$(status VIN2 "/DEFAULT/controller/v1/VIN2/deploymentBase/$ACTION")"

# ---- softwaremodules artifact
ota_curl VIN1 "$DL" -o "$T/got.swu"
cmp -s "$T/fw.swu" "$T/got.swu" || fail "downloaded artifact differs"
echo "ok - artifact download"
check_eq ".MD5SUM" "$MD5  fw.swu" "$(ota_curl VIN1 "$DL.MD5SUM")"
HDRS=$(ota_curl VIN1 -I "$DL")
check_contains "HEAD 200" "HTTP/1.1 200" "$HDRS"
check_contains "HEAD Content-Length" "Content-Length: $SIZE" "$HDRS"
check_contains "ETag" "\"$SHA\"" "$HDRS"
check_contains "Accept-Ranges" "Accept-Ranges: bytes" "$HDRS"
ota_curl VIN1 -H "Range: bytes=1000-" -D "$T/r.h" -o "$T/part" "$DL"
check_contains "bare Range bytes=N- gives 206" "HTTP/1.1 206" "$(cat "$T/r.h")"
check_contains "Content-Range" "Content-Range: bytes 1000-$((SIZE - 1))/$SIZE" "$(cat "$T/r.h")"
cmp -s "$T/part" <(tail -c +1001 "$T/fw.swu") || fail "206 body is not the file's tail"
echo "ok - 206 body"
check_eq "If-None-Match 304" 304 "$(status VIN1 -H "If-None-Match: \"$SHA\"" "$DL")"
check_eq "wrong file name" 404 "$(status VIN1 "$B/softwaremodules/$CID/artifacts/fw.bin")"
check_eq "unknown module" 404 "$(status VIN1 "$B/softwaremodules/999/artifacts/fw.swu")"
check_eq "other vehicle's module" 404 \
    "$(status VIN2 "/DEFAULT/controller/v1/VIN2/softwaremodules/$CID/artifacts/fw.swu")"

# ---- feedback
FB="$B/deploymentBase/$ACTION/feedback"
post()
{
    status VIN1 -X POST -H 'Content-Type: application/json' --data-binary "$2" "$1"
}
check_eq "feedback proceeding 200" 200 \
    "$(post "$FB" '{"id":"'"$ACTION"'","status":{"execution":"proceeding","result":{"finished":"none","progress":{"cnt":1,"of":2}},"details":["downloading"]},"extra":1}')"
check_eq "feedback bad type 400" 400 "$(post "$FB" '{"status":{"execution":5}}')"
check_eq "feedback not JSON 400" 400 "$(post "$FB" 'nope')"
head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big"
check_eq "feedback too large 413" 413 \
    "$(status VIN1 -X POST -H 'Content-Type: application/json' --data-binary "@$T/big" "$FB")"
check_eq "feedback on an unknown action" 404 "$(post "$B/deploymentBase/999/feedback" '{"status":{"execution":"proceeding"}}')"
state()
{
    ota_admin campaign show "$CID" --vehicles --json | jq -r '.deployments[] | select(.vehicle=="VIN1") | .state'
}
check_eq "proceeding -> downloading" downloading "$(state)"
check_eq "downloaded" 200 "$(post "$FB" '{"status":{"execution":"downloaded"}}')"
check_eq "-> downloaded" downloaded "$(state)"

# configData: stored as attributes, its "closed" closes nothing, the link goes away
check_eq "configData PUT 200" 200 \
    "$(status VIN1 -X PUT -H 'Content-Type: application/json' --data-binary \
        '{"id":"","status":{"execution":"closed","result":{"finished":"success"}},"data":{"hwRevision":"2","vin":"VIN1"}}' \
        "$B/configData")"
check_eq "configData bad type 400" 400 \
    "$(status VIN1 -X PUT --data-binary '{"data":{"a":1}}' "$B/configData")"
check_eq "attributes" '{"hwRevision":"2","vin":"VIN1"}' \
    "$(ota_admin vehicle show VIN1 --json | jq -c .attributes)"
check_eq "configData does not close the action" downloaded "$(state)"
check_eq "configData no longer linked" null "$(ota_curl VIN1 "$B" | jq -r ._links.configData)"

check_eq "closed success 200" 200 \
    "$(post "$FB" '{"status":{"execution":"closed","result":{"finished":"success"}}}')"
check_eq "-> installed" installed "$(state)"
check_eq "repeat of closed 200" 200 \
    "$(post "$FB" '{"status":{"execution":"closed","result":{"finished":"success"}}}')"
check_eq "feedback after the end 410" 410 "$(post "$FB" '{"status":{"execution":"proceeding"}}')"
check_eq "nothing offered after install" null "$(ota_curl VIN1 "$B" | jq -r ._links.deploymentBase)"

# ---- cancelAction
CID2=$(ota_admin campaign create --name api2 --artifact "$SHA" --vehicles VIN2)
ota_admin campaign start "$CID2" >/dev/null
B2=/DEFAULT/controller/v1/VIN2
A2=$(ota_curl VIN2 "$B2" | jq -r ._links.deploymentBase.href | sed -E 's|.*/deploymentBase/([0-9]+).*|\1|')
ota_admin campaign cancel "$CID2" >/dev/null
CAN=$(ota_curl VIN2 "$B2" | jq -r ._links.cancelAction.href)
check_eq "cancelAction link" "$SERVER_URL$B2/cancelAction/$A2" "$CAN"
check_eq "cancelAction body" "{\"id\":\"$A2\",\"cancelAction\":{\"stopId\":\"$A2\"}}" \
    "$(ota_curl VIN2 "$CAN" | jq -c .)"
check_eq "cancelled module not downloadable" 404 \
    "$(status VIN2 "$B2/softwaremodules/$CID2/artifacts/fw.swu")"
# hawkBit's "canceling": until the device acknowledges the cancel its feedback is taken
check_eq "deploymentBase feedback while canceling 200" 200 \
    "$(status VIN2 -X POST --data-binary '{"status":{"execution":"proceeding"}}' "$B2/deploymentBase/$A2/feedback")"
check_eq "cancel feedback 200" 200 \
    "$(status VIN2 -X POST --data-binary '{"id":'"$A2"',"status":{"execution":"closed","result":{"finished":"success"},"details":["cancellation acknowledged."]}}' "$CAN/feedback")"
check_eq "cancelAction gone from the poll" null "$(ota_curl VIN2 "$B2" | jq -r ._links.cancelAction)"
check_eq "deploymentBase feedback once the cancel is acknowledged 410" 410 \
    "$(status VIN2 -X POST --data-binary '{"status":{"execution":"proceeding"}}' "$B2/deploymentBase/$A2/feedback")"
NACK=$(ota_admin events --vehicle VIN2 --json | jq '[.events[] | select(.kind == "ddi.cancel_ack")] | length')
check_eq "cancel ack event" 1 "$NACK"
# ---- campaigns can target what devices reported: only VIN1 said hwRevision 2
AID=$(ota_admin campaign create --name by-attr --artifact "$SHA" --attr hwRevision=2)
ota_admin campaign start "$AID" >/dev/null
check_eq "attribute campaign targets" "VIN1" \
    "$(ota_admin campaign show "$AID" --vehicles --json | jq -r '[.deployments[].vehicle] | join(",")')"
NOMATCH=$(ota_admin campaign create --name by-attr2 --artifact "$SHA" --attr hwRevision=9)
rc=0
ota_admin campaign start "$NOMATCH" >/dev/null 2>&1 || rc=$?
check_eq "attribute target with no match refused" 1 "$rc"
rc=0
ota_admin campaign create --name x --artifact "$SHA" --attr hwRevision >/dev/null 2>&1 || rc=$?
check_eq "bad --attr is a usage error" 2 "$rc"
echo "ok - test_ddi_api"
