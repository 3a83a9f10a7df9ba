/* hawkBit DDI: splits a request path into tenant, controller, resource and ids. */
#include "srv_ddi_path.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MD5SUM_SUFFIX ".MD5SUM"

/* Cuts the next "/segment" off *@p: sets *ret_seg and *ret_len, advances *@p past it.
 * Returns false if *@p does not start with '/' or the segment is empty. */
static bool next_segment(const char **p, const char **ret_seg, size_t *ret_len)
{
    const char *s = *p, *end;

    if (*s != '/')
        return false;
    s++;
    end = strchr(s, '/');
    if (!end)
        end = s + strlen(s);
    if (end == s)
        return false;
    *ret_seg = s;
    *ret_len = (size_t)(end - s);
    *p = end;
    return true;
}

static bool segment_is(const char *seg, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(seg, word, len) == 0;
}

static bool token_ok(const char *seg, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = seg[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool parse_id(const char *seg, size_t len, int64_t *ret)
{
    uint64_t v;

    if (ota_parse_u64n(seg, len, INT64_MAX, &v) < 0 || v == 0)
        return false;
    *ret = (int64_t)v;
    return true;
}

static bool filename_ok(const char *seg, size_t len)
{
    if (len == 0 || len > SRV_DDI_FILENAME_MAX)
        return false;
    if (segment_is(seg, len, ".") || segment_is(seg, len, ".."))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* After the base: the resource part of the path. */
static int parse_resource(const char *p, struct srv_ddi_path *d)
{
    const char *seg;
    size_t len;

    if (*p == '\0') {
        d->kind = SRV_DDI_POLL;
        return 0;
    }
    if (!next_segment(&p, &seg, &len))
        return -EINVAL;
    if (segment_is(seg, len, "configData")) {
        d->kind = SRV_DDI_CONFIG_DATA;
        return *p == '\0' ? 0 : -EINVAL;
    }
    if (segment_is(seg, len, "deploymentBase") || segment_is(seg, len, "cancelAction")) {
        bool deploy = seg[0] == 'd';
        if (!next_segment(&p, &seg, &len) || !parse_id(seg, len, &d->action))
            return -EINVAL;
        if (*p == '\0') {
            d->kind = deploy ? SRV_DDI_DEPLOYMENT : SRV_DDI_CANCEL;
            return 0;
        }
        if (!next_segment(&p, &seg, &len) || !segment_is(seg, len, "feedback") || *p != '\0')
            return -EINVAL;
        d->kind = deploy ? SRV_DDI_DEPLOYMENT_FEEDBACK : SRV_DDI_CANCEL_FEEDBACK;
        return 0;
    }
    if (segment_is(seg, len, "softwaremodules")) {
        size_t sfx = strlen(MD5SUM_SUFFIX);
        if (!next_segment(&p, &seg, &len) || !parse_id(seg, len, &d->module))
            return -EINVAL;
        if (!next_segment(&p, &seg, &len) || !segment_is(seg, len, "artifacts"))
            return -EINVAL;
        if (!next_segment(&p, &seg, &len) || *p != '\0' || !filename_ok(seg, len))
            return -EINVAL;
        d->kind = SRV_DDI_ARTIFACT;
        if (len > sfx && memcmp(seg + len - sfx, MD5SUM_SUFFIX, sfx) == 0) {
            d->kind = SRV_DDI_ARTIFACT_MD5;
            len -= sfx;
            if (!filename_ok(seg, len))
                return -EINVAL; /* "..MD5SUM" would name the file "." */
        }
        memcpy(d->filename, seg, len);
        d->filename[len] = '\0';
        return 0;
    }
    return -EINVAL;
}

int srv_ddi_path_parse(const char *url, struct srv_ddi_path *ret)
{
    struct srv_ddi_path d = { 0 };
    const char *p = url, *seg;
    size_t len;
    int r;

    if (!p || !next_segment(&p, &seg, &len) || !token_ok(seg, len, SRV_DDI_TENANT_MAX))
        return -EINVAL;
    memcpy(d.tenant, seg, len);
    d.tenant[len] = '\0';
    if (!next_segment(&p, &seg, &len) || !segment_is(seg, len, "controller"))
        return -EINVAL;
    if (!next_segment(&p, &seg, &len) || !segment_is(seg, len, "v1"))
        return -EINVAL;
    if (!next_segment(&p, &seg, &len) || !token_ok(seg, len, OTA_ID_MAX))
        return -EINVAL;
    memcpy(d.controller, seg, len);
    d.controller[len] = '\0';
    if ((r = parse_resource(p, &d)) < 0)
        return r;
    *ret = d;
    return 0;
}

bool srv_ddi_tenant_match(const char *tenant, const char *want)
{
    return tenant && want && strcasecmp(tenant, want) == 0;
}
