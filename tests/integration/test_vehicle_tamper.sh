#!/usr/bin/env bash
# ota-vehicle never installs what does not verify: a byte corrupted in transit, a wrong
# fleet public key, a signature whose trusted comment was changed (metadata mix-and-match)
# and an artifact changed in the store after signing each end in
# `failed` with the reason, the partial is deleted and what was installed before stays.
source "$(dirname "$0")/lib.sh"

# Every call names its fleet key (the wrong one in one case).
vehicle()
{
    OTA_VEHICLE_PUBKEY="" ota_vehicle_once "$@" --timeout 60
}
# deployment ID CAMPAIGN: "state|detail" of vehicle ID in CAMPAIGN.
deployment()
{
    ota_admin campaign show "$2" --vehicles --json |
        jq -r --arg v "$1" '.deployments[] | select(.vehicle == $v) | "\(.state)|\(.detail)"'
}
# expect_failed WHAT ID CAMPAIGN REASON: the vehicle exited 1 saying REASON, the server
# recorded failed with REASON, no partial is left and installed/fw.bin is still $T/v1.bin.
expect_failed()
{
    local what=$1 id=$2 cid=$3 reason=$4 got
    check_eq "$what: exit status" 1 "$VRC"
    check_contains "$what: vehicle says" "$reason" "$(cat "$T/$id.out")"
    got=$(deployment "$id" "$cid")
    check_eq "$what: deployment state" failed "${got%%|*}"
    check_contains "$what: detail recorded" "$reason" "${got#*|}"
    check_eq "$what: partial deleted" "" "$(ls "$T/$id/partial")"
    cmp -s "$T/v1.bin" "$T/$id/installed/fw.bin" || fail "$what: the installed v1 was touched"
    echo "ok - $what: v1 still installed"
}

ota_setup
for v in VIN1 VIN2 VIN3 VIN4; do
    ota_client_cert $v
    ota_admin vehicle add $v >/dev/null
done
# A second key pair: the "wrong" fleet public key.
mkdir -p "$T/otherkeys"
minisign -G -W -p "$T/otherkeys/ota.pub" -s "$T/otherkeys/ota.key" >/dev/null
[[ -s $T/otherkeys/ota.pub ]] || fail "could not make a second public key"

head -c 500000 /dev/urandom >"$T/v1.bin"
head -c 800000 /dev/urandom >"$T/v2.bin"
SHA1=$(ota_admin artifact upload "$T/v1.bin" --version 1.0 --name fw.bin)
SHA2=$(ota_admin artifact upload "$T/v2.bin" --version 2.0 --name fw.bin)
C1=$(ota_admin campaign create --name v1 --artifact "$SHA1" --vehicles VIN1,VIN2,VIN3,VIN4)
ota_admin campaign start "$C1" >/dev/null
ota_start_server

# Everyone gets v1 first, so there is something that must survive.
for v in VIN1 VIN2 VIN3 VIN4; do
    vehicle $v --pubkey "$T/keys/ota.pub"
    check_eq "$v v1 install" 0 "$VRC"
done
C2=$(ota_admin campaign create --name v2 --artifact "$SHA2" --vehicles VIN1,VIN2,VIN3,VIN4)
ota_admin campaign start "$C2" >/dev/null

# ---- a byte flipped in transit
vehicle VIN1 --pubkey "$T/keys/ota.pub" --corrupt-byte 123456
expect_failed "corrupt byte" VIN1 "$C2" "sha256 (download) mismatch"

# ---- the wrong fleet public key
vehicle VIN2 --pubkey "$T/otherkeys/ota.pub"
expect_failed "wrong public key" VIN2 "$C2" "signature"

# ---- the trusted comment rewritten in the stored signature: the global signature, which
# covers it, no longer verifies (restored afterwards for the next case)
sql_sig="UPDATE artifacts SET signature = replace(signature, 'version:%s', 'version:%s') WHERE sha256 = '$SHA2'"
# shellcheck disable=SC2059
sqlite3 "$T/ota.db" "$(printf "$sql_sig" 2.0 2.9)"
check_contains "trusted comment changed" "version:2.9" \
    "$(ota_admin artifact show "$SHA2" --json | jq -r .signature)"
vehicle VIN4 --pubkey "$T/keys/ota.pub"
expect_failed "changed trusted comment" VIN4 "$C2" "signature"
# shellcheck disable=SC2059
sqlite3 "$T/ota.db" "$(printf "$sql_sig" 2.9 2.0)"

# ---- the artifact changed in the store after it was signed
blob=$T/store/sha256/${SHA2:0:2}/$SHA2
[[ -f $blob ]] || fail "store layout: no $blob"
chmod u+w "$blob" 2>/dev/null || true
printf 'X' | dd of="$blob" bs=1 seek=1000 conv=notrunc status=none
vehicle VIN3 --pubkey "$T/keys/ota.pub"
expect_failed "altered in store" VIN3 "$C2" "mismatch"
ota_stop "$SERVER_PID"
