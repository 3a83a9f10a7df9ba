/* CDN links and their tokens (formats in ota_cdn.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include "ota_cdn.h"
#include "ota_util.h"

#define BASE_URL_MAX 512
#define KEY_FILE_MAX 16384 /* a PEM RSA key of 4096 bits is ~3.3 KB */
#define SECRET_MIN   32    /* hex digits: 128 bits */
#define SECRET_MAX   256

struct ota_cdn {
    enum ota_cdn_token type;
    char base[BASE_URL_MAX + 1]; /* without a trailing '/' */
    unsigned ttl;
    char secret[SECRET_MAX + 1]; /* nginx: the hex text as nginx.conf holds it */
    uint8_t hmac_key[SECRET_MAX / 2]; /* akamai: the hex decoded */
    size_t hmac_key_len;
    gnutls_privkey_t rsa; /* cloudfront */
    char key_pair_id[64];
    pthread_mutex_t rsa_lock; /* one signature at a time with the shared key */
};

static const char *const token_names[] = {
    [OTA_CDN_NONE] = "none",
    [OTA_CDN_NGINX] = "nginx",
    [OTA_CDN_AKAMAI] = "akamai",
    [OTA_CDN_CLOUDFRONT] = "cloudfront",
};

const char *ota_cdn_token_name(enum ota_cdn_token t)
{
    return (unsigned)t < sizeof(token_names) / sizeof(token_names[0]) ? token_names[t] : "?";
}

enum ota_cdn_token ota_cdn_token_type(const struct ota_cdn *c)
{
    return c->type;
}

/* https://host[:port][/prefix], printable, no query or fragment: links append to it. */
static bool base_url_valid(const char *s)
{
    size_t n = strlen(s);

    if (strncmp(s, "https://", 8) != 0 || n <= 8 || n > BASE_URL_MAX || s[8] == '/')
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~' || *p == '?' || *p == '#' || *p == '"' || *p == '\\')
            return false;
    return true;
}

static bool hex_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* The key file as the CDN shows it: one hex string (surrounding white space ignored). */
static int load_secret(struct ota_cdn *c, const char *text, const char *path, char *err,
                       size_t errlen)
{
    size_t n, bin = 0;

    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    n = strcspn(text, " \t\r\n");
    if (text[n + strspn(text + n, " \t\r\n")] != '\0' || n < SECRET_MIN || n > SECRET_MAX ||
        n % 2 != 0 || !hex_text(text, n)) {
        ota_errf(err, errlen,
                 "cdn.key_file: %s must hold one hex string of %d to %d digits (an even count)",
                 path, SECRET_MIN, SECRET_MAX);
        return -EINVAL;
    }
    memcpy(c->secret, text, n);
    c->secret[n] = '\0';
    if (sodium_hex2bin(c->hmac_key, sizeof(c->hmac_key), text, n, NULL, &bin, NULL) != 0)
        return -EINVAL;
    c->hmac_key_len = bin;
    return 0;
}

static int load_rsa(struct ota_cdn *c, const char *text, size_t len, const char *path,
                     char *err, size_t errlen)
{
    gnutls_datum_t d = { (unsigned char *)text, (unsigned)len };
    unsigned bits = 0;

    if (gnutls_privkey_init(&c->rsa) < 0) {
        c->rsa = NULL;
        return -ENOMEM;
    }
    if (gnutls_privkey_import_x509_raw(c->rsa, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
        gnutls_privkey_get_pk_algorithm(c->rsa, &bits) != GNUTLS_PK_RSA) {
        ota_errf(err, errlen, "cdn.key_file: %s is not a PEM RSA private key (CloudFront "
                 "key groups take RSA 2048)", path);
        return -EINVAL;
    }
    return 0;
}

static int load_key(struct ota_cdn *c, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int r;

    if (!path || !*path) {
        ota_errf(err, errlen, "cdn.key_file is required with cdn.token = %s",
                 ota_cdn_token_name(c->type));
        return -EINVAL;
    }
    text = malloc(KEY_FILE_MAX);
    if (!text)
        return -ENOMEM;
    r = ota_read_small_file(path, text, KEY_FILE_MAX, &len);
    if (r < 0) {
        ota_errf(err, errlen, "cdn.key_file: %s: %s", path,
                 r == -EINVAL ? "not a small key file" : strerror(-r));
        goto out;
    }
    r = c->type == OTA_CDN_CLOUDFRONT ? load_rsa(c, text, len, path, err, errlen)
                                      : load_secret(c, text, path, err, errlen);
out:
    sodium_memzero(text, KEY_FILE_MAX);
    free(text);
    return r;
}

static bool key_pair_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

int ota_cdn_open(const struct ota_config *cfg, struct ota_cdn **ret, char *err, size_t errlen)
{
    struct ota_cdn *c = NULL;
    const char *token = cfg->cdn.token ? cfg->cdn.token : "";
    int r = -EINVAL;

    *ret = NULL;
    if (!cfg->cdn.base_url || !*cfg->cdn.base_url)
        return 0;
    if (!base_url_valid(cfg->cdn.base_url)) {
        ota_errf(err, errlen, "cdn.base_url: \"%s\" is not https://HOST[:PORT][/PREFIX] "
                 "without a query", cfg->cdn.base_url);
        return -EINVAL;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (pthread_mutex_init(&c->rsa_lock, NULL) != 0) {
        free(c);
        return -ENOMEM;
    }
    snprintf(c->base, sizeof(c->base), "%s", cfg->cdn.base_url);
    for (size_t n = strlen(c->base); n > 0 && c->base[n - 1] == '/'; n--)
        c->base[n - 1] = '\0';
    c->ttl = cfg->cdn.token_ttl ? cfg->cdn.token_ttl : 1;
    c->type = OTA_CDN_NONE;
    for (unsigned t = 0; t < sizeof(token_names) / sizeof(token_names[0]); t++)
        if (strcmp(token, token_names[t]) == 0)
            c->type = (enum ota_cdn_token)t, r = 0;
    if (r < 0) {
        /* no default: "none" lets any fleet certificate fetch any artifact at the edge */
        ota_errf(err, errlen, "cdn.token: \"%s\" is not nginx, akamai, cloudfront or none "
                 "(required with cdn.base_url)", token);
        goto out;
    }
    if (c->type == OTA_CDN_CLOUDFRONT && !key_pair_id_valid(cfg->cdn.key_pair_id ? cfg->cdn.key_pair_id : "")) {
        ota_errf(err, errlen, "cdn.key_pair_id: required with cdn.token = cloudfront (letters "
                 "and digits, as CloudFront shows it)");
        r = -EINVAL;
        goto out;
    }
    if (c->type == OTA_CDN_CLOUDFRONT)
        snprintf(c->key_pair_id, sizeof(c->key_pair_id), "%s", cfg->cdn.key_pair_id);
    if (c->type != OTA_CDN_NONE && (r = load_key(c, cfg->cdn.key_file, err, errlen)) < 0)
        goto out;
    *ret = c;
    c = NULL;
    r = 0;
out:
    ota_cdn_free(c);
    return r;
}

void ota_cdn_free(struct ota_cdn *c)
{
    if (!c)
        return;
    if (c->rsa)
        gnutls_privkey_deinit(c->rsa);
    pthread_mutex_destroy(&c->rsa_lock);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

int64_t ota_cdn_period(const struct ota_cdn *c, int64_t now)
{
    int64_t half = c->ttl / 2 ? c->ttl / 2 : 1;

    return now / half;
}

int64_t ota_cdn_expiry(const struct ota_cdn *c, int64_t now)
{
    int64_t half = c->ttl / 2 ? c->ttl / 2 : 1;

    return (ota_cdn_period(c, now) + 2) * half;
}

static bool path_valid(const char *p)
{
    if (p[0] != '/' || p[1] == '/')
        return false;
    for (; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int put(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int put(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int link_nginx(const struct ota_cdn *c, const char *path, const char *vehicle,
                      int64_t expires, char *buf, size_t len)
{
    char src[OTA_CDN_LINK_MAX + SECRET_MAX], b64[sodium_base64_ENCODED_LEN(16,
                                                 sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    uint8_t md5[16];
    int r;

    if ((r = put(src, sizeof(src), "%" PRId64 "%s%s %s", expires, path, vehicle, c->secret)) < 0)
        return r;
    if (gnutls_hash_fast(GNUTLS_DIG_MD5, src, strlen(src), md5) < 0)
        r = -EIO;
    sodium_memzero(src, sizeof(src));
    if (r < 0)
        return r;
    sodium_bin2base64(b64, sizeof(b64), md5, sizeof(md5), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return put(buf, len, "%s%s?md5=%s&expires=%" PRId64, c->base, path, b64, expires);
}

static int link_akamai(const struct ota_cdn *c, const char *path, const char *vehicle,
                       int64_t expires, char *buf, size_t len)
{
    char fields[OTA_CDN_LINK_MAX], hex[65];
    uint8_t mac[32];
    int r;

    if ((r = put(fields, sizeof(fields), "exp=%" PRId64 "~acl=%s~data=%s", expires, path,
                 vehicle)) < 0)
        return r;
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->hmac_key, c->hmac_key_len, fields,
                         strlen(fields), mac) < 0)
        return -EIO;
    ota_hex(mac, sizeof(mac), hex);
    return put(buf, len, "%s%s?__token__=%s~hmac=%s", c->base, path, fields, hex);
}

/* Base64 with CloudFront's URL-safe substitutes (+ - , = _ , / ~). */
static void cloudfront_b64(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_ORIGINAL);
    for (; *out; out++)
        *out = *out == '+' ? '-' : *out == '=' ? '_' : *out == '/' ? '~' : *out;
}

static int link_cloudfront(struct ota_cdn *c, const char *path, const char *vehicle,
                           int64_t expires, char *buf, size_t len)
{
    char url[OTA_CDN_LINK_MAX], policy[OTA_CDN_LINK_MAX + 128], sig[1400];
    gnutls_datum_t data, s = { NULL, 0 };
    int r;

    if ((r = put(url, sizeof(url), "%s%s?vehicle=%s", c->base, path, vehicle)) < 0)
        return r;
    /* exactly JSON.stringify's output for the canned policy: the signer signs this text */
    if ((r = put(policy, sizeof(policy),
                 "{\"Statement\":[{\"Resource\":\"%s\",\"Condition\":{\"DateLessThan\":"
                 "{\"AWS:EpochTime\":%" PRId64 "}}}]}",
                 url, expires)) < 0)
        return r;
    data = (gnutls_datum_t){ (unsigned char *)policy, (unsigned)strlen(policy) };
    pthread_mutex_lock(&c->rsa_lock);
    r = gnutls_privkey_sign_data(c->rsa, GNUTLS_DIG_SHA1, 0, &data, &s);
    pthread_mutex_unlock(&c->rsa_lock);
    if (r < 0 || s.size > 512) {
        gnutls_free(s.data);
        return -EIO;
    }
    cloudfront_b64(s.data, s.size, sig, sizeof(sig));
    gnutls_free(s.data);
    return put(buf, len, "%s&Expires=%" PRId64 "&Key-Pair-Id=%s&Signature=%s", url, expires,
               c->key_pair_id, sig);
}

int ota_cdn_link(struct ota_cdn *c, const char *path, const char *vehicle, int64_t expires,
                 char *buf, size_t len)
{
    if (!path_valid(path) || strlen(path) > 256 || !ota_id_valid(vehicle) || expires <= 0)
        return -EINVAL;
    switch (c->type) {
    case OTA_CDN_NGINX:
        return link_nginx(c, path, vehicle, expires, buf, len);
    case OTA_CDN_AKAMAI:
        return link_akamai(c, path, vehicle, expires, buf, len);
    case OTA_CDN_CLOUDFRONT:
        return link_cloudfront(c, path, vehicle, expires, buf, len);
    case OTA_CDN_NONE:
    default:
        return put(buf, len, "%s%s", c->base, path);
    }
}
