/* ota-admin edge add|list|revoke|reinstate: CDN edges, which may fetch any artifact and
 * nothing else. They share the id space of vehicles (one certificate CN, one client). */
#include <errno.h>
#include <stdio.h>
#include "ota_fleet.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const name_name[] = { "NAME" };

typedef int edge_op_fn(struct ota_db *db, const char *actor, const char *name, char *err,
                       size_t errlen);

static int edge_change(struct adm_ctx *ctx, int argc, char **argv, edge_op_fn *op,
                       const char *done)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_edge e;
    char err[512] = "";
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, name_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid edge name '%.80s' (1 to %d of A-Z a-z 0-9 . _ -)", pos[0], OTA_ID_MAX);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    r = op(db, ctx->actor, pos[0], err, sizeof(err));
    if (r == 0)
        r = ota_db_edge_get(db, pos[0], &e);
    if (r < 0)
        ret = adm_domain_fail(db, "changing the edge", r, err);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:s, s:s}", "name", pos[0], "state",
                                      e.revoked ? "revoked" : "active"));
    else
        ret = printf("edge %s %s\n", pos[0], done) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
    ota_db_close(db);
    return ret;
}

int adm_edge_add(struct adm_ctx *ctx, int argc, char **argv)
{
    return edge_change(ctx, argc, argv, ota_fleet_edge_add, "added");
}

int adm_edge_revoke(struct adm_ctx *ctx, int argc, char **argv)
{
    return edge_change(ctx, argc, argv, ota_fleet_edge_revoke, "revoked");
}

int adm_edge_reinstate(struct adm_ctx *ctx, int argc, char **argv)
{
    return edge_change(ctx, argc, argv, ota_fleet_edge_reinstate, "reinstated");
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    const struct ota_edge *e;
    struct ota_db_iter it;
    int r = ota_db_edges_begin(db, &it);

    while (r == 0 && (r = ota_db_edges_next(&it, &e)) > 0) {
        char created[32];
        const char *cells[] = { e->name, e->revoked ? "revoked" : "active",
                                adm_time(e->created_at, created, sizeof(created)) };

        r = l->array ? adm_list_append(l, json_pack("{s:s, s:s, s:s}", "name", e->name, "state",
                                                    cells[1], "created_at", created))
                     : adm_table_add(l->table, cells);
    }
    ota_db_iter_end(&it);
    return r;
}

int adm_edge_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "NAME", "STATE", "CREATED" };
    static const struct adm_list_spec spec = { head, 3, "edges", "listing edges" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}
