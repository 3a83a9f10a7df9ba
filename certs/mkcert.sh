#!/bin/sh
# mkcert.sh: issues a development/test certificate (ECDSA P-256) from a CA made by mkca.sh.
#
# Usage: mkcert.sh DIR KIND NAME [options]
#   KIND  server  TLS server (ota-server): serverAuth, SAN localhost, 127.0.0.1, ::1 + --san
#         broker  MQTT broker: same as server
#         client  vehicle: clientAuth, CN=NAME (NAME is the vehicle id)
#         edge    CDN edge: clientAuth, CN=NAME
# Writes DIR/NAME.crt and DIR/NAME.key (0600), replacing them if present.
# Options:
#   --ca CADIR       sign with CADIR/ca.crt + CADIR/ca.key (default: DIR)
#   --days N         validity in days from now (default 365)
#   --expired        validity entirely in the past (2020-01-01 .. 2020-02-01)
#   --not-yet-valid  validity entirely in the future (2099-01-01 .. 2099-02-01)
#   --san NAME[,..]  extra subjectAltName entries (DNS name or IP), repeatable
#   --cn CN          subject CN other than NAME (for tests with odd ids)
#   --key ec|ed25519|rsa  key type (default ec = P-256)
# Exit: 0 done, 1 failed, 2 usage.
set -eu

prog=${0##*/}
usage() {
    echo "usage: $prog DIR server|client|edge|broker NAME [--ca CADIR] [--days N] [--expired]" >&2
    echo "       [--not-yet-valid] [--san NAME[,NAME...]] [--cn CN] [--key ec|ed25519|rsa]" >&2
    [ $# -gt 0 ] && echo "$prog: $*" >&2
    exit 2
}
need() {
    [ "$2" -ge 2 ] || usage "$1 needs a value"
}

dir='' kind='' name='' cadir='' days=365 window='' sans='' cn='' keytype=ec
while [ $# -gt 0 ]; do
    case $1 in
    --ca) need "$1" $#; cadir=$2; shift 2 ;;
    --days)
        need "$1" $#
        case $2 in '' | *[!0-9]* | 0*) usage "--days must be a positive integer, got '$2'" ;; esac
        days=$2
        shift 2
        ;;
    --expired) window=expired; shift ;;
    --not-yet-valid) window=future; shift ;;
    --san) need "$1" $#; sans="$sans${sans:+,}$2"; shift 2 ;;
    --cn) need "$1" $#; cn=$2; shift 2 ;;
    --key)
        need "$1" $#
        case $2 in ec | ed25519 | rsa) keytype=$2 ;; *) usage "--key must be ec, ed25519 or rsa" ;; esac
        shift 2
        ;;
    -h | --help) usage ;;
    -*) usage "unknown option '$1'" ;;
    *)
        if [ -z "$dir" ]; then dir=$1
        elif [ -z "$kind" ]; then kind=$1
        elif [ -z "$name" ]; then name=$1
        else usage "unexpected argument '$1'"
        fi
        shift
        ;;
    esac
done
if [ -z "$dir" ] || [ -z "$kind" ] || [ -z "$name" ]; then
    usage "DIR, KIND and NAME are required"
fi
case $kind in
server | broker) eku=serverAuth ;;
client | edge) eku=clientAuth ;;
*) usage "KIND must be server, client, edge or broker, got '$kind'" ;;
esac
# NAME is a file name; the id rule of DESIGN.md keeps it safe ([A-Za-z0-9._-]{1,64}).
case $name in
'' | . | .. | ca | *[!A-Za-z0-9._-]*) usage "NAME must match [A-Za-z0-9._-]{1,64} and not be 'ca', got '$name'" ;;
esac
[ ${#name} -le 64 ] || usage "NAME is longer than 64 characters"
[ -n "$cn" ] || cn=$name
[ -n "$cadir" ] || cadir=$dir
if [ ! -r "$cadir/ca.crt" ] || [ ! -r "$cadir/ca.key" ]; then
    echo "$prog: no CA in $cadir (run mkca.sh $cadir first)" >&2
    exit 1
fi
command -v openssl >/dev/null 2>&1 || { echo "$prog: openssl not found" >&2; exit 1; }
mkdir -p "$dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkcert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

case $keytype in
ec) newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
ed25519) newkey="-newkey ed25519" ;;
rsa) newkey="-newkey rsa:2048" ;;
esac

san=
if [ "$eku" = serverAuth ]; then
    san="DNS:localhost,IP:127.0.0.1,IP:::1"
    old_ifs=$IFS
    IFS=,
    for s in $sans; do
        [ -n "$s" ] || continue
        case $s in
        *[!0-9.]*)
            case $s in
            *:*) san="$san,IP:$s" ;; # IPv6
            *) san="$san,DNS:$s" ;;
            esac
            ;;
        *) san="$san,IP:$s" ;; # IPv4
        esac
    done
    IFS=$old_ifs
elif [ -n "$sans" ]; then
    san=$(printf '%s' "$sans" | sed 's/\([^,]*\)/DNS:\1/g')
fi

{
    printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n'
    printf '[ca]\ndefault_ca = ca_dev\n[ca_dev]\n'
    printf 'database = %s/index.txt\nnew_certs_dir = %s\nrand_serial = yes\n' "$tmp" "$tmp"
    printf 'default_md = sha256\npolicy = pol\nunique_subject = no\nemail_in_dn = no\n'
    printf 'copy_extensions = none\n[pol]\ncommonName = supplied\n'
    printf '[leaf]\nbasicConstraints = critical,CA:FALSE\n'
    printf 'keyUsage = critical,digitalSignature\nextendedKeyUsage = %s\n' "$eku"
    printf 'subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n'
    [ -z "$san" ] || printf 'subjectAltName = %s\n' "$san"
} >"$tmp/openssl.cnf"

# Escape the characters that are special in openssl's -subj syntax.
subj="/CN=$(printf '%s' "$cn" | sed 's/[\\/+=]/\\&/g')"
md=-sha256
[ "$keytype" != ed25519 ] || md=

fail() {
    cat "$tmp/err" >&2 2>/dev/null || true
    echo "$prog: openssl failed making $dir/$name.crt" >&2
    exit 1
}

if [ -z "$window" ]; then
    # One process: new key, certificate signed by the CA (OpenSSL 3 req -CA).
    # shellcheck disable=SC2086
    openssl req -x509 -new $newkey -nodes -keyout "$tmp/key" -out "$tmp/crt" \
        -config "$tmp/openssl.cnf" -extensions leaf -subj "$subj" -days "$days" $md \
        -CA "$cadir/ca.crt" -CAkey "$cadir/ca.key" \
        -set_serial "0x1$(openssl rand -hex 15)" 2>"$tmp/err" || fail
else
    # Dates in the past or future need `openssl ca` (-days must be positive).
    if [ "$window" = expired ]; then
        start=20200101000000Z end=20200201000000Z
    else
        start=20990101000000Z end=20990201000000Z
    fi
    : >"$tmp/index.txt"
    # shellcheck disable=SC2086
    openssl req -new $newkey -nodes -keyout "$tmp/key" -out "$tmp/csr" \
        -config "$tmp/openssl.cnf" -subj "$subj" 2>"$tmp/err" || fail
    openssl ca -batch -notext -config "$tmp/openssl.cnf" -extensions leaf \
        -cert "$cadir/ca.crt" -keyfile "$cadir/ca.key" -in "$tmp/csr" -out "$tmp/crt" \
        -startdate "$start" -enddate "$end" 2>"$tmp/err" >/dev/null || fail
fi
chmod 0600 "$tmp/key"
chmod 0644 "$tmp/crt"
mv -f "$tmp/key" "$dir/$name.key"
mv -f "$tmp/crt" "$dir/$name.crt"
