/* ota-admin outbox list and events: what waits for the broker, and the audit trail of
 * status reports and admin actions, for operators and tests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const outbox_state_names[] = { "held", "pending", "published", "dropped" };

static const char *outbox_state_name(enum ota_outbox_state s)
{
    return (unsigned)s < 4 ? outbox_state_names[s] : "?";
}

static int outbox_row(const struct ota_outbox_row *o, struct adm_list *l)
{
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
    const struct ota_outbox_row *o;
    struct ota_db_iter it;
    int r = ota_db_outbox_list_begin(db, l->arg, &it);

    while (r == 0 && (r = ota_db_outbox_next(&it, &o)) > 0)
        r = outbox_row(o, l);
    ota_db_iter_end(&it);
    return r;
}

/* An unknown vehicle is an error, as for vehicle show: not an empty list. */
static int vehicle_known(const struct adm_ctx *ctx, const char *id)
{
    struct ota_vehicle *v = NULL;
    struct ota_db *db = NULL;
    int ret = adm_ctx_open_db(ctx, &db), r;

    if (ret != ADM_EXIT_OK)
        return ret;
    r = ota_db_vehicle_get(db, id, &v);
    if (r == -ENOENT)
        ret = adm_fail("no vehicle %s", id);
    else if (r < 0)
        ret = adm_db_fail(db, "reading the vehicle", r);
    ota_vehicle_free(v);
    ota_db_close(db);
    return ret;
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
        return adm_usage(ctx, "invalid --vehicle '%.80s'", vehicle);
    if (vehicle && (ret = vehicle_known(ctx, vehicle)) != ADM_EXIT_OK)
        return ret;
    return adm_list_run(ctx, &spec, outbox_fill, vehicle);
}

static int event_row(const struct ota_event *e, struct adm_list *l)
{
    char id[24], ts[32], campaign[24], bytes[24];

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
    const struct ota_event *e;
    struct ota_db_iter it;
    int r = ota_db_events_begin(db, l->arg, &it);

    while (r == 0 && (r = ota_db_events_next(&it, &e)) > 0)
        r = event_row(e, l);
    ota_db_iter_end(&it);
    return r;
}

/* --since: an RFC 3339 UTC time ("2026-12-01T10:00:00Z"), a date, or seconds since the
 * epoch. 0 or -EINVAL. */
static int parse_since(const char *s, int64_t *ret)
{
    struct tm tm = { 0 };
    uint64_t v;
    const char *end;

    if (ota_parse_u64(s, INT64_MAX, &v) == 0) {
        *ret = (int64_t)v;
        return 0;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (!end || *end)
        return -EINVAL;
    *ret = (int64_t)timegm(&tm);
    return 0;
}

int adm_events(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",       "TIME",  "ACTOR", "KIND",  "VEHICLE",
                                        "CAMPAIGN", "STATE", "BYTES", "DETAIL" };
    static const struct adm_list_spec spec = { head, 9, "events", "listing events" };
    const char *vehicle = NULL, *campaign = NULL, *since = NULL, *limit = NULL, *kind = NULL;
    const struct adm_opt opts[] = {
        { "--vehicle", ADM_OPT_STRING, &vehicle, NULL },
        { "--campaign", ADM_OPT_STRING, &campaign, NULL },
        { "--since", ADM_OPT_STRING, &since, NULL },
        { "--limit", ADM_OPT_STRING, &limit, NULL },
        { "--kind", ADM_OPT_STRING, &kind, NULL },
    };
    struct ota_event_filter f = { 0 };
    int ret;

    ret = adm_args_parse(ctx, argc, argv, opts, 5, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (vehicle && !ota_id_valid(vehicle))
        return adm_usage(ctx, "invalid --vehicle '%.80s'", vehicle);
    if (campaign && adm_parse_id(campaign, &f.campaign) < 0)
        return adm_usage(ctx, "invalid --campaign '%.40s' (a positive number)", campaign);
    if (since && parse_since(since, &f.since) < 0)
        return adm_usage(ctx, "invalid --since '%.40s' (YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DD or "
                         "seconds since the epoch)", since);
    if (limit && (ota_parse_u64(limit, 1000000000, &f.limit) < 0 || f.limit == 0))
        return adm_usage(ctx, "invalid --limit '%.40s' (1 to 1000000000)", limit);
    if (kind && !ota_label_valid(kind, 64))
        return adm_usage(ctx, "invalid --kind '%.80s' (e.g. status or campaign.)", kind);
    f.vehicle = vehicle;
    f.kind = kind;
    return adm_list_run(ctx, &spec, event_fill, &f);
}
