/* hawkBit DDI: the controller endpoints' decisions against the database, without HTTP. */
#include "srv_ddi_action.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_cdn.h"
#include "ota_status.h"
#include "srv_ddi_feedback.h"
#include "srv_ddi_json.h"

void srv_ddi_answer_clear(struct srv_ddi_answer *a)
{
    if (!a)
        return;
    free(a->body);
    memset(a, 0, sizeof(*a));
}

static void answer_error(struct srv_ddi_answer *a, unsigned status, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void answer_error(struct srv_ddi_answer *a, unsigned status, const char *code,
                         const char *fmt, ...)
{
    va_list ap;

    a->status = status;
    a->code = code;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof(a->message), fmt, ap);
    va_end(ap);
}

static void answer_body(struct srv_ddi_answer *a, unsigned status, char *body)
{
    a->status = status;
    a->body = body; /* ownership moves into the answer */
}

/* The vehicle's deployment @action; -ENOENT also when it is another vehicle's. */
static int own_deployment(struct ota_db *db, const char *vehicle, int64_t action,
                          struct ota_deployment **ret)
{
    struct ota_deployment *d = NULL;
    int r = ota_db_deployment_get_by_id(db, action, &d);

    if (r < 0)
        return r;
    if (strcmp(d->vehicle, vehicle) != 0) {
        ota_deployment_free(d);
        return -ENOENT;
    }
    *ret = d;
    return 0;
}

int srv_ddi_poll(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                 struct srv_ddi_answer *a)
{
    struct ota_deployment *cur = NULL, *can = NULL;
    struct srv_ddi_poll p = { .sleep = env->poll_after };
    struct ota_vehicle *v = NULL;
    char hash[17], *base = NULL, *body = NULL;
    int r;

    /* configData is linked only while the vehicle has no attributes, as hawkBit links it
     * only when it requests them: SWUpdate sends configData on every poll that links it,
     * and installs nothing in such a poll cycle. */
    if ((r = ota_db_vehicle_get(db, vehicle, &v)) < 0)
        goto out;
    p.config_data = !v->attributes || v->attributes[0] == '\0' ||
                    strcmp(v->attributes, "{}") == 0;
    r = ota_db_deployment_last_cancelled(db, vehicle, &can);
    if (r < 0 && r != -ENOENT)
        goto out;
    if (r == 0) {
        p.cancel = can->id; /* "canceling" until the device acknowledges it */
    } else {
        r = ota_db_deployment_current(db, vehicle, &cur);
        if (r < 0 && r != -ENOENT)
            goto out;
        if (r == 0) {
            p.deployment = cur->id;
            srv_ddi_action_hash(cur->id, cur->artifact, hash, sizeof(hash));
            p.deployment_c = hash;
        }
    }
    if ((r = srv_ddi_base_url(env->public_url, env->tenant, vehicle, &base)) < 0 ||
        (r = srv_ddi_json_poll(base, &p, &body)) < 0)
        goto out;
    answer_body(a, 200, body);
    r = 0;
out:
    free(base);
    ota_vehicle_free(v);
    ota_deployment_free(cur);
    ota_deployment_free(can);
    return r;
}

/* Quirk: only deployments already under way are shown outside their window (those not
 * yet under way are not offered then, DESIGN.md "Rollouts"); hawkBit clients read
 * "unavailable" as "do not install yet" and keep polling. */
static enum srv_ddi_window window_of(const struct ota_deployment *d)
{
    if (!d->window)
        return SRV_DDI_WINDOW_NONE;
    return d->offering ? SRV_DDI_WINDOW_AVAILABLE : SRV_DDI_WINDOW_UNAVAILABLE;
}

/* With a CDN, the artifact's links are the content-addressed ones every client shares
 * (one cache entry per artifact), not per-controller paths an edge may not fetch. */
static int cdn_links(const struct srv_ddi_env *env, const char *vehicle, const char *sha256,
                     char *download, char *md5sum)
{
    char path[96];
    int64_t expires;
    int r;

    if (!env->cdn)
        return 0;
    expires = ota_cdn_expiry(env->cdn, env->now);
    snprintf(path, sizeof(path), "/v1/artifacts/%s", sha256);
    if ((r = ota_cdn_link(env->cdn, path, vehicle, expires, download, OTA_CDN_LINK_MAX)) < 0)
        return r;
    snprintf(path, sizeof(path), "/v1/artifacts/%s.MD5SUM", sha256);
    return ota_cdn_link(env->cdn, path, vehicle, expires, md5sum, OTA_CDN_LINK_MAX);
}

int srv_ddi_deployment(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                       int64_t action, struct srv_ddi_answer *a)
{
    struct ota_deployment *d = NULL;
    struct ota_artifact *art = NULL;
    char *base = NULL, *body = NULL, download[OTA_CDN_LINK_MAX], md5sum[OTA_CDN_LINK_MAX];
    int r = own_deployment(db, vehicle, action, &d);

    if (r == -ENOENT) {
        answer_error(a, 404, "not_found", "no such action");
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    if (d->state == OTA_DEPLOY_CANCELLED || d->campaign_state == OTA_CAMPAIGN_CANCELLED) {
        answer_error(a, 410, "gone", "action %" PRId64 " was cancelled", action);
        goto out;
    }
    if (d->held) {
        /* not offered now (paused, a later stage, outside the window): as if absent,
         * the poll answer links it once it is */
        answer_error(a, 404, "not_found", "action %" PRId64 " is not offered now", action);
        goto out;
    }
    r = ota_db_artifact_get(db, d->artifact, &art);
    if (r == -ENOENT) {
        answer_error(a, 404, "not_found", "the action's artifact is gone");
        r = 0;
        goto out;
    }
    if (r < 0 || (r = srv_ddi_base_url(env->public_url, env->tenant, vehicle, &base)) < 0 ||
        (r = cdn_links(env, vehicle, art->sha256, download, md5sum)) < 0 ||
        (r = srv_ddi_json_deployment(base, env->cdn ? download : NULL, env->cdn ? md5sum : NULL,
                                     d->id, d->campaign, art, window_of(d), &body)) < 0)
        goto out;
    answer_body(a, 200, body);
out:
    free(base);
    ota_artifact_free(art);
    ota_deployment_free(d);
    return r;
}

int srv_ddi_cancel(struct ota_db *db, const char *vehicle, int64_t action,
                   struct srv_ddi_answer *a)
{
    struct ota_deployment *d = NULL;
    char *body = NULL;
    int r = own_deployment(db, vehicle, action, &d);

    if (r == -ENOENT || (r == 0 && d->state != OTA_DEPLOY_CANCELLED)) {
        answer_error(a, 404, "not_found", "no such cancelled action");
        r = 0;
        goto out;
    }
    if (r < 0 || (r = srv_ddi_json_cancel(d->id, &body)) < 0)
        goto out;
    answer_body(a, 200, body);
out:
    ota_deployment_free(d);
    return r;
}

/* The event/report detail of a feedback: "execution/finished [cnt/of]: details". */
static void feedback_detail(const struct srv_ddi_feedback *f, const char *prefix, char *buf,
                            size_t len)
{
    char prog[48] = "";
    size_t n, m;

    if (f->has_progress)
        snprintf(prog, sizeof(prog), " %" PRIu64 "/%" PRIu64, f->cnt, f->of);

    snprintf(buf, len, "%s%s/%s%s%s", prefix, srv_ddi_execution_name(f->execution),
             srv_ddi_finished_name(f->finished), prog, f->details[0] ? ": " : "");
    n = strlen(buf);
    m = strlen(f->details);
    if (n + m >= len) {
        m = len - 1 - n;
        while (m > 0 && ((unsigned char)f->details[m] & 0xc0) == 0x80)
            m--; /* never split a UTF-8 sequence */
    }
    memcpy(buf + n, f->details, m);
    buf[n + m] = '\0';
}

static int add_event(struct ota_db *db, const char *vehicle, const struct ota_deployment *d,
                     const char *kind, const char *state, const char *detail)
{
    struct ota_event e = {
        .ts = ota_now(),
        .actor = "ddi",
        .kind = kind,
        .vehicle = vehicle,
        .campaign = d->campaign,
        .state = state,
        .bytes = -1,
        .detail = detail,
    };
    return ota_db_event_add(db, &e);
}

/* A device that had installed every chunk before it heard of the cancel (installing:
 * waiting for its confirming restart) runs the update after that restart, whatever it
 * answers the cancelAction: SWUpdate 2022.12 acknowledges it and never sends the
 * closed/success. The install is recorded, as a closed/success after the cancel is. */
static int too_late(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                    const struct ota_deployment *d)
{
    struct ota_status_report rep = { .campaign = d->campaign, .state = OTA_DEPLOY_INSTALLED,
                                     .bytes = d->bytes };
    char err[256];
    int r;

    snprintf(rep.detail, sizeof(rep.detail), "installed before the cancel arrived");
    r = ota_status_apply(db, vehicle, &rep, "ddi", env->poll_after, OTA_STATUS_AFTER_CANCEL, err,
                         sizeof(err));
    return r == -EPERM || r == -ENOENT ? 0 : r < 0 ? r : 0;
}

static int cancel_feedback(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                           struct ota_deployment *d, const struct srv_ddi_feedback *f,
                           struct srv_ddi_answer *a)
{
    char detail[OTA_STATUS_DETAIL_MAX + 1];
    bool ack = srv_ddi_cancel_acknowledged(f);
    int r;

    if (d->state != OTA_DEPLOY_CANCELLED) {
        answer_error(a, 410, "gone", "action %" PRId64 " is not being cancelled", d->id);
        return 0;
    }
    if (ack && !d->cancel_acked && d->cancelled_from == OTA_DEPLOY_INSTALLING &&
        (r = too_late(db, env, vehicle, d)) < 0)
        return r;
    feedback_detail(f, "cancel ", detail, sizeof(detail));
    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = add_event(db, vehicle, d, ack ? "ddi.cancel_ack" : "ddi.cancel_feedback", "cancelled",
                  detail);
    if (r == 0 && ack && !d->cancel_acked)
        r = ota_db_deployment_cancel_ack(db, d->id);
    if (r == 0)
        r = ota_db_commit(db);
    if (r < 0) {
        ota_db_rollback(db);
        return r;
    }
    answer_body(a, 200, NULL);
    return 0;
}

static int deployment_feedback(struct ota_db *db, const struct srv_ddi_env *env,
                               const char *vehicle, struct ota_deployment *d,
                               const struct srv_ddi_feedback *f, struct srv_ddi_answer *a)
{
    struct ota_status_report rep = { .campaign = d->campaign, .bytes = d->bytes };
    enum srv_ddi_effect effect = srv_ddi_feedback_map(f, d->state, &rep.state);
    char err[256] = "";
    int r;

    /* hawkBit's "canceling": until the device acknowledges the cancel, its feedback is
     * taken, and an install it reports is recorded (ota_status_apply) */
    bool canceling = d->state == OTA_DEPLOY_CANCELLED && !d->cancel_acked;

    if (d->state == OTA_DEPLOY_CANCELLED && !canceling) {
        answer_error(a, 410, "gone", "action %" PRId64 " was cancelled", d->id);
        return 0;
    }
    /* A finished action takes only a repeat of its final state (a lost 200 resent). */
    if (!canceling && ota_deploy_state_final(d->state) &&
        (effect != SRV_DDI_EFFECT_STATE || rep.state != d->state)) {
        answer_error(a, 410, "gone", "action %" PRId64 " is %s", d->id,
                     ota_deploy_state_name(d->state));
        return 0;
    }
    feedback_detail(f, "", rep.detail, sizeof(rep.detail));
    if (effect == SRV_DDI_EFFECT_EVENT) {
        if ((r = add_event(db, vehicle, d, "ddi.feedback", NULL, rep.detail)) < 0)
            return r;
        answer_body(a, 200, NULL);
        return 0;
    }
    r = ota_status_apply(db, vehicle, &rep, "ddi", env->poll_after, OTA_STATUS_AFTER_CANCEL, err,
                         sizeof(err));
    switch (r) {
    case 0:
    case OTA_STATUS_DUPLICATE:
        answer_body(a, 200, NULL);
        return 0;
    case -ENOENT:
        answer_error(a, 404, "not_found", "%s", err);
        return 0;
    case -EPERM:
        answer_error(a, 410, "gone", "%s", err);
        return 0;
    default:
        return r;
    }
}

int srv_ddi_feedback(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                     int64_t action, bool cancel, const char *body, size_t len,
                     struct srv_ddi_answer *a)
{
    struct ota_deployment *d = NULL;
    struct srv_ddi_feedback f;
    char err[256] = "";
    int r;

    r = srv_ddi_feedback_parse(body ? body : "", body ? len : 0, &f, err, sizeof(err));
    if (r == -EMSGSIZE) {
        answer_error(a, 413, "too_large", "%s", err);
        return 0;
    }
    if (r < 0) {
        answer_error(a, 400, "bad_request", "%s", err);
        return 0;
    }
    r = own_deployment(db, vehicle, action, &d);
    if (r == -ENOENT) {
        answer_error(a, 404, "not_found", "no such action");
        return 0;
    }
    if (r < 0)
        return r;
    r = cancel ? cancel_feedback(db, env, vehicle, d, &f, a)
               : deployment_feedback(db, env, vehicle, d, &f, a);
    ota_deployment_free(d);
    return r;
}

int srv_ddi_config_data(struct ota_db *db, const char *vehicle, const char *body, size_t len,
                        struct srv_ddi_answer *a)
{
    struct ota_vehicle *v = NULL;
    char err[256] = "", *attrs = NULL;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = ota_db_vehicle_get(db, vehicle, &v)) < 0)
        goto out;
    r = srv_ddi_config_data_apply(v->attributes, body ? body : "", body ? len : 0, &attrs, err,
                                  sizeof(err));
    if (r == -EMSGSIZE || r == -EINVAL) {
        answer_error(a, r == -EMSGSIZE ? 413 : 400, r == -EMSGSIZE ? "too_large" : "bad_request",
                     "%s", err);
        r = 0;
        goto out;
    }
    if (r < 0 || (r = ota_db_vehicle_set(db, vehicle, NULL, NULL, attrs)) < 0)
        goto out;
    {
        struct ota_event e = { .ts = ota_now(), .actor = "ddi", .kind = "vehicle.attributes",
                               .vehicle = vehicle, .bytes = -1, .detail = attrs };
        if ((r = ota_db_event_add(db, &e)) < 0)
            goto out;
    }
    if ((r = ota_db_commit(db)) < 0)
        goto out;
    answer_body(a, 200, NULL);
out:
    if (a->status != 200)
        ota_db_rollback(db);
    free(attrs);
    ota_vehicle_free(v);
    return r;
}

int srv_ddi_artifact_find(struct ota_db *db, const char *vehicle, int64_t module,
                          const char *filename, struct ota_artifact **ret)
{
    struct ota_deployment *d = NULL;
    struct ota_artifact *art = NULL;
    int r = ota_db_deployment_get(db, module, vehicle, &d);

    if (r < 0)
        goto out;
    if (d->state == OTA_DEPLOY_CANCELLED || d->campaign_state == OTA_CAMPAIGN_CANCELLED) {
        r = -ENOENT; /* as /v1/artifacts/: cancelled deployments fetch nothing */
        goto out;
    }
    if ((r = ota_db_vehicle_may_fetch(db, vehicle, d->artifact)) < 0 ||
        (r = ota_db_artifact_get(db, d->artifact, &art)) < 0)
        goto out;
    if (strcmp(art->name, filename) != 0) {
        r = -ENOENT;
        goto out;
    }
    *ret = art;
    art = NULL;
out:
    ota_artifact_free(art);
    ota_deployment_free(d);
    return r;
}
