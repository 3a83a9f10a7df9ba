/* hawkBit DDI: feedback and configData bodies, tolerant of unknown keys, strict on types. */
#include "srv_ddi_feedback.h"
#include "ota_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

static const char *const exec_names[] = {
    [SRV_DDI_EXEC_CLOSED] = "closed",       [SRV_DDI_EXEC_PROCEEDING] = "proceeding",
    [SRV_DDI_EXEC_CANCELED] = "canceled",   [SRV_DDI_EXEC_SCHEDULED] = "scheduled",
    [SRV_DDI_EXEC_REJECTED] = "rejected",   [SRV_DDI_EXEC_RESUMED] = "resumed",
    [SRV_DDI_EXEC_DOWNLOAD] = "download",   [SRV_DDI_EXEC_DOWNLOADED] = "downloaded",
};
static const char *const fin_names[] = {
    [SRV_DDI_FIN_NONE] = "none",
    [SRV_DDI_FIN_SUCCESS] = "success",
    [SRV_DDI_FIN_FAILURE] = "failure",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *srv_ddi_execution_name(enum srv_ddi_execution e)
{
    return (unsigned)e < NELEM(exec_names) ? exec_names[e] : "?";
}

const char *srv_ddi_finished_name(enum srv_ddi_finished f)
{
    return (unsigned)f < NELEM(fin_names) ? fin_names[f] : "?";
}

static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* Appends @s to @buf (capacity @cap incl. NUL) after @sep, cutting on a UTF-8 boundary. */
static void append_cut(char *buf, size_t cap, const char *sep, const char *s)
{
    size_t used = strlen(buf), n;

    if (used > 0) {
        size_t sl = strlen(sep);
        if (used + sl >= cap)
            return;
        memcpy(buf + used, sep, sl + 1);
        used += sl;
    }
    n = strlen(s);
    if (used + n >= cap) {
        n = cap - 1 - used;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] would start the cut-off part: never split a sequence */
    }
    memcpy(buf + used, s, n);
    buf[used + n] = '\0';
}

static int parse_result(json_t *result, struct srv_ddi_feedback *f, char *err, size_t errlen)
{
    json_t *fin, *prog;

    if (!json_is_object(result)) {
        ota_errf(err, errlen, "status.result must be an object");
        return -EINVAL;
    }
    fin = json_object_get(result, "finished");
    if (fin) {
        int i = json_is_string(fin) ? lookup(fin_names, NELEM(fin_names), json_string_value(fin))
                                    : -1;
        if (i < 0) {
            ota_errf(err, errlen, "status.result.finished must be success, failure or none");
            return -EINVAL;
        }
        f->finished = (enum srv_ddi_finished)i;
    }
    prog = json_object_get(result, "progress");
    if (prog) {
        json_t *cnt = json_object_get(prog, "cnt"), *of = json_object_get(prog, "of");
        if (!json_is_object(prog) || (cnt && !json_is_integer(cnt)) ||
            (of && !json_is_integer(of)) || (cnt && json_integer_value(cnt) < 0) ||
            (of && json_integer_value(of) < 0)) {
            ota_errf(err, errlen, "status.result.progress must hold non-negative integers");
            return -EINVAL;
        }
        f->has_progress = true;
        f->cnt = cnt ? (uint64_t)json_integer_value(cnt) : 0;
        f->of = of ? (uint64_t)json_integer_value(of) : 0;
    }
    return 0;
}

/* Loads a DDI request body: bounded, strict JSON, a top-level object. On success *ret is
 * new (json_decref()). Returns 0, -EMSGSIZE or -EINVAL (reason in @err). */
static int load_body(const char *text, size_t len, json_t **ret, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;

    if (len > SRV_DDI_BODY_MAX) {
        ota_errf(err, errlen, "body larger than %d bytes", SRV_DDI_BODY_MAX);
        return -EMSGSIZE;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        ota_errf(err, errlen, "not JSON: %s", jerr.text);
        return -EINVAL;
    }
    *ret = root;
    return 0;
}

int srv_ddi_feedback_parse(const char *text, size_t len, struct srv_ddi_feedback *ret,
                           char *err, size_t errlen)
{
    struct srv_ddi_feedback f = { 0 };
    json_t *root = NULL, *status, *exec, *result, *details;
    int r, i;

    if ((r = load_body(text, len, &root, err, errlen)) < 0)
        return r;
    r = -EINVAL;
    status = json_object_get(root, "status");
    if (!json_is_object(root) || !json_is_object(status)) {
        ota_errf(err, errlen, "status must be an object");
        goto out;
    }
    exec = json_object_get(status, "execution");
    i = json_is_string(exec) ? lookup(exec_names, NELEM(exec_names), json_string_value(exec))
                             : -1;
    if (i < 0) {
        ota_errf(err, errlen, "status.execution must be one of hawkBit's execution values");
        goto out;
    }
    f.execution = (enum srv_ddi_execution)i;
    result = json_object_get(status, "result");
    if (result && (r = parse_result(result, &f, err, errlen)) < 0)
        goto out;
    r = -EINVAL;
    details = json_object_get(status, "details");
    if (details) {
        size_t k;
        json_t *d;
        if (!json_is_array(details)) {
            ota_errf(err, errlen, "status.details must be an array of strings");
            goto out;
        }
        json_array_foreach(details, k, d) {
            if (!json_is_string(d)) {
                ota_errf(err, errlen, "status.details must be an array of strings");
                goto out;
            }
            if (k < SRV_DDI_DETAILS_MAX)
                append_cut(f.details, sizeof(f.details), "; ", json_string_value(d));
        }
    }
    *ret = f;
    r = 0;
out:
    json_decref(root);
    return r;
}

enum srv_ddi_effect srv_ddi_feedback_map(const struct srv_ddi_feedback *f,
                                         enum ota_deploy_state current,
                                         enum ota_deploy_state *ret_state)
{
    switch (f->execution) {
    case SRV_DDI_EXEC_CLOSED:
        if (f->finished == SRV_DDI_FIN_NONE)
            return SRV_DDI_EFFECT_EVENT;
        *ret_state = f->finished == SRV_DDI_FIN_SUCCESS ? OTA_DEPLOY_INSTALLED : OTA_DEPLOY_FAILED;
        return SRV_DDI_EFFECT_STATE;
    case SRV_DDI_EXEC_REJECTED:
    case SRV_DDI_EXEC_CANCELED:
        *ret_state = OTA_DEPLOY_FAILED;
        return SRV_DDI_EFFECT_STATE;
    case SRV_DDI_EXEC_DOWNLOADED:
        *ret_state = current > OTA_DEPLOY_DOWNLOADED ? current : OTA_DEPLOY_DOWNLOADED;
        return ota_deploy_state_final(current) ? SRV_DDI_EFFECT_EVENT : SRV_DDI_EFFECT_STATE;
    case SRV_DDI_EXEC_DOWNLOAD:
    case SRV_DDI_EXEC_PROCEEDING:
        if (ota_deploy_state_final(current))
            return SRV_DDI_EFFECT_EVENT;
        /* a progress repeat of where the deployment is; pending becomes downloading;
         * every chunk installed (cnt == of) is installing, awaiting the confirm */
        *ret_state = current == OTA_DEPLOY_PENDING ? OTA_DEPLOY_DOWNLOADING : current;
        if (f->execution == SRV_DDI_EXEC_PROCEEDING && f->has_progress && f->of > 0 &&
            f->cnt == f->of && *ret_state < OTA_DEPLOY_INSTALLING)
            *ret_state = OTA_DEPLOY_INSTALLING;
        return SRV_DDI_EFFECT_STATE;
    case SRV_DDI_EXEC_SCHEDULED:
    case SRV_DDI_EXEC_RESUMED:
    default:
        return SRV_DDI_EFFECT_EVENT;
    }
}

bool srv_ddi_cancel_acknowledged(const struct srv_ddi_feedback *f)
{
    return f->execution == SRV_DDI_EXEC_CLOSED || f->execution == SRV_DDI_EXEC_CANCELED ||
           f->execution == SRV_DDI_EXEC_REJECTED;
}

static int parse_mode(json_t *root, enum srv_ddi_config_mode *ret, char *err, size_t errlen)
{
    json_t *m = json_object_get(root, "mode");
    const char *s;

    *ret = SRV_DDI_MODE_MERGE;
    if (!m)
        return 0;
    s = json_is_string(m) ? json_string_value(m) : "";
    if (strcmp(s, "merge") == 0)
        *ret = SRV_DDI_MODE_MERGE;
    else if (strcmp(s, "replace") == 0)
        *ret = SRV_DDI_MODE_REPLACE;
    else if (strcmp(s, "remove") == 0)
        *ret = SRV_DDI_MODE_REMOVE;
    else {
        ota_errf(err, errlen, "mode must be merge, replace or remove");
        return -EINVAL;
    }
    return 0;
}

int srv_ddi_config_data_apply(const char *current, const char *text, size_t len,
                              char **ret_json, char *err, size_t errlen)
{
    enum srv_ddi_config_mode mode;
    json_t *root = NULL, *data, *attrs = NULL, *v;
    const char *key;
    char *out;
    int r;

    if ((r = load_body(text, len, &root, err, errlen)) < 0)
        return r;
    r = -EINVAL;
    data = json_object_get(root, "data");
    if (!json_is_object(root) || !json_is_object(data)) {
        ota_errf(err, errlen, "data must be an object of strings");
        goto out;
    }
    if ((r = parse_mode(root, &mode, err, errlen)) < 0)
        goto out;
    r = -EINVAL;
    json_object_foreach(data, key, v) {
        if (!json_is_string(v) || strlen(key) == 0 || strlen(key) > SRV_DDI_ATTR_VALUE_MAX ||
            json_string_length(v) > SRV_DDI_ATTR_VALUE_MAX) {
            ota_errf(err, errlen, "data values must be strings of at most %d bytes",
                    SRV_DDI_ATTR_VALUE_MAX);
            goto out;
        }
    }
    attrs = (current && *current && mode != SRV_DDI_MODE_REPLACE)
                ? json_loads(current, 0, NULL)
                : json_object();
    if (!json_is_object(attrs)) {
        json_decref(attrs); /* stored text that is not an object is replaced */
        attrs = json_object();
    }
    r = -ENOMEM;
    if (!attrs)
        goto out;
    json_object_foreach(data, key, v) {
        int e = mode == SRV_DDI_MODE_REMOVE ? (json_object_del(attrs, key), 0)
                                            : json_object_set(attrs, key, v);
        if (e < 0)
            goto out;
    }
    if (json_object_size(attrs) > SRV_DDI_ATTRIBUTES_MAX) {
        ota_errf(err, errlen, "at most %d attributes", SRV_DDI_ATTRIBUTES_MAX);
        r = -EINVAL;
        goto out;
    }
    out = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    if (!out)
        goto out;
    *ret_json = out;
    r = 0;
out:
    json_decref(attrs);
    json_decref(root);
    return r;
}
