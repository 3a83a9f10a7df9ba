# notifier_lib.sh: helpers for the ota-notifier tests (sourced after lib.sh).

# ntf_sub ARGS...: mosquitto_sub against the test broker (plain TCP), bounded by timeout.
ntf_sub()
{
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 "$@" 2>>"$T/sub.err" || true
}

# ntf_retained: prints "topic payload" for every retained update message, sorted. A
# subscriber that connects now: what a vehicle coming online would get.
ntf_retained()
{
    ntf_sub -t 'ota/v1/vehicles/+/update' -v --retained-only -W 2 | LC_ALL=C sort
}

# ntf_expected: what the broker should hold: per vehicle, the newest published row of the
# outbox (skipping empty payloads, which clear the topic), sorted like ntf_retained.
ntf_expected()
{
    ota_admin outbox list --json |
        jq -r '.outbox | map(select(.state == "published")) | group_by(.vehicle)
               | map(max_by(.id)) | .[] | select(.payload != "")
               | "ota/v1/\(.topic) \(.payload)"' | LC_ALL=C sort
}

# ntf_count STATE: number of outbox rows in STATE.
ntf_count()
{
    ota_admin outbox list --json | jq --arg s "$1" '[.outbox[] | select(.state == $s)] | length'
}

ntf_drained()
{
    [[ $(ntf_count pending) == 0 ]]
}

# ntf_stat NAME: a value from the notifier's stats file (0 when absent).
ntf_stat()
{
    local v
    v=$(awk -v n="$1" '$1 == n { print $2 }' "$T/stats.prom" 2>/dev/null | tail -n 1)
    echo "${v:-0}"
}

# ntf_check_retained WHAT: the broker holds exactly the newest published row per vehicle.
ntf_check_retained()
{
    local exp got
    exp=$(ntf_expected)
    got=$(ntf_retained)
    if [[ "$exp" != "$got" ]]; then
        diff <(echo "$exp" | cut -c1-120) <(echo "$got" | cut -c1-120) >&2 || true
        fail "$1: retained messages differ from the outbox (expected $(echo "$exp" | grep -c .) topics, got $(echo "$got" | grep -c .))"
    fi
    echo "ok - $1 ($(echo "$got" | grep -c .) retained topics match the outbox)"
}

# ntf_vehicles N [PREFIX]: registers PREFIX1..PREFIXN (default VIN) straight away.
ntf_vehicles()
{
    local n=$1 p=${2:-VIN} i
    for ((i = 1; i <= n; i++)); do
        ota_admin vehicle add "$p$i" >/dev/null
    done
}

# ntf_artifact NAME VERSION: uploads a small random artifact, prints its sha256.
ntf_artifact()
{
    head -c 4096 /dev/urandom >"$T/$1-$2.bin"
    ota_admin artifact upload "$T/$1-$2.bin" --version "$2" --name "$1"
}

# ntf_stat_is NAME VALUE: true when the stats file says NAME is VALUE (for wait_until).
ntf_stat_is()
{
    [[ $(ntf_stat "$1") == "$2" ]]
}

# ntf_protocol PROTO: the notifier's [mqtt] protocol (5 or 3.1.1; the tests' argument)
# into $OTA_CONF, after ota_start_broker wrote [mqtt]. Sets PROTO, and P to the tag
# mosquitto logs for it ("as ota-notifier (p5," / "(p2," for 3.1.1).
ntf_protocol()
{
    PROTO=$1
    case $PROTO in
    5) P=p5 ;;
    3.1.1) P=p2 ;;
    *) fail "protocol must be 5 or 3.1.1, not '$PROTO'" ;;
    esac
    sed -i "/^\[mqtt\]/a protocol = $PROTO" "$OTA_CONF"
}
