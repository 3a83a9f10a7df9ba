#!/usr/bin/env bash
# Stock SWUpdate (suricatta) behind the nginx edge of deploy/cdn/: it polls ota-server's
# DDI API, whose download link points at the edge (content-addressed, with its token),
# downloads the .swu there with its own client certificate, installs it, and its feedback
# reaches the origin. The origin serves the bytes to the edge only, never to the vehicle.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cdn_lib.sh"
# shellcheck source=swupdate/swupdate_lib.sh
source "$(dirname "$0")/swupdate/swupdate_lib.sh"

SWU=$OTA_SRC/tests/integration/swupdate
swupdate_check
cdn_prepare
ota_setup "${CDN_CONF[@]}" "[server]" "poll_after = 2"
ota_client_cert VIN1 >/dev/null
ota_admin vehicle add VIN1 >/dev/null
mkdir -p "$T/installed" "$T/img"
"$SWU/mkswu.sh" signer "$T/signer"
head -c $((3 << 20)) /dev/urandom >"$T/img/payload.bin"
"$SWU/mkswu.sh" build "$T/img/update.swu" "$T/img/payload.bin" "$T/installed/payload.bin" \
    "$T/signer" 1.0.0
SHA=$(ota_admin artifact upload "$T/img/update.swu" --version 1.0.0)
CID=$(ota_admin campaign create --name swu-cdn --artifact "$SHA" --vehicles VIN1)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
cdn_start_edge

swupdate_config VIN1 "$SERVER_URL"
swupdate_run swupdate
installed_ok()
{
    cmp -s "$T/img/payload.bin" "$T/installed/payload.bin"
}
wait_until 60 installed_ok || {
    ota_log_tail "$T/swupdate.log"
    ota_log_tail "$T/edge/access.log"
    fail "the payload was not installed through the edge"
}
echo "ok - SWUpdate installed the .swu downloaded through the edge"
state_is()
{
    [[ $(ota_admin campaign show "$CID" --vehicles --json | jq -r '.deployments[0].state') == "$1" ]]
}
wait_until 20 state_is installing || fail "its feedback did not reach the origin"
echo "ok - its feedback reached the origin (installing, awaiting the confirm)"
swupdate_stop

grep -E "CN=VIN1.* \"/v1/artifacts/$SHA\?md5=[^ ]*\" 200 " "$T/edge/access.log" >/dev/null ||
    fail "no GET of the tokened edge link by VIN1 in the edge's log: $(cat "$T/edge/access.log")"
echo "ok - the edge served VIN1 the tokened content-addressed link"
if grep -q "softwaremodules/.*/artifacts/" "$T/server.log"; then
    fail "the vehicle fetched the artifact from the origin"
fi
grep -qE " GET /v1/artifacts/$SHA 20[06] [0-9]+ [0-9.]+ $CDN_EDGE_NAME" "$T/server.log" ||
    fail "the origin did not serve the edge: $(grep /v1/artifacts "$T/server.log")"
echo "ok - the origin served the bytes to the edge ($CDN_EDGE_NAME) only"
