#!/usr/bin/env bash
# test_admin_errors.sh: ota-admin's error paths. Usage errors exit 2 and name the bad
# argument; failures exit 1 with a message. Either way the database is left exactly as it
# was: unknown and duplicate ids, a missing file, an unreadable store, a campaign on a
# revoked vehicle, starting a cancelled campaign, bad signatures, a corrupt database.
. "$(dirname "$0")/lib.sh"

# db_digest: a digest of every row of every table (what "unchanged" means). The sqlite3
# shell is quicker to start than python3, which stands in when it is not installed.
db_digest()
{
    if command -v sqlite3 >/dev/null; then
        sqlite3 -readonly "$T/ota.db" .dump | sha256sum
        return
    fi
    python3 - "$T/ota.db" <<'PY'
import hashlib, sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest())
PY
}

# refused STATUS WHAT NEEDLE CMD...: CMD must exit STATUS, say NEEDLE on stderr, print
# nothing on stdout and leave the database unchanged.
refused()
{
    local want=$1 what=$2 needle=$3 before
    shift 3
    before=$(db_digest)
    ota_expect "$want" "$what" "$@"
    check_contains "$what: message" "$needle" "$ERRS"
    check_eq "$what: no output" "" "$OUT"
    check_eq "$what: database unchanged" "$before" "$(db_digest)"
}

ota_setup
head -c 5000 /dev/urandom >"$T/fw.swu"
sha=$(ota_admin artifact upload "$T/fw.swu" --version 1.0)
ota_admin vehicle add VIN1 --group g1 >/dev/null
ota_admin vehicle add VIN2 --group g1 >/dev/null
ota_admin vehicle add VIN3 >/dev/null
ota_admin vehicle revoke VIN3 >/dev/null
ota_admin edge add cdn1 >/dev/null
nosha=0000000000000000000000000000000000000000000000000000000000000000

# ------------------------------------------------------------ usage: exit 2
refused 2 "no command" "missing command" ota_admin
refused 2 "unknown command" "unknown command 'frobnicate'" ota_admin frobnicate
refused 2 "missing verb" "missing verb" ota_admin vehicle
refused 2 "unknown verb" "unknown verb 'vehicle fly'" ota_admin vehicle fly
refused 2 "unknown global option" "unknown option '--bogus'" ota_admin --bogus vehicle list
refused 2 "global option without value" "'--db' needs a value" "$OTA_ADMIN" --db
refused 2 "bad --set key" "--set" ota_admin --set server.nosuchkey=1 vehicle list
refused 2 "bad --set value" "server.poll_after" ota_admin --set server.poll_after=abc vehicle list
refused 2 "vehicle add without ID" "missing argument ID" ota_admin vehicle add
refused 2 "vehicle add bad id" "invalid vehicle id 'bad id!'" ota_admin vehicle add 'bad id!'
refused 2 "vehicle add long id" "invalid vehicle id" ota_admin vehicle add "$(printf 'A%.0s' {1..65})"
refused 2 "vehicle add unknown option" "unknown option '--colour'" ota_admin vehicle add V9 --colour red
refused 2 "vehicle add option without value" "'--model' needs a value" ota_admin vehicle add V9 --model
refused 2 "vehicle add empty value" "'--group' needs a non-empty value" ota_admin vehicle add V9 --group ''
refused 2 "option twice" "'--model' given twice" ota_admin vehicle add V9 --model a --model b
refused 2 "vehicle list extra argument" "unexpected argument 'extra'" ota_admin vehicle list extra
refused 2 "edge add bad name" "invalid edge name 'a/b'" ota_admin edge add a/b
refused 2 "artifact upload without FILE" "missing argument FILE" ota_admin artifact upload --version 1
refused 2 "artifact upload without --version" "missing --version" ota_admin artifact upload "$T/fw.swu"
refused 2 "artifact upload bad version" "--version: 1 to 127 bytes" ota_admin artifact upload "$T/fw.swu" --version '1 0'
refused 2 "artifact upload bad name" "--name: a plain file name" ota_admin artifact upload "$T/fw.swu" --version 1 --name 'a b'
refused 2 "artifact show bad sha" "invalid SHA256 'xyz'" ota_admin artifact show xyz
refused 2 "artifact verify uppercase sha" "invalid SHA256" ota_admin artifact verify "${sha^^}"
refused 2 "campaign create without target" "give exactly one target" \
    ota_admin campaign create --name x --artifact "$sha"
refused 2 "campaign create two targets" "give exactly one target" \
    ota_admin campaign create --name x --artifact "$sha" --all --group g1
refused 2 "campaign create without --name" "missing --name" ota_admin campaign create --artifact "$sha" --all
refused 2 "campaign create bad artifact" "--artifact: 64 lowercase hex digits" \
    ota_admin campaign create --name x --artifact abc --all
refused 2 "campaign create bad vehicle list" "invalid vehicle id 'a b'" \
    ota_admin campaign create --name x --artifact "$sha" --vehicles 'VIN1,a b'
refused 2 "campaign create empty id in list" "--vehicles: an empty id" \
    ota_admin campaign create --name x --artifact "$sha" --vehicles VIN1,,VIN2
refused 2 "campaign --all with a value" "'--all' takes no value" \
    ota_admin campaign create --name x --artifact "$sha" --all=yes
refused 2 "campaign start bad id" "invalid campaign id 'abc'" ota_admin campaign start abc
refused 2 "campaign start id 0" "invalid campaign id '0'" ota_admin campaign start 0
refused 2 "campaign start negative id" "unknown option '-1'" ota_admin campaign start -1
refused 2 "campaign show without ID" "missing argument ID" ota_admin campaign show
refused 2 "events bad campaign" "invalid --campaign" ota_admin events --campaign x
refused 2 "outbox list bad vehicle" "invalid --vehicle" ota_admin outbox list --vehicle 'a b'

# ------------------------------------------------------------ unknown ids: exit 1
refused 1 "vehicle show unknown" "no vehicle NOPE" ota_admin vehicle show NOPE
refused 1 "vehicle revoke unknown" "no vehicle NOPE" ota_admin vehicle revoke NOPE
refused 1 "edge revoke unknown" "no edge NOPE" ota_admin edge revoke NOPE
refused 1 "artifact show unknown" "no artifact $nosha" ota_admin artifact show "$nosha"
refused 1 "artifact verify unknown" "no artifact $nosha" ota_admin artifact verify "$nosha"
refused 1 "campaign create unknown artifact" "no artifact $nosha" \
    ota_admin campaign create --name x --artifact "$nosha" --all
refused 1 "campaign create unknown vehicle" "unknown vehicle 'VIN9'" \
    ota_admin campaign create --name x --artifact "$sha" --vehicles VIN1,VIN9
for verb in start pause resume cancel show; do
    refused 1 "campaign $verb unknown" "no campaign 99" ota_admin campaign "$verb" 99
done

# ------------------------------------------------------------ vehicle import: all or nothing
refused 2 "vehicle import without FILE" "missing argument FILE.csv" ota_admin vehicle import
refused 1 "vehicle import missing file" "cannot open $T/none.csv" ota_admin vehicle import "$T/none.csv"
imp()
{
    printf "$2" >"$T/imp.csv"
    refused 1 "vehicle import: $1" "$3" ota_admin vehicle import "$T/imp.csv"
}
imp "empty file" '' "the file is empty: its first line names the columns"
imp "header only" 'id,model\n' "no vehicles after the header line"
imp "no id column" 'model,group\nm,g\n' "line 1: no 'id' column"
imp "unknown column" 'id,colour\nN1,red\n' "line 1: unknown column 'colour'"
imp "column twice" 'id,model,model\nN1,a,b\n' "line 1: column 'model' named twice"
imp "short row" 'id,model\nN1,m\nN2\n' "line 3: 1 field where the header names 2"
imp "bad id" 'id\nN1\nbad id\n' "line 3: invalid vehicle id 'bad id'"
imp "empty id" 'id,model\nN1,m\n,m\n' "line 3: invalid vehicle id ''"
imp "bad attributes" 'id,attributes\nN1,"{""a"":1}"\n' "line 2: attributes: keys are labels and values strings"
imp "attributes not an object" 'id,attributes\nN1,[1]\n' "line 2: attributes: not a JSON object"
imp "bad model" 'id,model\nN1,"a,b"\n' "line 2: model: 1 to 128 printable characters"
imp "an id twice" 'id\nN1\nN2\nN1\n' "line 4: vehicle N1 already exists"
imp "an existing id" 'id\nN1\nVIN1\n' "line 3: vehicle VIN1 already exists"
imp "an edge's name" 'id\ncdn1\n' "line 2: cdn1 is already a CDN edge"
imp "a revoked id" 'id\nVIN3\n' "line 2: vehicle VIN3 already exists (revoked"
imp "unclosed quote" 'id,model\nN1,"m\n' "line 2: a quoted field is not closed"
imp "quote in a field" 'id,model\nN1,m"x\n' "line 2: a quote inside a field"
imp "bare CR" 'id\rN1\n' "line 1: a carriage return without a line feed"
head -c 9000 /dev/zero | tr '\0' a >"$T/long.txt"
imp "a field of 9000 bytes" "id,model\nN1,$(cat "$T/long.txt")\n" "line 2: a field of more than 8192 bytes"

# ------------------------------------------------------------ duplicate ids: exit 1
refused 1 "vehicle add duplicate" "vehicle VIN1 already exists" ota_admin vehicle add VIN1
refused 1 "vehicle add an edge's name" "cdn1 is already a CDN edge" ota_admin vehicle add cdn1
refused 1 "edge add duplicate" "edge cdn1 already exists" ota_admin edge add cdn1
refused 1 "edge add a vehicle's id" "VIN1 is already a vehicle" ota_admin edge add VIN1
ota_admin campaign create --name dup --artifact "$sha" --all >/dev/null
refused 1 "campaign create duplicate name" "a campaign named 'dup' already exists" \
    ota_admin campaign create --name dup --artifact "$sha" --group g1

# ------------------------------------------------------------ campaigns: revoked, cancelled
refused 1 "campaign create on a revoked vehicle" "--vehicles: vehicle 'VIN3' is revoked" \
    ota_admin campaign create --name rv --artifact "$sha" --vehicles VIN1,VIN3
id=$(ota_admin campaign create --name later-revoked --artifact "$sha" --vehicles VIN1,VIN2)
ota_admin vehicle revoke VIN2 >/dev/null
refused 1 "campaign start with a revoked vehicle" "vehicle 'VIN2' is no longer active" \
    ota_admin campaign start "$id"
check_eq "refused campaign stays created" created "$(ota_admin campaign show "$id" --json | jq -r .state)"
refused 1 "campaign pause a created campaign" "only a running campaign can be paused" \
    ota_admin campaign pause "$id"
refused 1 "campaign resume a created campaign" "only a paused campaign can be resumed" \
    ota_admin campaign resume "$id"
refused 1 "campaign create for a group no vehicle has" "no vehicle is in group 'nogroup'" \
    ota_admin campaign create --name empty --artifact "$sha" --group nogroup
refused 1 "campaign create for a model no vehicle has" "no vehicle is of model 'nomodel'" \
    ota_admin campaign create --name empty --artifact "$sha" --model nomodel
refused 2 "campaign create with a 100 KB --model" "--model: 1 to 128 printable characters" \
    ota_admin campaign create --name empty --artifact "$sha" --model "$(head -c 102400 /dev/zero | tr '\0' m)"
[[ $ERRS != *mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm* && ${#ERRS} -lt 1000 ]] ||
    fail "a 100 KB --model is echoed back (${#ERRS} bytes)"
ota_admin vehicle add VIN4 --group g4 >/dev/null
empty=$(ota_admin campaign create --name empty --artifact "$sha" --group g4)
ota_admin vehicle revoke VIN4 >/dev/null
refused 1 "campaign start selecting nobody" "selects no active vehicle" \
    ota_admin campaign start "$empty"
ota_admin campaign cancel "$id" >/dev/null
refused 1 "campaign start cancelled" "campaign $id is cancelled" ota_admin campaign start "$id"
refused 1 "campaign cancel cancelled" "campaign $id is cancelled" ota_admin campaign cancel "$id"
run1=$(ota_admin campaign create --name run1 --artifact "$sha" --vehicles VIN1)
ota_admin campaign start "$run1" >/dev/null
refused 1 "campaign start running" "campaign $run1 is running" ota_admin campaign start "$run1"
refused 1 "campaign resume running" "campaign $run1 is running" ota_admin campaign resume "$run1"

# ------------------------------------------------------------ artifacts
refused 1 "artifact upload missing file" "cannot open $T/missing.swu" \
    ota_admin artifact upload "$T/missing.swu" --version 1
refused 1 "artifact upload a folder" "not a regular file or a pipe" ota_admin artifact upload "$T" --version 1 --name x
refused 1 "artifact upload missing --signature file" "cannot read --signature $T/none.minisig" \
    ota_admin artifact upload "$T/fw.swu" --version 2 --signature "$T/none.minisig"
refused 1 "same bytes, other metadata" "already exists with name:fw.swu version:1.0" \
    ota_admin artifact upload "$T/fw.swu" --version 2.0
refused 1 "same bytes, other hw" "already exists" ota_admin artifact upload "$T/fw.swu" --version 1.0 --hw revB

# A signature whose trusted comment differs from the metadata, one over other bytes, one
# by another key, and one that is not a signature: refused, nothing recorded.
head -c 3000 /dev/urandom >"$T/new.swu"
nsha=$(sha256sum "$T/new.swu" | cut -d' ' -f1)
minisign -S -s "$T/keys/ota.key" -m "$T/new.swu" -x "$T/new.minisig" \
    -t "sha256:$nsha size:3000 name:new.swu version:9.9 hw:" </dev/null >/dev/null
refused 1 "--signature with other metadata" "has trusted comment" \
    ota_admin artifact upload "$T/new.swu" --version 1.0 --signature "$T/new.minisig"
refused 1 "--signature over other bytes" "does not verify" \
    ota_admin artifact upload "$T/fw.swu" --version 9.9 --name new.swu --signature "$T/new.minisig"
minisign -G -W -p "$T/other.pub" -s "$T/other.key" >/dev/null </dev/null
minisign -S -s "$T/other.key" -m "$T/new.swu" -x "$T/other.minisig" \
    -t "sha256:$nsha size:3000 name:new.swu version:9.9 hw:" </dev/null >/dev/null
refused 1 "--signature by another key" "another key" \
    ota_admin artifact upload "$T/new.swu" --version 9.9 --signature "$T/other.minisig"
echo "not a signature" >"$T/junk.minisig"
refused 1 "--signature not a signature" "does not verify" \
    ota_admin artifact upload "$T/new.swu" --version 9.9 --signature "$T/junk.minisig"
check_eq "no artifact row for new.swu" 1 "$(ota_admin artifact list --json | jq '.artifacts | length')"
ota_expect 0 "the good signature is accepted" ota_admin artifact upload "$T/new.swu" --version 9.9 \
    --signature "$T/new.minisig"

# The store is unusable: a regular file where the folder should be.
echo "not a folder" >"$T/store-file"
head -c 100 /dev/urandom >"$T/fw2.swu"
refused 1 "artifact upload to an unusable store" "cannot store the file in $T/store-file" \
    ota_admin --store "$T/store-file" artifact upload "$T/fw2.swu" --version 1
refused 1 "init with an unusable store" "store $T/store-file cannot be created" \
    ota_admin --store "$T/store-file" init
# ... and a store whose sha256 folder is a file.
mkdir -p "$T/store2/tmp"
echo x >"$T/store2/sha256"
refused 1 "artifact upload into a broken store" "cannot store" \
    ota_admin --store "$T/store2" artifact upload "$T/fw2.swu" --version 1
check_eq "nothing was left in the broken store's tmp" "" "$(ls -A "$T/store2/tmp")"

# verify notices a changed stored file, and a missing one.
f=$T/store/sha256/${sha:0:2}/$sha
cp "$f" "$T/saved"
printf 'Z' | dd of="$f" bs=1 seek=10 conv=notrunc status=none
# verify prints its report (stdout) and fails.
ota_expect 1 "artifact verify a changed file" ota_admin artifact verify "$sha"
check_contains "verify names the bad check" "sha256           BAD" "$OUT"
check_contains "verify says it failed" "does NOT verify" "$ERRS"
ota_expect 1 "artifact verify --json a changed file" ota_admin artifact verify "$sha" --json
check_eq "verify --json of a changed file" "false true false false" \
    "$(jq -r '[.ok, .checks.file.ok, .checks.sha256.ok, .checks.signature.ok] | map(tostring) | join(" ")' <<<"$OUT")"
rm -f "$f"
ota_expect 1 "artifact verify a missing file" ota_admin artifact verify "$sha"
check_contains "verify a missing file" "file             BAD  cannot open" "$OUT"
cp "$T/saved" "$f"
ota_expect 0 "artifact verify restored" ota_admin artifact verify "$sha"

# ------------------------------------------------------------ configuration and database
refused 1 "missing config file" "config file $T/nope.conf" "$OTA_ADMIN" --config "$T/nope.conf" vehicle list
refused 1 "missing database" "run 'ota-admin init'" ota_admin --db "$T/none.db" vehicle list
[[ ! -e $T/none.db ]] || fail "a missing database was created by vehicle list"

# A corrupt database: garbage in the file. Every command refuses it and leaves it as is.
head -c 65536 /dev/urandom >"$T/corrupt.db"
sum=$(sha256sum "$T/corrupt.db")
for cmd in "vehicle list" "vehicle add VX" "edge add ex" "artifact list" \
    "campaign show 1" "campaign start 1" "events" "init"; do
    # shellcheck disable=SC2086 # word splitting of the command is intended
    ota_expect 1 "corrupt db: $cmd" ota_admin --db "$T/corrupt.db" $cmd
    check_contains "corrupt db: $cmd: message" "not an ota-origin database, or it is corrupt" "$ERRS"
done
ota_expect 1 "corrupt db: artifact upload" ota_admin --db "$T/corrupt.db" artifact upload "$T/fw.swu" --version 1
check_contains "corrupt db: artifact upload: message" "corrupt" "$ERRS"
check_eq "the corrupt file is unchanged" "$sum" "$(sha256sum "$T/corrupt.db")"
# A database file whose header is right but whose pages are garbage.
{ printf 'SQLite format 3\0'; head -c 65520 /dev/urandom; } >"$T/corrupt2.db"
sum=$(sha256sum "$T/corrupt2.db")
ota_expect 1 "corrupt pages: vehicle list" ota_admin --db "$T/corrupt2.db" vehicle list
check_contains "corrupt pages: message" "corrupt" "$ERRS"
ota_expect 1 "corrupt pages: vehicle add" ota_admin --db "$T/corrupt2.db" vehicle add VX
check_eq "the corrupt file is unchanged" "$sum" "$(sha256sum "$T/corrupt2.db")"
# A real SQLite database that is not ours.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$T/other.db"
ota_expect 1 "foreign database" ota_admin --db "$T/other.db" vehicle list
check_contains "foreign database: message" "run 'ota-admin init'" "$ERRS"

# ------------------------------------------------------------ --json failures on stdout
# the same exit codes; one JSON object {"error","message"} on stdout, the message on stderr
ota_expect 2 "--json usage error" ota_admin --json campaign show abc
check_eq "--json usage error: object" "usage|invalid campaign id 'abc' (a positive number)" \
    "$(jq -r '"\(.error)|\(.message)"' <<<"$OUT")"
check_contains "--json usage error: stderr too" "invalid campaign id" "$ERRS"
ota_expect 1 "--json failure" ota_admin --json campaign show 999999
check_eq "--json failure: object" "failed|no campaign 999999" "$(jq -r '"\(.error)|\(.message)"' <<<"$OUT")"
ota_expect 2 "--json unknown option" ota_admin vehicle list --nosuch --json
check_eq "--json unknown option: error" usage "$(jq -r .error <<<"$OUT")"

echo "all ota-admin error checks passed"
