/* vehicle/veh_fail: which vehicles fail on purpose (--fail-ids, --fail-rate), as tables. */
#include <errno.h>
#include <stdlib.h>
#include "ota_test.h"
#include "veh_fail.h"

static void test_rates(void)
{
    static const struct {
        const char *in;
        int rc;
        uint32_t bp;
    } t[] = {
        { "0", 0, 0 }, { "10", 0, 1000 }, { "100", 0, 10000 }, { "12.5", 0, 1250 },
        { "0.01", 0, 1 }, { "100.01", -EINVAL, 0 }, { "101", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
        { "1.", -EINVAL, 0 }, { "1.234", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "ten", -EINVAL, 0 },
        { "5%", -EINVAL, 0 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint32_t bp = 99999;
        int rc = veh_fail_rate(t[i].in, &bp);

        if (rc != t[i].rc)
            fprintf(stderr, "rate '%s'\n", t[i].in);
        CHECK_INT(rc, t[i].rc);
        if (rc == 0)
            CHECK_INT(bp, t[i].bp);
    }
}

static void test_ids_and_reasons(void)
{
    struct veh_fail f = { 0 };
    char err[200] = "", path[] = "/tmp/ota-test-vehfail-XXXXXX";
    FILE *fp;
    int fd;

    CHECK_INT(veh_fail_ids(&f, "V1,V3", err, sizeof(err)), 0);
    CHECK(veh_fail_chosen(&f, "V1"));
    CHECK(!veh_fail_chosen(&f, "V2"));
    CHECK(veh_fail_chosen(&f, "V3"));
    CHECK(!veh_fail_chosen(&f, "V"));
    veh_fail_clear(&f);
    CHECK_INT(veh_fail_ids(&f, "V1,,V3", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "--fail-ids") != NULL);
    veh_fail_clear(&f);
    CHECK_INT(veh_fail_ids(&f, "V1,", err, sizeof(err)), -EINVAL);
    veh_fail_clear(&f);
    CHECK_INT(veh_fail_ids(&f, "bad id", err, sizeof(err)), -EINVAL);
    veh_fail_clear(&f);
    CHECK_INT(veh_fail_ids(&f, "@/nonexistent/ids", err, sizeof(err)), -ENOENT);
    veh_fail_clear(&f);
    fd = mkstemp(path);
    CHECK_FATAL(fd >= 0 && (fp = fdopen(fd, "w")) != NULL);
    fputs("# failing\nW1\n\n  W2  \n", fp);
    fclose(fp);
    {
        char arg[64];
        snprintf(arg, sizeof(arg), "@%s", path);
        CHECK_INT(veh_fail_ids(&f, arg, err, sizeof(err)), 0);
    }
    CHECK_INT(f.n, 2);
    CHECK(veh_fail_chosen(&f, "W2"));
    veh_fail_clear(&f);
    unlink(path);

    CHECK(veh_fail_reason_valid("flash write error"));
    CHECK(!veh_fail_reason_valid(""));
    CHECK(!veh_fail_reason_valid("line\nbreak"));
    CHECK(!veh_fail_reason_valid("caf\xc3\xa9"));
    {
        char big[VEH_FAIL_REASON_MAX + 2];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        CHECK(!veh_fail_reason_valid(big));
        big[VEH_FAIL_REASON_MAX] = '\0';
        CHECK(veh_fail_reason_valid(big));
    }
}

/* The rate picks by hash: 0 none, 100 all, and about the share in between, the same ids
 * every time. */
static void test_rate_choice(void)
{
    struct veh_fail f = { 0 };
    char id[16];
    unsigned n10 = 0;

    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "VEH%05d", i);
        f.rate_bp = 0;
        CHECK(!veh_fail_chosen(&f, id));
        f.rate_bp = 10000;
        CHECK(veh_fail_chosen(&f, id));
        f.rate_bp = 1000;
        n10 += veh_fail_chosen(&f, id);
    }
    CHECK(n10 > 900 && n10 < 1100);
    /* FNV-1a 64 of "VEH00001" mod 10000, as the README documents */
    f.rate_bp = 1000;
    {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const char *p = "VEH00001"; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 0x100000001b3ULL;
        }
        CHECK_INT(veh_fail_chosen(&f, "VEH00001"), h % 10000 < 1000);
    }
}

int main(void)
{
    test_rates();
    test_ids_and_reasons();
    test_rate_choice();
    return ota_test_failures ? 1 : 0;
}
