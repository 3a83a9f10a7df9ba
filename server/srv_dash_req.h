/* Which dashboard resource a request names, and whether its parameters are good: the
 * decisions of the admin listener's /api/v1/ and page paths, with no HTTP in them
 * (srv_dashboard.c answers). Unit-tested in tests/unit/test_srv_dash_req.c.
 *
 * Paths: "/" (the page), "/dashboard.js", "/dashboard.css", "/api/v1/campaigns"
 * (?state=S: one campaign state), "/api/v1/campaigns/ID" (?points=N: history points,
 * 2..500, default 60), "/api/v1/fleet", "/api/v1/traffic". The API's parameters are
 * matched exactly: an unknown one, one given twice or one on a resource that takes none
 * is a bad request, so a typo is never silently ignored. The page files take any: they
 * are the script's (?refresh_ms=N). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_db.h"

enum srv_dash_what {
    SRV_DASH_NONE, /* no such resource: 404 */
    SRV_DASH_BAD,  /* a bad parameter: 400, the reason in err */
    SRV_DASH_FILE, /* one of the page's files: file names it */
    SRV_DASH_CAMPAIGNS,
    SRV_DASH_CAMPAIGN,
    SRV_DASH_FLEET,
    SRV_DASH_TRAFFIC,
};

#define SRV_DASH_POINTS_DEFAULT 60
#define SRV_DASH_POINTS_MAX     500

struct srv_dash_arg {
    const char *key;
    const char *value; /* NULL: "?key" without "=" */
};

struct srv_dash_req {
    enum srv_dash_what what;
    const char *file; /* SRV_DASH_FILE: the path, "/" for the page */
    int64_t campaign; /* SRV_DASH_CAMPAIGN */
    unsigned points;  /* SRV_DASH_CAMPAIGN */
    int state;        /* SRV_DASH_CAMPAIGNS: an enum ota_campaign_state, -1 any */
};

/* Decides @path with its @nargs query parameters. Returns req->what; for SRV_DASH_BAD a
 * message for the operator in @err. */
enum srv_dash_what srv_dash_req_parse(const char *path, const struct srv_dash_arg *args,
                                      size_t nargs, struct srv_dash_req *req, char *err,
                                      size_t errlen);
