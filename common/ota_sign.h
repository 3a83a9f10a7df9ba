/* Ed25519 signing in minisign's formats (libsodium): key files, prehashed ("ED")
 * signatures over BLAKE2b-512, and the trusted comment that binds an artifact's
 * metadata: "sha256:<hex> size:<n> name:<name> version:<v> hw:<compat>".
 * Verification needs only libsodium, so ota-vehicle uses it too. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OTA_SIGN_KEYID_BYTES   8
#define OTA_SIGN_BLAKE2B_BYTES 64
#define OTA_SIGN_TEXT_MAX      4096 /* longest .minisig text accepted */

struct ota_sign_key; /* secret key, kept in sodium_malloc'd memory */

struct ota_sign_pub {
    uint8_t keyid[OTA_SIGN_KEYID_BYTES];
    uint8_t pk[32];
};

/* The metadata a trusted comment carries. */
struct ota_sign_meta {
    char sha256[65];
    uint64_t size;
    char name[256];
    char version[128];
    char hw[128];
};

/* Creates @dir/ota.key (minisign secret key, unencrypted, mode 0600) and @dir/ota.pub
 * (minisign public key). Returns 0, -EEXIST (either file exists: nothing written),
 * -EACCES/-ENOENT (folder) or -EIO. */
int ota_sign_keygen(const char *dir);

/* Loads a secret key written by ota_sign_keygen(). On success *ret is new; free with
 * ota_sign_key_free(). Returns 0, -ENOENT, -EACCES, -EINVAL (not a minisign key, or an
 * encrypted one) or -ENOMEM. */
int ota_sign_key_load(const char *path, struct ota_sign_key **ret);
void ota_sign_key_free(struct ota_sign_key *k);
/* The public half of @k. */
void ota_sign_key_public(const struct ota_sign_key *k, struct ota_sign_pub *ret);

/* Reads a minisign public key file (or its text). Returns 0, -ENOENT or -EINVAL. */
int ota_sign_pub_load(const char *path, struct ota_sign_pub *ret);
int ota_sign_pub_parse(const char *text, size_t len, struct ota_sign_pub *ret);
/* Writes the 2-line minisign public key text. *ret is new (free()). 0 or -ENOMEM. */
int ota_sign_pub_format(const struct ota_sign_pub *pub, char **ret);

/* Builds the trusted comment for @m. Returns 0 or -EINVAL (a field holds a space,
 * newline or control character, or the comment would not fit @len). */
int ota_sign_trusted_comment(const struct ota_sign_meta *m, char *buf, size_t len);
/* Parses a trusted comment back. Returns 0 or -EINVAL. */
int ota_sign_trusted_parse(const char *comment, struct ota_sign_meta *ret);

/* Signs a file's BLAKE2b-512 digest (minisign "ED"), with @trusted_comment under the
 * global signature. *ret_text is the whole .minisig text, new (free()).
 * Returns 0, -EINVAL or -ENOMEM. */
int ota_sign_minisig(const struct ota_sign_key *k, const uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES],
                     const char *trusted_comment, char **ret_text);

/* Verifies .minisig text against @pub and a file's BLAKE2b-512 digest: key id, the
 * signature over the digest, and the global signature over the trusted comment. On
 * success *ret_comment (may be NULL) is the trusted comment, new (free()).
 * Returns 0, -EINVAL (malformed), -EKEYREJECTED (other key) or -EBADMSG (bad signature). */
int ota_sign_verify(const struct ota_sign_pub *pub, const char *text, size_t len,
                    const uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES], char **ret_comment);

/* The key id a .minisig text names (what key made it), without verifying anything.
 * Returns 0 or -EINVAL (malformed). */
int ota_sign_minisig_keyid(const char *text, size_t len, uint8_t ret[OTA_SIGN_KEYID_BYTES]);
