#!/usr/bin/env bash
# ota-vehicle resumes interrupted downloads with Range + If-Range: connections cut several
# times (at fixed and at random points) still give the right bytes, and the access log
# shows 206 resumes, not restarts;
# a vehicle stopped mid-download resumes from its partial file after a restart.
source "$(dirname "$0")/lib.sh"

# count_log PATTERN: access-log lines matching PATTERN (grep -E).
count_log()
{
    grep -cE "$1" "$T/server.log" || true
}

ota_setup
for v in VIN1 VIN2 VIN3 VIN4 VIN5; do
    ota_client_cert $v
    ota_admin vehicle add $v >/dev/null
done
SIZE=3000000
head -c $SIZE /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 1.0 --name fw.bin)
CID=$(ota_admin campaign create --name resume --artifact "$SHA" --vehicles VIN1,VIN2,VIN3,VIN4,VIN5)
ota_admin campaign start "$CID" >/dev/null
ota_start_server

# ---- cut after 400000 bytes of each of the first 5 attempts
ota_vehicle_once VIN1 --timeout 90 --cut-after 400000 --cuts 5
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN1.log"
check_eq "cut: exit status" 0 "$VRC"
cmp -s "$T/fw.bin" "$T/VIN1/installed/fw.bin" || fail "cut: installed bytes differ"
echo "ok - cut: installed bytes match"
check_eq "cut: full downloads" 1 "$(count_log "GET /v1/artifacts/$SHA 200 [0-9]+ [0-9.]+ VIN1( |\$)")"
r206=$(count_log "GET /v1/artifacts/$SHA 206 [0-9]+ [0-9.]+ VIN1( |\$)")
check_eq "cut: 206 resumes" 5 "$r206"
check_eq "cut: interruptions logged" 5 "$(grep -c 'download interrupted' "$T/VIN1.log" || true)"
check_eq "cut: deployment" installed \
    "$(ota_admin campaign show "$CID" --vehicles --json | jq -r '.deployments[] | select(.vehicle == "VIN1") | .state')"

# ---- random cut points: each vehicle is cut 4 times, every K bytes for a random K
for v in VIN3 VIN4 VIN5; do
    k=$((50000 + (RANDOM * 32768 + RANDOM) % 650000))
    ota_vehicle_once $v --timeout 90 --cut-after $k --cuts 4
    [[ $VRC -eq 0 ]] || ota_log_tail "$T/$v.log"
    check_eq "random cut $k: exit status" 0 "$VRC"
    cmp -s "$T/fw.bin" "$T/$v/installed/fw.bin" || fail "random cut $k: installed bytes differ"
    check_eq "random cut $k: full downloads" 1 \
        "$(count_log "GET /v1/artifacts/$SHA 200 [0-9]+ [0-9.]+ $v( |\$)")"
    check_eq "random cut $k: 206 resumes" 4 \
        "$(count_log "GET /v1/artifacts/$SHA 206 [0-9]+ [0-9.]+ $v( |\$)")"
done

# ---- stop mid-download (stall at half, --timeout), then a new process resumes
ota_vehicle_once VIN2 --timeout 3 --stall 30
check_eq "stopped: exit status" 3 "$VRC"
part=$T/VIN2/partial/$SHA.part
[[ -s $part ]] || fail "stopped: no partial file $part"
have=$(stat -c %s "$part")
((have > 0 && have < SIZE)) || fail "stopped: partial has $have bytes, want 0 < n < $SIZE"
echo "ok - stopped with $have of $SIZE bytes on disk"
check_eq "stopped: deployment" downloading \
    "$(ota_admin campaign show "$CID" --vehicles --json | jq -r '.deployments[] | select(.vehicle == "VIN2") | .state')"
ota_vehicle_once VIN2 --timeout 60
[[ $VRC -eq 0 ]] || ota_log_tail "$T/VIN2.log"
check_eq "restarted: exit status" 0 "$VRC"
cmp -s "$T/fw.bin" "$T/VIN2/installed/fw.bin" || fail "restarted: installed bytes differ"
echo "ok - restarted: installed bytes match"
check_contains "restarted: resumed from disk" "resuming from $have bytes" "$(cat "$T/VIN2.log")"
check_eq "restarted: one 206" 1 "$(count_log "GET /v1/artifacts/$SHA 206 [0-9]+ [0-9.]+ VIN2( |\$)")"
check_eq "restarted: full downloads" 1 "$(count_log "GET /v1/artifacts/$SHA 200 [0-9]+ [0-9.]+ VIN2( |\$)")"
ota_stop "$SERVER_PID"
