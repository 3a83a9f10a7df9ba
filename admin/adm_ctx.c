/* ota-admin's shared helpers: messages and exit codes, opening the database with advice,
 * and the audit event every admin action records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/stat.h>
#include "adm_ctx.h"

bool arg_json;

/* With --json, the failure as one JSON object on stdout. */
static void json_error(const char *code, const char *msg)
{
    json_t *o;

    if (!arg_json)
        return;
    o = json_pack("{s:s, s:s}", "error", code, "message", msg);
    if (o) {
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    }
}

int adm_fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "ota-admin: %s\n", msg);
    json_error("failed", msg);
    return ADM_EXIT_FAIL;
}

int adm_usage(const struct adm_ctx *ctx, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "ota-admin%s%s: %s\n", ctx->command ? " " : "",
            ctx->command ? ctx->command : "", msg);
    json_error("usage", msg);
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

static int open_db(const struct adm_ctx *ctx, bool any_schema, struct ota_db **ret_db);

int adm_ctx_open_db(const struct adm_ctx *ctx, struct ota_db **ret_db)
{
    return open_db(ctx, false, ret_db);
}

int adm_ctx_open_db_any_schema(const struct adm_ctx *ctx, struct ota_db **ret_db)
{
    return open_db(ctx, true, ret_db);
}

static int open_db(const struct adm_ctx *ctx, bool any_schema, struct ota_db **ret_db)
{
    static const char *const keys[] = { "paths.db", NULL };
    const char *path = ctx->config.paths.db;
    struct ota_db *db = NULL;
    char shown[512];
    struct stat st;
    int ret = ADM_EXIT_FAIL;
    int r;

    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    if (ota_db_is_url(path)) {
        char why[1024];
        r = ota_db_open(path, 0, &db);
        if (r < 0)
            return adm_fail("paths.db: %s", ota_db_open_explain(r, path, why, sizeof(why)));
        goto opened;
    }
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
    case -EACCES:
        adm_fail("database %s: permission denied (it, its folder or its -wal/-shm files are not "
                 "readable and writable by this user)", path);
        goto out;
    case -EROFS:
        adm_fail("database %s is read-only (file mode or file system): ota-admin writes to it",
                 path);
        goto out;
    case -EBADMSG:
        adm_fail("database %s is not an ota-origin database, or it is corrupt", path);
        goto out;
    default:
        adm_fail("database %s cannot be opened: %s", path, strerror(-r));
        goto out;
    }
opened:
    path = ota_db_display(path, shown, sizeof(shown)); /* no password in messages */
    r = any_schema ? 0 : ota_db_check_schema(db);
    switch (r) {
    case 0:
        break;
    case -ESTALE:
        adm_fail("database %s has an older schema: run 'ota-admin init' to migrate it", path);
        goto out;
    case -EPROTO:
        adm_fail("database %s has a newer schema than this ota-admin", path);
        goto out;
    case -EBADMSG:
        adm_fail("database %s is not an ota-origin database, or it is corrupt", path);
        goto out;
    default:
        adm_fail("database %s cannot be read: %s (%s)", path, strerror(-r), ota_db_errmsg(db));
        goto out;
    }
    *ret_db = db;
    db = NULL;
    ret = ADM_EXIT_OK;
out:
    ota_db_close(db);
    return ret;
}

int adm_db_fail(struct ota_db *db, const char *what, int r)
{
    const char *detail = db ? ota_db_errmsg(db) : "no database";

    switch (r) {
    case -EBUSY:
        return adm_fail("%s: the database is locked by another writer, try again", what);
    case -EROFS:
        /* opened for reading (WAL lets a reader in), but this user may not write it */
        return adm_fail("%s: the database is read-only for this user (file mode, folder or "
                        "file system): reading commands work, changes need write access",
                        what);
    case -ENOSPC:
        return adm_fail("%s: the disk of the database is full", what);
    }
    /* after a reset SQLite's message is "not an error", which helps nobody */
    if (strcmp(detail, "not an error") == 0)
        return adm_fail("%s: %s", what, strerror(-r));
    return adm_fail("%s: %s (%s)", what, strerror(-r), detail);
}

int adm_parse_id(const char *s, int64_t *ret)
{
    uint64_t v;

    if (ota_parse_u64(s, INT64_MAX, &v) < 0 || v == 0)
        return -EINVAL;
    *ret = (int64_t)v;
    return 0;
}

int adm_domain_fail(struct ota_db *db, const char *what, int r, const char *err)
{
    if (err && err[0])
        return adm_fail("%s", err);
    return adm_db_fail(db, what, r);
}
