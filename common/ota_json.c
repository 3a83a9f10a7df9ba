/* JSON codecs (jansson) for the update announcement, the status report and error bodies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ota_json.h"
#include "ota_sign.h"
#include "ota_util.h"

#define UPDATE_TEXT_MAX (64 * 1024)

static int dump_compact(json_t *o, char **ret)
{
    char *text;

    if (!o)
        return -ENOMEM;
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return -ENOMEM;
    *ret = text;
    return 0;
}

int ota_json_update_encode(const struct ota_update_info *u, char **ret)
{
    char url[96], issued[32];
    json_t *art = NULL, *o = NULL;

    if (!u->url)
        snprintf(url, sizeof(url), "/v1/artifacts/%s", u->sha256);
    art = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "sha256", u->sha256, "size",
                    (json_int_t)u->size, "name", u->name ? u->name : "", "version",
                    u->version ? u->version : "", "url", u->url ? u->url : url, "signature",
                    u->signature ? u->signature : "");
    if (!art)
        return -ENOMEM;
    o = json_pack("{s:I, s:o, s:I}", "campaign", (json_int_t)u->campaign, "artifact", art,
                  "poll_after", (json_int_t)u->poll_after);
    if (o && u->issued_at > 0) {
        ota_rfc3339(u->issued_at, issued, sizeof(issued));
        if (json_object_set_new(o, "issued_at", json_string(issued)) < 0) {
            json_decref(o);
            return -ENOMEM;
        }
    }
    return dump_compact(o, ret);
}

int ota_json_update_relink(const char *text, size_t len, ota_json_link_fn *link, void *ctx,
                           char **ret)
{
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *art = json_object_get(o, "artifact");
    const char *sha256 = json_string_value(json_object_get(art, "sha256"));
    char url[1024];
    int r = -EINVAL;

    if (!sha256 || !ota_sha256_hex_valid(sha256) || !json_is_string(json_object_get(art, "url")))
        goto out;
    if ((r = link(ctx, sha256, url, sizeof(url))) < 0)
        goto out;
    r = -ENOMEM;
    if (json_object_set_new(art, "url", json_string(url)) < 0)
        goto out;
    r = dump_compact(o, ret);
    o = NULL; /* dump_compact() took it */
out:
    json_decref(o);
    return r;
}

void ota_update_info_clear(struct ota_update_info *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->version);
    free(u->hw);
    free(u->url);
    free(u->signature);
    memset(u, 0, sizeof(*u));
}

static int dup_string(json_t *o, const char *key, size_t max, char **ret, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        ota_errf(err, errlen, "\"%s\" must be a string of at most %zu bytes", key, max);
        return -EINVAL;
    }
    *ret = strdup(json_string_value(v));
    if (!*ret) {
        ota_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static int get_uint(json_t *o, const char *key, bool required, uint64_t *ret, char *err,
                    size_t errlen)
{
    json_t *v = json_object_get(o, key);

    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        ota_errf(err, errlen, "\"%s\" must be a non-negative integer", key);
        return -EINVAL;
    }
    *ret = (uint64_t)json_integer_value(v);
    return 0;
}

int ota_json_update_decode(const char *text, size_t len, struct ota_update_info *u, char *err,
                           size_t errlen)
{
    struct ota_update_info d = { 0 };
    json_t *root = NULL, *art;
    json_error_t jerr;
    char *sha = NULL;
    uint64_t v = 0;
    int r = -EINVAL;

    if (len > UPDATE_TEXT_MAX) {
        ota_errf(err, errlen, "update message larger than %d bytes", UPDATE_TEXT_MAX);
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        ota_errf(err, errlen, "not a JSON object: %s", root ? "wrong type" : jerr.text);
        goto out;
    }
    art = json_object_get(root, "artifact");
    if (!json_is_object(art)) {
        ota_errf(err, errlen, "\"artifact\" must be an object");
        goto out;
    }
    if (get_uint(root, "campaign", true, &v, err, errlen) < 0 || v == 0 || v > INT64_MAX) {
        ota_errf(err, errlen, "\"campaign\" must be a positive integer");
        goto out;
    }
    d.campaign = (int64_t)v;
    v = OTA_POLL_AFTER_DEFAULT;
    if (get_uint(root, "poll_after", false, &v, err, errlen) < 0 || v > 86400 * 7) {
        /* callers print @err as they got it: every failure must fill it */
        ota_errf(err, errlen, "\"poll_after\" must be an integer from 0 to %d", 86400 * 7);
        goto out;
    }
    d.poll_after = (unsigned)v;
    if (get_uint(art, "size", true, &d.size, err, errlen) < 0)
        goto out;
    if ((r = dup_string(art, "sha256", 64, &sha, err, errlen)) < 0)
        goto out;
    r = -EINVAL;
    if (!ota_sha256_hex_valid(sha)) {
        ota_errf(err, errlen, "\"sha256\" must be 64 lowercase hex digits");
        goto out;
    }
    memcpy(d.sha256, sha, 65);
    if ((r = dup_string(art, "name", 255, &d.name, err, errlen)) < 0 ||
        (r = dup_string(art, "version", 127, &d.version, err, errlen)) < 0 ||
        (r = dup_string(art, "url", 1024, &d.url, err, errlen)) < 0 ||
        (r = dup_string(art, "signature", OTA_SIGN_TEXT_MAX, &d.signature, err, errlen)) < 0)
        goto out;
    *u = d; /* ownership of the strings moves to the caller */
    memset(&d, 0, sizeof(d));
    r = 0;
out:
    free(sha);
    ota_update_info_clear(&d);
    json_decref(root);
    return r;
}

/* Cuts @s to at most @max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

int ota_json_status_decode(const char *text, size_t len, struct ota_status_report *r, char *err,
                           size_t errlen)
{
    struct ota_status_report d = { 0 };
    json_t *root = NULL, *v;
    json_error_t jerr;
    uint64_t campaign = 0;
    int ret = -EINVAL;

    if (len > OTA_STATUS_BODY_MAX) {
        ota_errf(err, errlen, "status report larger than %d bytes", OTA_STATUS_BODY_MAX);
        return -EMSGSIZE;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        ota_errf(err, errlen, "not a JSON object%s%s", root ? "" : ": ", root ? "" : jerr.text);
        goto out;
    }
    if (get_uint(root, "campaign", true, &campaign, err, errlen) < 0 || campaign == 0 ||
        campaign > INT64_MAX) {
        ota_errf(err, errlen, "\"campaign\" must be a positive integer");
        goto out;
    }
    d.campaign = (int64_t)campaign;
    v = json_object_get(root, "state");
    if (!json_is_string(v) || ota_deploy_state_parse(json_string_value(v), &d.state) < 0 ||
        d.state == OTA_DEPLOY_PENDING || d.state == OTA_DEPLOY_CANCELLED) {
        ota_errf(err, errlen,
                "\"state\" must be one of downloading, downloaded, installing, installed, "
                "failed");
        goto out;
    }
    if (get_uint(root, "bytes", false, &d.bytes, err, errlen) < 0)
        goto out;
    v = json_object_get(root, "detail");
    if (v && !json_is_null(v)) {
        size_t n;

        if (!json_is_string(v)) {
            ota_errf(err, errlen, "\"detail\" must be a string");
            goto out;
        }
        n = utf8_cut(json_string_value(v), json_string_length(v), OTA_STATUS_DETAIL_MAX);
        memcpy(d.detail, json_string_value(v), n);
        d.detail[n] = '\0';
        /* Embedded NULs would make the stored text lie about its length. */
        d.detail[strlen(d.detail)] = '\0';
    }
    *r = d;
    ret = 0;
out:
    json_decref(root);
    return ret;
}

int ota_json_status_encode(const struct ota_status_report *r, char **ret)
{
    return dump_compact(json_pack("{s:I, s:s, s:I, s:s}", "campaign", (json_int_t)r->campaign,
                                  "state", ota_deploy_state_name(r->state), "bytes",
                                  (json_int_t)r->bytes, "detail", r->detail),
                        ret);
}

int ota_json_error(const char *code, const char *message, char **ret)
{
    return dump_compact(json_pack("{s:s, s:s}", "error", code, "message", message), ret);
}
