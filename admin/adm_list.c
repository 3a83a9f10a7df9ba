/* ota-admin list commands: what vehicle, edge, artifact, campaign, outbox and events
 * listings share, so that each command is its row callback and its database call. */
#include <errno.h>
#include <stdio.h>
#include "adm_list.h"

int adm_list_append(struct adm_list *l, json_t *row)
{
    /* json_array_append_new() releases @row when it fails. */
    return row && json_array_append_new(l->array, row) == 0 ? 0 : -ENOMEM;
}

void adm_list_release(struct adm_list *l)
{
    json_decref(l->array);
    l->array = NULL;
    adm_table_free(l->table);
    l->table = NULL;
}

int adm_list_fill(const struct adm_ctx *ctx, struct ota_db *db, const struct adm_list_spec *spec,
                  adm_list_fill_fn *fill, const void *arg, struct adm_list *l)
{
    int r;

    l->arg = arg;
    if (ctx->json)
        l->array = json_array();
    else
        l->table = adm_table_new(spec->head, spec->ncols);
    if (!l->array && !l->table)
        return adm_fail("out of memory");
    r = fill(db, l);
    if (r < 0)
        return adm_db_fail(db, spec->what, r);
    return ADM_EXIT_OK;
}

int adm_list_run(const struct adm_ctx *ctx, const struct adm_list_spec *spec,
                 adm_list_fill_fn *fill, const void *arg)
{
    struct adm_list l = { NULL, NULL, NULL };
    struct ota_db *db = NULL;
    int ret;

    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = adm_list_fill(ctx, db, spec, fill, arg, &l);
    if (ret != ADM_EXIT_OK)
        goto out;
    if (ctx->json) {
        ret = adm_json_emit(json_pack("{s:O}", spec->key, l.array));
    } else {
        adm_table_print(l.table, stdout);
        ret = ADM_EXIT_OK;
    }
out:
    adm_list_release(&l);
    ota_db_close(db);
    return ret;
}
