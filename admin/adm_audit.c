/* ota-admin outbox list and events: what waits for the broker, and the audit trail of
 * status reports and admin actions, for operators and tests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const outbox_state_names[] = { "held", "pending", "published", "dropped" };

static const char *outbox_state_name(enum ota_outbox_state s)
{
    return (unsigned)s < 4 ? outbox_state_names[s] : "?";
}

/* events: the database selects by campaign or by vehicle; with both, the vehicle is
 * filtered here. */
struct event_filter {
    int64_t campaign; /* 0 = any */
    const char *vehicle;
};

static int outbox_cb(const struct ota_outbox_row *o, void *p)
{
    struct adm_list *l = p;
    char id[24], campaign[24], attempts[16], published[32], size[24];

    if (l->array)
        return adm_list_append(l, json_pack("{s:I, s:s, s:I, s:s, s:s%, s:b, s:s, s:I, s:I, s:o}",
                                            "id", (json_int_t)o->id, "vehicle", o->vehicle,
                                            "campaign", (json_int_t)o->campaign, "topic", o->topic,
                                            "payload", o->payload, o->payload_len, "retain",
                                            o->retain, "state", outbox_state_name(o->state),
                                            "attempts", (json_int_t)o->attempts, "next_attempt_at",
                                            (json_int_t)o->next_attempt_at, "published_at",
                                            adm_json_time(o->published_at)));
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

static int outbox_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_outbox_list(db, l->arg, outbox_cb, l);
}

int adm_outbox_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",     "VEHICLE", "CAMPAIGN", "TOPIC",    "STATE",
                                        "RETAIN", "BYTES",   "ATTEMPTS", "PUBLISHED" };
    static const struct adm_list_spec spec = { head, 9, "outbox", "listing the outbox" };
    const char *vehicle = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
    };
    int ret;

    ret = adm_args_parse(ctx, argc, argv, opts, 1, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (vehicle && !ota_id_valid(vehicle))
        return adm_usage(ctx, "invalid --vehicle '%s'", vehicle);
    return adm_list_run(ctx, &spec, outbox_fill, vehicle);
}

static int event_cb(const struct ota_event *e, void *p)
{
    struct adm_list *l = p;
    const struct event_filter *f = l->arg;
    char id[24], ts[32], campaign[24], bytes[24];

    if (f->campaign && f->vehicle && (!e->vehicle || strcmp(f->vehicle, e->vehicle) != 0))
        return 0;
    if (l->array)
        return adm_list_append(l, json_pack("{s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id",
                                            (json_int_t)e->id, "ts", adm_json_time(e->ts), "actor",
                                            e->actor, "kind", e->kind, "vehicle",
                                            adm_json_str(e->vehicle), "campaign",
                                            e->campaign ? json_integer(e->campaign) : json_null(),
                                            "state", adm_json_str(e->state), "bytes",
                                            e->bytes >= 0 ? json_integer(e->bytes) : json_null(),
                                            "detail", e->detail ? e->detail : ""));
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

static int event_fill(struct ota_db *db, struct adm_list *l)
{
    const struct event_filter *f = l->arg;

    return ota_db_event_list(db, f->campaign, f->campaign ? NULL : f->vehicle, event_cb, l);
}

int adm_events(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",       "TIME",  "ACTOR", "KIND",  "VEHICLE",
                                        "CAMPAIGN", "STATE", "BYTES", "DETAIL" };
    static const struct adm_list_spec spec = { head, 9, "events", "listing events" };
    const char *vehicle = NULL, *campaign = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
        { "--campaign", ADM_OPT_STRING, &campaign, NULL },
    };
    struct event_filter f = { 0, NULL };
    int ret;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (vehicle && !ota_id_valid(vehicle))
        return adm_usage(ctx, "invalid --vehicle '%s'", vehicle);
    if (campaign && adm_parse_id(campaign, &f.campaign) < 0)
        return adm_usage(ctx, "invalid --campaign '%s' (a positive number)", campaign);
    f.vehicle = vehicle;
    return adm_list_run(ctx, &spec, event_fill, &f);
}
