/* Fuzzes ota_config_load() with configuration files (written to one memfd per process,
 * rewritten per input) and ota_config_set_arg() with each line as a --set argument. After
 * a load that succeeds, every key reads back and is accepted again as it reads, and the
 * listen addresses go through ota_config_hostport() as the server's main.c sends them. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "ota_config.h"

static const char *const names[] = {
    "paths.db",
    "paths.store",
    "paths.keys",
    "server.listen",
    "server.admin_listen",
    "server.public_url",
    "server.tenant",
    "server.access_log",
    "server.threads",
    "server.connection_limit",
    "server.per_ip_limit",
    "server.timeout",
    "server.poll_after",
    "tls.cert",
    "tls.key",
    "tls.client_ca",
    "tls.priorities",
    "mqtt.host",
    "mqtt.port",
    "mqtt.cafile",
    "mqtt.certfile",
    "mqtt.keyfile",
    "mqtt.topic_prefix",
    "mqtt.client_id",
    "mqtt.keepalive",
    "notifier.interval_ms",
    "notifier.max_inflight",
    "notifier.stats_file",
};

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    memfd = memfd_create("ota.conf", MFD_CLOEXEC);
    FUZZ_CHECK(memfd >= 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    return 0;
}

/* Every key reads back, and what reads back is a value ota_config_set() accepts. */
static void check_keys(struct ota_config *c)
{
    char buf[32], section[32], err[256];
    char host[256];
    unsigned port;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *dot = strchr(names[i], '.');
        const char *v = ota_config_get(c, names[i], buf, sizeof(buf));
        char *copy;

        FUZZ_CHECK(v != NULL);
        copy = strdup(v); /* set replaces the string get returned */
        FUZZ_CHECK(copy != NULL);
        snprintf(section, sizeof(section), "%.*s", (int)(dot - names[i]), names[i]);
        FUZZ_CHECK(ota_config_set(c, section, dot + 1, copy, err, sizeof(err)) == 0);
        free(copy);
    }
    FUZZ_CHECK(ota_config_get(c, "server.nothing", buf, sizeof(buf)) == NULL);
    if (ota_config_hostport(c->server.listen, host, sizeof(host), &port) == 0)
        FUZZ_CHECK(port >= 1 && port <= 65535 && strlen(host) < sizeof(host));
    if (ota_config_hostport(c->server.admin_listen, host, sizeof(host), &port) == 0)
        FUZZ_CHECK(port >= 1 && port <= 65535);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *line;
    struct ota_config c;
    char err[512] = "";
    size_t len;
    int rc, set;

    FUZZ_CHECK(ftruncate(memfd, 0) == 0);
    FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
    FUZZ_CHECK(ota_config_init(&c) == 0);
    rc = ota_config_load(&c, path, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || ((rc == -EINVAL || rc == -ENOMEM) && err[0] != '\0'));
    if (rc == 0)
        check_keys(&c);
    ota_config_clear(&c);

    FUZZ_CHECK(ota_config_init(&c) == 0);
    set = 0;
    while ((line = fuzz_next_line(&p, end, 0, &len))) {
        char *arg = fuzz_cstr(line, len);

        rc = ota_config_set_arg(&c, arg, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
        set += rc == 0;
        free(arg);
    }
    if (set) /* the defaults were checked often enough */
        check_keys(&c);
    ota_config_clear(&c);
    return 0;
}
