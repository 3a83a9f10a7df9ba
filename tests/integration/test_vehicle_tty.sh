#!/usr/bin/env bash
# ota-vehicle on a terminal (#16): one vehicle draws a live progress line (its download in
# MiB and %, then its result, kept); a fleet draws its totals line; log lines written
# meanwhile go above the live line, never into it. The terminal is a real pty (util-linux
# `script`); its transcript is split into what the terminal shows line by line.
source "$(dirname "$0")/lib.sh"

command -v script >/dev/null || fail "script (util-linux) is missing"
ota_setup
ota_fleet T1 T2 T3 T4
head -c 8000000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 3.1 --name fw.bin)
ota_admin campaign start "$(ota_admin campaign create --name tty --artifact "$SHA" --all)" >/dev/null
ota_start_server

# on_tty NAME CMD...: CMD on a pty, its transcript in $T/NAME.tty (stdout and stderr both)
on_tty()
{
    local name=$1 cmd
    shift
    printf -v cmd '%q ' "$@"
    TERM=xterm timeout 120 script -qfec "$cmd" "$T/$name.tty" >/dev/null 2>&1 || true
}
# screen FILE: what the terminal ends up showing, one line each ("\r\033[K" erases)
screen()
{
    python3 - "$1" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace').replace('\r\n', '\n')
for line in data.split('\n'):
    print(line.split('\r\x1b[K')[-1].split('\r')[-1])
PY
}
common=(--server "$SERVER_URL" --cacert "$T/pki/ca.crt" --pubkey "$T/keys/ota.pub"
    --poll-interval 0.2)

# ---- not a terminal: no live line, no escape sequence
ota_vehicle_once T1
check_eq "T1 installed off a terminal" 0 "$VRC"
check_eq "no escape sequences off a terminal" 0 "$(grep -c $'\033' "$T/T1.log" || true)"

# ---- one vehicle: stalls 1 s at half its download, so the line shows it under way
on_tty one "$OTA_VEHICLE" "${common[@]}" --cert "$T/pki/T2.crt" --key "$T/pki/T2.key" \
    --dir "$T/T2" --once --stall 1
grep -q $'\r\033\\[KT2: fw.bin 3.1: [0-9.]* of 7.6 MiB ([0-9]*%), [0-9.]* MiB/s' "$T/one.tty" ||
    fail "no live download line: $(cat -v "$T/one.tty" | tail -c 600)"
echo "ok - the live line shows the download: $(grep -ao 'T2: fw.bin 3.1: [0-9.]* of 7.6 MiB ([0-9]*%)' "$T/one.tty" | tail -n 1)"
screen "$T/one.tty" >"$T/one.screen"
check_contains "the result line is kept" "T2: installed" "$(cat "$T/one.screen")"
check_contains "the outcome on stdout" "T2 installed" "$(cat "$T/one.screen")"
# every log line stands alone: it starts the line it is on
bad=$(grep -aE 'info ota-vehicle|warn ota-vehicle' "$T/one.screen" | grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' || true)
check_eq "log lines start their line" "" "$bad"
check_eq "log lines are there" 1 "$(grep -acE '^[0-9-]+T[0-9:]+Z info ota-vehicle: T2: installed fw.bin' "$T/one.screen")"

# ---- a fleet of two, one failing: its warning goes above the totals line
on_tty fleet "$OTA_VEHICLE" "${common[@]}" --fleet 2 --fleet-ids T%d --fleet-first 3 \
    --fleet-certs "$T/pki" --dir "$T/fleet" --fail-ids T4 --timeout 60
screen "$T/fleet.tty" >"$T/fleet.screen"
check_contains "the fleet's totals line is kept" "fleet: 1/2 installed, 1 failed" "$(cat "$T/fleet.screen")"
bad=$(grep -aE '(info|warn|error) ota-vehicle' "$T/fleet.screen" | grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' || true)
check_eq "fleet: log lines start their line" "" "$bad"
grep -aqE '^[0-9-]+T[0-9:]+Z warn ota-vehicle: T4: ' "$T/fleet.screen" ||
    fail "the failed vehicle's warning is not on a line of its own: $(cat -v "$T/fleet.screen")"
echo "ok - the fleet's warning is on its own line"
