#!/usr/bin/env bash
# The operator dashboard (#16) in a real browser: Debian's headless chromium, driven by
# puppeteer-core (tests/npm, pinned in its lockfile), loads the admin listener's page
# while a staged campaign runs with real vehicles. What the page shows (counts by state,
# stages, failure reasons, installed versions, bytes served) matches `campaign show
# --json` and the server's own figures, and it moves when vehicles report. The page
# requests nothing outside its origin and logs no error (its Content-Security-Policy
# allows that origin only). The JSON API answers bad parameters with a 400 JSON error.
# The screenshot goes to the build's meson-logs/dashboard.png.
source "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || fail "chromium is not installed (deploy/install-deps.sh installs it)"
NPM=$OTA_SRC/tests/npm/node_modules
[[ -d $NPM/puppeteer-core ]] || fail "puppeteer-core is not installed (tests/npm/install.sh)"

ota_setup
VEHICLES=(D01 D02 D03 D04 D05 D06 D07 D08 D09 D10 D11 D12)
ota_fleet "${VEHICLES[@]}"
head -c 200000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
CID=$(ota_admin campaign create --name dashboard --artifact "$SHA" --all --stages 4,100% --success 75%)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
A=http://127.0.0.1:$ADMIN_PORT

# ---- the JSON API's refusals: 400 with a JSON error naming the parameter
api()
{
    curl -s -o "$T/api.out" -w '%{http_code} %{content_type}' "$A$1"
}
for bad in "/api/v1/campaigns/abc" "/api/v1/campaigns/0" "/api/v1/campaigns?state=bogus" \
    "/api/v1/campaigns?limit=5" "/api/v1/campaigns/$CID?points=1" \
    "/api/v1/campaigns/$CID?points=501" "/api/v1/campaigns/$CID?points=2&points=3" \
    "/api/v1/fleet?x" "/api/v1/traffic?since=1"; do
    check_eq "GET $bad" "400 application/json" "$(api "$bad")"
    check_eq "GET $bad: error" bad_request "$(jq -r .error "$T/api.out")"
    [[ $(jq -r .message "$T/api.out") != "" ]] || fail "GET $bad: no message"
done
check_eq "unknown campaign" "404 application/json" "$(api /api/v1/campaigns/999)"
check_eq "unknown API path" "404 application/json" "$(api /api/v1/vehicles)"
check_eq "POST is refused" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$A/api/v1/fleet")"
check_eq "the page" "200 text/html; charset=utf-8" "$(api /)"
check_contains "the page's Content-Security-Policy: its own origin only" \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'" \
    "$(curl -sI "$A/")"

# stage-1 vehicles, from the campaign itself (the order is a hash of the campaign id)
mapfile -t STAGE1 < <(ota_admin campaign show "$CID" --vehicles --json |
    jq -r '.deployments[] | select(.stage == 1) | .vehicle')
mapfile -t STAGE2 < <(ota_admin campaign show "$CID" --vehicles --json |
    jq -r '.deployments[] | select(.stage == 2) | .vehicle')
check_eq "stage 1 holds 4" 4 "${#STAGE1[@]}"
install()
{
    local v
    for v in "$@"; do
        ota_vehicle_once "$v" --timeout 60 --fail-ids "${STAGE1[3]}" --fail-reason "flash write error (test)"
    done
}
install "${STAGE1[@]}" # 3 installed, 1 failed: 75% opens stage 2

# compare N: what the page showed (pageN.json) against campaign show --json now
compare()
{
    local page=$T/page$1.json show
    show=$(ota_admin campaign show "$CID" --json)
    check_eq "page $1: no console error or CSP violation" "[]" "$(jq -c .errors "$page")"
    check_eq "page $1: requests only to its origin" "" \
        "$(jq -r --arg a "$A/" '.requests[] | select(startswith($a) | not)' "$page")"
    check_eq "page $1: counts match campaign show --json" "$(jq -cS .counts <<<"$show")" \
        "$(jq -cS .page.counts "$page")"
    check_eq "page $1: deployments" "$(jq .deployments <<<"$show")" "$(jq .page.deployments "$page")"
    check_eq "page $1: state" "$(jq -r .state <<<"$show")" "$(jq -r .page.state "$page")"
    check_eq "page $1: failure reasons" "$(jq -c '[.failures[] | [(.count | tostring), .detail]]' <<<"$show")" \
        "$(jq -c .page.failures "$page")"
    check_eq "page $1: stages (vehicles, installed, failed)" \
        "$(jq -c '[.rollout.stages[] | [(.stage|tostring), (if .open then "open" else "waiting" end), (.size|tostring), (.counts.installed|tostring), (.counts.failed|tostring)]]' <<<"$show")" \
        "$(jq -c '[.page.stages[] | .[0:5]]' "$page")"
    check_eq "page $1: fleet" 12 "$(jq .page.fleet_total "$page")"
    check_eq "page $1: installed versions" \
        "$(ota_admin vehicle list --json | jq -c '[.vehicles | group_by(.installed_version)[] | [.[0].installed_version, length]] | sort_by(-.[1], .[0])')" \
        "$(jq -c .page.versions "$page")"
    check_eq "page $1: the chart" 2 "$(jq .page.chart_points "$page")"
}

ota_spawn browser env OTA_NPM="$NPM" node "$OTA_SRC/tests/integration/dashboard_browser.mjs" \
    "$A/?refresh_ms=300#campaign=$CID" "$T"
BROWSER=$SPAWN_PID
wait_until 45 test -s "$T/page1.json" || { ota_log_tail "$T/browser.log"; fail "the browser did not read the page"; }
compare 1
check_eq "page 1: installed" 3 "$(jq .page.counts.installed "$T/page1.json")"
served=$(jq .page.bytes_served "$T/page1.json")
((served >= 4 * 200000)) || fail "page 1: bytes served $served, 4 downloads of 200000 at least"
echo "ok - page 1: bytes served $served"

install "${STAGE2[@]:0:4}"
touch "$T/go"
_ota_wait_exit "$BROWSER" 60 || { ota_log_tail "$T/browser.log"; fail "the browser failed"; }
unset "_ota_names[$BROWSER]"
compare 2
check_eq "page 2: the numbers moved" 7 "$(jq .page.counts.installed "$T/page2.json")"
served2=$(jq .page.bytes_served "$T/page2.json")
((served2 >= served + 4 * 200000)) || fail "page 2: bytes served $served2 did not grow by the 4 downloads"
echo "ok - page 2: the page followed the campaign (installed 3 -> 7, bytes $served -> $served2)"
# ---- /metrics: the campaign's deployments by state while it is not finished
M=$(curl -s "$A/metrics")
for st in installed failed pending; do
    check_contains "/metrics: $st of campaign $CID" \
        "ota_campaign_deployments{campaign=\"$CID\",name=\"dashboard\",state=\"$st\"} $(jq ".counts.$st" <<<"$(ota_admin campaign show "$CID" --json)")" "$M"
done
check_contains "/metrics: the series were read" "ota_campaign_series_up 1" "$M"
ota_admin campaign cancel "$CID" >/dev/null
check_eq "/metrics: an ended campaign has no series" "" \
    "$(curl -s "$A/metrics" | grep "^ota_campaign_deployments{" || true)"
cp "$T/dashboard.png" "$OTA_BUILD/meson-logs/dashboard.png"
echo "ok - screenshot: $OTA_BUILD/meson-logs/dashboard.png"
