/* Unit tests for ota_config: defaults, files, overrides and errors that name the key. */
#include <errno.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_config.h"

static char dir[] = "/tmp/ota-test-config-XXXXXX";

static const char *write_conf(const char *name, const char *text)
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

static void test_defaults_and_file(void)
{
    struct ota_config c;
    char err[256] = "", buf[32];
    const char *p;

    CHECK_FATAL(ota_config_init(&c) == 0);
    CHECK_STR(c.mqtt.topic_prefix, "ota/v1");
    CHECK_INT(c.mqtt.port, 1883);
    CHECK_STR(c.mqtt.protocol, "5");
    CHECK_STR(c.server.tenant, "DEFAULT");
    p = write_conf("good.conf", "; comment\n[paths]\ndb = /x/ota.db\n[server]\nthreads = 4\n"
                                "listen = [::1]:8443\n[mqtt]\nport = 8883\nprotocol = 3.1.1\n");
    CHECK_INT(ota_config_load(&c, p, err, sizeof(err)), 0);
    CHECK_STR(c.paths.db, "/x/ota.db");
    CHECK_INT(c.server.threads, 4);
    CHECK_INT(c.mqtt.port, 8883);
    CHECK_STR(c.mqtt.protocol, "3.1.1");
    CHECK_STR(ota_config_get(&c, "server.threads", buf, sizeof(buf)), "4");
    CHECK_STR(ota_config_get(&c, "paths.db", buf, sizeof(buf)), "/x/ota.db");
    CHECK(ota_config_get(&c, "paths.nope", buf, sizeof(buf)) == NULL);
    CHECK_INT(ota_config_set_arg(&c, "server.threads=8", err, sizeof(err)), 0);
    CHECK_INT(c.server.threads, 8);
    ota_config_clear(&c);
}

static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *needle; /* must appear in the message */
    } cases[] = {
        { "[server]\nthreads = many\n", "server.threads" },
        { "[server]\nthreads = -1\n", "server.threads" },
        { "[server]\nthreads = 100000\n", "server.threads" },
        { "[mqtt]\nport = 0\n", "mqtt.port" },
        { "[mqtt]\nport = 70000\n", "mqtt.port" },
        { "[mqtt]\ntopic_prefix = ota/#\n", "mqtt.topic_prefix" },
        { "[mqtt]\ntopic_prefix = fleet/+/x\n", "mqtt.topic_prefix" },
        { "[notifier]\ninterval_ms = 0\n", "notifier.interval_ms" },
        { "[server]\nmax_ranges = 0\n", "server.max_ranges" },
        { "[server]\nmax_ranges = 257\n", "server.max_ranges" },
        { "[mqtt]\nprotocol = 4\n", "mqtt.protocol: \"4\" is not one of: 5 3.1.1" },
        { "[mqtt]\nprotocol = 3.1\n", "mqtt.protocol" },
        { "[mqtt]\nprotocol = 3.1.1.1\n", "mqtt.protocol" },
        { "[mqtt]\nprotocol =\n", "mqtt.protocol" },
        { "[server]\nlisten_addr = x\n", "server.listen_addr: unknown key" },
        { "[nosuch]\nkey = 1\n", "nosuch.key" },
        { "[server\nthreads = 1\n", ":1:" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ota_config c;
        char err[256] = "";

        CHECK_FATAL(ota_config_init(&c) == 0);
        CHECK_INT(ota_config_load(&c, write_conf("bad.conf", cases[i].text), err, sizeof(err)),
                  -EINVAL);
        if (!strstr(err, cases[i].needle)) {
            fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].needle);
            ota_test_failures++;
        }
        ota_config_clear(&c);
    }
    {
        /* inih would cut a 250-byte line in two and take its tail for a key of its own */
        struct ota_config c;
        char err[256] = "", text[400];

        snprintf(text, sizeof(text), "[server]\nthreads = 2\n[tls]\npriorities = %0250d\n", 0);
        CHECK_FATAL(ota_config_init(&c) == 0);
        CHECK_INT(ota_config_load(&c, write_conf("bad.conf", text), err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "bad.conf:4: line longer than 199 bytes") != NULL);
        ota_config_clear(&c);
    }
    {
        struct ota_config c;
        char err[256] = "";
        static const char *const need[] = { "tls.cert", NULL };

        CHECK_FATAL(ota_config_init(&c) == 0);
        CHECK_INT(ota_config_load(&c, "/nonexistent/ota.conf", err, sizeof(err)), -ENOENT);
        CHECK(strstr(err, "/nonexistent/ota.conf") != NULL);
        CHECK_INT(ota_config_set_arg(&c, "serverthreads=1", err, sizeof(err)), -EINVAL);
        CHECK_INT(ota_config_set_arg(&c, "server.threads", err, sizeof(err)), -EINVAL);
        CHECK_INT(ota_config_require(&c, need, err, sizeof(err)), -EINVAL);
        CHECK_STR(err, "tls.cert is required");
        ota_config_clear(&c);
    }
}

static void test_hostport(void)
{
    static const struct {
        const char *in;
        int r;
        const char *host;
        unsigned port;
    } cases[] = {
        { "127.0.0.1:8443", 0, "127.0.0.1", 8443 },
        { "[::1]:9100", 0, "::1", 9100 },
        { ":80", 0, "", 80 },
        { "localhost:1", 0, "localhost", 1 },
        { "127.0.0.1", -EINVAL, NULL, 0 },
        { "::1:80", -EINVAL, NULL, 0 },
        { "[::1]80", -EINVAL, NULL, 0 },
        { "h:0", -EINVAL, NULL, 0 },
        { "h:65536", -EINVAL, NULL, 0 },
        { "h:x", -EINVAL, NULL, 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64];
        unsigned port = 0;

        CHECK_INT(ota_config_hostport(cases[i].in, host, sizeof(host), &port), cases[i].r);
        if (cases[i].r == 0) {
            CHECK_STR(host, cases[i].host);
            CHECK_INT(port, cases[i].port);
        }
    }
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    test_defaults_and_file();
    test_errors();
    test_hostport();
    unlink(write_conf("good.conf", ""));
    unlink(write_conf("bad.conf", ""));
    CHECK_INT(rmdir(dir), 0);
    TEST_DONE();
}
