/* ota-admin cdn link: the CDN link ota-origin hands a vehicle for an artifact now (or for
 * a given expiry), made by the same code as the server's and the notifier's, so an
 * operator can check the edge's configuration against it with curl. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "ota_cdn.h"
#include "ota_rollout.h"
#include "ota_util.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_output.h"

static const char *const link_names[] = { "SHA256|PATH" };

int adm_cdn_link(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *pos[1] = { NULL }, *vehicle = NULL, *expires_arg = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
        { "--expires", ADM_OPT_STRING, &expires_arg, NULL },
    };
    struct ota_cdn *cdn = NULL;
    char err[512] = "", path[300], link[OTA_CDN_LINK_MAX];
    int64_t expires;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, link_names, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!vehicle || !ota_id_valid(vehicle))
        return adm_usage(ctx, "--vehicle ID is required (1 to %d of A-Z a-z 0-9 . _ -)",
                         OTA_ID_MAX);
    if (ota_sha256_hex_valid(pos[0]))
        snprintf(path, sizeof(path), "/v1/artifacts/%s", pos[0]);
    else if (pos[0][0] == '/' && strlen(pos[0]) < sizeof(path))
        snprintf(path, sizeof(path), "%s", pos[0]);
    else
        return adm_usage(ctx, "'%.80s' is neither a sha256 (64 lowercase hex) nor a path", pos[0]);
    if (expires_arg && (ota_rollout_time_parse(expires_arg, &expires) < 0 || expires <= 0))
        return adm_usage(ctx, "--expires: '%.80s' is not an RFC 3339 time or @EPOCH",
                         expires_arg);
    r = ota_cdn_open(&ctx->config, &cdn, err, sizeof(err));
    if (r < 0)
        return adm_fail("%s", err);
    if (!cdn)
        return adm_fail("cdn.base_url is not set: vehicles get origin links");
    if (!expires_arg)
        expires = ota_cdn_expiry(cdn, ota_now());
    r = ota_cdn_link(cdn, path, vehicle, expires, link, sizeof(link));
    if (r < 0)
        ret = adm_fail("cannot make the link: %s",
                       r == -EINVAL ? "not a plain path" : strerror(-r));
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:s, s:s, s:I, s:s}", "url", link, "vehicle", vehicle,
                                      "expires", (json_int_t)expires, "token",
                                      ota_cdn_token_name(ota_cdn_token_type(cdn))));
    else
        ret = printf("%s\n", link) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
    ota_cdn_free(cdn);
    return ret;
}
