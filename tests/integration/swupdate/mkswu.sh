#!/bin/bash
# mkswu.sh: builds a CMS-signed SWUpdate image (.swu) whose one "files" entry (SWUpdate's
# rawfile handler) installs PAYLOAD at DEST, for the hawkBit DDI tests.
#
#   mkswu.sh signer DIR                      self-signed CMS signer: DIR/signer.crt/.key
#   mkswu.sh build OUT.swu PAYLOAD DEST SIGNER_DIR [VERSION] [HWREV]
#   mkswu.sh delta OUT.swu IMAGE.zck URL SOURCE DEST SIGNER_DIR [MAX_RANGES]
#
# "delta" packs only IMAGE.zck's zchunk header (the bytes zck_read_header reports as its
# header size) under SWUpdate's delta handler: it compares the header with SOURCE (the
# running image), fetches the chunks it lacks from URL with Range requests (at most
# MAX_RANGES per request; SWUpdate's default 150 when not given) and hands the rebuilt
# image to the rawfile handler, which writes DEST. The header's chunk hashes, signed with
# sw-description, are what make the downloaded bytes trustworthy.
#
# The archive is what SWUpdate 2022.12 (Debian, built for signed images) accepts: cpio
# "crc" (newc with checksums), sw-description first, then sw-description.sig (CMS, DER,
# detached, signed by SIGNER_DIR/signer.crt, which swupdate -k must be given), then the
# payload, whose sha256 sw-description carries. hardware-compatibility lists HWREV
# (default 1.0): run swupdate with -H <board>:HWREV.
set -euo pipefail

die()
{
    echo "mkswu.sh: $*" >&2
    exit 1
}

cmd=${1:-}
case $cmd in
signer)
    [[ $# -eq 2 ]] || die "usage: mkswu.sh signer DIR"
    dir=$2
    mkdir -p "$dir"
    # SWUpdate checks the signer's purpose (default emailProtection) and chains it to the
    # -k file, so a self-signed certificate with that usage is its own trust anchor.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$dir/signer.key" -out "$dir/signer.crt" -days 2 \
        -subj "/CN=ota-origin test SWU signer" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=emailProtection" 2>/dev/null ||
        die "openssl req failed"
    ;;
build)
    [[ $# -ge 5 && $# -le 7 ]] ||
        die "usage: mkswu.sh build OUT.swu PAYLOAD DEST SIGNER_DIR [VERSION] [HWREV]"
    out=$2 payload=$3 dest=$4 signer=$5 version=${6:-1.0.0} hwrev=${7:-1.0}
    [[ -s $payload ]] || die "no payload $payload"
    [[ $dest == /* ]] || die "DEST must be an absolute path"
    work=$(mktemp -d "${TMPDIR:-/tmp}/mkswu.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    name=$(basename "$payload")
    cp "$payload" "$work/$name"
    sha=$(sha256sum "$payload" | cut -d' ' -f1)
    cat >"$work/sw-description" <<SWD
software =
{
	version = "$version";
	description = "ota-origin hawkBit DDI test image";
	hardware-compatibility = [ "$hwrev" ];
	files: (
		{
			filename = "$name";
			path = "$dest";
			sha256 = "$sha";
		}
	);
};
SWD
    openssl cms -sign -in "$work/sw-description" -out "$work/sw-description.sig" \
        -signer "$signer/signer.crt" -inkey "$signer/signer.key" -outform DER \
        -nosmimecap -binary || die "openssl cms -sign failed"
    (cd "$work" && printf '%s\n' sw-description sw-description.sig "$name" |
        cpio -o -H crc --quiet) >"$out" || die "cpio failed"
    ;;
delta)
    [[ $# -ge 7 && $# -le 8 ]] ||
        die "usage: mkswu.sh delta OUT.swu IMAGE.zck URL SOURCE DEST SIGNER_DIR [MAX_RANGES]"
    out=$2 zck=$3 url=$4 source=$5 dest=$6 signer=$7 max_ranges=${8:-}
    [[ -s $zck ]] || die "no zchunk file $zck"
    [[ $dest == /* && $source == /* ]] || die "SOURCE and DEST must be absolute paths"
    work=$(mktemp -d "${TMPDIR:-/tmp}/mkswu.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    hsize=$(zck_read_header -v "$zck" | sed -n 's/^Header size: *//p')
    [[ $hsize =~ ^[0-9]+$ ]] || die "zck_read_header found no header size in $zck"
    head -c "$hsize" "$zck" >"$work/image.header"
    sha=$(sha256sum "$work/image.header" | cut -d' ' -f1)
    ranges_line=
    [[ -z $max_ranges ]] || ranges_line="max-ranges = \"$max_ranges\";"
    cat >"$work/sw-description" <<SWD
software =
{
	version = "2.0.0";
	description = "ota-origin zchunk delta test image";
	hardware-compatibility = [ "1.0" ];
	images: (
		{
			filename = "image.header";
			type = "delta";
			path = "$dest";
			sha256 = "$sha";
			properties: {
				url = "$url";
				source = "$source";
				chain = "rawfile";
				$ranges_line
			};
		}
	);
};
SWD
    openssl cms -sign -in "$work/sw-description" -out "$work/sw-description.sig" \
        -signer "$signer/signer.crt" -inkey "$signer/signer.key" -outform DER \
        -nosmimecap -binary || die "openssl cms -sign failed"
    (cd "$work" && printf '%s\n' sw-description sw-description.sig image.header |
        cpio -o -H crc --quiet) >"$out" || die "cpio failed"
    ;;
*)
    die "usage: mkswu.sh signer DIR | build OUT.swu PAYLOAD DEST SIGNER_DIR [VERSION] [HWREV] | delta …"
    ;;
esac
