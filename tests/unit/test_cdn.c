/* Unit tests for ota_cdn: each token format against a vector made by its reference (nginx:
 * the secure_link MD5 computed by Python's hashlib; akamai: akamai-edgeauth 0.2.0), the
 * expiry's quantisation, and the settings refused with their key named. The cloudfront
 * format is compared with @aws-sdk/cloudfront-signer by tests/integration/test_cdn_tokens.sh. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_cdn.h"
#include "ota_json.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SHA "abababababababababababababababababababababababababababababababab"
#define PATH "/v1/artifacts/" SHA

static char dir[] = "/tmp/ota-test-cdn-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    CHECK_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct ota_cdn *open_cdn(const char *base, const char *token, const char *key_file,
                                const char *pair, int want, const char *err_has)
{
    struct ota_config c;
    struct ota_cdn *cdn = NULL;
    char err[512] = "";

    CHECK_FATAL(ota_config_init(&c) == 0);
    CHECK_INT(ota_config_set(&c, "cdn", "base_url", base, err, sizeof(err)), 0);
    CHECK_INT(ota_config_set(&c, "cdn", "token", token, err, sizeof(err)), 0);
    if (key_file)
        CHECK_INT(ota_config_set(&c, "cdn", "key_file", key_file, err, sizeof(err)), 0);
    if (pair)
        CHECK_INT(ota_config_set(&c, "cdn", "key_pair_id", pair, err, sizeof(err)), 0);
    CHECK_INT(ota_cdn_open(&c, &cdn, err, sizeof(err)), want);
    if (err_has && !strstr(err, err_has)) {
        fprintf(stderr, "error \"%s\" does not name \"%s\"\n", err, err_has);
        CHECK(false);
    }
    ota_config_clear(&c);
    return cdn;
}

static void test_formats(void)
{
    const char *key = write_file("hex.key", KEY "\n");
    struct ota_cdn *cdn;
    char buf[OTA_CDN_LINK_MAX];

    cdn = open_cdn("https://cdn.example.com/", "nginx", key, NULL, 0, NULL);
    CHECK_FATAL(cdn != NULL);
    CHECK_INT(ota_cdn_link(cdn, PATH, "veh-1", 1900000000, buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://cdn.example.com" PATH "?md5=19c4E8OuQ9XdYvf6YYaK_A&expires=1900000000");
    /* what is bound: another vehicle, path or expiry gives another token */
    {
        char other[OTA_CDN_LINK_MAX];
        CHECK_INT(ota_cdn_link(cdn, PATH, "veh-2", 1900000000, other, sizeof(other)), 0);
        CHECK(strcmp(buf, other) != 0);
        CHECK_INT(ota_cdn_link(cdn, PATH ".MD5SUM", "veh-1", 1900000000, other, sizeof(other)), 0);
        CHECK(strstr(other, "19c4E8OuQ9XdYvf6YYaK_A") == NULL);
    }
    CHECK_INT(ota_cdn_link(cdn, PATH, "veh 1", 1900000000, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(ota_cdn_link(cdn, "/v1/artifacts/x?y", "veh-1", 1900000000, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(ota_cdn_link(cdn, "//evil.example/x", "veh-1", 1900000000, buf, sizeof(buf)), -EINVAL);
    CHECK_INT(ota_cdn_link(cdn, PATH, "veh-1", 1900000000, buf, 40), -ENAMETOOLONG);
    ota_cdn_free(cdn);

    cdn = open_cdn("https://cdn.example.com", "akamai", key, NULL, 0, NULL);
    CHECK_FATAL(cdn != NULL);
    CHECK_INT(ota_cdn_link(cdn, PATH, "veh-1", 1900000000, buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://cdn.example.com" PATH "?__token__=exp=1900000000~acl=" PATH
                   "~data=veh-1~hmac=f05b3548d78cd432dd2477601f44e2799a8d3482552272aec86b24158573dc62");
    ota_cdn_free(cdn);

    cdn = open_cdn("https://cdn.example.com/ota", "none", NULL, NULL, 0, NULL);
    CHECK_FATAL(cdn != NULL);
    CHECK_INT(ota_cdn_link(cdn, PATH, "veh-1", 1900000000, buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://cdn.example.com/ota" PATH);
    ota_cdn_free(cdn);
}

static void test_expiry(void)
{
    const char *key = write_file("hex.key", KEY);
    struct ota_config c;
    struct ota_cdn *cdn = NULL;
    char err[256];

    CHECK_FATAL(ota_config_init(&c) == 0);
    ota_config_set(&c, "cdn", "base_url", "https://cdn.example.com", err, sizeof(err));
    ota_config_set(&c, "cdn", "token", "nginx", err, sizeof(err));
    ota_config_set(&c, "cdn", "key_file", key, err, sizeof(err));
    ota_config_set(&c, "cdn", "token_ttl", "3600", err, sizeof(err));
    CHECK_INT(ota_cdn_open(&c, &cdn, err, sizeof(err)), 0);
    CHECK_FATAL(cdn != NULL);
    /* valid for between ttl/2 and ttl; the same expiry all through a half-period */
    for (int64_t now = 1800000000; now < 1800000000 + 7200; now += 7) {
        int64_t e = ota_cdn_expiry(cdn, now);
        CHECK(e - now > 1800 - 1 && e - now <= 3600);
        CHECK(e % 1800 == 0);
        CHECK_INT(ota_cdn_expiry(cdn, now - now % 1800), e);
        CHECK_INT(ota_cdn_period(cdn, now), now / 1800);
    }
    ota_cdn_free(cdn);
    ota_config_clear(&c);
}

static void test_settings_refused(void)
{
    const char *key = write_file("hex.key", KEY), *shortk = write_file("short.key", "00112233");
    const char *odd = write_file("odd.key", KEY "0"), *notpem = write_file("not.pem", KEY);
    const char *two = write_file("two.key", KEY " " KEY);
    struct ota_config c;
    struct ota_cdn *cdn = (struct ota_cdn *)1;
    char err[256] = "";

    /* no base_url: no CDN, whatever else is set */
    CHECK_FATAL(ota_config_init(&c) == 0);
    CHECK_INT(ota_cdn_open(&c, &cdn, err, sizeof(err)), 0);
    CHECK(cdn == NULL);
    ota_config_clear(&c);

    open_cdn("http://cdn.example.com", "nginx", key, NULL, -EINVAL, "cdn.base_url");
    open_cdn("https://cdn.example.com/x?y=1", "nginx", key, NULL, -EINVAL, "cdn.base_url");
    open_cdn("https://", "nginx", key, NULL, -EINVAL, "cdn.base_url");
    open_cdn("https://cdn.example.com", "", key, NULL, -EINVAL, "cdn.token");
    open_cdn("https://cdn.example.com", "fastly", key, NULL, -EINVAL, "cdn.token");
    open_cdn("https://cdn.example.com", "nginx", NULL, NULL, -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "nginx", "/nonexistent/key", NULL, -ENOENT, "cdn.key_file");
    open_cdn("https://cdn.example.com", "nginx", dir, NULL, -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "akamai", shortk, NULL, -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "akamai", odd, NULL, -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "akamai", two, NULL, -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "cloudfront", key, "K2JCJMDEHXQW5F", -EINVAL, "cdn.key_file");
    open_cdn("https://cdn.example.com", "cloudfront", notpem, NULL, -EINVAL, "cdn.key_pair_id");
    open_cdn("https://cdn.example.com", "cloudfront", notpem, "K2 J", -EINVAL, "cdn.key_pair_id");
    /* the config table refuses a ttl of 0 or over 30 days */
    CHECK_FATAL(ota_config_init(&c) == 0);
    CHECK_INT(ota_config_set(&c, "cdn", "token_ttl", "0", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "cdn.token_ttl") != NULL);
    CHECK_INT(ota_config_set(&c, "cdn", "token_ttl", "2592001", err, sizeof(err)), -EINVAL);
    ota_config_clear(&c);
}

static int fixed_link(void *ctx, const char *sha256, char *url, size_t len)
{
    snprintf(url, len, "%s/%s?t=1", (const char *)ctx, sha256);
    return 0;
}

/* the notifier's rewrite of a stored announcement */
static void test_relink(void)
{
    const char *in = "{\"campaign\":3,\"artifact\":{\"sha256\":\"" SHA "\",\"size\":5,\"name\":"
                     "\"a\",\"version\":\"1\",\"url\":\"/v1/artifacts/" SHA "\",\"signature\":"
                     "\"s\"},\"poll_after\":300,\"issued_at\":\"2026-12-03T00:00:00Z\"}";
    char *out = NULL;

    CHECK_INT(ota_json_update_relink(in, strlen(in), fixed_link, "https://c", &out), 0);
    CHECK_STR(out, "{\"campaign\":3,\"artifact\":{\"sha256\":\"" SHA "\",\"size\":5,\"name\":"
                   "\"a\",\"version\":\"1\",\"url\":\"https://c/" SHA "?t=1\",\"signature\":"
                   "\"s\"},\"poll_after\":300,\"issued_at\":\"2026-12-03T00:00:00Z\"}");
    free(out);
    CHECK_INT(ota_json_update_relink("{\"campaign\":3}", 14, fixed_link, "x", &out), -EINVAL);
    CHECK_INT(ota_json_update_relink("nope", 4, fixed_link, "x", &out), -EINVAL);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    test_formats();
    test_expiry();
    test_settings_refused();
    test_relink();
    for (const char *const *f = (const char *const[]){ "hex.key", "short.key", "odd.key",
                                                       "not.pem", "two.key", NULL };
         *f; f++)
        unlink(write_file(*f, ""));
    CHECK_INT(rmdir(dir), 0);
    TEST_DONE();
}
