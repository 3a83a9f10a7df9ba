#!/usr/bin/env python3
"""mkfleet.py CADIR OUTDIR ID...: client certificates for many test vehicles at once.

Writes OUTDIR/ID.crt and OUTDIR/ID.key for each ID (CN=ID), signed by CADIR/ca.crt and
CADIR/ca.key, with the same profile as `mkcert.sh DIR client ID` (P-256 key, 365 days,
CA:FALSE, digitalSignature, clientAuth, subject and authority key ids). One process for
all of them: mkcert.sh costs two openssl runs per vehicle (~0.2 s), which a 200-vehicle
rollout test cannot afford twice per test run. Test PKI only (python3-cryptography).
"""
import datetime
import os
import secrets
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def main(argv):
    if len(argv) < 4:
        print("usage: mkfleet.py CADIR OUTDIR ID...", file=sys.stderr)
        return 2
    cadir, outdir, ids = argv[1], argv[2], argv[3:]
    with open(os.path.join(cadir, "ca.crt"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(cadir, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    os.makedirs(outdir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    for vid in ids:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, vid)]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(int.from_bytes(b"\x01" + secrets.token_bytes(15), "big"))
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        base = os.path.join(outdir, vid)
        with open(base + ".key", "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(base + ".crt", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
