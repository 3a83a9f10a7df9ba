/* hawkBit DDI route handler: authorises the controller, reads bodies, queues answers. */
#include "srv_ddi.h"
#include "ota_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srv_artifact.h"
#include "srv_ddi_action.h"
#include "srv_ddi_feedback.h"
#include "srv_ddi_json.h"
#include "srv_ddi_path.h"

/* The methods each resource takes, for dispatch and the 405 Allow header. */
static const struct {
    enum srv_ddi_kind kind;
    const char *method;
    const char *allow;
} methods[] = {
    { SRV_DDI_POLL, MHD_HTTP_METHOD_GET, "GET, HEAD" },
    { SRV_DDI_POLL, MHD_HTTP_METHOD_HEAD, "GET, HEAD" },
    { SRV_DDI_DEPLOYMENT, MHD_HTTP_METHOD_GET, "GET, HEAD" },
    { SRV_DDI_DEPLOYMENT, MHD_HTTP_METHOD_HEAD, "GET, HEAD" },
    { SRV_DDI_CANCEL, MHD_HTTP_METHOD_GET, "GET, HEAD" },
    { SRV_DDI_CANCEL, MHD_HTTP_METHOD_HEAD, "GET, HEAD" },
    { SRV_DDI_ARTIFACT, MHD_HTTP_METHOD_GET, "GET, HEAD" },
    { SRV_DDI_ARTIFACT, MHD_HTTP_METHOD_HEAD, "GET, HEAD" },
    { SRV_DDI_ARTIFACT_MD5, MHD_HTTP_METHOD_GET, "GET, HEAD" },
    { SRV_DDI_ARTIFACT_MD5, MHD_HTTP_METHOD_HEAD, "GET, HEAD" },
    { SRV_DDI_DEPLOYMENT_FEEDBACK, MHD_HTTP_METHOD_POST, "POST" },
    { SRV_DDI_CANCEL_FEEDBACK, MHD_HTTP_METHOD_POST, "POST" },
    { SRV_DDI_CONFIG_DATA, MHD_HTTP_METHOD_PUT, "PUT" },
};

/* NULL if @method is allowed on @kind, else the Allow header value. */
static const char *method_refused(enum srv_ddi_kind kind, const char *method)
{
    const char *allow = "GET, HEAD";

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].kind != kind)
            continue;
        if (strcmp(methods[i].method, method) == 0)
            return NULL;
        allow = methods[i].allow;
    }
    return allow;
}

static bool takes_body(enum srv_ddi_kind kind)
{
    return kind == SRV_DDI_DEPLOYMENT_FEEDBACK || kind == SRV_DDI_CANCEL_FEEDBACK ||
           kind == SRV_DDI_CONFIG_DATA;
}

/* Queues @a: JSON body, an empty 200, or the error body. Clears @a. */
static enum MHD_Result reply_answer(struct srv_req *req, struct srv_ddi_answer *a)
{
    enum MHD_Result ret;

    if (a->status >= 400)
        ret = srv_reply_error(req, a->status, a->code, a->message);
    else if (a->body)
        ret = srv_reply_data(req, a->status, "application/json", a->body, strlen(a->body));
    else
        ret = srv_reply_empty(req, a->status); /* 200: SWUpdate counts 201/204 as errors */
    srv_ddi_answer_clear(a);
    return ret;
}

static enum MHD_Result serve_artifact(struct srv_req *req, struct ota_db *db,
                                      const struct srv_ddi_path *p)
{
    struct ota_artifact *art = NULL;
    enum MHD_Result ret;
    int r = srv_ddi_artifact_find(db, req->client, p->module, p->filename, &art);

    if (r < 0)
        return srv_artifact_refuse(req, r);
    /* same Range/ETag/conditional rules as /v1/artifacts/; SWUpdate reports no bytes, so
     * what it is sent counts on its deployment */
    if (p->kind == SRV_DDI_ARTIFACT)
        req->bytes_campaign = p->module;
    ret = srv_artifact_serve(req, art->sha256,
                             p->kind == SRV_DDI_ARTIFACT ? SRV_ARTIFACT_BYTES : SRV_ARTIFACT_MD5SUM);
    ota_artifact_free(art);
    return ret;
}

enum MHD_Result srv_ddi_handle(struct srv_req *req, const char *rest, const char *upload,
                               size_t *upload_size)
{
    const struct ota_config *cfg = req->ctx->cfg;
    struct srv_ddi_env env = {
        .public_url = cfg->server.public_url,
        .tenant = cfg->server.tenant,
        .poll_after = cfg->server.poll_after,
        .cdn = req->ctx->cdn,
        .now = ota_now(),
    };
    struct srv_ddi_answer a = { 0 };
    struct srv_ddi_path p;
    const char *allow;
    struct ota_db *db;
    bool parsed;
    int r = 0;

    (void)rest;
    parsed = srv_ddi_path_parse(req->url, &p) == 0;
    if (*upload_size != 0) {
        /* Body data. MHD takes an answer only before the body or after all of it, so the
         * body is kept (bounded) for the resources that take one, else dropped, and
         * every answer waits for the final call. */
        if (parsed && takes_body(p.kind) && !method_refused(p.kind, req->method))
            srv_req_body(req, upload, upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!parsed || !srv_ddi_tenant_match(p.tenant, env.tenant))
        return srv_reply_error(req, 404, "not_found", "no such resource");
    if (req->kind != OTA_CLIENT_VEHICLE)
        return srv_reply_error(req, 403, "forbidden", "hawkBit DDI is for vehicles only");
    if (strcmp(p.controller, req->client) != 0)
        return srv_reply_error(req, 403, "forbidden",
                               "controllerId is not the client certificate's id");
    if ((allow = method_refused(p.kind, req->method)) != NULL)
        return srv_reply_405(req, allow);
    if (takes_body(p.kind) && req->body_too_large)
        return srv_reply_error(req, 413, "too_large", "request body too large");
    db = srv_req_db(req);
    if (!db)
        return srv_reply_error(req, 503, "unavailable", "database unavailable");
    switch (p.kind) {
    case SRV_DDI_POLL:
        r = srv_ddi_poll(db, &env, req->client, &a);
        break;
    case SRV_DDI_DEPLOYMENT:
        r = srv_ddi_deployment(db, &env, req->client, p.action, &a);
        break;
    case SRV_DDI_CANCEL:
        r = srv_ddi_cancel(db, req->client, p.action, &a);
        break;
    case SRV_DDI_DEPLOYMENT_FEEDBACK:
    case SRV_DDI_CANCEL_FEEDBACK:
        r = srv_ddi_feedback(db, &env, req->client, p.action, p.kind == SRV_DDI_CANCEL_FEEDBACK,
                             req->body, req->body_len, &a);
        break;
    case SRV_DDI_CONFIG_DATA:
        r = srv_ddi_config_data(db, req->client, req->body, req->body_len, &a);
        break;
    case SRV_DDI_ARTIFACT:
    case SRV_DDI_ARTIFACT_MD5:
        return serve_artifact(req, db, &p);
    }
    if (r == -ENOMEM) {
        srv_ddi_answer_clear(&a);
        return MHD_NO;
    }
    if (r < 0) {
        srv_ddi_answer_clear(&a);
        return srv_reply_error(req, 503, "unavailable", "database busy or unavailable");
    }
    return reply_answer(req, &a);
}
