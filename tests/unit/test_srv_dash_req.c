/* srv_dash_req: which dashboard resource a path names and whether its parameters are
 * good, as a table: path, parameters, what, and a piece of the message for bad ones. */
#include <string.h>
#include "ota_test.h"
#include "srv_dash_req.h"

struct row {
    const char *path;
    struct srv_dash_arg args[3];
    size_t nargs;
    enum srv_dash_what what;
    const char *detail; /* bad: in the message; campaign: "ID POINTS"; list: the state */
};

static const struct row rows[] = {
    /* the page's files, whatever their parameters (the script's) */
    { "/", { { 0 } }, 0, SRV_DASH_FILE, "/" },
    { "/", { { "refresh_ms", "300" } }, 1, SRV_DASH_FILE, "/" },
    { "/dashboard.js", { { 0 } }, 0, SRV_DASH_FILE, "/dashboard.js" },
    { "/dashboard.css", { { 0 } }, 0, SRV_DASH_FILE, "/dashboard.css" },
    { "/index.html", { { 0 } }, 0, SRV_DASH_NONE, NULL },
    { "/metrics", { { 0 } }, 0, SRV_DASH_NONE, NULL },
    /* lists */
    { "/api/v1/campaigns", { { 0 } }, 0, SRV_DASH_CAMPAIGNS, "-1" },
    { "/api/v1/campaigns", { { "state", "running" } }, 1, SRV_DASH_CAMPAIGNS, "2" },
    { "/api/v1/campaigns", { { "state", "bogus" } }, 1, SRV_DASH_BAD, "state \"bogus\"" },
    { "/api/v1/campaigns", { { "state", "" } }, 1, SRV_DASH_BAD, "has no value" },
    { "/api/v1/campaigns", { { "state", NULL } }, 1, SRV_DASH_BAD, "has no value" },
    { "/api/v1/campaigns",
      { { "state", "running" }, { "state", "paused" } },
      2,
      SRV_DASH_BAD,
      "given twice" },
    { "/api/v1/campaigns", { { "limit", "5" } }, 1, SRV_DASH_BAD, "unknown parameter \"limit\"" },
    /* one campaign */
    { "/api/v1/campaigns/7", { { 0 } }, 0, SRV_DASH_CAMPAIGN, "7 60" },
    { "/api/v1/campaigns/7", { { "points", "2" } }, 1, SRV_DASH_CAMPAIGN, "7 2" },
    { "/api/v1/campaigns/7", { { "points", "500" } }, 1, SRV_DASH_CAMPAIGN, "7 500" },
    { "/api/v1/campaigns/7", { { "points", "1" } }, 1, SRV_DASH_BAD, "from 2 to 500" },
    { "/api/v1/campaigns/7", { { "points", "501" } }, 1, SRV_DASH_BAD, "from 2 to 500" },
    { "/api/v1/campaigns/7", { { "points", "-3" } }, 1, SRV_DASH_BAD, "from 2 to 500" },
    { "/api/v1/campaigns/7", { { "state", "running" } }, 1, SRV_DASH_BAD, "unknown parameter" },
    { "/api/v1/campaigns/0", { { 0 } }, 0, SRV_DASH_BAD, "not a positive number" },
    { "/api/v1/campaigns/07x", { { 0 } }, 0, SRV_DASH_BAD, "not a positive number" },
    { "/api/v1/campaigns/", { { 0 } }, 0, SRV_DASH_BAD, "not a positive number" },
    { "/api/v1/campaigns/99999999999999999999", { { 0 } }, 0, SRV_DASH_BAD, "not a positive" },
    { "/api/v1/campaigns/7/stages", { { 0 } }, 0, SRV_DASH_BAD, "not a positive number" },
    /* the rest */
    { "/api/v1/fleet", { { 0 } }, 0, SRV_DASH_FLEET, NULL },
    { "/api/v1/fleet", { { "x", NULL } }, 1, SRV_DASH_BAD, "unknown parameter \"x\"" },
    { "/api/v1/traffic", { { 0 } }, 0, SRV_DASH_TRAFFIC, NULL },
    { "/api/v1/vehicles", { { 0 } }, 0, SRV_DASH_NONE, NULL },
    { "/api/v2/campaigns", { { 0 } }, 0, SRV_DASH_NONE, NULL },
    { "/api/v1", { { 0 } }, 0, SRV_DASH_NONE, NULL },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *t = &rows[i];
        struct srv_dash_req req;
        char err[160], got[sizeof(err)] = "";
        enum srv_dash_what w =
            srv_dash_req_parse(t->path, t->args, t->nargs, &req, err, sizeof(err));

        if (w != t->what || req.what != w) {
            fprintf(stderr, "row %zu %s: what %d, expected %d (%s)\n", i, t->path, (int)w,
                    (int)t->what, err);
            ota_test_failures++;
            continue;
        }
        if (w == SRV_DASH_BAD)
            snprintf(got, sizeof(got), "%s", strstr(err, t->detail) ? t->detail : err);
        else if (w == SRV_DASH_FILE)
            snprintf(got, sizeof(got), "%s", req.file);
        else if (w == SRV_DASH_CAMPAIGN)
            snprintf(got, sizeof(got), "%lld %u", (long long)req.campaign, req.points);
        else if (w == SRV_DASH_CAMPAIGNS)
            snprintf(got, sizeof(got), "%d", req.state);
        if (t->detail && strcmp(got, t->detail) != 0) {
            fprintf(stderr, "row %zu %s: got \"%s\", expected \"%s\"\n", i, t->path, got,
                    t->detail);
            ota_test_failures++;
        }
    }
    printf("%zu rows, %d failures\n", sizeof(rows) / sizeof(rows[0]), ota_test_failures);
    return ota_test_failures ? 1 : 0;
}
