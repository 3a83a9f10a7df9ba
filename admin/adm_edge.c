/* ota-admin edge add|list|revoke: CDN edges, which may fetch any artifact and nothing
 * else. They share the id space of vehicles (one certificate CN, one client). */
#include <errno.h>
#include <stdio.h>
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const name_name[] = { "NAME" };

static int edge_change(struct ota_db *db, const char *name, bool add)
{
    int r = ota_db_begin(db);

    if (r < 0)
        return r;
    r = add ? ota_db_edge_add(db, name) : ota_db_edge_revoke(db, name);
    if (r == 0)
        r = adm_ctx_event(db, add ? "edge.add" : "edge.revoke", NULL, 0, name);
    if (r == 0)
        r = ota_db_commit(db);
    if (r < 0)
        ota_db_rollback(db);
    return r;
}

static int edge_add_or_revoke(struct adm_ctx *ctx, int argc, char **argv, bool add)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_vehicle *v = NULL;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, name_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid edge name '%s' (1 to 64 of A-Z a-z 0-9 . _ -)", pos[0]);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = edge_change(db, pos[0], add);
    if (r == -EEXIST) {
        if (ota_db_vehicle_get(db, pos[0], &v) == 0)
            adm_fail("name '%s' is already taken by a vehicle", pos[0]);
        else
            adm_fail("edge '%s' already exists", pos[0]);
        goto out;
    }
    if (r == -ENOENT) {
        adm_fail("no edge '%s'", pos[0]);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, add ? "adding the edge" : "revoking the edge", r);
        goto out;
    }
    if (ctx->json) {
        if (adm_json_emit(json_pack("{s:s, s:s}", "name", pos[0], "state",
                                    add ? "active" : "revoked")) != ADM_EXIT_OK)
            goto out;
    } else {
        printf("edge %s %s\n", pos[0], add ? "added" : "revoked");
    }
    ret = ADM_EXIT_OK;
out:
    ota_vehicle_free(v);
    ota_db_close(db);
    return ret;
}

int adm_edge_add(struct adm_ctx *ctx, int argc, char **argv)
{
    return edge_add_or_revoke(ctx, argc, argv, true);
}

int adm_edge_revoke(struct adm_ctx *ctx, int argc, char **argv)
{
    return edge_add_or_revoke(ctx, argc, argv, false);
}

static int list_cb(const struct ota_edge *e, void *p)
{
    struct adm_list *l = p;
    char created[32];

    adm_time(e->created_at, created, sizeof(created));
    if (l->array)
        return adm_list_append(l,
                               json_pack("{s:s, s:s, s:s}", "name", e->name, "state",
                                         e->revoked ? "revoked" : "active", "created_at", created));
    const char *cells[] = { e->name, e->revoked ? "revoked" : "active", created };
    return adm_table_add(l->table, cells);
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_edge_list(db, list_cb, l);
}

int adm_edge_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "NAME", "STATE", "CREATED" };
    static const struct adm_list_spec spec = { head, 3, "edges", "listing edges" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}
