/* Unit tests for veh_ids (fleet id patterns and files) and veh_url (URLs, topics). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ota_test.h"
#include "veh_ids.h"
#include "veh_url.h"

static void test_format(void)
{
    static const struct {
        const char *pattern;
        uint64_t n;
        int ret;
        const char *want;
    } cases[] = {
        { "VEH%04d", 7, 0, "VEH0007" },
        { "VEH%04d", 12345, 0, "VEH12345" },
        { "car-%d", 0, 0, "car-0" },
        { "%d.x", 42, 0, "42.x" },
        { "V%3d", 5, -EINVAL, NULL },  /* pads with blanks: not an id */
        { "V%%%d", 5, -EINVAL, NULL }, /* '%' is not an id character */
        { "VEH", 1, -EINVAL, NULL },
        { "V%dX%d", 1, -EINVAL, NULL },
        { "V%s", 1, -EINVAL, NULL },
        { "V%n", 1, -EINVAL, NULL },
        { "V%021d", 1, -EINVAL, NULL },
        { "V%", 1, -EINVAL, NULL },
        { "V%020d", 1, 0, "V00000000000000000001" },
        { "bad/%d", 1, -EINVAL, NULL },
    };
    char buf[80];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = veh_ids_format(cases[i].pattern, cases[i].n, buf, sizeof(buf));

        if (r != cases[i].ret)
            fprintf(stderr, "pattern %s\n", cases[i].pattern);
        CHECK_INT(r, cases[i].ret);
        if (r == 0 && cases[i].want)
            CHECK_STR(buf, cases[i].want);
    }
    CHECK_INT(veh_ids_format("VEH%04d", 1, buf, 5), -ENAMETOOLONG);
    CHECK_INT(veh_ids_format("VEH%04d", 1, buf, 8), 0);
}

static void test_load(void)
{
    char path[] = "/tmp/test_veh_ids.XXXXXX";
    char **ids = NULL;
    size_t n = 0, line = 0;
    FILE *f;
    int fd;

    fd = mkstemp(path);
    CHECK_FATAL(fd >= 0);
    f = fdopen(fd, "w");
    CHECK_FATAL(f != NULL);
    fputs("# fleet\nA1\n\n  B-2  \r\nC.3\n", f);
    fclose(f);
    CHECK_INT(veh_ids_load(path, 10, &ids, &n, &line), 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(ids[0], "A1");
        CHECK_STR(ids[1], "B-2");
        CHECK_STR(ids[2], "C.3");
    }
    veh_ids_free(ids, n);
    CHECK_INT(veh_ids_load(path, 2, &ids, &n, &line), -E2BIG);

    f = fopen(path, "w");
    CHECK_FATAL(f != NULL);
    fputs("A1\nno spaces allowed\n", f);
    fclose(f);
    CHECK_INT(veh_ids_load(path, 10, &ids, &n, &line), -EINVAL);
    CHECK_INT(line, 2);
    unlink(path);
    CHECK_INT(veh_ids_load(path, 10, &ids, &n, &line), -ENOENT);
}

static void test_url(void)
{
    char buf[64];

    CHECK_INT(veh_url_join("https://localhost:8443", "/v1/updates", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://localhost:8443/v1/updates");
    CHECK_INT(veh_url_join("https://localhost:8443//", "/v1/updates", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://localhost:8443/v1/updates");
    CHECK_INT(veh_url_join("https://h", "v1/updates", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_join("https://h", "//evil.example/x", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_join("https://h", "/a b", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_join("https://h", "/a\n", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_join("ftp://h", "/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_join("https://h",
                           "/0123456789012345678901234567890123456789012345678901234567890", buf,
                           sizeof(buf)),
              -ENAMETOOLONG);

    /* artifact links: a path on the server, or absolute at a CDN (API and download
     * hosts differ) */
    CHECK_INT(veh_url_resolve("https://o:8443", "/v1/artifacts/ab", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "https://o:8443/v1/artifacts/ab");
    CHECK_INT(veh_url_resolve("https://o:8443", "https://cdn.example/v1/a?md5=x&e=1", buf,
                              sizeof(buf)), 0);
    CHECK_STR(buf, "https://cdn.example/v1/a?md5=x&e=1");
    CHECK_INT(veh_url_resolve("https://o", "http://cdn.example/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("http://o", "http://cdn.example/a", buf, sizeof(buf)), 0);
    CHECK_INT(veh_url_resolve("https://o", "https:///a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "https://@evil/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "https://cdn/a b", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "https://cdn/a\r\nX: y", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "ftp://cdn/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "cdn/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "//cdn/a", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_resolve("https://o", "https://cdn.example/0123456789012345678901234567890123456789012345678901",
                              buf, sizeof(buf)), -ENAMETOOLONG);

    CHECK_INT(veh_url_topic("ota/v1", "VEH0001", "update", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "ota/v1/vehicles/VEH0001/update");
    CHECK_INT(veh_url_topic("ota/+", "VEH0001", "update", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_topic("", "VEH0001", "update", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_topic("ota/v1", "a/b", "update", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(veh_url_topic("ota/v1", "VEH0001", "update", buf, 10), -ENAMETOOLONG);
}

int main(void)
{
    test_format();
    test_load();
    test_url();
    TEST_DONE();
}
