/* Unit tests for ota_util: number parsing, ids, hex and dates. */
#include <errno.h>
#include <stdint.h>
#include "ota_test.h"
#include "ota_util.h"
#include "ota_state.h"

static void test_parse(void)
{
    static const struct {
        const char *in;
        uint64_t max;
        int r;
        uint64_t v;
    } cases[] = {
        { "0", 10, 0, 0 },
        { "10", 10, 0, 10 },
        { "11", 10, -ERANGE, 0 },
        { "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
        { "99999999999999999999999", UINT64_MAX, -ERANGE, 0 },
        { "", 10, -EINVAL, 0 },
        { "-1", 10, -EINVAL, 0 },
        { "+1", 10, -EINVAL, 0 },
        { " 1", 10, -EINVAL, 0 },
        { "1 ", 10, -EINVAL, 0 },
        { "1k", 10, -EINVAL, 0 },
        { "0x1", 10, -EINVAL, 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int r = ota_parse_u64(cases[i].in, cases[i].max, &v);

        CHECK_INT(r, cases[i].r);
        CHECK(r == 0 ? v == cases[i].v : v == 12345);
    }
    CHECK_INT(ota_parse_u64(NULL, 1, &(uint64_t){ 0 }), -EINVAL);
}

/* "W.F" scaled: percentages in hundredths, seconds in milliseconds */
static void test_decimal(void)
{
    static const struct {
        const char *in;
        uint64_t max;
        unsigned digits;
        int rc;
        uint64_t v;
    } t[] = {
        { "12.5", 100, 2, 0, 1250 },   { "12.25", 100, 2, 0, 1225 }, { "100", 100, 2, 0, 10000 },
        { "0.01", 100, 2, 0, 1 },      { "1.5", 86400, 3, 0, 1500 }, { "0.001", 86400, 3, 0, 1 },
        { "86400", 86400, 3, 0, 86400000 },
        { "101", 100, 2, -ERANGE, 0 }, { "1.234", 100, 2, -EINVAL, 0 }, { "1.", 100, 2, -EINVAL, 0 },
        { ".5", 100, 2, -EINVAL, 0 },  { "-1", 100, 2, -EINVAL, 0 },   { "1.-5", 100, 2, -EINVAL, 0 },
        { "", 100, 2, -EINVAL, 0 },    { "1e2", 100, 2, -EINVAL, 0 },  { "1.5", 100, 0, -EINVAL, 0 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint64_t v = 777;
        int rc = ota_parse_decimal(t[i].in, t[i].max, t[i].digits, &v);

        if (rc != t[i].rc)
            fprintf(stderr, "decimal '%s'\n", t[i].in);
        CHECK_INT(rc, t[i].rc);
        CHECK_INT(v, rc == 0 ? t[i].v : 777);
    }
}

static void test_ids(void)
{
    char long_id[70];

    CHECK(ota_id_valid("WDB1234567890ABCD"));
    CHECK(ota_id_valid("edge-1.eu_west"));
    CHECK(!ota_id_valid(""));
    CHECK(!ota_id_valid("a b"));
    CHECK(!ota_id_valid("a/b"));
    CHECK(!ota_id_valid("../x"));
    CHECK(!ota_id_valid(NULL));
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    CHECK(ota_id_valid(long_id));
    long_id[64] = 'a';
    long_id[65] = '\0';
    CHECK(!ota_id_valid(long_id));
    CHECK(ota_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!ota_sha256_hex_valid("E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!ota_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    CHECK(!ota_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
}

static void test_dates(void)
{
    char buf[40];
    int64_t t = 0;

    ota_http_date(784111777, buf, sizeof(buf));
    CHECK_STR(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK_INT(ota_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    CHECK_INT(t, 784111777);
    CHECK_INT(ota_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), -EINVAL);
    CHECK_INT(ota_http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t), -EINVAL);
    CHECK_INT(ota_http_date_parse("Sun, 06 Nov 1994 25:49:37 GMT", &t), -EINVAL);
    CHECK_INT(ota_http_date_parse("", &t), -EINVAL);
    ota_rfc3339(784111777, buf, sizeof(buf));
    CHECK_STR(buf, "1994-11-06T08:49:37Z");
    {
        uint8_t in[3] = { 0x00, 0xab, 0xff };

        ota_hex(in, 3, buf);
        CHECK_STR(buf, "00abff");
    }
}

static void test_transitions(void)
{
    static const struct {
        enum ota_deploy_state from, to;
        bool ok, dup;
    } cases[] = {
        { OTA_DEPLOY_PENDING, OTA_DEPLOY_DOWNLOADING, true, false },
        { OTA_DEPLOY_PENDING, OTA_DEPLOY_INSTALLED, true, false },
        { OTA_DEPLOY_DOWNLOADING, OTA_DEPLOY_DOWNLOADING, true, false },
        { OTA_DEPLOY_DOWNLOADED, OTA_DEPLOY_DOWNLOADING, false, false },
        { OTA_DEPLOY_INSTALLING, OTA_DEPLOY_FAILED, true, false },
        { OTA_DEPLOY_INSTALLED, OTA_DEPLOY_INSTALLED, true, true },
        { OTA_DEPLOY_INSTALLED, OTA_DEPLOY_FAILED, false, false },
        { OTA_DEPLOY_FAILED, OTA_DEPLOY_DOWNLOADING, false, false },
        { OTA_DEPLOY_CANCELLED, OTA_DEPLOY_DOWNLOADING, false, false },
        { OTA_DEPLOY_DOWNLOADING, OTA_DEPLOY_PENDING, false, false },
        { OTA_DEPLOY_DOWNLOADING, OTA_DEPLOY_CANCELLED, false, false },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool dup = true;

        CHECK_INT(ota_deploy_transition_ok(cases[i].from, cases[i].to, &dup), cases[i].ok);
        CHECK_INT(dup, cases[i].dup);
    }
    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++) {
        enum ota_deploy_state back;

        CHECK_INT(ota_deploy_state_parse(ota_deploy_state_name(s), &back), 0);
        CHECK_INT(back, s);
    }
    CHECK_INT(ota_deploy_state_parse("Installed", &(enum ota_deploy_state){ 0 }), -EINVAL);
}

int main(void)
{
    test_parse();
    test_decimal();
    test_ids();
    test_dates();
    test_transitions();
    TEST_DONE();
}
