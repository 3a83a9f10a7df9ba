#!/usr/bin/env bash
# test_admin_cli.sh: every ota-admin command's happy path on the real binary: init (and its
# idempotence), vehicles, edges, signed artifacts (checked with stock minisign), campaigns
# with their outbox rows and audit events, and --json output parsed with jq.
. "$(dirname "$0")/lib.sh"

ota_setup "[server]" "poll_after = 77"
K=$T/keys

# ------------------------------------------------------------ init
key_sum=$(sha256sum "$K/ota.key" "$K/ota.pub")
ota_expect 0 "init again" ota_admin init
check_contains "init again says so" "already initialised" "$OUT"
check_contains "init keeps the key" "existing key kept" "$OUT"
ota_expect 0 "init --json" ota_admin init --json
check_eq "init --json key_created" false "$(jq -r .key_created <<<"$OUT")"
check_eq "init --json db_created" false "$(jq -r .db_created <<<"$OUT")"
check_eq "key files unchanged by init" "$key_sum" "$(sha256sum "$K/ota.key" "$K/ota.pub")"
check_eq "ota.key is 0600" 600 "$(stat -c %a "$K/ota.key")"
check_contains "ota.pub is a minisign public key" "untrusted comment: minisign public key" \
    "$(head -n 1 "$K/ota.pub")"

ota_expect 0 "key show --json" ota_admin key show --json
check_eq "key show: the id minisign names the key by" \
    "$(head -n 1 "$K/ota.pub" | awk '{ print $NF }')" "$(jq -r .key_id <<<"$OUT")"
check_eq "key show: the public key file" "$(cat "$K/ota.pub")" "$(jq -r .public_key <<<"$OUT" | sed '/^$/d')"
# without --config: $OTA_CONFIG names the configuration
OUT=$(OTA_CONFIG=$OTA_CONF "$OTA_ADMIN" key show --json) || fail "OTA_CONFIG: key show failed"
check_eq "OTA_CONFIG is read without --config" "$(jq -r .path <<<"$OUT")" "$K/ota.pub"

# A fresh init from nothing creates every part, the folders included.
F=$T/fresh
mkdir -p "$F"
ota_expect 0 "init from scratch" "$OTA_ADMIN" --db "$F/ota.db" --store "$F/store" --keys "$F/keys" \
    init --json
check_eq "fresh init created the db" true "$(jq -r .db_created <<<"$OUT")"
check_eq "fresh init created the store" true "$(jq -r .store_created <<<"$OUT")"
check_eq "fresh init created the key" true "$(jq -r .key_created <<<"$OUT")"
for d in "$F/store/sha256" "$F/store/tmp"; do
    [[ -d $d ]] || fail "init did not create $d"
done
check_eq "fresh ota.key is 0600" 600 "$(stat -c %a "$F/keys/ota.key")"
check_eq "fresh keys folder is 0700" 700 "$(stat -c %a "$F/keys")"

# ------------------------------------------------------------ vehicles and edges
ota_expect 0 "vehicle add VIN1" ota_admin vehicle add VIN1 --model m1 --group g1
check_eq "vehicle add prints" "vehicle VIN1 added" "$OUT"
ota_expect 0 "vehicle add VIN2" ota_admin vehicle add VIN2 --model=m1 --group=g2
ota_expect 0 "vehicle add VIN3" ota_admin vehicle add VIN3 --model m2 --group g1
ota_expect 0 "vehicle add WVW.ZZZ_1-K" ota_admin vehicle add WVW.ZZZ_1-K --json
check_eq "vehicle add --json" 'WVW.ZZZ_1-K   active ' "$(jq -r '[.id, .model, .group, .state, .installed_artifact] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle list" ota_admin vehicle list
check_contains "vehicle list has a header" "ID" "$(head -n 1 <<<"$OUT")"
check_contains "vehicle list shows VIN2" "VIN2" "$OUT"
ota_expect 0 "vehicle list --json" ota_admin vehicle list --json
check_eq "vehicle list --json count" 4 "$(jq '.vehicles | length' <<<"$OUT")"
check_eq "vehicle list --json ids" "VIN1 VIN2 VIN3 WVW.ZZZ_1-K" \
    "$(jq -r '[.vehicles[].id] | join(" ")' <<<"$OUT")"
# vehicle import: RFC 4180 CSV (CRLF, quotes, a JSON object in a field), columns in any order
printf 'group,id,attributes,model\r\nimp,IMP1,"{""region"":""eu"",""hw"":""r2""}",m9\r\nimp,IMP2,,\r\n' >"$T/fleet.csv"
ota_expect 0 "vehicle import" ota_admin vehicle import "$T/fleet.csv"
check_eq "vehicle import prints" "2 vehicles imported" "$OUT"
ota_expect 0 "imported vehicle" ota_admin vehicle show IMP1 --json
check_eq "imported fields" "m9 imp eu r2" "$(jq -r '[.model, .group, .attributes.region, .attributes.hw] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle import from stdin --json" sh -c "printf 'id\nIMP3\n' | \"\$0\" --config \"\$1\" vehicle import - --json" "$OTA_ADMIN" "$OTA_CONF"
check_eq "vehicle import --json" 1 "$(jq -r .imported <<<"$OUT")"
check_eq "import events name the file" "2 vehicles from $T/fleet.csv|1 vehicles from stdin" \
    "$(ota_admin events --kind vehicle.import --json | jq -r '[.events[].detail] | join("|")')"
# out of the way of the campaigns below, which count active vehicles
for v in IMP1 IMP2 IMP3; do ota_admin vehicle revoke $v >/dev/null; done

ota_expect 0 "vehicle set" ota_admin vehicle set VIN2 --group g1 --attr region=eu
ota_expect 0 "vehicle list --group g1" ota_admin vehicle list --group g1 --json
check_eq "vehicle list --group" "VIN1 VIN2 VIN3" "$(jq -r '[.vehicles[].id] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle list --model m1 --group g1" ota_admin vehicle list --model m1 --group g1 --json
check_eq "vehicle list --model --group" "VIN1 VIN2" "$(jq -r '[.vehicles[].id] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle set back" ota_admin vehicle set VIN2 --group g2
ota_expect 0 "vehicle show VIN2" ota_admin vehicle show VIN2 --json
check_eq "vehicle set changed only what it was given" "m1 g2 eu" \
    "$(jq -r '[.model, .group, .attributes.region] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle show" ota_admin vehicle show VIN1
check_contains "vehicle show model" "m1" "$OUT"
ota_expect 0 "vehicle show --json" ota_admin vehicle show VIN1 --json
check_eq "vehicle show --json" "VIN1 m1 g1 active {} null" \
    "$(jq -r '[.id, .model, .group, .state, (.attributes | tojson), (.deployment | tojson)] | join(" ")' <<<"$OUT")"
ota_expect 0 "vehicle revoke VIN3" ota_admin vehicle revoke VIN3
ota_expect 0 "vehicle show revoked" ota_admin vehicle show VIN3 --json
check_eq "VIN3 is revoked" revoked "$(jq -r .state <<<"$OUT")"
ota_expect 0 "vehicle revoke again" ota_admin vehicle revoke VIN3

ota_expect 0 "edge add cdn1" ota_admin edge add cdn1
ota_expect 0 "edge add cdn2" ota_admin edge add cdn2 --json
check_eq "edge add --json" '{"name":"cdn2","state":"active"}' "$OUT"
ota_expect 0 "edge list" ota_admin edge list
check_contains "edge list" "cdn1" "$OUT"
ota_expect 0 "edge revoke cdn2" ota_admin edge revoke cdn2
ota_expect 0 "edge list --json" ota_admin edge list --json
check_eq "edge list --json" "cdn1:active cdn2:revoked" \
    "$(jq -r '[.edges[] | "\(.name):\(.state)"] | join(" ")' <<<"$OUT")"

# ------------------------------------------------------------ artifacts
head -c 1048577 /dev/urandom >"$T/update.swu"
sha=$(sha256sum "$T/update.swu" | cut -d' ' -f1)
ota_expect 0 "artifact upload" ota_admin artifact upload "$T/update.swu" --version 1.0 --hw revA
check_eq "upload prints the sha256" "$sha" "$OUT"
[[ -f $T/store/sha256/${sha:0:2}/$sha ]] || fail "the store has no sha256/${sha:0:2}/$sha"
check_eq "stored bytes" "$sha" "$(sha256sum "$T/store/sha256/${sha:0:2}/$sha" | cut -d' ' -f1)"
ota_expect 0 "artifact upload again, same metadata" ota_admin artifact upload "$T/update.swu" \
    --version 1.0 --hw revA
check_eq "repeat upload prints the same sha256" "$sha" "$OUT"
check_eq "stored once" 1 "$(find "$T/store/sha256" -type f | wc -l)"

ota_expect 0 "artifact list" ota_admin artifact list
check_contains "artifact list shows the name" "update.swu" "$OUT"
ota_expect 0 "artifact list --json" ota_admin artifact list --json
check_eq "artifact list --json" "$sha update.swu 1.0 revA 1048577" \
    "$(jq -r '.artifacts[] | [.sha256, .name, .version, .hw, .size] | join(" ")' <<<"$OUT")"
ota_expect 0 "artifact show" ota_admin artifact show "$sha"
check_contains "artifact show has the signature" "trusted comment: " "$OUT"
ota_expect 0 "artifact show --json" ota_admin artifact show "$sha" --json
check_eq "artifact show sha1" "$(sha1sum "$T/update.swu" | cut -d' ' -f1)" "$(jq -r .sha1 <<<"$OUT")"
check_eq "artifact show md5" "$(md5sum "$T/update.swu" | cut -d' ' -f1)" "$(jq -r .md5 <<<"$OUT")"
jq -r .signature <<<"$OUT" >"$T/update.swu.minisig"
check_contains "trusted comment binds the metadata" \
    "trusted comment: sha256:$sha size:1048577 name:update.swu version:1.0 hw:revA" \
    "$(cat "$T/update.swu.minisig")"
ota_run minisign -Vm "$T/update.swu" -x "$T/update.swu.minisig" -p "$K/ota.pub"
check_eq "stock minisign verifies the artifact (stderr: $ERRS)" 0 "$RC"
check_contains "minisign prints the trusted comment" "name:update.swu version:1.0 hw:revA" "$OUT"
# ... and refuses it after one byte changes.
cp "$T/update.swu" "$T/changed.swu"
printf 'X' | dd of="$T/changed.swu" bs=1 seek=1000 conv=notrunc status=none
ota_run minisign -Vm "$T/changed.swu" -x "$T/update.swu.minisig" -p "$K/ota.pub"
[[ $RC -ne 0 ]] || fail "minisign accepted a changed file"
echo "ok - minisign refuses a changed file"

ota_expect 0 "artifact verify" ota_admin artifact verify "$sha"
check_contains "artifact verify" "verified" "$OUT"
ota_expect 0 "artifact verify --json" ota_admin artifact verify "$sha" --json
check_eq "artifact verify --json ok" true "$(jq -r .ok <<<"$OUT")"
check_eq "artifact verify --json checks" "true" \
    "$(jq -r '[.checks[].ok] | all' <<<"$OUT")"

# --name, --json and a file whose name has no extension
head -c 4096 /dev/urandom >"$T/blob"
sha2=$(sha256sum "$T/blob" | cut -d' ' -f1)
ota_expect 0 "artifact upload --name --json" ota_admin artifact upload "$T/blob" --name fw.raucb \
    --version 2.0-rc1 --json
check_eq "upload --json" "$sha2 4096 fw.raucb 2.0-rc1  false" \
    "$(jq -r '[.sha256, .size, .name, .version, .hw, .existed] | join(" ")' <<<"$OUT")"

# --signature: a signature made elsewhere (stock minisign with our key) over the same
# trusted comment is accepted and kept as is.
head -c 70000 /dev/urandom >"$T/ext.swu"
sha3=$(sha256sum "$T/ext.swu" | cut -d' ' -f1)
minisign -S -s "$K/ota.key" -m "$T/ext.swu" -x "$T/ext.minisig" \
    -t "sha256:$sha3 size:70000 name:ext.swu version:3.0 hw:revB" </dev/null >/dev/null ||
    fail "minisign -S failed"
ota_expect 0 "artifact upload --signature" ota_admin artifact upload "$T/ext.swu" --version 3.0 \
    --hw revB --signature "$T/ext.minisig"
check_eq "upload --signature prints the sha256" "$sha3" "$OUT"
ota_expect 0 "artifact show the given signature" ota_admin artifact show "$sha3" --json
check_eq "the given signature is stored" "$(cat "$T/ext.minisig")" "$(jq -r .signature <<<"$OUT")"
ota_expect 0 "artifact verify given signature" ota_admin artifact verify "$sha3"

# ------------------------------------------------------------ campaigns
ota_expect 0 "campaign create --vehicles" ota_admin campaign create --name c1 --artifact "$sha" \
    --vehicles VIN1,VIN2,VIN1
check_eq "campaign create prints the id" 1 "$OUT"
ota_expect 0 "campaign create --group" ota_admin campaign create --name "c2 group" --artifact "$sha" \
    --group g1 --json
check_eq "campaign create --json" "2 created group g1" \
    "$(jq -r '[.id, .state, .target_kind, .target] | join(" ")' <<<"$OUT")"
ota_expect 0 "campaign create --model" ota_admin campaign create --name c3 --artifact "$sha2" --model m1
check_eq "campaign 3" 3 "$OUT"
ota_expect 0 "campaign create --all" ota_admin campaign create --name c4 --artifact "$sha3" --all
check_eq "campaign 4" 4 "$OUT"
ota_expect 0 "campaign list" ota_admin campaign list
check_contains "campaign list" "vehicles:VIN1,VIN2" "$OUT"
ota_expect 0 "campaign list --json" ota_admin campaign list --json
check_eq "campaign list --json" "1:created 2:created 3:created 4:created" \
    "$(jq -r '[.campaigns[] | "\(.id):\(.state)"] | join(" ")' <<<"$OUT")"

ota_expect 0 "campaign start 1" ota_admin campaign start 1
check_contains "campaign start" "running, 2 vehicles notified" "$OUT"
ota_expect 0 "campaign show 1 --vehicles" ota_admin campaign show 1 --vehicles
check_contains "campaign show counts" "pending=2" "$OUT"
check_contains "campaign show rows" "VIN2" "$OUT"
ota_expect 0 "campaign show 1 --vehicles --json" ota_admin campaign show 1 --vehicles --json
check_eq "campaign show --json head" "1 c1 running $sha" \
    "$(jq -r '[.id, .name, .state, .artifact] | join(" ")' <<<"$OUT")"
check_eq "campaign show --json counts" "2 0" "$(jq -r '[.counts.pending, .counts.installed] | join(" ")' <<<"$OUT")"
check_eq "campaign show --json deployments" "VIN1:pending:0 VIN2:pending:0" \
    "$(jq -r '[.deployments[] | "\(.vehicle):\(.state):\(.bytes)"] | join(" ")' <<<"$OUT")"
check_eq "deployment rows have detail and updated_at" "true" \
    "$(jq -r '[.deployments[] | has("detail") and (.updated_at | type == "string")] | all' <<<"$OUT")"

ota_expect 0 "outbox list" ota_admin outbox list
check_contains "outbox list" "vehicles/VIN1/update" "$OUT"
ota_expect 0 "outbox list --vehicle VIN1 --json" ota_admin outbox list --vehicle VIN1 --json
check_eq "VIN1 has one pending retained row" "1 pending true vehicles/VIN1/update 1" \
    "$(jq -r '[(.outbox | length), .outbox[0].state, .outbox[0].retain, .outbox[0].topic, .outbox[0].campaign] | join(" ")' <<<"$OUT")"
payload=$(jq -r '.outbox[0].payload' <<<"$OUT")
check_eq "the payload announces the artifact" "1 $sha 1048577 update.swu 1.0 /v1/artifacts/$sha 77" \
    "$(jq -r '[.campaign, .artifact.sha256, .artifact.size, .artifact.name, .artifact.version, .artifact.url, .poll_after] | join(" ")' <<<"$payload")"
check_eq "the payload carries issued_at" true "$(jq -r '.issued_at | test("^[0-9-]+T[0-9:]+Z$")' <<<"$payload")"
check_contains "the payload carries the signature" "trusted comment: sha256:$sha" \
    "$(jq -r .artifact.signature <<<"$payload")"

ota_expect 0 "campaign pause 1" ota_admin campaign pause 1
check_contains "campaign pause" "paused" "$OUT"
ota_expect 0 "outbox after pause" ota_admin outbox list --json
# the unsent announcements dropped, and an empty retained message to each held vehicle
check_eq "paused: announcements dropped, topics cleared" "dropped:1 dropped:1 pending:0 pending:0" \
    "$(jq -r '[.outbox[] | select(.campaign == 1) | "\(.state):\(.payload | length | if . > 0 then 1 else 0 end)"] | join(" ")' <<<"$OUT")"
ota_expect 0 "campaign resume 1" ota_admin campaign resume 1
ota_expect 0 "outbox after resume" ota_admin outbox list --json
check_eq "resumed: announced again" "pending:1 pending:1" \
    "$(jq -r '[.outbox[] | select(.campaign == 1) | "\(.state):\(.payload | length | if . > 0 then 1 else 0 end)"] | .[-2:] | join(" ")' <<<"$OUT")"

# One unfinished deployment per vehicle: c2 (group g1: VIN1; VIN3 is revoked) finds VIN1
# busy in c1; c4 (all active vehicles) starts without the busy ones.
ota_expect 1 "campaign start 2 over a busy vehicle" ota_admin campaign start 2
check_contains "busy targets named with the way out" "1 of the 1 targets are in another campaign's unfinished deployment" "$ERRS"
ota_expect 0 "campaign start 4 --skip-busy" ota_admin campaign start 4 --skip-busy --json
check_eq "skip-busy report" "3 2 2 1" \
    "$(jq -r '[.start.targets, .start.busy, .start.skipped, .start.pending] | join(" ")' <<<"$OUT")"
ota_expect 0 "campaign show 4 --vehicles --json" ota_admin campaign show 4 --vehicles --json
check_eq "all-campaign left out the busy vehicles" "WVW.ZZZ_1-K" \
    "$(jq -r '[.deployments[].vehicle] | join(" ")' <<<"$OUT")"

ota_expect 0 "campaign cancel 1" ota_admin campaign cancel 1 --json
check_eq "cancelled campaign" "cancelled 2" "$(jq -r '[.state, .counts.cancelled] | join(" ")' <<<"$OUT")"
ota_expect 0 "outbox after cancel" ota_admin outbox list --vehicle VIN2 --json
check_eq "VIN2's topic is cleared by an empty retained message" "pending true " \
    "$(jq -r '.outbox[-1] | [.state, .retain, .payload] | join(" ")' <<<"$OUT")"
ota_expect 0 "campaign start 2 once VIN1 is free" ota_admin campaign start 2 --json
check_eq "group campaign deployments" "running 1" "$(jq -r '[.state, .counts.pending] | join(" ")' <<<"$OUT")"
ota_expect 0 "campaign cancel 2" ota_admin campaign cancel 2
ota_expect 0 "campaign cancel 4" ota_admin campaign cancel 4

# ------------------------------------------------------------ audit
ota_expect 0 "events --campaign 1" ota_admin events --campaign 1 --json
check_eq "campaign events" "campaign.create campaign.start campaign.pause campaign.resume campaign.cancel" \
    "$(jq -r '[.events[].kind] | join(" ")' <<<"$OUT")"
check_eq "campaign events name the operating-system user" "$(id -un)" "$(jq -r '[.events[].actor] | unique | join(" ")' <<<"$OUT")"
ota_expect 0 "events --vehicle VIN3" ota_admin events --vehicle VIN3 --json
check_eq "vehicle events (revoking a revoked vehicle changes nothing)" "vehicle.add vehicle.revoke" \
    "$(jq -r '[.events[].kind] | join(" ")' <<<"$OUT")"
ota_expect 0 "events" ota_admin events
check_contains "events table" "artifact.upload" "$OUT"
check_contains "edge events" "edge.revoke" "$OUT"

# ------------------------------------------------------------ global options
ota_expect 0 "--set overrides the config" ota_admin --set server.poll_after=42 campaign create \
    --name c5 --artifact "$sha" --vehicles VIN1
ota_expect 0 "start with --set" ota_admin --set server.poll_after=42 campaign start 5
ota_expect 0 "outbox for c5" ota_admin outbox list --vehicle VIN1 --json
check_eq "poll_after from --set" 42 \
    "$(jq -r '[.outbox[] | select(.campaign == 5)][0].payload | fromjson | .poll_after' <<<"$OUT")"
# ------------------------------------------------------------ artifact delete
ota_expect 1 "artifact delete while a campaign uses it" ota_admin artifact delete "$sha"
check_contains "delete refused: says why" "is used by 1 campaign that has not ended" "$ERRS"
[[ -f $T/store/sha256/${sha:0:2}/$sha ]] || fail "a refused delete removed the store file"
ota_admin campaign cancel 5 >/dev/null
ota_expect 0 "artifact delete" ota_admin artifact delete "$sha"
check_eq "artifact delete prints" "artifact $sha deleted" "$OUT"
[[ ! -e $T/store/sha256/${sha:0:2}/$sha ]] || fail "artifact delete left the store file"
check_eq "deleted artifact not listed" 0 \
    "$(ota_admin artifact list --json | jq --arg s "$sha" '[.artifacts[] | select(.sha256 == $s)] | length')"
# the row stays for the history (campaigns and events name it), marked deleted
ota_expect 0 "artifact show deleted" ota_admin artifact show "$sha"
check_contains "artifact show says deleted" "(its bytes are gone from the store)" "$OUT"
check_contains "events record the delete" "artifact.delete" "$(ota_admin events --kind artifact.delete)"

ota_expect 0 "--help" "$OTA_ADMIN" --help
check_contains "--help lists commands" "campaign create" "$OUT"

echo "all ota-admin CLI checks passed"
