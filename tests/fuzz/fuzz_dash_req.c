/* Fuzzes srv_dash_req_parse() with what libmicrohttpd hands the admin listener: a decoded
 * path (the first line) and query parameters (each further line "key=value", or "key"
 * for one without "="; at most 8, as srv_dashboard.c takes). Checks that every answer is
 * one it promises and that deciding twice gives the same. */
#include "fuzz_util.h"
#include "srv_dash_req.h"

#define MAX_ARGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size), *lines[1 + MAX_ARGS];
    struct srv_dash_arg args[MAX_ARGS];
    struct srv_dash_req req, again;
    char err[160], err2[160];
    size_t n = 0, nargs = 0;
    enum srv_dash_what w;

    for (char *p = text, *nl; n < 1 + MAX_ARGS; p = nl + 1) {
        lines[n++] = p;
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
    }
    for (size_t i = 1; i < n; i++) {
        char *eq = strchr(lines[i], '=');

        if (eq)
            *eq = '\0';
        args[nargs++] = (struct srv_dash_arg){ lines[i], eq ? eq + 1 : NULL };
    }
    w = srv_dash_req_parse(lines[0], args, nargs, &req, err, sizeof(err));
    FUZZ_CHECK(req.what == w);
    switch (w) {
    case SRV_DASH_BAD:
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        break;
    case SRV_DASH_FILE:
        FUZZ_CHECK(req.file && strcmp(req.file, lines[0]) == 0);
        break;
    case SRV_DASH_CAMPAIGN:
        FUZZ_CHECK(req.campaign > 0);
        FUZZ_CHECK(req.points >= 2 && req.points <= SRV_DASH_POINTS_MAX);
        FUZZ_CHECK(strncmp(lines[0], "/api/v1/campaigns/", 18) == 0);
        break;
    case SRV_DASH_CAMPAIGNS:
        FUZZ_CHECK(req.state >= -1 && req.state < OTA_CAMPAIGN_STATE_COUNT);
        FUZZ_CHECK(strcmp(lines[0], "/api/v1/campaigns") == 0);
        break;
    case SRV_DASH_FLEET:
    case SRV_DASH_TRAFFIC:
        FUZZ_CHECK(nargs == 0);
        break;
    case SRV_DASH_NONE:
        break;
    default:
        FUZZ_CHECK(!"an answer srv_dash_req.h does not list");
    }
    FUZZ_CHECK(srv_dash_req_parse(lines[0], args, nargs, &again, err2, sizeof(err2)) == w);
    FUZZ_CHECK(again.campaign == req.campaign && again.points == req.points &&
               again.state == req.state && again.file == req.file);
    FUZZ_CHECK(strcmp(err, err2) == 0);
    free(text);
    return 0;
}
