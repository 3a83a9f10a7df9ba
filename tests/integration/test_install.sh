#!/usr/bin/env bash
# meson install (#16): into a DESTDIR, the four binaries, the two systemd units (with
# ExecStart and Documentation at this install's paths), the sample configuration and the
# docs; `systemd-analyze verify` finds nothing to say about the units, and the check is
# shown able to fail on a broken copy. The installed sample configuration is one the
# installed programs read.
source "$(dirname "$0")/lib.sh"

D=$T/root
meson install -C "$OTA_BUILD" --no-rebuild --quiet --destdir "$D" >"$T/install.log" 2>&1 || {
    cat "$T/install.log" >&2
    fail "meson install --destdir failed"
}
prefix=$(meson introspect "$OTA_BUILD" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')
P=$D$prefix
want=(
    bin/ota-server bin/ota-notifier bin/ota-admin bin/ota-vehicle
    lib/systemd/system/ota-server.service lib/systemd/system/ota-notifier.service
    share/doc/ota-origin/README.md share/doc/ota-origin/ota.conf.sample
    share/doc/ota-origin/notifier.md share/doc/ota-origin/vehicle.md
    share/doc/ota-origin/bench.md share/doc/ota-origin/mosquitto.conf
    share/doc/ota-origin/mosquitto.acl
)
for f in "${want[@]}"; do
    [[ -s $P/$f ]] || fail "meson install did not install $prefix/$f"
done
for b in ota-server ota-notifier ota-admin ota-vehicle; do
    [[ -x $P/bin/$b ]] || fail "$prefix/bin/$b is not executable"
done
got=$(cd "$D" && find . -type f | sort)
check_eq "nothing else installed" "${#want[@]}" "$(wc -l <<<"$got")"
cmp -s "$OTA_SRC/README.md" "$P/share/doc/ota-origin/README.md" || fail "installed README differs"
echo "ok - the binaries, units, sample config and docs under $prefix"

for u in ota-server ota-notifier; do
    unit=$P/lib/systemd/system/$u.service
    check_contains "$u.service: ExecStart at the install's bindir" \
        "ExecStart=$prefix/bin/$u --config /etc/ota-origin/ota.conf" "$(cat "$unit")"
    check_contains "$u.service: the installed README" \
        "Documentation=file://$prefix/share/doc/ota-origin/README.md" "$(cat "$unit")"
    check_contains "$u.service: Type=notify" "Type=notify" "$(cat "$unit")"
done

# systemd-analyze verify checks that ExecStart exists on this machine: the copies it
# verifies point into the DESTDIR, nothing else changed. It exits 0 on most problems
# (an unknown Type= is only logged), so what it prints is the verdict.
mkdir -p "$T/verify"
for u in ota-server ota-notifier; do
    sed "s|^ExecStart=$prefix/bin/|ExecStart=$P/bin/|" "$P/lib/systemd/system/$u.service" \
        >"$T/verify/$u.service"
done
out=$(systemd-analyze verify "$T/verify/ota-server.service" "$T/verify/ota-notifier.service" 2>&1) ||
    fail "systemd-analyze verify failed: $out"
check_eq "systemd-analyze verify says nothing" "" "$out"
sed 's/^Type=notify$/Type=notfy/' "$T/verify/ota-server.service" >"$T/verify/broken.service"
out=$(systemd-analyze verify "$T/verify/broken.service" 2>&1 || true)
check_contains "and it notices a broken unit" "Failed to parse service type" "$out"

# The installed sample is a configuration the installed admin reads (its keys all known).
mkdir -p "$T/state"
sed -e "s|^db *=.*|db = $T/state/ota.db|" -e "s|^store *=.*|store = $T/state/store|" \
    -e "s|^keys *=.*|keys = $T/state/keys|" "$P/share/doc/ota-origin/ota.conf.sample" >"$T/ota.conf"
"$P/bin/ota-admin" --config "$T/ota.conf" init >"$T/init.log" 2>&1 || {
    cat "$T/init.log" >&2
    fail "the installed ota-admin did not init with the installed sample config"
}
echo "ok - the installed ota-admin reads the installed sample config"
