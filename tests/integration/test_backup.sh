#!/usr/bin/env bash
# Backup, upgrade and restore with a campaign in flight (#16, README "Backup and restore").
# ota-admin backup copies the live database while vehicles report (each copy passes
# SQLite's integrity check and holds a whole campaign); bad requests change nothing. The
# database is then put back to schema 5, as the previous release left it: ota-server
# refuses it, a backup still copies it, `ota-admin init` migrates it and the campaign goes
# on. Last the pre-upgrade backup is restored (init migrates it again) and every vehicle
# ends installed: what was installed after the backup was taken is reported again.
source "$(dirname "$0")/lib.sh"

ota_setup
VEHICLES=(V1 V2 V3 V4 V5 V6 V7 V8 V9 V10)
ota_fleet "${VEHICLES[@]}"
head -c 300000 /dev/urandom >"$T/fw.bin"
SHA=$(ota_admin artifact upload "$T/fw.bin" --version 2.0 --name fw.bin)
CID=$(ota_admin campaign create --name backup --artifact "$SHA" --all)
ota_admin campaign start "$CID" >/dev/null
ota_start_server
counts()
{
    ota_admin campaign show "$CID" --json | jq -r '"\(.state) \(.counts.installed)/\(.counts.pending)"'
}
install()
{
    local v
    for v in "$@"; do
        ota_vehicle_once "$v" --timeout 60
        [[ $VRC -eq 0 ]] || { ota_log_tail "$T/$v.log"; fail "$v did not install (exit $VRC)"; }
    done
}
# copy_ok FILE VERSION: the copy passes SQLite's integrity check, carries schema VERSION
# and the whole campaign (10 deployments)
copy_ok()
{
    check_eq "$1: integrity" ok "$(sqlite3 "$1" 'PRAGMA integrity_check')"
    check_eq "$1: schema version" "$2" "$(sqlite3 "$1" 'PRAGMA user_version')"
    check_eq "$1: deployments" 10 "$(sqlite3 "$1" "SELECT count(*) FROM deployments WHERE campaign = $CID")"
}
install V1 V2 V3

# ---- backups while vehicles report
( install V4 V5 V6 ) &
WRITER=$!
ota_track "$WRITER" writer
for i in 1 2 3; do
    out=$(ota_admin backup "$T/live$i.db") || fail "backup $i failed: $out"
    check_contains "backup $i says where" "database backed up to $T/live$i.db" "$out"
    copy_ok "$T/live$i.db" 6
done
_ota_wait_exit "$WRITER" 120 || fail "the vehicles installing beside the backups failed"
unset "_ota_names[$WRITER]"
check_eq "campaign after V1-V6" "running 6/4" "$(counts)"
ota_admin --json backup "$T/json.db" | jq -e '.file and .bytes > 0' >/dev/null ||
    fail "backup --json: no {file, bytes}"
echo "ok - three backups taken while V4-V6 installed, each whole and consistent"

# ---- bad requests change nothing
echo "not a database" >"$T/taken"
ota_expect 1 "an existing file is never overwritten" ota_admin backup "$T/taken"
check_contains "it says so" "never overwrites" "$ERRS"
check_eq "the existing file is unchanged" "not a database" "$(cat "$T/taken")"
ota_expect 1 "a missing folder" ota_admin backup "$T/nodir/b.db"
check_contains "it says why" "No such file or directory" "$ERRS"
[[ ! -e $T/nodir ]] || fail "backup into a missing folder created something"
ota_expect 2 "no FILE" ota_admin backup
check_contains "it names FILE" "FILE" "$ERRS"
ota_expect 1 "a PostgreSQL database" ota_admin --db postgresql://127.0.0.1:1/ota backup "$T/pg.db"
check_contains "it names pg_dump" "pg_dump" "$ERRS"
[[ ! -e $T/pg.db ]] || fail "a PostgreSQL backup wrote $T/pg.db"
check_eq "--json failure on stdout" "failed" \
    "$(ota_admin --json backup "$T/taken" 2>/dev/null | jq -r .error || true)"
ls "$T"/*.tmp-* >/dev/null 2>&1 && fail "a temporary file was left: $(ls "$T"/*.tmp-*)"
echo "ok - nothing written by a refused backup"

# ---- upgrade: the database as schema 5 left it, campaign in flight
ota_stop "$SERVER_PID"
sqlite3 "$T/ota.db" 'ALTER TABLE artifacts DROP COLUMN public; PRAGMA user_version = 5;'
rc=0
timeout 20 "$OTA_SERVER" --config "$OTA_CONF" >"$T/old.log" 2>&1 || rc=$?
check_eq "ota-server on schema 5: exit" 1 "$rc"
check_contains "it says to run init" "run ota-admin init" "$(cat "$T/old.log")"
ota_admin backup "$T/pre-upgrade.db" >/dev/null || fail "backup of the schema-5 database failed"
copy_ok "$T/pre-upgrade.db" 5
check_contains "init migrates 5 -> 6" "schema version 6" "$(ota_admin init 2>&1)"
ota_start_server
install V7
check_eq "campaign after the upgrade and V7" "running 7/3" "$(counts)"
echo "ok - upgraded with the campaign in flight: V7 installed"

# ---- restore the pre-upgrade backup: the daemons stopped, the file put back, init
ota_stop "$SERVER_PID"
rm -f "$T/ota.db" "$T/ota.db-wal" "$T/ota.db-shm"
cp "$T/pre-upgrade.db" "$T/ota.db"
ota_admin init >/dev/null
ota_start_server
check_eq "restored: the campaign as backed up" "running 6/4" "$(counts)"
install V7 V8 V9 V10
check_eq "campaign after the restore" "finished 10/0" "$(counts)"
echo "ok - restored: V7 (installed after the backup) reported again, V8-V10 installed, finished"
