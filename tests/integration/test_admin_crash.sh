#!/usr/bin/env bash
# test_admin_crash.sh: kill -9 in the middle of `ota-admin artifact upload` leaves no
# database row and nothing at a sha256 path of the store (temp leftovers are allowed, never
# a partial artifact; `store gc` removes them), and the same upload then succeeds.
. "$(dirname "$0")/lib.sh"

# rchar PID: bytes the process has read so far (0 once it is gone).
rchar()
{
    awk '/^rchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0
}

# read_past PID BYTES: true once PID has read more than BYTES.
read_past()
{
    [[ $(rchar "$1") -gt $2 ]]
}

artifact_rows()
{
    python3 - "$T/ota.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("select count(*) from artifacts").fetchone()[0])
PY
}

check_nothing_visible()
{
    check_eq "$1: no artifact row" 0 "$(artifact_rows)"
    check_eq "$1: artifact list is empty" 0 "$(ota_admin artifact list --json | jq '.artifacts | length')"
    check_eq "$1: nothing at a sha256 path" "" "$(find "$T/store/sha256" -type f)"
    check_eq "$1: no upload event" "" "$(ota_admin events --json | jq -r '.events[] | select(.kind == "artifact.upload") | .kind')"
}

ota_setup

# 1. Deterministic: the bytes come through a FIFO that this script fills, so the upload is
# certainly in the middle (100 MiB read, the writer still holding the pipe open) when it
# is killed.
mkfifo "$T/fifo"
"$OTA_ADMIN" --config "$OTA_CONF" artifact upload "$T/fifo" --name big.swu --version 1 \
    >"$T/upload1.log" 2>&1 &
pid=$!
exec 7>"$T/fifo"
head -c $((100 * 1024 * 1024)) /dev/zero >&7
wait_until 20 read_past "$pid" $((90 * 1024 * 1024))
kill -0 "$pid" 2>/dev/null || fail "the upload ended although its input is still open"
kill -KILL "$pid"
rc=0
wait "$pid" 2>/dev/null || rc=$?
exec 7>&-
check_eq "fifo upload was killed" 137 "$rc"
check_nothing_visible "after kill -9 (fifo)"
echo "temp leftovers: $(find "$T/store/tmp" -type f | wc -l)"

# 2. A 300 MB file, killed as soon as it is being read.
truncate -s 300M "$T/big.swu"
printf 'not all zeros' | dd of="$T/big.swu" bs=1 seek=$((150 * 1024 * 1024)) conv=notrunc status=none
"$OTA_ADMIN" --config "$OTA_CONF" artifact upload "$T/big.swu" --version 1 >"$T/upload2.log" 2>&1 &
pid=$!
wait_until 20 read_past "$pid" $((20 * 1024 * 1024)) || true
if kill -KILL "$pid" 2>/dev/null; then
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    check_eq "file upload was killed" 137 "$rc"
    check_nothing_visible "after kill -9 (300 MB file)"
else
    # Faster than the poll: the upload finished, which is no crash to check.
    wait "$pid" || fail "the 300 MB upload failed: $(cat "$T/upload2.log")"
    echo "note: the 300 MB upload finished before it could be killed; case 1 covers the crash"
    python3 - "$T/ota.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("delete from events where kind = 'artifact.upload'")
c.execute("delete from artifacts")
c.commit()
PY
    rm -rf "$T/store/sha256"/*
fi

# 3. 'store gc' removes what the kills left, but not a temp file younger than a minute (it
# may be an upload under way); the artifacts stay.
left=$(find "$T/store/tmp" -type f | wc -l)
[[ $left -ge 1 ]] || fail "kill -9 in the middle of case 1 left no temp file"
ota_expect 0 "store gc with fresh leftovers" ota_admin store gc --json
check_eq "fresh leftovers are kept" "0 $left" "$(jq -r .temp_files <<<"$OUT") $(find "$T/store/tmp" -type f | wc -l)"
find "$T/store/tmp" -type f -exec touch -d '-2 minutes' {} +
ota_expect 0 "store gc --dry-run" ota_admin store gc --dry-run --json
check_eq "dry run names them and removes nothing" "$left $left" "$(jq -r .temp_files <<<"$OUT") $(find "$T/store/tmp" -type f | wc -l)"
ota_expect 0 "store gc" ota_admin store gc
check_contains "store gc says what it removed" "removed $left temp files" "$OUT"
check_eq "no temp file left" "" "$(find "$T/store/tmp" -type f)"

# 4. After the crashes the same upload works, and the artifact verifies.
sha=$(sha256sum "$T/big.swu" | cut -d' ' -f1)
got=$(ota_admin artifact upload "$T/big.swu" --version 1)
check_eq "upload after the crash" "$sha" "$got"
check_eq "one artifact row" 1 "$(artifact_rows)"
ota_admin artifact verify "$sha" >/dev/null || fail "the artifact does not verify after the crash"
echo "ok - artifact verify after the crash"
echo "all ota-admin crash checks passed"
