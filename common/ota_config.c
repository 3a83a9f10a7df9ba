/* The INI configuration (inih): a table of keys with their type, default and bounds, so a
 * file, a --set override and ota_config_get() all go through one description. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ini.h>
#include "ota_config.h"
#include "ota_util.h"

/* KEY_POSITIVE: a number from 1; KEY_TOPIC: a string without the MQTT wildcards;
 * KEY_CHOICE: one of the words of `choices`. */
enum key_type { KEY_STRING, KEY_UINT, KEY_POSITIVE, KEY_TOPIC, KEY_CHOICE };

struct key_desc {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    const char *def;
    uint64_t max;        /* for numbers */
    const char *choices; /* for KEY_CHOICE: the allowed values, space-separated */
};

#define STR(s, k, field, d)     { s, k, KEY_STRING, offsetof(struct ota_config, field), d, 0 }
#define NUM(s, k, field, d, mx) { s, k, KEY_UINT, offsetof(struct ota_config, field), d, mx }

static const struct key_desc keys[] = {
    STR("paths", "db", paths.db, "/var/lib/ota-origin/ota.db"),
    STR("paths", "store", paths.store, "/var/lib/ota-origin/store"),
    STR("paths", "keys", paths.keys, "/etc/ota-origin/keys"),
    STR("server", "listen", server.listen, "0.0.0.0:8443"),
    STR("server", "admin_listen", server.admin_listen, "127.0.0.1:9100"),
    STR("server", "public_url", server.public_url, "https://localhost:8443"),
    STR("server", "tenant", server.tenant, "DEFAULT"),
    STR("server", "access_log", server.access_log, "-"),
    NUM("server", "threads", server.threads, "0", 256),
    NUM("server", "connection_limit", server.connection_limit, "16384", 1000000),
    NUM("server", "per_ip_limit", server.per_ip_limit, "0", 1000000),
    NUM("server", "timeout", server.timeout, "60", 86400),
    /* the whole header section, however slowly it trickles (srv_guard.h) */
    { "server", "header_timeout", KEY_POSITIVE, offsetof(struct ota_config, server.header_timeout),
      "10", 3600 },
    /* 0 sends one TLS record per write event (srv_tls_batch.h); 1 batches where proven */
    NUM("server", "tls_batching", server.tls_batching, "1", 1),
    NUM("server", "poll_after", server.poll_after, "300", 604800),
    /* parts of one multipart/byteranges answer; 256 = SRV_RANGE_MAX (srv_range.h) */
    { "server", "max_ranges", KEY_POSITIVE, offsetof(struct ota_config, server.max_ranges), "200",
      256 },
    STR("tls", "cert", tls.cert, ""),
    STR("tls", "key", tls.key, ""),
    STR("tls", "client_ca", tls.client_ca, ""),
    STR("tls", "priorities", tls.priorities, OTA_TLS_PRIORITIES_DEFAULT),
    STR("mqtt", "host", mqtt.host, "127.0.0.1"),
    { "mqtt", "port", KEY_POSITIVE, offsetof(struct ota_config, mqtt.port), "1883", 65535 },
    STR("mqtt", "cafile", mqtt.cafile, ""),
    STR("mqtt", "certfile", mqtt.certfile, ""),
    STR("mqtt", "keyfile", mqtt.keyfile, ""),
    /* A wildcard would make every update topic unpublishable and the status subscription
     * invalid: refused here rather than retried for ever. */
    { "mqtt", "topic_prefix", KEY_TOPIC, offsetof(struct ota_config, mqtt.topic_prefix), "ota/v1",
      0 },
    STR("mqtt", "client_id", mqtt.client_id, "ota-notifier"),
    NUM("mqtt", "keepalive", mqtt.keepalive, "30", 65535),
    /* 3.1.1 for brokers without MQTT 5 (RabbitMQ 3.10): see notifier/README.md for what
     * it loses */
    { "mqtt", "protocol", KEY_CHOICE, offsetof(struct ota_config, mqtt.protocol), "5", 0,
      "5 3.1.1" },
    { "notifier", "interval_ms", KEY_POSITIVE, offsetof(struct ota_config, notifier.interval_ms),
      "250", 60000 },
    NUM("notifier", "max_inflight", notifier.max_inflight, "100", 65535),
    STR("notifier", "stats_file", notifier.stats_file, ""),
    /* checked as a whole by ota_cdn_open(): they depend on each other */
    STR("cdn", "base_url", cdn.base_url, ""),
    STR("cdn", "token", cdn.token, ""),
    { "cdn", "token_ttl", KEY_POSITIVE, offsetof(struct ota_config, cdn.token_ttl), "3600",
      30 * 86400 },
    STR("cdn", "key_file", cdn.key_file, ""),
    STR("cdn", "key_pair_id", cdn.key_pair_id, ""),
};

static const struct key_desc *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool stored_as_string(const struct key_desc *k)
{
    return k->type == KEY_STRING || k->type == KEY_TOPIC || k->type == KEY_CHOICE;
}

/* @value is one of the space-separated words of @choices. */
static bool is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);

    for (const char *p = choices; *p;) {
        size_t w = strcspn(p, " ");

        if (w == n && n > 0 && strncmp(p, value, n) == 0)
            return true;
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

static int check_value(const struct key_desc *k, const char *value, char *err, size_t errlen)
{
    uint64_t v;

    if (strlen(value) > 4096 || strpbrk(value, "\n\r")) {
        ota_errf(err, errlen, "%s.%s: value too long or not one line", k->section, k->key);
        return -EINVAL;
    }
    if (k->type == KEY_TOPIC && strpbrk(value, "+#")) {
        ota_errf(err, errlen, "%s.%s: \"%s\" must not contain the MQTT wildcards + or #",
                 k->section, k->key, value);
        return -EINVAL;
    }
    if (k->type == KEY_CHOICE && !is_choice(k->choices, value)) {
        ota_errf(err, errlen, "%s.%s: \"%s\" is not one of: %s", k->section, k->key, value,
                 k->choices);
        return -EINVAL;
    }
    if (stored_as_string(k))
        return 0;
    if (ota_parse_u64(value, k->max, &v) < 0 || (k->type == KEY_POSITIVE && v == 0)) {
        ota_errf(err, errlen, "%s.%s: \"%s\" is not a whole number from %d to %llu", k->section,
                 k->key, value, k->type == KEY_POSITIVE ? 1 : 0, (unsigned long long)k->max);
        return -EINVAL;
    }
    return 0;
}

static int store_value(struct ota_config *c, const struct key_desc *k, const char *value)
{
    char *field = (char *)c + k->offset;
    uint64_t v;

    if (stored_as_string(k)) {
        char *copy = strdup(value);

        if (!copy)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    if (ota_parse_u64(value, k->max, &v) < 0)
        return -EINVAL;
    *(unsigned *)field = (unsigned)v;
    return 0;
}

int ota_config_set(struct ota_config *c, const char *section, const char *key, const char *value,
                   char *err, size_t errlen)
{
    const struct key_desc *k = find_key(section, key);
    int r;

    if (!k) {
        ota_errf(err, errlen, "%s.%s: unknown key", section, key);
        return -EINVAL;
    }
    if ((r = check_value(k, value, err, errlen)) < 0)
        return r;
    if ((r = store_value(c, k, value)) < 0)
        ota_errf(err, errlen, "%s.%s: out of memory", section, key);
    return r;
}

int ota_config_init(struct ota_config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (store_value(c, &keys[i], keys[i].def) < 0) {
            ota_config_clear(c);
            return -ENOMEM;
        }
    }
    return 0;
}

void ota_config_clear(struct ota_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (stored_as_string(&keys[i])) {
            char **field = (char **)((char *)c + keys[i].offset);

            free(*field);
            *field = NULL;
        }
    }
}

struct load_ctx {
    struct ota_config *c;
    char *err;
    size_t errlen;
    int r;
};

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;

    ctx->r = ota_config_set(ctx->c, section, name, value, ctx->err, ctx->errlen);
    return ctx->r == 0; /* inih: 0 stops with the line number */
}

/* inih reads a line into a buffer of INI_MAX_LINE bytes and parses what does not fit as
 * the next line: "key = <long value>" would become a cut value plus a bogus key. The
 * number of the first line too long for it, or 0 (the stream is rewound either way). */
static int first_long_line(FILE *f)
{
    int c, line = 1, found = 0;
    size_t len = 0;

    while (!found && (c = getc(f)) != EOF) {
        if (c == '\n') {
            line++;
            len = 0;
        } else if (++len > INI_MAX_LINE - 1) {
            found = line;
        }
    }
    rewind(f);
    return found;
}

int ota_config_load(struct ota_config *c, const char *path, char *err, size_t errlen)
{
    struct load_ctx ctx = { c, err, errlen, 0 };
    char msg[512] = "";
    FILE *f;
    int line;

    f = fopen(path, "re");
    if (!f) {
        int e = errno;

        ota_errf(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT ? -ENOENT : -e;
    }
    line = first_long_line(f);
    if (line > 0) {
        fclose(f);
        ota_errf(err, errlen, "%s:%d: line longer than %d bytes, the most the INI reader takes",
                 path, line, INI_MAX_LINE - 1);
        return -EINVAL;
    }
    ctx.err = msg;
    ctx.errlen = sizeof(msg);
    line = ini_parse_file(f, on_ini_value, &ctx);
    fclose(f);
    if (line == 0)
        return 0;
    if (ctx.r == -ENOMEM) {
        ota_errf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (line > 0)
        ota_errf(err, errlen, "%s:%d: %s", path, line, msg[0] ? msg : "syntax error");
    else
        ota_errf(err, errlen, "%s: cannot read", path);
    return -EINVAL;
}

int ota_config_set_arg(struct ota_config *c, const char *arg, char *err, size_t errlen)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    char section[32], key[32];

    if (!dot || !eq || dot > eq || (size_t)(dot - arg) >= sizeof(section) ||
        (size_t)(eq - dot - 1) >= sizeof(key)) {
        ota_errf(err, errlen, "\"%s\": expected section.key=value", arg);
        return -EINVAL;
    }
    snprintf(section, sizeof(section), "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
    return ota_config_set(c, section, key, eq + 1, err, errlen);
}

const char *ota_config_get(const struct ota_config *c, const char *name, char *buf, size_t len)
{
    const char *dot = strchr(name, '.');
    char section[32];
    const struct key_desc *k;
    const char *field;

    if (!dot || (size_t)(dot - name) >= sizeof(section))
        return NULL;
    snprintf(section, sizeof(section), "%.*s", (int)(dot - name), name);
    k = find_key(section, dot + 1);
    if (!k)
        return NULL;
    field = (const char *)c + k->offset;
    if (stored_as_string(k))
        return *(char *const *)field ? *(char *const *)field : "";
    snprintf(buf, len, "%u", *(const unsigned *)field);
    return buf;
}

int ota_config_require(const struct ota_config *c, const char *const *names, char *err,
                       size_t errlen)
{
    char buf[32];

    for (; *names; names++) {
        const char *v = ota_config_get(c, *names, buf, sizeof(buf));

        if (!v || !v[0]) {
            ota_errf(err, errlen, "%s is required", *names);
            return -EINVAL;
        }
    }
    return 0;
}

int ota_config_hostport(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *colon;
    size_t n;
    uint64_t p;

    if (!s)
        return -EINVAL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end[1] != ':')
            return -EINVAL;
        n = (size_t)(end - s - 1);
        s++;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -EINVAL;
        n = (size_t)(colon - s);
    }
    if (n >= hostlen || ota_parse_u64(colon + 1, 65535, &p) < 0 || p == 0)
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    *port = (unsigned)p;
    return 0;
}

const char *ota_config_default_path(void)
{
    const char *env = getenv("OTA_CONFIG");

    if (env && env[0])
        return env;
    return access(OTA_CONFIG_DEFAULT, F_OK) == 0 ? OTA_CONFIG_DEFAULT : NULL;
}
