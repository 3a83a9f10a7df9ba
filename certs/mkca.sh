#!/bin/sh
# mkca.sh: makes a development/test certificate authority (ECDSA P-256) for ota-origin.
#
# Usage: mkca.sh [--days N] [--force] DIR [NAME]
# Writes DIR/ca.crt and DIR/ca.key (mode 0600). NAME is the subject CN
# (default "ota-origin dev fleet CA"). Refuses to replace an existing DIR/ca.key
# unless --force is given. Exit: 0 done, 1 failed, 2 usage.
# Not for production: a real fleet CA key belongs in an HSM, not in a shell script.
set -eu

prog=${0##*/}
usage() {
    echo "usage: $prog [--days N] [--force] DIR [NAME]" >&2
    [ $# -gt 0 ] && echo "$prog: $*" >&2
    exit 2
}

days=3650
force=0
dir=
name=
while [ $# -gt 0 ]; do
    case $1 in
    --days)
        [ $# -ge 2 ] || usage "--days needs a value"
        case $2 in '' | *[!0-9]* | 0*) usage "--days must be a positive integer, got '$2'" ;; esac
        days=$2
        shift 2
        ;;
    --force) force=1; shift ;;
    -h | --help) usage ;;
    -*) usage "unknown option '$1'" ;;
    *)
        if [ -z "$dir" ]; then dir=$1
        elif [ -z "$name" ]; then name=$1
        else usage "too many arguments"
        fi
        shift
        ;;
    esac
done
[ -n "$dir" ] || usage "DIR is required"
[ -n "$name" ] || name="ota-origin dev fleet CA"

command -v openssl >/dev/null 2>&1 || { echo "$prog: openssl not found" >&2; exit 1; }

if [ -e "$dir/ca.key" ] && [ "$force" -eq 0 ]; then
    echo "$prog: $dir/ca.key exists; use --force to replace it" >&2
    exit 1
fi
mkdir -p "$dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkca.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

# Escape the characters that are special in openssl's -subj syntax.
cn=$(printf '%s' "$name" | sed 's/[\\/+=]/\\&/g')

cat >"$tmp/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
CNF

if ! openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" -config "$tmp/ca.cnf" -extensions v3_ca \
    -subj "/CN=$cn" -days "$days" -sha256 -set_serial "0x1$(openssl rand -hex 15)" \
    2>"$tmp/err"; then
    cat "$tmp/err" >&2
    echo "$prog: openssl failed" >&2
    exit 1
fi
chmod 0600 "$tmp/ca.key"
chmod 0644 "$tmp/ca.crt"
# Move into place key first, so ca.crt never names a key that is not there yet.
mv -f "$tmp/ca.key" "$dir/ca.key"
mv -f "$tmp/ca.crt" "$dir/ca.crt"
