# swupdate_lib.sh: Debian's stock SWUpdate (suricatta, hawkBit) for the integration tests,
# sourced after lib.sh: its configuration for a vehicle, and running and stopping it.
# shellcheck shell=bash
#
#   swupdate_check                 exits 77 (skip) without swupdate, fails without suricatta
#   swupdate_config ID URL         $T/swupdate.cfg: tenant DEFAULT, controller ID at URL,
#                                  client certificate $T/pki/ID.crt, the fleet CA
#   swupdate_run NAME [suricatta args]   SWUpdate in the background; SWU_PID, $T/NAME.log
#   swupdate_stop                  SIGTERM to its group, bounded wait

swupdate_check()
{
    command -v swupdate >/dev/null || {
        echo "swupdate is not installed: skipped"
        exit 77
    }
    [[ $(swupdate -h 2>&1) == *--suricatta* ]] || fail "this swupdate has no suricatta built in"
}

swupdate_config()
{
    local id=$1 url=$2
    cat >"$T/swupdate.cfg" <<CFG
globals :
{
	verbose = true;
	loglevel = 5;
};
identify : (
	{ name = "hwRevision"; value = "1.0"; },
	{ name = "serial"; value = "$id-serial"; }
);
suricatta :
{
	tenant = "DEFAULT";
	id = "$id";
	url = "$url";
	polldelay = 1;
	retry = 5;
	retrywait = 1;
	connection-timeout = 10;
	cafile = "$T/pki/ca.crt";
	sslkey = "$T/pki/$id.key";
	sslcert = "$T/pki/$id.crt";
};
CFG
}

# SWUpdate runs in the foreground of its own timeout (which puts it in its own process
# group and stops the whole group on SIGTERM), with its sockets and temp files in
# $T/swtmp, verifying .swu files with $T/signer/signer.crt (mkswu.sh signer).
swupdate_run()
{
    local name=$1
    shift
    mkdir -p "$T/swtmp"
    ota_spawn "$name" env TMPDIR="$T/swtmp" timeout 120 swupdate -f "$T/swupdate.cfg" \
        -k "$T/signer/signer.crt" -H ota-test:1.0 -l 5 -v -u "-p 1 $*"
    SWU_PID=$SPAWN_PID
}

swupdate_stop()
{
    local i
    kill -TERM "$SWU_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SWU_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SWU_PID" 2>/dev/null; then
        kill -KILL "$SWU_PID" 2>/dev/null || true
    fi
    wait "$SWU_PID" 2>/dev/null || true
}
