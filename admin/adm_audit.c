/* ota-admin outbox list and events: what waits for the broker, and the audit trail of
 * status reports and admin actions, for operators and tests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_output.h"

static const char *const outbox_state_names[] = { "held", "pending", "published", "dropped" };

static const char *outbox_state_name(enum ota_outbox_state s)
{
    return (unsigned)s < 4 ? outbox_state_names[s] : "?";
}

struct list_ctx {
    struct adm_table *table;
    json_t *array;
    const char *vehicle; /* events: a filter the database call did not apply */
};

static int outbox_cb(const struct ota_outbox_row *o, void *p)
{
    struct list_ctx *l = p;
    char id[24], campaign[24], attempts[16], published[32], size[24];

    if (l->array) {
        json_t *j = json_pack(
            "{s:I, s:s, s:I, s:s, s:s%, s:b, s:s, s:I, s:I, s:o}", "id", (json_int_t)o->id,
            "vehicle", o->vehicle, "campaign", (json_int_t)o->campaign, "topic", o->topic,
            "payload", o->payload, o->payload_len, "retain", o->retain, "state",
            outbox_state_name(o->state), "attempts", (json_int_t)o->attempts, "next_attempt_at",
            (json_int_t)o->next_attempt_at, "published_at", adm_json_time(o->published_at));

        return j && json_array_append_new(l->array, j) == 0 ? 0 : -ENOMEM;
    }
    snprintf(id, sizeof(id), "%lld", (long long)o->id);
    snprintf(campaign, sizeof(campaign), "%lld", (long long)o->campaign);
    snprintf(attempts, sizeof(attempts), "%u", o->attempts);
    snprintf(size, sizeof(size), "%zu", o->payload_len);
    const char *cells[] = { id,
                            o->vehicle,
                            o->campaign ? campaign : "-",
                            o->topic,
                            outbox_state_name(o->state),
                            o->retain ? "yes" : "no",
                            size,
                            attempts,
                            adm_time(o->published_at, published, sizeof(published)) };
    return adm_table_add(l->table, cells);
}

int adm_outbox_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",     "VEHICLE", "CAMPAIGN", "TOPIC",    "STATE",
                                        "RETAIN", "BYTES",   "ATTEMPTS", "PUBLISHED" };
    const char *vehicle = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
    };
    struct list_ctx l = { NULL, NULL, NULL };
    struct ota_db *db = NULL;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, opts, 1, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (vehicle && !ota_id_valid(vehicle))
        return adm_usage(ctx, "invalid --vehicle '%s'", vehicle);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    if (ctx->json)
        l.array = json_array();
    else
        l.table = adm_table_new(head, 9);
    if (!l.array && !l.table) {
        adm_fail("out of memory");
        goto out;
    }
    r = ota_db_outbox_list(db, vehicle, outbox_cb, &l);
    if (r < 0) {
        adm_db_fail(db, "listing the outbox", r);
        goto out;
    }
    if (ctx->json)
        ret = adm_json_emit(json_pack("{s:O}", "outbox", l.array));
    else {
        adm_table_print(l.table, stdout);
        ret = ADM_EXIT_OK;
    }
out:
    json_decref(l.array);
    adm_table_free(l.table);
    ota_db_close(db);
    return ret;
}

static int event_cb(const struct ota_event *e, void *p)
{
    struct list_ctx *l = p;
    char id[24], ts[32], campaign[24], bytes[24];

    if (l->vehicle && (!e->vehicle || strcmp(l->vehicle, e->vehicle) != 0))
        return 0;
    if (l->array) {
        json_t *j = json_pack("{s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id",
                              (json_int_t)e->id, "ts", adm_json_time(e->ts), "actor", e->actor,
                              "kind", e->kind, "vehicle", adm_json_str(e->vehicle), "campaign",
                              e->campaign ? json_integer(e->campaign) : json_null(), "state",
                              adm_json_str(e->state), "bytes",
                              e->bytes >= 0 ? json_integer(e->bytes) : json_null(), "detail",
                              e->detail ? e->detail : "");

        return j && json_array_append_new(l->array, j) == 0 ? 0 : -ENOMEM;
    }
    snprintf(id, sizeof(id), "%lld", (long long)e->id);
    snprintf(campaign, sizeof(campaign), "%lld", (long long)e->campaign);
    snprintf(bytes, sizeof(bytes), "%lld", (long long)e->bytes);
    const char *cells[] = { id,
                            adm_time(e->ts, ts, sizeof(ts)),
                            e->actor,
                            e->kind,
                            e->vehicle,
                            e->campaign ? campaign : NULL,
                            e->state,
                            e->bytes >= 0 ? bytes : NULL,
                            e->detail && e->detail[0] ? e->detail : NULL };
    return adm_table_add(l->table, cells);
}

int adm_events(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",       "TIME",  "ACTOR", "KIND",  "VEHICLE",
                                        "CAMPAIGN", "STATE", "BYTES", "DETAIL" };
    const char *vehicle = NULL, *campaign = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
        { "--campaign", ADM_OPT_STRING, &campaign, NULL },
    };
    struct list_ctx l = { NULL, NULL, NULL };
    struct ota_db *db = NULL;
    int64_t cid = 0;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (vehicle && !ota_id_valid(vehicle))
        return adm_usage(ctx, "invalid --vehicle '%s'", vehicle);
    if (campaign && adm_parse_id(campaign, &cid) < 0)
        return adm_usage(ctx, "invalid --campaign '%s' (a positive number)", campaign);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    if (ctx->json)
        l.array = json_array();
    else
        l.table = adm_table_new(head, 9);
    if (!l.array && !l.table) {
        adm_fail("out of memory");
        goto out;
    }
    /* The database selects by campaign or by vehicle; with both, filter the vehicle here. */
    if (cid && vehicle)
        l.vehicle = vehicle;
    r = ota_db_event_list(db, cid, cid ? NULL : vehicle, event_cb, &l);
    if (r < 0) {
        adm_db_fail(db, "listing events", r);
        goto out;
    }
    if (ctx->json)
        ret = adm_json_emit(json_pack("{s:O}", "events", l.array));
    else {
        adm_table_print(l.table, stdout);
        ret = ADM_EXIT_OK;
    }
out:
    json_decref(l.array);
    adm_table_free(l.table);
    ota_db_close(db);
    return ret;
}
