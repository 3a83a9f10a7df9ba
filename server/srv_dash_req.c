/* The dashboard's request decisions (srv_dash_req.h). */
#include "srv_dash_req.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "ota_util.h"

#define API "/api/v1/"

static const char *const page_files[] = { "/", "/dashboard.js", "/dashboard.css" };

static enum srv_dash_what bad(struct srv_dash_req *req, char *err, size_t errlen, const char *fmt,
                              const char *what)
{
    snprintf(err, errlen, fmt, what);
    req->what = SRV_DASH_BAD;
    return SRV_DASH_BAD;
}

/* Every parameter is one of @known (NULL-terminated), each at most once. */
static enum srv_dash_what check_keys(const struct srv_dash_arg *args, size_t nargs,
                                     const char *const *known, struct srv_dash_req *req, char *err,
                                     size_t errlen)
{
    for (size_t i = 0; i < nargs; i++) {
        bool ok = false;

        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(args[i].key, *k) == 0;
        if (!ok)
            return bad(req, err, errlen, "unknown parameter \"%.64s\"", args[i].key);
        for (size_t j = 0; j < i; j++)
            if (strcmp(args[i].key, args[j].key) == 0)
                return bad(req, err, errlen, "parameter \"%.64s\" given twice", args[i].key);
        if (!args[i].value || !args[i].value[0])
            return bad(req, err, errlen, "parameter \"%.64s\" has no value", args[i].key);
    }
    return req->what;
}

static const char *arg(const struct srv_dash_arg *args, size_t nargs, const char *key)
{
    for (size_t i = 0; i < nargs; i++)
        if (strcmp(args[i].key, key) == 0)
            return args[i].value;
    return NULL;
}

enum srv_dash_what srv_dash_req_parse(const char *path, const struct srv_dash_arg *args,
                                      size_t nargs, struct srv_dash_req *req, char *err,
                                      size_t errlen)
{
    static const char *const no_keys[] = { NULL };
    static const char *const list_keys[] = { "state", NULL };
    static const char *const one_keys[] = { "points", NULL };
    const char *rest, *v;
    uint64_t n;

    memset(req, 0, sizeof(*req));
    req->state = -1;
    req->points = SRV_DASH_POINTS_DEFAULT;
    err[0] = '\0';
    for (size_t i = 0; i < sizeof(page_files) / sizeof(page_files[0]); i++) {
        if (strcmp(path, page_files[i]) == 0) {
            /* the page's parameters are the script's (?refresh_ms=): not the server's */
            req->what = SRV_DASH_FILE;
            req->file = page_files[i];
            return req->what;
        }
    }
    if (strncmp(path, API, strlen(API)) != 0)
        return req->what = SRV_DASH_NONE;
    rest = path + strlen(API);
    if (strcmp(rest, "fleet") == 0) {
        req->what = SRV_DASH_FLEET;
        return check_keys(args, nargs, no_keys, req, err, errlen);
    }
    if (strcmp(rest, "traffic") == 0) {
        req->what = SRV_DASH_TRAFFIC;
        return check_keys(args, nargs, no_keys, req, err, errlen);
    }
    if (strcmp(rest, "campaigns") == 0) {
        enum ota_campaign_state s;

        req->what = SRV_DASH_CAMPAIGNS;
        if (check_keys(args, nargs, list_keys, req, err, errlen) == SRV_DASH_BAD)
            return SRV_DASH_BAD;
        v = arg(args, nargs, "state");
        if (v && ota_campaign_state_parse(v, &s) < 0)
            return bad(req, err, errlen,
                       "state \"%.32s\" is not one of: created starting running paused "
                       "cancelled finished",
                       v);
        if (v)
            req->state = (int)s;
        return req->what;
    }
    if (strncmp(rest, "campaigns/", 10) == 0) {
        rest += 10;
        req->what = SRV_DASH_CAMPAIGN;
        if (ota_parse_u64(rest, INT64_MAX, &n) < 0 || n == 0)
            return bad(req, err, errlen, "campaign id \"%.32s\" is not a positive number", rest);
        req->campaign = (int64_t)n;
        if (check_keys(args, nargs, one_keys, req, err, errlen) == SRV_DASH_BAD)
            return SRV_DASH_BAD;
        v = arg(args, nargs, "points");
        if (v && (ota_parse_u64(v, SRV_DASH_POINTS_MAX, &n) < 0 || n < 2))
            return bad(req, err, errlen, "points \"%.32s\" is not a number from 2 to 500", v);
        if (v)
            req->points = (unsigned)n;
        return req->what;
    }
    return req->what = SRV_DASH_NONE;
}
