/* hawkBit DDI: the JSON bodies the controller API answers with (jansson). */
#include "srv_ddi_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>
#include <jansson.h>

#include "ota_util.h"

void srv_ddi_sleep_format(unsigned seconds, char *buf, size_t len)
{
    if (seconds > SRV_DDI_SLEEP_MAX)
        seconds = SRV_DDI_SLEEP_MAX;
    snprintf(buf, len, "%02u:%02u:%02u", seconds / 3600, seconds / 60 % 60, seconds % 60);
}

int srv_ddi_base_url(const char *public_url, const char *tenant, const char *controller,
                     char **ret)
{
    size_t n = strlen(public_url);
    char *s = NULL;

    while (n > 0 && public_url[n - 1] == '/')
        n--;
    if (asprintf(&s, "%.*s/%s/controller/v1/%s", (int)n, public_url, tenant, controller) < 0)
        return -ENOMEM;
    *ret = s;
    return 0;
}

void srv_ddi_action_hash(int64_t deployment, const char *sha256, char *buf, size_t len)
{
    uint8_t digest[32];
    char text[96], hex[65];
    int n = snprintf(text, sizeof(text), "%" PRId64 ":%s", deployment, sha256 ? sha256 : "");

    if (n < 0 || gnutls_hash_fast(GNUTLS_DIG_SHA256, text, (size_t)n, digest) < 0)
        memset(digest, 0, sizeof(digest));
    ota_hex(digest, sizeof(digest), hex);
    snprintf(buf, len, "%.16s", hex);
}

int srv_ddi_url_segment(const char *s, char *buf, size_t len)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (o + (keep ? 1 : 3) >= len)
            return -ENOSPC;
        if (keep) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '%';
            buf[o++] = hexd[c >> 4];
            buf[o++] = hexd[c & 15];
        }
    }
    if (o >= len)
        return -ENOSPC;
    buf[o] = '\0';
    return 0;
}

/* {"href": "<base><fmt...>"}; NULL on OOM. */
static json_t *href(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *href(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    json_t *o;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    o = json_pack("{s:s}", "href", s);
    free(s);
    return o;
}

/* Serialises @root compactly into *ret and drops @root. */
static int dump(json_t *root, char **ret)
{
    char *s;

    if (!root)
        return -ENOMEM;
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int srv_ddi_json_poll(const char *base, const struct srv_ddi_poll *p, char **ret)
{
    char sleep[16];
    json_t *root = NULL, *links = NULL;
    int r = -ENOMEM;

    srv_ddi_sleep_format(p->sleep, sleep, sizeof(sleep));
    root = json_pack("{s:{s:{s:s}}}", "config", "polling", "sleep", sleep);
    links = json_object();
    if (!root || !links)
        goto out;
    if (p->deployment > 0) {
        json_t *h = p->deployment_c
                        ? href("%s/deploymentBase/%" PRId64 "?c=%s", base, p->deployment,
                               p->deployment_c)
                        : href("%s/deploymentBase/%" PRId64, base, p->deployment);
        if (json_object_set_new(links, "deploymentBase", h) < 0)
            goto out;
    }
    if (p->cancel > 0 &&
        json_object_set_new(links, "cancelAction",
                            href("%s/cancelAction/%" PRId64, base, p->cancel)) < 0)
        goto out;
    if (p->config_data &&
        json_object_set_new(links, "configData", href("%s/configData", base)) < 0)
        goto out;
    /* hawkBit leaves "_links" out when it has nothing to link; clients accept both. */
    if (json_object_size(links) > 0 && json_object_set(root, "_links", links) < 0)
        goto out;
    r = dump(root, ret);
    root = NULL;
out:
    json_decref(links);
    json_decref(root);
    return r;
}

int srv_ddi_json_deployment(const char *base, const char *download, const char *md5sum,
                            int64_t action, int64_t module, const struct ota_artifact *a,
                            enum srv_ddi_window window, char **ret)
{
    char id[24], enc[3 * 255 + 1];
    json_t *root, *artifact;

    if (srv_ddi_url_segment(a->name, enc, sizeof(enc)) < 0)
        return -EINVAL;
    snprintf(id, sizeof(id), "%" PRId64, action);
    /* "size" must be a JSON integer and "sha1" lowercase hex: SWUpdate asserts both. */
    artifact = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:I, s:{s:o, s:o}}", "filename", a->name, "hashes", "sha1",
        a->sha1, "md5", a->md5, "sha256", a->sha256, "size", (json_int_t)a->size, "_links",
        "download",
        download ? href("%s", download)
                 : href("%s/softwaremodules/%" PRId64 "/artifacts/%s", base, module, enc),
        "md5sum",
        md5sum ? href("%s", md5sum)
               : href("%s/softwaremodules/%" PRId64 "/artifacts/%s.MD5SUM", base, module, enc));
    if (!artifact)
        return -ENOMEM;
    root = json_pack("{s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s, s:[o]}]}}", "id", id, "deployment",
                     "download", SRV_DDI_HANDLING, "update",
                     window == SRV_DDI_WINDOW_UNAVAILABLE ? "skip" : SRV_DDI_HANDLING, "chunks",
                     "part", "os", "version", a->version, "name", a->name, "artifacts", artifact);
    if (root && window != SRV_DDI_WINDOW_NONE &&
        json_object_set_new(json_object_get(root, "deployment"), "maintenanceWindow",
                            json_string(window == SRV_DDI_WINDOW_AVAILABLE ? "available"
                                                                           : "unavailable")) < 0) {
        json_decref(root);
        root = NULL;
    }
    return dump(root, ret);
}

int srv_ddi_json_cancel(int64_t action, char **ret)
{
    char id[24];

    snprintf(id, sizeof(id), "%" PRId64, action);
    return dump(json_pack("{s:s, s:{s:s}}", "id", id, "cancelAction", "stopId", id), ret);
}

int srv_ddi_md5sum_body(const struct ota_artifact *a, char **ret)
{
    char *s = NULL;

    if (asprintf(&s, "%s  %s\n", a->md5, a->name) < 0)
        return -ENOMEM;
    *ret = s;
    return 0;
}
