#!/usr/bin/env bash
# CDN tokens against the vendors' reference signers (tests/npm, pinned): for several
# vehicles, artifacts, paths and expiries, `ota-admin cdn link` equals byte for byte what
# akamai-edgeauth (generateACLToken, payload = vehicle) and @aws-sdk/cloudfront-signer
# (getSignedUrl, canned policy, RSA-SHA1) make from the same inputs; the nginx format is
# checked against its definition (MD5 over expiry, URI, vehicle id and secret, base64url).
# Bad [cdn] settings stop ota-server, ota-notifier and ota-admin naming the key.
source "$(dirname "$0")/lib.sh"

node_modules=$OTA_SRC/tests/npm/node_modules
[[ -d $node_modules/akamai-edgeauth && -d $node_modules/@aws-sdk/cloudfront-signer ]] ||
    fail "tests/npm is not installed: run tests/npm/install.sh (tests/run.sh does)"
export NODE_PATH=$node_modules

ota_setup
openssl rand -hex 32 >"$T/hex.key"
openssl genrsa -out "$T/cf.pem" 2048 2>/dev/null
base=https://d111111abcdef8.cloudfront.net
pair=K2JCJMDEHXQW5F

link() # TOKEN KEYFILE ARGS...: the link ota-admin makes
{
    local token=$1 key=$2
    shift 2
    ota_admin --set "cdn.base_url=$base" --set "cdn.token=$token" --set "cdn.key_file=$key" \
        --set "cdn.key_pair_id=$pair" cdn link "$@"
}

# the cases, one per line: vehicle path expiry; ours made by ota-admin, the references by
# one node (or python) process per format reading the same lines
cases=$T/cases
: >"$cases"
for vehicle in veh-1 WVWZZZ1JZXW000001 a.b_c-D9; do
    for sha in $(printf 'ab%.0s' {1..32}) $(head -c 32 /dev/urandom | sha256sum | cut -c1-64); do
        for suffix in "" .MD5SUM .minisig; do
            for exp in 1900000000 $(($(date +%s) + 3600)); do
                echo "$vehicle /v1/artifacts/$sha$suffix $exp" >>"$cases"
            done
        done
    done
done
for token in akamai cloudfront nginx; do
    key=$T/hex.key
    [[ $token != cloudfront ]] || key=$T/cf.pem
    while read -r vehicle path exp; do
        link "$token" "$key" "$path" --vehicle "$vehicle" --expires "@$exp"
    done <"$cases" >"$T/ours.$token"
done
node -e '
    const EdgeAuth = require("akamai-edgeauth");
    const fs = require("fs");
    const [key, base, cases] = process.argv.slice(1);
    for (const line of fs.readFileSync(cases, "utf8").trim().split("\n")) {
        const [vehicle, path, exp] = line.split(" ");
        const ea = new EdgeAuth({ key, endTime: Number(exp), payload: vehicle });
        console.log(base + path + "?__token__=" + ea.generateACLToken(path));
    }' "$(cat "$T/hex.key")" "$base" "$cases" >"$T/ref.akamai"
node -e '
    const { getSignedUrl } = require("@aws-sdk/cloudfront-signer");
    const fs = require("fs");
    const [pem, pair, base, cases] = process.argv.slice(1);
    const privateKey = fs.readFileSync(pem, "utf8");
    for (const line of fs.readFileSync(cases, "utf8").trim().split("\n")) {
        const [vehicle, path, exp] = line.split(" ");
        console.log(getSignedUrl({ url: base + path + "?vehicle=" + vehicle, keyPairId: pair,
            privateKey, dateLessThan: new Date(Number(exp) * 1000).toISOString() }));
    }' "$T/cf.pem" "$pair" "$base" "$cases" >"$T/ref.cloudfront"
python3 -c '
import base64, hashlib, sys
secret, base, cases = sys.argv[1:]
for line in open(cases):
    vehicle, path, exp = line.split()
    md5 = hashlib.md5(f"{exp}{path}{vehicle} {secret}".encode()).digest()
    print(f"{base}{path}?md5={base64.urlsafe_b64encode(md5).decode().rstrip(chr(61))}&expires={exp}")
' "$(cat "$T/hex.key")" "$base" "$cases" >"$T/ref.nginx"
n=0
for token in akamai cloudfront nginx; do
    [[ $(wc -l <"$T/ref.$token") -eq $(wc -l <"$cases") ]] || fail "$token: the reference made too few links"
    if ! diff "$T/ref.$token" "$T/ours.$token" >"$T/diff.$token"; then
        head -4 "$T/diff.$token" >&2
        fail "$token: links differ from the reference (above)"
    fi
    n=$((n + $(wc -l <"$cases")))
done
echo "ok - $n links equal the references (akamai-edgeauth, @aws-sdk/cloudfront-signer, nginx's definition)"

# an RFC 3339 expiry is the same instant as its epoch
sha=$(printf 'ab%.0s' {1..32})
check_eq "RFC 3339 --expires" "$(link akamai "$T/hex.key" "$sha" --vehicle v --expires @1924992000)" \
    "$(link akamai "$T/hex.key" "$sha" --vehicle v --expires 2031-01-01T00:00:00Z)"
# without --expires: the quantised expiry (a multiple of token_ttl/2, half to all of it ahead)
exp=$(ota_admin --set "cdn.base_url=$base" --set cdn.token=none --set cdn.token_ttl=600 \
    cdn link "$sha" --vehicle v --json | jq -r .expires)
now=$(date +%s)
[[ $((exp % 300)) -eq 0 && $((exp - now)) -ge 298 && $((exp - now)) -le 600 ]] ||
    fail "default expiry $exp is not a multiple of 300 between 300 and 600 s from $now"
echo "ok - the default expiry is quantised to half of token_ttl"

# ---- bad settings: each program stops naming the key
bad() # WHAT KEY PROGRAM ARGS...
{
    local what=$1 key=$2 rc=0
    shift 2
    timeout 10 "$@" >"$T/bad.out" 2>&1 || rc=$?
    check_eq "$what: exit code" 1 "$rc"
    check_contains "$what: names $key" "$key" "$(cat "$T/bad.out")"
}
cdn=(--set "cdn.base_url=$base")
bad "server, no token format" cdn.token "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}"
bad "server, unknown format" cdn.token "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=fastly
bad "server, http base" cdn.base_url "$OTA_SERVER" --config "$OTA_CONF" --set cdn.base_url=http://cdn.example --set cdn.token=none
bad "server, missing key" cdn.key_file "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=nginx --set "cdn.key_file=$T/none.key"
bad "server, key not hex" cdn.key_file "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=akamai --set "cdn.key_file=$T/cf.pem"
bad "server, cloudfront without key pair id" cdn.key_pair_id "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=cloudfront --set "cdn.key_file=$T/cf.pem"
bad "server, cloudfront key not RSA PEM" cdn.key_file "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=cloudfront --set "cdn.key_file=$T/hex.key" --set cdn.key_pair_id=K1
bad "server, ttl 0" cdn.token_ttl "$OTA_SERVER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=none --set cdn.token_ttl=0
bad "notifier, no token format" cdn.token "$OTA_NOTIFIER" --config "$OTA_CONF" "${cdn[@]}"
bad "notifier, missing key" cdn.key_file "$OTA_NOTIFIER" --config "$OTA_CONF" "${cdn[@]}" --set cdn.token=nginx --set "cdn.key_file=$T/none.key"
bad "admin, no token format" cdn.token "$OTA_ADMIN" --config "$OTA_CONF" "${cdn[@]}" cdn link "$sha" --vehicle v
ota_expect 1 "cdn link without base_url" ota_admin cdn link "$sha" --vehicle v
check_contains "cdn link without base_url: says so" "cdn.base_url is not set" "$ERRS"
ota_expect 2 "cdn link without --vehicle" ota_admin --set "cdn.base_url=$base" --set cdn.token=none cdn link "$sha"
ota_expect 2 "cdn link, bad vehicle id" ota_admin --set "cdn.base_url=$base" --set cdn.token=none cdn link "$sha" --vehicle "a b"
ota_expect 2 "cdn link, not a sha256" ota_admin --set "cdn.base_url=$base" --set cdn.token=none cdn link abc --vehicle v
ota_expect 2 "cdn link, bad --expires" ota_admin --set "cdn.base_url=$base" --set cdn.token=none cdn link "$sha" --vehicle v --expires tomorrow
ota_expect 1 "cdn link, path with a query" ota_admin --set "cdn.base_url=$base" --set cdn.token=none cdn link "/v1/x?y" --vehicle v
