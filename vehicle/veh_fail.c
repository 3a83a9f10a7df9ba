/* Vehicles that fail on purpose: see veh_fail.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_util.h"
#include "veh_fail.h"
#include "veh_ids.h"

#define FAIL_IDS_MAX 1000000

static int add_id(struct veh_fail *f, const char *id, size_t len)
{
    char **v = realloc(f->ids, (f->n + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    f->ids = v;
    if (!(v[f->n] = strndup(id, len)))
        return -ENOMEM;
    f->n++;
    return 0;
}

int veh_fail_ids(struct veh_fail *f, const char *arg, char *err, size_t errlen)
{
    const char *p = arg;
    int r;

    if (arg[0] == '@') {
        char **ids = NULL;
        size_t n = 0, line = 0;

        r = veh_ids_load(arg + 1, FAIL_IDS_MAX, &ids, &n, &line);
        if (r == -EINVAL)
            snprintf(err, errlen, "--fail-ids: %s line %zu is not a vehicle id", arg + 1, line);
        else if (r < 0)
            snprintf(err, errlen, "--fail-ids: %s: %s", arg + 1, strerror(-r));
        else if (n == 0) {
            snprintf(err, errlen, "--fail-ids: %s names no vehicle", arg + 1);
            r = -EINVAL;
        }
        for (size_t i = 0; r == 0 && i < n; i++)
            r = add_id(f, ids[i], strlen(ids[i]));
        veh_ids_free(ids, n);
        return r;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char id[OTA_ID_MAX + 1];

        if (len == 0 || len > OTA_ID_MAX) {
            snprintf(err, errlen, "--fail-ids: an empty or too long id in '%.80s'", arg);
            return -EINVAL;
        }
        memcpy(id, p, len);
        id[len] = '\0';
        if (!ota_id_valid(id)) {
            snprintf(err, errlen, "--fail-ids: '%.80s' is not a vehicle id", id);
            return -EINVAL;
        }
        if ((r = add_id(f, p, len)) < 0)
            return r;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int veh_fail_rate(const char *s, uint32_t *ret_bp)
{
    uint64_t bp;

    if (ota_parse_decimal(s, 100, 2, &bp) < 0 || bp > 10000)
        return -EINVAL;
    *ret_bp = (uint32_t)bp;
    return 0;
}

bool veh_fail_reason_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > VEH_FAIL_REASON_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    }
    return true;
}

bool veh_fail_chosen(const struct veh_fail *f, const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->ids[i], id) == 0)
            return true;
    }
    if (f->rate_bp == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h % 10000 < f->rate_bp;
}

void veh_fail_clear(struct veh_fail *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->ids[i]);
    free(f->ids);
    f->ids = NULL;
    f->n = 0;
}
