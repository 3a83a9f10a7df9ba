/* ota-admin's shared helpers: messages and exit codes, opening the database with advice,
 * and the audit event every admin action records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "adm_ctx.h"

int adm_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("ota-admin: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ADM_EXIT_FAIL;
}

int adm_usage(const struct adm_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ota-admin%s%s: ", ctx->command ? " " : "", ctx->command ? ctx->command : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (ctx->command && ctx->usage)
        fprintf(stderr, "usage: ota-admin %s %s\n", ctx->command, ctx->usage);
    return ADM_EXIT_USAGE;
}

int adm_ctx_require(const struct adm_ctx *ctx, const char *const *keys)
{
    char err[256];

    if (ota_config_require(&ctx->config, keys, err, sizeof(err)) < 0)
        return adm_fail("%s (set it in the config file or on the command line)", err);
    return ADM_EXIT_OK;
}

int adm_ctx_open_db(const struct adm_ctx *ctx, struct ota_db **ret_db)
{
    static const char *const keys[] = { "paths.db", NULL };
    const char *path = ctx->config.paths.db;
    struct ota_db *db = NULL;
    struct stat st;
    int ret = ADM_EXIT_FAIL;
    int r;

    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    /* Refuse before SQLite does anything to the path: opening a folder or a missing
     * file must not create or change anything. */
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return adm_fail("database %s does not exist: run 'ota-admin init' first", path);
        return adm_fail("database %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return adm_fail("database %s is not a regular file", path);
    r = ota_db_open(path, 0, &db);
    switch (r) {
    case 0:
        break;
    case -ENOENT:
        adm_fail("database %s does not exist: run 'ota-admin init' first", path);
        goto out;
    case -EIO:
        adm_fail("database %s cannot be opened: not an ota-origin database, or corrupt", path);
        goto out;
    default:
        adm_fail("database %s cannot be opened: %s", path, strerror(-r));
        goto out;
    }
    r = ota_db_check_schema(db);
    switch (r) {
    case 0:
        break;
    case -ESTALE:
        adm_fail("database %s has an older schema: run 'ota-admin init' to migrate it", path);
        goto out;
    case -EPROTO:
        adm_fail("database %s has a newer schema than this ota-admin", path);
        goto out;
    default:
        adm_fail("database %s is unreadable: not an ota-origin database, or corrupt (%s)", path,
                 ota_db_errmsg(db));
        goto out;
    }
    *ret_db = db;
    db = NULL;
    ret = ADM_EXIT_OK;
out:
    ota_db_close(db);
    return ret;
}

int adm_ctx_event(struct ota_db *db, const char *kind, const char *vehicle, int64_t campaign,
                  const char *detail)
{
    struct ota_event e = {
        .ts = ota_now(),
        .actor = "admin",
        .kind = kind,
        .vehicle = vehicle,
        .campaign = campaign,
        .state = NULL,
        .bytes = -1,
        .detail = detail ? detail : "",
    };

    return ota_db_event_add(db, &e);
}

int adm_db_fail(struct ota_db *db, const char *what, int r)
{
    if (r == -EBUSY)
        return adm_fail("%s: the database is locked by another writer, try again", what);
    return adm_fail("%s: %s (%s)", what, strerror(-r), db ? ota_db_errmsg(db) : "no database");
}

int adm_parse_id(const char *s, int64_t *ret)
{
    uint64_t v;

    if (ota_parse_u64(s, INT64_MAX, &v) < 0 || v == 0)
        return -EINVAL;
    *ret = (int64_t)v;
    return 0;
}

bool adm_label_valid(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f || ch == ',')
            return false;
    }
    return true;
}
