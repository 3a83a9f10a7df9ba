/* Tests of ota_sign: key files, minisign signatures, strict verification, trusted comments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ota_sign.h"
#include "ota_test.h"

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path, size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        return NULL;
    buf = malloc(65536);
    if (buf)
        len = fread(buf, 1, 65535, f);
    fclose(f);
    if (buf)
        buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

static int spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int r = 0;

    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len)
        r = -1;
    if (fclose(f) != 0)
        r = -1;
    return r;
}

static int count_entries(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static mode_t file_mode(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* Rewrites the secret key file's base64 line after @edit has changed the decoded bytes. */
static int edit_seckey(const char *src, const char *dst, void (*edit)(uint8_t *raw))
{
    uint8_t raw[158];
    char b64[sodium_base64_ENCODED_LEN(158, sodium_base64_VARIANT_ORIGINAL)];
    char out[512];
    char *text = slurp(src, NULL), *line2;
    size_t got = 0;
    int n, r = -1;

    if (!text)
        return -1;
    line2 = strchr(text, '\n');
    if (!line2)
        goto out;
    line2++;
    line2[strcspn(line2, "\n")] = '\0';
    if (sodium_base642bin(raw, sizeof raw, line2, strlen(line2), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof raw)
        goto out;
    edit(raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(out, sizeof out, "untrusted comment: edited\n%s\n", b64);
    r = spit(dst, out, (size_t)n);
out:
    free(text);
    return r;
}

static void edit_encrypted(uint8_t *raw)
{
    memcpy(raw + 2, "Sc", 2);
}

static void edit_checksum(uint8_t *raw)
{
    raw[157] ^= 1;
}

static void edit_zero_checksum(uint8_t *raw)
{
    memset(raw + 126, 0, 32);
}

static void edit_seed(uint8_t *raw)
{
    raw[62] ^= 1;             /* first byte of the seed: the stored public half no longer matches */
    memset(raw + 126, 0, 32); /* and no checksum to catch it first */
}

static void edit_sigalg(uint8_t *raw)
{
    raw[1] = 'D';
}

static void test_keygen(const char *tmp, char *keydir, char *otherdir)
{
    char path[512], pub2[512];
    char *key_before, *pub_before, *key_after, *pub_after;
    struct ota_sign_key *k = NULL;
    struct ota_sign_pub pub, pub_k;
    char *text, *formatted = NULL;
    char want[64];
    uint64_t id = 0;

    snprintf(keydir, 256, "%s/keys", tmp);
    snprintf(otherdir, 256, "%s/other", tmp);
    CHECK(mkdir(keydir, 0700) == 0);
    CHECK(mkdir(otherdir, 0700) == 0);

    CHECK_RC(ota_sign_keygen(keydir), 0);
    snprintf(path, sizeof path, "%s/ota.key", keydir);
    CHECK(file_mode(path) == 0600);
    snprintf(path, sizeof path, "%s/ota.pub", keydir);
    CHECK(file_mode(path) == 0644);
    CHECK(count_entries(keydir) == 2); /* no temp files left */

    /* Second call: -EEXIST, both files byte-identical, nothing added. */
    snprintf(path, sizeof path, "%s/ota.key", keydir);
    key_before = slurp(path, NULL);
    snprintf(pub2, sizeof pub2, "%s/ota.pub", keydir);
    pub_before = slurp(pub2, NULL);
    CHECK_RC(ota_sign_keygen(keydir), -EEXIST);
    key_after = slurp(path, NULL);
    pub_after = slurp(pub2, NULL);
    CHECK(key_before && key_after && strcmp(key_before, key_after) == 0);
    CHECK(pub_before && pub_after && strcmp(pub_before, pub_after) == 0);
    CHECK(count_entries(keydir) == 2);
    free(key_before);
    free(key_after);
    free(pub_after);

    /* Only ota.pub present: -EEXIST and no ota.key appears. */
    snprintf(path, sizeof path, "%s/only-pub", tmp);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(pub2, sizeof pub2, "%s/only-pub/ota.pub", tmp);
    CHECK(spit(pub2, "x\n", 2) == 0);
    CHECK_RC(ota_sign_keygen(path), -EEXIST);
    CHECK(count_entries(path) == 1);

    snprintf(path, sizeof path, "%s/missing", tmp);
    CHECK_RC(ota_sign_keygen(path), -ENOENT);

    CHECK_RC(ota_sign_keygen(otherdir), 0);

    /* Public key file: minisign's comment carries the key id as a little-endian number. */
    snprintf(path, sizeof path, "%s/ota.pub", keydir);
    CHECK_RC(ota_sign_pub_load(path, &pub), 0);
    for (int i = 7; i >= 0; i--)
        id = (id << 8) | pub.keyid[i];
    snprintf(want, sizeof want, "untrusted comment: minisign public key %016" PRIX64 "\n", id);
    CHECK(pub_before && strncmp(pub_before, want, strlen(want)) == 0);
    CHECK(pub_before && strlen(pub_before) == strlen(want) + 57); /* 56 base64 + \n */
    CHECK_RC(ota_sign_pub_format(&pub, &formatted), 0);
    CHECK(formatted && pub_before && strcmp(formatted, pub_before) == 0);
    free(formatted);

    /* Just the base64 line is a public key too; a wrong algorithm is not. */
    text = pub_before ? strchr(pub_before, '\n') + 1 : NULL;
    if (text) {
        struct ota_sign_pub p2;

        CHECK_RC(ota_sign_pub_parse(text, strlen(text), &p2), 0);
        CHECK(memcmp(&p2, &pub, sizeof p2) == 0);
        CHECK_RC(ota_sign_pub_parse(pub_before, 10, &p2), -EINVAL);
        CHECK_RC(ota_sign_pub_parse("", 0, &p2), -EINVAL);
        CHECK_RC(ota_sign_pub_parse("untrusted comment: x\nRWQ=\n", 26, &p2), -EINVAL);
        text[1] = 'U'; /* "RW" -> "RU": "Ed" -> "ED" */
        CHECK_RC(ota_sign_pub_parse(text, strlen(text), &p2), -EINVAL);
    }
    free(pub_before);
    snprintf(path, sizeof path, "%s/nope.pub", tmp);
    CHECK_RC(ota_sign_pub_load(path, &pub_k), -ENOENT);

    /* Secret key loads, and its public half is the public key file. */
    snprintf(path, sizeof path, "%s/ota.key", keydir);
    CHECK_RC(ota_sign_key_load(path, &k), 0);
    if (k) {
        ota_sign_key_public(k, &pub_k);
        CHECK(memcmp(&pub_k, &pub, sizeof pub) == 0);
    }
    ota_sign_key_free(k);
    ota_sign_key_free(NULL);
}

static void test_key_load_rejects(const char *tmp, const char *keydir)
{
    static const struct {
        const char *name;
        void (*edit)(uint8_t *raw);
        int want;
    } cases[] = {
        { "encrypted", edit_encrypted, -EINVAL },
        { "bad checksum", edit_checksum, -EINVAL },
        { "zero checksum (minisign -W)", edit_zero_checksum, 0 },
        { "seed does not match public half", edit_seed, -EINVAL },
        { "wrong algorithm", edit_sigalg, -EINVAL },
    };
    struct ota_sign_key *k = NULL;
    char src[512], dst[512];

    snprintf(src, sizeof src, "%s/ota.key", keydir);
    snprintf(dst, sizeof dst, "%s/edited.key", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r;

        CHECK(edit_seckey(src, dst, cases[i].edit) == 0);
        k = NULL;
        r = ota_sign_key_load(dst, &k);
        if (r != cases[i].want) {
            fprintf(stderr, "key load '%s': expected %d, got %d\n", cases[i].name, cases[i].want,
                    r);
            ota_test_failures++;
        }
        ota_sign_key_free(k);
    }
    CHECK(spit(dst, "not a key\n", 10) == 0);
    CHECK_RC(ota_sign_key_load(dst, &k), -EINVAL);
    CHECK(spit(dst, "", 0) == 0);
    CHECK_RC(ota_sign_key_load(dst, &k), -EINVAL);
    CHECK_RC(ota_sign_key_load(tmp, &k), -EINVAL); /* a folder */
    snprintf(dst, sizeof dst, "%s/none.key", tmp);
    CHECK_RC(ota_sign_key_load(dst, &k), -ENOENT);
}

static int meta_eq(const struct ota_sign_meta *a, const struct ota_sign_meta *b)
{
    return strcmp(a->sha256, b->sha256) == 0 && a->size == b->size &&
           strcmp(a->name, b->name) == 0 && strcmp(a->version, b->version) == 0 &&
           strcmp(a->hw, b->hw) == 0;
}

static void test_trusted_comment(void)
{
    struct ota_sign_meta m, back;
    char buf[1024];

    memset(&m, 0, sizeof m);
    strcpy(m.sha256, SHA_A);
    m.size = 123456789012ULL;
    strcpy(m.name, "ecu-main.swu");
    strcpy(m.version, "1.2.3");
    strcpy(m.hw, "rev-b");
    CHECK_RC(ota_sign_trusted_comment(&m, buf, sizeof buf), 0);
    CHECK(strcmp(buf, "sha256:" SHA_A " size:123456789012 name:ecu-main.swu version:1.2.3 "
                      "hw:rev-b") == 0);
    CHECK_RC(ota_sign_trusted_parse(buf, &back), 0);
    CHECK(meta_eq(&m, &back));

    /* Empty hw is "hw:" and still round-trips. */
    m.hw[0] = '\0';
    CHECK_RC(ota_sign_trusted_comment(&m, buf, sizeof buf), 0);
    CHECK(strcmp(buf + strlen(buf) - 4, " hw:") == 0);
    CHECK_RC(ota_sign_trusted_parse(buf, &back), 0);
    CHECK(meta_eq(&m, &back));

    /* The largest fields still fit a trusted comment. */
    memset(m.name, 'n', sizeof m.name - 1);
    memset(m.version, 'v', sizeof m.version - 1);
    memset(m.hw, 'h', sizeof m.hw - 1);
    m.size = UINT64_MAX;
    CHECK_RC(ota_sign_trusted_comment(&m, buf, sizeof buf), 0);
    CHECK_RC(ota_sign_trusted_parse(buf, &back), 0);
    CHECK(meta_eq(&m, &back));
    CHECK_RC(ota_sign_trusted_comment(&m, buf, 100), -EINVAL); /* too small a buffer */

    static const struct {
        const char *name, *version, *hw, *sha;
    } bad_build[] = {
        { "a b", "1", "", SHA_A },
        { "a", "1\n", "", SHA_A },
        { "a", "1", "x\ty", SHA_A },
        { "", "1", "", SHA_A },
        { "a", "", "", SHA_A },
        { "a\x7f", "1", "", SHA_A },
        { "a", "1", "", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" },
        { "a", "1", "", "abc" },
    };
    for (size_t i = 0; i < sizeof bad_build / sizeof bad_build[0]; i++) {
        memset(&m, 0, sizeof m);
        strcpy(m.name, bad_build[i].name);
        strcpy(m.version, bad_build[i].version);
        strcpy(m.hw, bad_build[i].hw);
        strcpy(m.sha256, bad_build[i].sha);
        if (ota_sign_trusted_comment(&m, buf, sizeof buf) != -EINVAL) {
            fprintf(stderr, "trusted comment build case %zu: expected -EINVAL\n", i);
            ota_test_failures++;
        }
    }

    static const char *const bad_parse[] = {
        "",
        "sha256:" SHA_A " size:1 name:a version:1",
        "sha256:" SHA_A " size:1 name:a version:1 hw:x extra:1",
        "sha256:" SHA_A " size:1 name:a version:1 hw:x ",
        "sha256:" SHA_A " size:1 version:1 name:a hw:x",
        "sha256:" SHA_A "  size:1 name:a version:1 hw:x",
        "sha256:" SHA_A " size:01 name:a version:1 hw:x",
        "sha256:" SHA_A " size:18446744073709551616 name:a version:1 hw:x",
        "sha256:" SHA_A " size:-1 name:a version:1 hw:x",
        "sha256:" SHA_A " size: name:a version:1 hw:x",
        "sha256:" SHA_A " size:1 name: version:1 hw:x",
        "sha256:" SHA_A " size:1 name:a version: hw:x",
        "sha256:" SHA_A " size:1 name:a\tb version:1 hw:x",
        "sha256:abc size:1 name:a version:1 hw:x",
        "sha256:" SHA_A "0 size:1 name:a version:1 hw:x",
        "timestamp:1555779966\tfile:test",
    };
    for (size_t i = 0; i < sizeof bad_parse / sizeof bad_parse[0]; i++) {
        if (ota_sign_trusted_parse(bad_parse[i], &back) != -EINVAL) {
            fprintf(stderr, "trusted comment parse case %zu: expected -EINVAL\n", i);
            ota_test_failures++;
        }
    }
    CHECK_RC(ota_sign_trusted_parse("sha256:" SHA_A " size:0 name:a version:1 hw:", &back), 0);
    CHECK(back.size == 0 && strcmp(back.name, "a") == 0 && back.hw[0] == '\0');
}

/* Replaces line @line (0-based) of @text with @repl into @out. */
static void replace_line(const char *text, int line, const char *repl, char *out, size_t cap)
{
    const char *p = text;
    size_t o = 0;

    for (int i = 0; *p && o < cap - 1; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (i == line)
            o += (size_t)snprintf(out + o, cap - o, "%s", repl);
        else
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)len, p);
        if (nl && o < cap - 1)
            out[o++] = '\n';
        p = nl ? nl + 1 : p + len;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static void line_of(const char *text, int line, char *out, size_t cap)
{
    const char *p = text;

    for (int i = 0; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    snprintf(out, cap, "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
}

static void test_sign_verify(const char *keydir, const char *otherdir)
{
    static const char data[] = "the artifact's bytes";
    uint8_t digest[OTA_SIGN_BLAKE2B_BYTES], bad[OTA_SIGN_BLAKE2B_BYTES];
    struct ota_sign_key *k = NULL;
    struct ota_sign_pub pub, other, forged;
    struct ota_sign_meta m;
    char tc[512], path[512], edited[8192], line[1024], *text = NULL, *comment = NULL;
    size_t len;

    snprintf(path, sizeof path, "%s/ota.key", keydir);
    CHECK_RC(ota_sign_key_load(path, &k), 0);
    snprintf(path, sizeof path, "%s/ota.pub", keydir);
    CHECK_RC(ota_sign_pub_load(path, &pub), 0);
    snprintf(path, sizeof path, "%s/ota.pub", otherdir);
    CHECK_RC(ota_sign_pub_load(path, &other), 0);
    if (!k)
        return;

    crypto_generichash(digest, sizeof digest, (const uint8_t *)data, sizeof data - 1, NULL, 0);
    memset(&m, 0, sizeof m);
    strcpy(m.sha256, SHA_A);
    m.size = sizeof data - 1;
    strcpy(m.name, "app.bin");
    strcpy(m.version, "2.0");
    CHECK_RC(ota_sign_trusted_comment(&m, tc, sizeof tc), 0);
    CHECK_RC(ota_sign_minisig(k, digest, tc, &text), 0);
    if (!text)
        goto out;
    len = strlen(text);
    CHECK(strncmp(text, "untrusted comment: signature from ota-origin secret key\nRU", 58) == 0);
    line_of(text, 2, line, sizeof line);
    CHECK(strncmp(line, "trusted comment: ", 17) == 0 && strcmp(line + 17, tc) == 0);
    CHECK(text[len - 1] == '\n');

    CHECK_RC(ota_sign_verify(&pub, text, len, digest, &comment), 0);
    CHECK(comment && strcmp(comment, tc) == 0);
    free(comment);
    comment = NULL;
    CHECK_RC(ota_sign_verify(&pub, text, len, digest, NULL), 0);
    CHECK_RC(ota_sign_verify(&pub, text, len - 1, digest, NULL), 0); /* no final newline */
    {
        /* Blank lines after the signature, as `jq -r .signature > f.minisig` leaves. */
        char padded[OTA_SIGN_TEXT_MAX];

        snprintf(padded, sizeof padded, "%s\n\r\n", text);
        CHECK_RC(ota_sign_verify(&pub, padded, strlen(padded), digest, NULL), 0);
    }

    /* Another file's digest. */
    for (size_t bit = 0; bit < sizeof bad * 8; bit += 131) {
        memcpy(bad, digest, sizeof bad);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_RC(ota_sign_verify(&pub, text, len, bad, NULL), -EBADMSG);
    }

    /* Metadata mix-and-match: any change to the trusted comment breaks the global signature. */
    snprintf(line, sizeof line, "trusted comment: %s", tc);
    line[17 + 7] = line[17 + 7] == 'a' ? 'b' : 'a'; /* first hex digit of sha256 */
    replace_line(text, 2, line, edited, sizeof edited);
    CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EBADMSG);
    snprintf(line, sizeof line, "trusted comment: %s", tc);
    line[strlen(line) - 1] = 'X'; /* "hw:" -> "hw"+X... still a valid comment text */
    replace_line(text, 2, line, edited, sizeof edited);
    CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EBADMSG);

    /* The untrusted comment is not signed (minisign's rules). */
    replace_line(text, 0, "untrusted comment: anything at all", edited, sizeof edited);
    CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), 0);

    /* CRLF line ends are tolerated. */
    {
        size_t o = 0;

        for (size_t i = 0; i < len && o < sizeof edited - 2; i++) {
            if (text[i] == '\n')
                edited[o++] = '\r';
            edited[o++] = text[i];
        }
        CHECK_RC(ota_sign_verify(&pub, edited, o, digest, NULL), 0);
    }

    /* Another key: its id does not match. With our id but another public key: bad sig. */
    CHECK_RC(ota_sign_verify(&other, text, len, digest, NULL), -EKEYREJECTED);
    forged = other;
    memcpy(forged.keyid, pub.keyid, sizeof forged.keyid);
    CHECK_RC(ota_sign_verify(&forged, text, len, digest, NULL), -EBADMSG);

    /* Malformed texts. */
    {
        char sigline[256], globline[256], big[OTA_SIGN_TEXT_MAX + 64];
        struct {
            const char *name;
            int line; /* -1: use .text as is */
            const char *repl;
            const char *text;
            size_t len;
        } cases[] = {
            { "empty", -1, NULL, "", 0 },
            { "one line", -1, NULL, "untrusted comment: x\n", 21 },
            { "bad untrusted prefix", 0, "comment: x" },
            { "bad trusted prefix", 2, "trusted: x" },
            { "bad base64 sig", 1, "RUR!!!!" },
            { "short sig", 1, "RURpbmc=" },
            { "bad base64 global", 3, "@@@@" },
            { "empty global", 3, "" },
            { "control char in trusted comment", 2,
              "trusted comment: a\x01"
              "b" },
        };
        uint8_t raw[74];
        size_t got = 0;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const char *t = cases[i].text;
            size_t tl = cases[i].len;
            int r;

            if (cases[i].line >= 0) {
                replace_line(text, cases[i].line, cases[i].repl, edited, sizeof edited);
                t = edited;
                tl = strlen(edited);
            }
            r = ota_sign_verify(&pub, t, tl, digest, NULL);
            if (r != -EINVAL) {
                fprintf(stderr, "malformed '%s': expected -EINVAL, got %d\n", cases[i].name, r);
                ota_test_failures++;
            }
        }
        /* Missing line: drop the global signature, or the trusted comment. */
        line_of(text, 1, sigline, sizeof sigline);
        line_of(text, 3, globline, sizeof globline);
        snprintf(edited, sizeof edited, "untrusted comment: x\n%s\ntrusted comment: %s\n", sigline,
                 tc);
        CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EINVAL);
        snprintf(edited, sizeof edited, "untrusted comment: x\n%s\n%s\n", sigline, globline);
        CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EINVAL);
        /* An extra line. */
        snprintf(edited, sizeof edited, "%sextra\n", text);
        CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EINVAL);
        /* A NUL inside. */
        memcpy(edited, text, len);
        edited[5] = '\0';
        CHECK_RC(ota_sign_verify(&pub, edited, len, digest, NULL), -EINVAL);
        /* Oversized, though otherwise valid: a long untrusted comment. */
        memset(big, 'u', sizeof big);
        big[sizeof big - 1] = '\0';
        memcpy(big, "untrusted comment: ", 19);
        replace_line(text, 0, big, edited, sizeof edited);
        CHECK(strlen(edited) > OTA_SIGN_TEXT_MAX);
        CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EINVAL);
        /* Legacy (non-prehashed) "Ed" signature: not accepted for artifacts. */
        if (sodium_base642bin(raw, sizeof raw, sigline, strlen(sigline), NULL, &got, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0 &&
            got == sizeof raw) {
            raw[1] = 'd';
            sodium_bin2base64(line, sizeof line, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
            replace_line(text, 1, line, edited, sizeof edited);
            CHECK_RC(ota_sign_verify(&pub, edited, strlen(edited), digest, NULL), -EINVAL);
        } else {
            CHECK(!"signature line decodes");
        }
    }

    /* Trusted comments that cannot be signed. */
    free(text);
    text = NULL;
    CHECK_RC(ota_sign_minisig(k, digest, "two\nlines", &text), -EINVAL);
    CHECK_RC(ota_sign_minisig(k, digest, "cr\r", &text), -EINVAL);
    {
        char huge[OTA_SIGN_TEXT_MAX];

        memset(huge, 'x', sizeof huge - 1);
        huge[sizeof huge - 1] = '\0';
        CHECK_RC(ota_sign_minisig(k, digest, huge, &text), -EINVAL);
    }
    CHECK(text == NULL);
    /* A minisign-style comment with a tab signs and verifies (it is not ours to parse). */
    CHECK_RC(ota_sign_minisig(k, digest, "timestamp:1\tfile:x", &text), 0);
    if (text)
        CHECK_RC(ota_sign_verify(&pub, text, strlen(text), digest, NULL), 0);
out:
    free(text);
    ota_sign_key_free(k);
}

int main(void)
{
    char tmp[] = "/tmp/test_sign.XXXXXX";
    char keydir[256], otherdir[256];

    if (sodium_init() < 0 || !mkdtemp(tmp)) {
        perror("setup");
        return 1;
    }
    test_keygen(tmp, keydir, otherdir);
    test_key_load_rejects(tmp, keydir);
    test_trusted_comment();
    test_sign_verify(keydir, otherdir);
    rm_rf(tmp);
    if (ota_test_failures) {
        fprintf(stderr, "%d check(s) failed\n", ota_test_failures);
        return 1;
    }
    printf("all ota_sign checks passed\n");
    return 0;
}
