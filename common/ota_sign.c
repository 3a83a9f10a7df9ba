/* Ed25519 key files and prehashed ("ED") signatures in minisign's formats, libsodium only. */
#include "ota_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ota_util.h"

/* minisign's binary layouts (src/minisign.h in jedisct1/minisign), all base64'd (original
 * alphabet, padded) on one line under an "untrusted comment: " line:
 *   public key  = "Ed" keyid[8] pk[32]
 *   secret key  = "Ed" kdf_alg[2] "B2" kdf_salt[32] opslimit_le[8] memlimit_le[8]
 *                 keyid[8] sk[64] chk[32], chk = BLAKE2b-256("Ed" keyid sk)
 *   signature   = "ED" keyid[8] Ed25519(BLAKE2b-512(file))[64]
 * kdf_alg "\0\0" means unencrypted (what `minisign -G -W` writes); "Sc" is scrypt. */
#define ALG_LEN          2
#define SIG_ALG          "Ed"
#define SIG_ALG_HASHED   "ED"
#define KDF_ALG_SCRYPT   "Sc"
#define CHK_ALG          "B2"
#define CHK_BYTES        32
#define SALT_BYTES       32
#define PK_STRUCT_BYTES  (ALG_LEN + OTA_SIGN_KEYID_BYTES + crypto_sign_PUBLICKEYBYTES)
#define SIG_STRUCT_BYTES (ALG_LEN + OTA_SIGN_KEYID_BYTES + crypto_sign_BYTES)
#define SK_OFF_KDF       2
#define SK_OFF_CHK_ALG   4
#define SK_OFF_KEYID     (6 + SALT_BYTES + 8 + 8)
#define SK_OFF_SK        (SK_OFF_KEYID + OTA_SIGN_KEYID_BYTES)
#define SK_OFF_CHK       (SK_OFF_SK + crypto_sign_SECRETKEYBYTES)
#define SK_STRUCT_BYTES  (SK_OFF_CHK + CHK_BYTES)
#define B64_VARIANT      sodium_base64_VARIANT_ORIGINAL

#define COMMENT_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define SIG_COMMENT    COMMENT_PREFIX "signature from ota-origin secret key"
#define SK_COMMENT     COMMENT_PREFIX "ota-origin secret key (unencrypted)"
#define PK_COMMENT_FMT COMMENT_PREFIX "minisign public key %016" PRIX64
#define KEY_FILE_MAX   4096 /* key files are ~300 bytes; anything larger is not one */
#define SIGN_LINES_MAX 4

_Static_assert(SK_STRUCT_BYTES == 158, "minisign secret key layout");
_Static_assert(PK_STRUCT_BYTES == 42, "minisign public key layout");
_Static_assert(SIG_STRUCT_BYTES == 74, "minisign signature layout");
_Static_assert(OTA_SIGN_BLAKE2B_BYTES == crypto_generichash_BYTES_MAX, "prehash is BLAKE2b-512");

struct ota_sign_key {
    uint8_t keyid[OTA_SIGN_KEYID_BYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* seed[32] || pk[32], as libsodium keeps it */
};

struct span {
    const char *p;
    size_t len;
};

static int sign_sodium_init(void)
{
    /* Idempotent and thread-safe; also selects the fastest BLAKE2b/Ed25519 code. */
    return sodium_init() < 0 ? -EIO : 0;
}

static uint64_t le64_load(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static bool has_prefix(const struct span *s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s->len >= n && memcmp(s->p, prefix, n) == 0;
}

/* Comment text may hold tabs (minisign's default trusted comment does) but no other control
 * characters, so that it stays on its line and prints safely. */
static bool comment_valid(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* Splits @len bytes into at most @max lines ('\n'-terminated, an optional '\r' before it is
 * dropped, the last line's '\n' optional). Blank lines at the end are ignored, as minisign
 * does (`jq -r .signature > f.minisig` adds one). NUL bytes and extra lines are malformed. */
static int split_lines(const char *text, size_t len, struct span *lines, size_t max, size_t *ret_n)
{
    size_t n = 0, start = 0;

    if (memchr(text, '\0', len))
        return -EINVAL;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;

        if (n == max)
            return -EINVAL;
        lines[n].p = text + start;
        lines[n].len = end - start;
        if (lines[n].len > 0 && lines[n].p[lines[n].len - 1] == '\r')
            lines[n].len--;
        n++;
        start = end + 1;
    }
    *ret_n = n;
    return 0;
}

/* Decodes exactly @want bytes of padded standard base64 from @s. */
static int b64_decode(const struct span *s, uint8_t *out, size_t want)
{
    size_t got = 0;

    if (s->len + 1 != sodium_base64_ENCODED_LEN(want, B64_VARIANT))
        return -EINVAL;
    if (sodium_base642bin(out, want, s->p, s->len, NULL, &got, NULL, B64_VARIANT) != 0 ||
        got != want)
        return -EINVAL;
    return 0;
}

static void seckey_checksum(const uint8_t *skstruct, uint8_t out[CHK_BYTES])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, CHK_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)SIG_ALG, ALG_LEN);
    crypto_generichash_update(&st, skstruct + SK_OFF_KEYID, OTA_SIGN_KEYID_BYTES);
    crypto_generichash_update(&st, skstruct + SK_OFF_SK, crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&st, out, CHK_BYTES);
    sodium_memzero(&st, sizeof st);
}

/* Writes @len bytes to a new temp file next to @final (mode @mode), fsyncs it and hard-links
 * it to @final, which fails with -EEXIST rather than replacing anything. The temp name is
 * always removed, so a failure leaves nothing; a crash can leave only a ".ota-key.*" file. */
static int write_new_file(const char *dir, const char *final, const char *data, size_t len,
                          mode_t mode)
{
    char tmp[4096], dst[4096];
    size_t off = 0;
    int fd = -1, r;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.ota-key.XXXXXX", dir) >= sizeof tmp ||
        (size_t)snprintf(dst, sizeof dst, "%s/%s", dir, final) >= sizeof dst)
        return -ENAMETOOLONG;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode) < 0) {
        r = -errno;
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = errno == ENOSPC ? -ENOSPC : -EIO;
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        r = -EIO;
        goto out;
    }
    r = link(tmp, dst) < 0 ? -errno : 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return r;
}

int ota_sign_keygen(const char *dir)
{
    uint8_t *skstruct = NULL;
    char *sktext = NULL, *pktext = NULL;
    struct ota_sign_pub pub;
    size_t b64len = sodium_base64_ENCODED_LEN(SK_STRUCT_BYTES, B64_VARIANT);
    size_t sktext_len = sizeof SK_COMMENT + b64len + 1;
    char keypath[4096], pubpath[4096];
    bool key_linked = false, pub_linked = false;
    struct stat st;
    int r;

    r = sign_sodium_init();
    if (r < 0)
        return r;
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((size_t)snprintf(keypath, sizeof keypath, "%s/ota.key", dir) >= sizeof keypath ||
        (size_t)snprintf(pubpath, sizeof pubpath, "%s/ota.pub", dir) >= sizeof pubpath)
        return -ENAMETOOLONG;

    skstruct = sodium_malloc(SK_STRUCT_BYTES);
    sktext = sodium_malloc(sktext_len);
    if (!skstruct || !sktext) {
        r = -ENOMEM;
        goto out;
    }
    memset(skstruct, 0, SK_STRUCT_BYTES); /* kdf "\0\0", zero salt and limits: unencrypted */
    memcpy(skstruct, SIG_ALG, ALG_LEN);
    memcpy(skstruct + SK_OFF_CHK_ALG, CHK_ALG, ALG_LEN);
    randombytes_buf(skstruct + SK_OFF_KEYID, OTA_SIGN_KEYID_BYTES);
    crypto_sign_keypair(pub.pk, skstruct + SK_OFF_SK);
    memcpy(pub.keyid, skstruct + SK_OFF_KEYID, OTA_SIGN_KEYID_BYTES);
    seckey_checksum(skstruct, skstruct + SK_OFF_CHK);

    memcpy(sktext, SK_COMMENT "\n", sizeof SK_COMMENT);
    sodium_bin2base64(sktext + sizeof SK_COMMENT, b64len, skstruct, SK_STRUCT_BYTES, B64_VARIANT);
    sktext[sktext_len - 2] = '\n';
    sktext[sktext_len - 1] = '\0';
    r = ota_sign_pub_format(&pub, &pktext);
    if (r < 0)
        goto out;

    /* ota.key first: if either exists, nothing of ours stays behind. */
    r = write_new_file(dir, "ota.key", sktext, sktext_len - 1, 0600);
    if (r < 0)
        goto out;
    key_linked = true;
    r = write_new_file(dir, "ota.pub", pktext, strlen(pktext), 0644);
    if (r < 0)
        goto out;
    pub_linked = true;
    r = ota_fsync_path(dir, O_RDONLY | O_DIRECTORY);
    if (r < 0)
        goto out;
    key_linked = pub_linked = false; /* both in place and durable: keep them */
out:
    if (pub_linked)
        unlink(pubpath);
    if (key_linked)
        unlink(keypath);
    sodium_free(skstruct);
    sodium_free(sktext);
    free(pktext);
    return r;
}

int ota_sign_key_load(const char *path, struct ota_sign_key **ret)
{
    char *text = NULL;
    uint8_t *skstruct = NULL;
    uint8_t chk[CHK_BYTES], zero[CHK_BYTES] = { 0 };
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    struct ota_sign_key *k = NULL;
    struct span lines[2];
    size_t len = 0, n = 0;
    int r;

    r = sign_sodium_init();
    if (r < 0)
        return r;
    /* Guarded allocations: the secret never sits in ordinary heap or stack memory. */
    text = sodium_malloc(KEY_FILE_MAX);
    skstruct = sodium_malloc(SK_STRUCT_BYTES);
    k = sodium_malloc(sizeof *k);
    if (!text || !skstruct || !k) {
        r = -ENOMEM;
        goto out;
    }
    r = ota_read_small_file(path, text, KEY_FILE_MAX, &len);
    if (r < 0)
        goto out;
    r = -EINVAL;
    if (split_lines(text, len, lines, 2, &n) < 0 || n != 2 ||
        !has_prefix(&lines[0], COMMENT_PREFIX))
        goto out;
    if (b64_decode(&lines[1], skstruct, SK_STRUCT_BYTES) < 0)
        goto out;
    if (memcmp(skstruct, SIG_ALG, ALG_LEN) != 0 ||
        memcmp(skstruct + SK_OFF_CHK_ALG, CHK_ALG, ALG_LEN) != 0)
        goto out;
    /* Only unencrypted keys: "Sc" (password-protected) and unknown KDFs are refused. */
    if (skstruct[SK_OFF_KDF] != 0 || skstruct[SK_OFF_KDF + 1] != 0)
        goto out;
    /* `minisign -G -W` leaves the checksum zero; ours carries it, so check it when set. */
    seckey_checksum(skstruct, chk);
    if (sodium_memcmp(skstruct + SK_OFF_CHK, zero, CHK_BYTES) != 0 &&
        sodium_memcmp(skstruct + SK_OFF_CHK, chk, CHK_BYTES) != 0)
        goto out;
    /* The public half stored in sk must be the seed's: catches any corruption. */
    memcpy(k->keyid, skstruct + SK_OFF_KEYID, OTA_SIGN_KEYID_BYTES);
    if (crypto_sign_seed_keypair(pk, k->sk, skstruct + SK_OFF_SK) != 0 ||
        sodium_memcmp(k->sk, skstruct + SK_OFF_SK, crypto_sign_SECRETKEYBYTES) != 0)
        goto out;
    *ret = k; /* ownership moves to the caller */
    k = NULL;
    r = 0;
out:
    sodium_memzero(chk, sizeof chk);
    sodium_free(text);
    sodium_free(skstruct);
    sodium_free(k);
    return r;
}

void ota_sign_key_free(struct ota_sign_key *k)
{
    sodium_free(k); /* wipes, and is a no-op on NULL */
}

void ota_sign_key_public(const struct ota_sign_key *k, struct ota_sign_pub *ret)
{
    memcpy(ret->keyid, k->keyid, OTA_SIGN_KEYID_BYTES);
    memcpy(ret->pk, k->sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
}

int ota_sign_pub_parse(const char *text, size_t len, struct ota_sign_pub *ret)
{
    uint8_t raw[PK_STRUCT_BYTES];
    struct span lines[2];
    const struct span *b64;
    size_t n = 0;

    if (!text || len > KEY_FILE_MAX || split_lines(text, len, lines, 2, &n) < 0 || n == 0)
        return -EINVAL;
    /* The file's two lines, or just the base64 line (as `minisign -P` takes it). */
    if (n == 2 && !has_prefix(&lines[0], COMMENT_PREFIX))
        return -EINVAL;
    b64 = &lines[n - 1];
    if (b64_decode(b64, raw, sizeof raw) < 0 || memcmp(raw, SIG_ALG, ALG_LEN) != 0)
        return -EINVAL;
    memcpy(ret->keyid, raw + ALG_LEN, OTA_SIGN_KEYID_BYTES);
    memcpy(ret->pk, raw + ALG_LEN + OTA_SIGN_KEYID_BYTES, crypto_sign_PUBLICKEYBYTES);
    return 0;
}

int ota_sign_pub_load(const char *path, struct ota_sign_pub *ret)
{
    char text[KEY_FILE_MAX];
    size_t len = 0;
    int r;

    r = ota_read_small_file(path, text, sizeof text, &len);
    if (r < 0)
        return r;
    return ota_sign_pub_parse(text, len, ret);
}

int ota_sign_pub_format(const struct ota_sign_pub *pub, char **ret)
{
    uint8_t raw[PK_STRUCT_BYTES];
    char b64[sodium_base64_ENCODED_LEN(PK_STRUCT_BYTES, B64_VARIANT)];
    size_t cap = sizeof PK_COMMENT_FMT + 16 + sizeof b64 + 2;
    char *text;
    int n;

    memcpy(raw, SIG_ALG, ALG_LEN);
    memcpy(raw + ALG_LEN, pub->keyid, OTA_SIGN_KEYID_BYTES);
    memcpy(raw + ALG_LEN + OTA_SIGN_KEYID_BYTES, pub->pk, crypto_sign_PUBLICKEYBYTES);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, B64_VARIANT);
    text = malloc(cap);
    if (!text)
        return -ENOMEM;
    /* minisign prints the key id as a little-endian 64-bit number (KEYNUM_FMT). */
    n = snprintf(text, cap, PK_COMMENT_FMT "\n%s\n", le64_load(pub->keyid), b64);
    if (n < 0 || (size_t)n >= cap) {
        free(text);
        return -ENOMEM;
    }
    *ret = text;
    return 0;
}

/* A trusted-comment value: printable, no space (the separator), no control characters. */
static bool field_valid(const char *s, size_t cap, bool may_be_empty)
{
    size_t len = strnlen(s, cap);

    if (len == cap || (len == 0 && !may_be_empty))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

int ota_sign_trusted_comment(const struct ota_sign_meta *m, char *buf, size_t len)
{
    int n;

    if (strnlen(m->sha256, sizeof m->sha256) == sizeof m->sha256 ||
        !ota_sha256_hex_valid(m->sha256) || !field_valid(m->name, sizeof m->name, false) ||
        !field_valid(m->version, sizeof m->version, false) ||
        !field_valid(m->hw, sizeof m->hw, true))
        return -EINVAL;
    n = snprintf(buf, len, "sha256:%s size:%" PRIu64 " name:%s version:%s hw:%s", m->sha256,
                 m->size, m->name, m->version, m->hw);
    if (n < 0 || (size_t)n >= len)
        return -EINVAL;
    return 0;
}

/* Takes "<key><value>" from *@p up to the next space (or the end when @last) into @out. */
static int take_field(const char **p, const char *key, bool last, char *out, size_t cap,
                      size_t *ret_len)
{
    size_t klen = strlen(key), vlen;
    const char *v, *end;

    if (strncmp(*p, key, klen) != 0)
        return -EINVAL;
    v = *p + klen;
    end = strchr(v, ' ');
    if (last != !end)
        return -EINVAL;
    vlen = end ? (size_t)(end - v) : strlen(v);
    if (vlen >= cap)
        return -EINVAL;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c < 0x20 || c == 0x7f)
            return -EINVAL;
    }
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    *p = end ? end + 1 : v + vlen;
    if (ret_len)
        *ret_len = vlen;
    return 0;
}

int ota_sign_trusted_parse(const char *comment, struct ota_sign_meta *ret)
{
    struct ota_sign_meta m;
    const char *p = comment;
    char size[21];
    size_t size_len = 0;

    memset(&m, 0, sizeof m);
    if (!comment || take_field(&p, "sha256:", false, m.sha256, sizeof m.sha256, NULL) < 0 ||
        take_field(&p, "size:", false, size, sizeof size, &size_len) < 0 ||
        take_field(&p, "name:", false, m.name, sizeof m.name, NULL) < 0 ||
        take_field(&p, "version:", false, m.version, sizeof m.version, NULL) < 0 ||
        take_field(&p, "hw:", true, m.hw, sizeof m.hw, NULL) < 0)
        return -EINVAL;
    /* One spelling per value (no leading zeros), so parse and build are inverses. */
    if (!ota_sha256_hex_valid(m.sha256) || m.name[0] == '\0' || m.version[0] == '\0' ||
        (size_len > 1 && size[0] == '0') || ota_parse_u64n(size, size_len, UINT64_MAX, &m.size) < 0)
        return -EINVAL;
    *ret = m;
    return 0;
}

int ota_sign_minisig(const struct ota_sign_key *k, const uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES],
                     const char *trusted_comment, char **ret_text)
{
    uint8_t sigstruct[SIG_STRUCT_BYTES], global[crypto_sign_BYTES];
    char sig_b64[sodium_base64_ENCODED_LEN(SIG_STRUCT_BYTES, B64_VARIANT)];
    char global_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, B64_VARIANT)];
    uint8_t *signed_part = NULL;
    char *text = NULL;
    size_t tclen, cap;
    int n, r;

    r = sign_sodium_init();
    if (r < 0)
        return r;
    if (!trusted_comment)
        return -EINVAL;
    tclen = strlen(trusted_comment);
    if (!comment_valid(trusted_comment, tclen))
        return -EINVAL;
    cap =
        sizeof SIG_COMMENT + sizeof sig_b64 + sizeof TRUSTED_PREFIX + tclen + sizeof global_b64 + 1;
    if (cap > OTA_SIGN_TEXT_MAX + 1)
        return -EINVAL; /* ota_sign_verify() would refuse it */

    memcpy(sigstruct, SIG_ALG_HASHED, ALG_LEN);
    memcpy(sigstruct + ALG_LEN, k->keyid, OTA_SIGN_KEYID_BYTES);
    crypto_sign_detached(sigstruct + ALG_LEN + OTA_SIGN_KEYID_BYTES, NULL, blake2b,
                         OTA_SIGN_BLAKE2B_BYTES, k->sk);
    /* The global signature covers the file signature followed by the trusted comment. */
    signed_part = malloc(crypto_sign_BYTES + tclen);
    text = malloc(cap);
    if (!signed_part || !text) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(signed_part, sigstruct + ALG_LEN + OTA_SIGN_KEYID_BYTES, crypto_sign_BYTES);
    memcpy(signed_part + crypto_sign_BYTES, trusted_comment, tclen);
    crypto_sign_detached(global, NULL, signed_part, crypto_sign_BYTES + tclen, k->sk);
    sodium_bin2base64(sig_b64, sizeof sig_b64, sigstruct, sizeof sigstruct, B64_VARIANT);
    sodium_bin2base64(global_b64, sizeof global_b64, global, sizeof global, B64_VARIANT);
    n = snprintf(text, cap, SIG_COMMENT "\n%s\n" TRUSTED_PREFIX "%s\n%s\n", sig_b64,
                 trusted_comment, global_b64);
    if (n < 0 || (size_t)n >= cap) {
        r = -EINVAL;
        goto out;
    }
    *ret_text = text;
    text = NULL;
    r = 0;
out:
    free(signed_part);
    free(text);
    return r;
}

int ota_sign_verify(const struct ota_sign_pub *pub, const char *text, size_t len,
                    const uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES], char **ret_comment)
{
    uint8_t sigstruct[SIG_STRUCT_BYTES], global[crypto_sign_BYTES];
    struct span lines[SIGN_LINES_MAX], tc;
    uint8_t *signed_part = NULL;
    char *comment = NULL;
    size_t n = 0;
    int r;

    r = sign_sodium_init();
    if (r < 0)
        return r;
    r = -EINVAL;
    if (!text || len > OTA_SIGN_TEXT_MAX || split_lines(text, len, lines, SIGN_LINES_MAX, &n) < 0 ||
        n != SIGN_LINES_MAX)
        goto out;
    if (!has_prefix(&lines[0], COMMENT_PREFIX) || !has_prefix(&lines[2], TRUSTED_PREFIX))
        goto out;
    tc.p = lines[2].p + strlen(TRUSTED_PREFIX);
    tc.len = lines[2].len - strlen(TRUSTED_PREFIX);
    if (!comment_valid(tc.p, tc.len))
        goto out;
    if (b64_decode(&lines[1], sigstruct, sizeof sigstruct) < 0 ||
        b64_decode(&lines[3], global, sizeof global) < 0)
        goto out;
    /* Only prehashed signatures: a legacy "Ed" one signs the whole file, not our digest. */
    if (memcmp(sigstruct, SIG_ALG_HASHED, ALG_LEN) != 0)
        goto out;
    if (memcmp(sigstruct + ALG_LEN, pub->keyid, OTA_SIGN_KEYID_BYTES) != 0) {
        r = -EKEYREJECTED;
        goto out;
    }
    r = -EBADMSG;
    if (crypto_sign_verify_detached(sigstruct + ALG_LEN + OTA_SIGN_KEYID_BYTES, blake2b,
                                    OTA_SIGN_BLAKE2B_BYTES, pub->pk) != 0)
        goto out;
    signed_part = malloc(crypto_sign_BYTES + tc.len);
    comment = malloc(tc.len + 1);
    if (!signed_part || !comment) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(signed_part, sigstruct + ALG_LEN + OTA_SIGN_KEYID_BYTES, crypto_sign_BYTES);
    memcpy(signed_part + crypto_sign_BYTES, tc.p, tc.len);
    if (crypto_sign_verify_detached(global, signed_part, crypto_sign_BYTES + tc.len, pub->pk) != 0)
        goto out;
    memcpy(comment, tc.p, tc.len);
    comment[tc.len] = '\0';
    if (ret_comment) {
        *ret_comment = comment;
        comment = NULL;
    }
    r = 0;
out:
    free(signed_part);
    free(comment);
    return r;
}

int ota_sign_minisig_keyid(const char *text, size_t len, uint8_t ret[OTA_SIGN_KEYID_BYTES])
{
    uint8_t sigstruct[SIG_STRUCT_BYTES];
    struct span lines[SIGN_LINES_MAX];
    size_t n = 0;

    if (!text || len > OTA_SIGN_TEXT_MAX || split_lines(text, len, lines, SIGN_LINES_MAX, &n) < 0 ||
        n != SIGN_LINES_MAX || !has_prefix(&lines[0], COMMENT_PREFIX) ||
        b64_decode(&lines[1], sigstruct, sizeof sigstruct) < 0)
        return -EINVAL;
    memcpy(ret, sigstruct + ALG_LEN, OTA_SIGN_KEYID_BYTES);
    return 0;
}
