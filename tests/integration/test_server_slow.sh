#!/usr/bin/env bash
# Slow and abusive clients do not stop ota-server from serving the others: 300 mTLS
# connections sending half a request each (slowloris) while polls still get answers;
# [server] timeout closes the idle ones; [server] per_ip_limit caps one address.
source "$(dirname "$0")/lib.sh"

ota_setup "[server]" "timeout = 3"
ota_client_cert VIN1
ota_admin vehicle add VIN1 >/dev/null
ota_start_server

# slow MODE N [args]: starts slow_clients.py as a coprocess, waits for "open K".
slow()
{
    coproc SLOW { exec python3 "$OTA_SRC/tests/integration/slow_clients.py" "$@"; }
    ota_track "$SLOW_PID" slow_clients
    local line
    read -r -t 60 line <&"${SLOW[0]}" || fail "slow_clients.py did not start"
    SLOW_OPEN=${line#open }
}
slow_closed()
{
    local line
    echo check >&"${SLOW[1]}"
    read -r -t 10 line <&"${SLOW[0]}" || fail "slow_clients.py did not answer"
    echo "${line#closed }"
}
slow_end()
{
    local pid=$SLOW_PID
    exec {SLOW[1]}>&-
    wait "$pid" 2>/dev/null || true
    unset "_ota_names[$pid]"
}

slow tls "$SERVER_PORT" 300 "$T/pki/ca.crt" "$T/pki/VIN1.crt" "$T/pki/VIN1.key"
check_eq "slow clients connected" 300 "$SLOW_OPEN"
for i in 1 2 3 4 5; do
    check_eq "poll $i answered beside 300 slow clients" 204 \
        "$(ota_curl VIN1 /v1/updates --max-time 5 -o /dev/null -w '%{http_code}')"
done
# The idle timeout (3 s) ends every half-sent request; the server itself lives on.
sleep 5
check_eq "slow clients closed by the idle timeout" 300 "$(slow_closed)"
slow_end
check_eq "poll after the flood" 204 "$(ota_curl VIN1 /v1/updates -o /dev/null -w '%{http_code}')"
ota_stop "$SERVER_PID"

# ---- per-IP limit: the 11th connection from one address is refused at once
echo "per_ip_limit = 10" >>"$OTA_CONF"
ota_start_server
slow tcp "$SERVER_PORT" 15
check_eq "tcp connections attempted" 15 "$SLOW_OPEN"
refused_at_least() { [[ $(slow_closed) -ge $1 ]]; }
wait_until 5 refused_at_least 5 || fail "per_ip_limit: fewer than 5 connections refused"
echo "ok - per_ip_limit refused the connections beyond 10"
slow_end
check_eq "poll once the address is under its limit" 204 \
    "$(ota_curl VIN1 /v1/updates -o /dev/null -w '%{http_code}')"
ota_stop "$SERVER_PID"
