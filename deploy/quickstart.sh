#!/usr/bin/env bash
# quickstart.sh: the whole ota-origin stack on loopback plus a demo campaign.
#
# Installs missing Debian packages (as root), builds, makes a dev PKI, initialises a
# database, store and signing key in ./state, starts mosquitto, ota-server and
# ota-notifier on free loopback ports, uploads a generated sample artifact, enrolls three
# vehicles, starts a campaign and runs the three vehicles through the update (two learn
# of it over MQTT, one polls REST), printing progress and then `ota-admin campaign show`;
# then a staged rollout to 10 simulated vehicles, one failing on purpose, followed with
# `ota-admin campaign watch`.
# The stack then stays up, with its addresses printed, until Ctrl-C.
#
# Usage: deploy/quickstart.sh [--exit] [--state DIR] [--build DIR]
#   --exit        stop the stack and exit 0 after the demo (CI, scripted use)
#   --state DIR   state folder (default ./state); kept between runs: the PKI, the
#                 vehicles and earlier campaigns stay, each run adds a new artifact
#                 version and campaign.
#   --build DIR   meson build folder (default ./build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/state
build=$root/build
exit_after=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --exit) exit_after=1 ;;
    --state)
        [[ $# -ge 2 ]] || { echo "quickstart: --state needs a folder" >&2; exit 2; }
        state=$2
        shift
        ;;
    --build)
        [[ $# -ge 2 ]] || { echo "quickstart: --build needs a folder" >&2; exit 2; }
        build=$2
        shift
        ;;
    -h | --help)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "quickstart: unknown option '$1' (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
mkdir -p "$state"
state=$(cd "$state" && pwd)
vehicles=(WVWZZZDEMO0000001 WVWZZZDEMO0000002 WVWZZZDEMO0000003)
pids=()

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

stop_all()
{
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    rm -f "$state/quickstart.pids"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A previous quickstart in the same state folder that is still running would hold the
# database and ports: stop the processes it recorded (only ours, by pid and binary).
if [[ -s $state/quickstart.pids ]]; then
    while read -r pid exe; do
        if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]]; then
            say "stopping the previous quickstart's $(basename "$exe") (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done <"$state/quickstart.pids"
    rm -f "$state/quickstart.pids"
fi

say "checking Debian packages"
"$root/deploy/install-deps.sh"

say "building into $build"
# An existing build dir is only compiled (meson regenerates it itself when needed), so
# running the quickstart beside the test suite's build leaves its configuration alone.
if [[ ! -f $build/meson-private/coredata.dat ]]; then
    meson setup "$build" "$root" >/dev/null
fi
meson compile -C "$build" >/dev/null
build=$(cd "$build" && pwd)
admin_bin=$build/admin/ota-admin
server_bin=$build/server/ota-server
notifier_bin=$build/notifier/ota-notifier
vehicle_bin=$build/vehicle/ota-vehicle

# free_port PREFERRED: PREFERRED when it is free on 127.0.0.1, else a random free port
# (always random with OTA_QUICKSTART_RANDOM_PORTS=1, as the test suite runs it).
free_port()
{
    python3 - "$1" "${OTA_QUICKSTART_RANDOM_PORTS:-0}" <<'PY'
import random, socket, sys
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
p = int(sys.argv[1]) if sys.argv[2] != "1" else random.randint(20000, 30000)
while not free(p):
    p = random.randint(20000, 30000)
print(p)
PY
}

say "dev PKI in $state/pki"
pki=$state/pki
if [[ ! -s $pki/ca.crt ]]; then
    "$root/certs/mkca.sh" "$pki" "ota-origin quickstart fleet CA" >/dev/null
fi
[[ -s $pki/server.crt ]] || "$root/certs/mkcert.sh" "$pki" server server >/dev/null
[[ -s $pki/ota-notifier.crt ]] || "$root/certs/mkcert.sh" "$pki" client ota-notifier >/dev/null
for v in "${vehicles[@]}"; do
    [[ -s $pki/$v.crt ]] || "$root/certs/mkcert.sh" "$pki" client "$v" >/dev/null
done

server_port=$(free_port 8443)
admin_port=$(free_port 9100)
mqtt_port=$(free_port 1883)
conf=$state/ota.conf
cat >"$conf" <<EOF
# Written by deploy/quickstart.sh (ports are picked afresh on each run).
[paths]
db = $state/ota.db
store = $state/store
keys = $state/keys

[server]
listen = 127.0.0.1:$server_port
admin_listen = 127.0.0.1:$admin_port
public_url = https://localhost:$server_port
poll_after = 5

[tls]
cert = $pki/server.crt
key = $pki/server.key
client_ca = $pki/ca.crt

[mqtt]
host = 127.0.0.1
port = $mqtt_port

[notifier]
stats_file = $state/notifier.prom
EOF
admin() { "$admin_bin" --config "$conf" "$@"; }

say "initialising the database, store and signing key"
admin init

# Each process's pid and binary go to quickstart.pids so a later run can stop them.
start()
{
    local name=$1
    shift
    "$@" >>"$state/$name.log" 2>&1 &
    pids+=("$!")
    echo "$! $(readlink -f "$1")" >>"$state/quickstart.pids"
}

say "starting mosquitto on 127.0.0.1:$mqtt_port"
cat >"$state/mosquitto.conf" <<EOF
# Loopback development broker of the quickstart (deploy/mosquitto.conf is the TLS one).
user $(id -un)
persistence false
log_dest file $state/mosquitto.log
listener $mqtt_port 127.0.0.1
allow_anonymous true
EOF
start mosquitto mosquitto -c "$state/mosquitto.conf"
say "starting ota-server on https://localhost:$server_port"
start ota-server "$server_bin" --config "$conf"
say "starting ota-notifier"
start ota-notifier "$notifier_bin" --config "$conf"
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$admin_port/healthz" && break
    sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$admin_port/healthz" || {
    tail -n 20 "$state/ota-server.log" >&2
    echo "quickstart: ota-server did not come up" >&2
    exit 1
}

say "enrolling ${#vehicles[@]} vehicles"
for v in "${vehicles[@]}"; do
    admin vehicle show "$v" >/dev/null 2>&1 || admin vehicle add "$v" --model demo --group quickstart
done

run=$(($(cat "$state/run-count" 2>/dev/null || echo 0) + 1))
echo "$run" >"$state/run-count"
mkdir -p "$state/demo"
artifact=$state/demo/firmware-1.0.$run.bin
say "uploading a generated 16 MiB sample artifact, version 1.0.$run"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$artifact"
sha=$(admin artifact upload "$artifact" --version "1.0.$run" --name "firmware.bin")
echo "sha256 $sha"
campaign=$(admin campaign create --name "quickstart-$run-$(date +%s)" --artifact "$sha" \
    --group quickstart)
admin campaign start "$campaign"

say "running the vehicles (2 over MQTT, 1 polling REST)"
vpids=()
for i in "${!vehicles[@]}"; do
    v=${vehicles[$i]}
    mode=mqtt
    [[ $i -lt 2 ]] || mode=poll
    rm -rf "$state/vehicles/$v/partial"
    mkdir -p "$state/vehicles/$v"
    "$vehicle_bin" --server "https://localhost:$server_port" --cacert "$pki/ca.crt" \
        --cert "$pki/$v.crt" --key "$pki/$v.key" --pubkey "$state/keys/ota.pub" \
        --dir "$state/vehicles/$v" --mode "$mode" --mqtt-port "$mqtt_port" \
        --poll-interval 1 --once --timeout 120 >>"$state/vehicle-$v.log" 2>&1 &
    vpids+=("$!")
done
deadline=$((SECONDS + 150))
last=""
while :; do
    running=0
    for pid in "${vpids[@]}"; do
        kill -0 "$pid" 2>/dev/null && running=$((running + 1))
    done
    counts=$(admin campaign show "$campaign" --json |
        jq -r '.counts | to_entries | map(select(.value > 0) | "\(.key)=\(.value)") | join(" ")')
    if [[ -t 1 ]]; then
        printf '\r  campaign %s: %-60s' "$campaign" "$counts"
    elif [[ $counts != "$last" ]]; then
        echo "  campaign $campaign: $counts"
    fi
    last=$counts
    [[ $running -gt 0 && $SECONDS -lt $deadline ]] || break
    sleep 0.5
done
[[ ! -t 1 ]] || echo
failed=0
for i in "${!vpids[@]}"; do
    if ! wait "${vpids[$i]}"; then
        echo "vehicle ${vehicles[$i]} did not install; its log:" >&2
        tail -n 15 "$state/vehicle-${vehicles[$i]}.log" >&2
        failed=1
    fi
done

say "ota-admin campaign show $campaign --vehicles"
admin campaign show "$campaign" --vehicles
for v in "${vehicles[@]}"; do
    cmp -s "$artifact" "$state/vehicles/$v/installed/firmware.bin" ||
        { echo "vehicle $v: installed bytes differ from the artifact" >&2; failed=1; }
done
[[ $failed -eq 0 ]] || exit 1
echo "all ${#vehicles[@]} vehicles installed firmware 1.0.$run and the bytes match."

# A staged rollout: 10 simulated vehicles, stages 10 %, 50 %, 100 %, one of the last stage
# failing on purpose, followed with `campaign watch` until the campaign ends.
fleet_n=10
say "a staged rollout to $fleet_n simulated vehicles (one fails on purpose)"
fleet_ids=()
for ((i = 1; i <= fleet_n; i++)); do
    fleet_ids+=("$(printf 'QSFLEET%02d' "$i")")
done
if [[ ! -s $pki/fleet/${fleet_ids[-1]}.crt ]]; then
    "$root/certs/mkfleet.py" "$pki" "$pki/fleet" "${fleet_ids[@]}"
fi
for v in "${fleet_ids[@]}"; do
    admin vehicle show "$v" >/dev/null 2>&1 || admin vehicle add "$v" --model demo --group quickstart-fleet >/dev/null
done
small=$state/demo/firmware-1.1.$run.bin
head -c $((1024 * 1024)) /dev/urandom >"$small"
sha2=$(admin artifact upload "$small" --version "1.1.$run" --name "firmware.bin")
staged=$(admin campaign create --name "quickstart-staged-$run-$(date +%s)" --artifact "$sha2" \
    --group quickstart-fleet --stages 10%,50%,100% --max-failures 3 --min-finished 5)
admin campaign start "$staged" >/dev/null
# the vehicle that fails: one of the last stage, so the first two open as they should
bad=$(admin campaign show "$staged" --vehicles --json |
    jq -r '[.deployments[] | select(.stage == 3) | .vehicle] | first')
"$vehicle_bin" --server "https://localhost:$server_port" --cacert "$pki/ca.crt" \
    --pubkey "$state/keys/ota.pub" --dir "$state/fleet" --fleet "$fleet_n" \
    --fleet-certs "$pki/fleet" --fleet-ids 'QSFLEET%02d' --poll-interval 0.5 --timeout 120 \
    --fail-ids "$bad" --fail-reason "demo: flash verify error" >>"$state/fleet.log" 2>&1 &
fleet_pid=$!
say "ota-admin campaign watch $staged"
admin campaign watch "$staged" --timeout 150 || failed=1
wait "$fleet_pid" || true # one vehicle failed on purpose: exit 1
admin campaign show "$staged"
[[ $failed -eq 0 ]] || exit 1
echo "staged rollout $staged: $(admin campaign show "$staged" --json |
    jq -r '"\(.counts.installed) installed, \(.counts.failed) failed (\(.failures[0].detail))"')"

cat <<EOF

ota-origin is running on loopback:
  vehicle API (mTLS)   https://localhost:$server_port   (CA $pki/ca.crt)
  dashboard            http://127.0.0.1:$admin_port/
  health and metrics   http://127.0.0.1:$admin_port/healthz  /metrics
  MQTT broker          127.0.0.1:$mqtt_port
  admin CLI            $admin_bin --config $conf campaign list
  try                  curl --cacert $pki/ca.crt --cert $pki/${vehicles[0]}.crt \\
                         --key $pki/${vehicles[0]}.key https://localhost:$server_port/v1/updates
  logs                 $state/*.log
EOF
if [[ $exit_after -eq 1 ]]; then
    say "stopping (--exit)"
    exit 0
fi
echo "Press Ctrl-C to stop."
while :; do
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "quickstart: pid $pid stopped; see $state/*.log" >&2; exit 1; }
    done
    sleep 1
done
