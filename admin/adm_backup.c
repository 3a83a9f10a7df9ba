/* ota-admin backup FILE: a consistent copy of the database while the daemons run
 * (ota_db_backup: SQLite's online backup API). Read-only on the database: no audit event,
 * so it works on any schema version, which is what a backup before an upgrade needs.
 * PostgreSQL has its own tool for this (pg_dump), which the message names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ota_db.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_output.h"

int adm_backup(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const file_name[] = { "FILE" };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct stat st;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, file_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!pos[0][0])
        return adm_usage(ctx, "FILE is empty");
    if (ota_db_is_url(ctx->config.paths.db))
        return adm_fail("paths.db is a PostgreSQL database: back it up with pg_dump "
                        "(README, \"Backup and restore\")");
    if (stat(pos[0], &st) == 0)
        return adm_fail("%s exists: a backup never overwrites a file", pos[0]);
    ret = adm_ctx_open_db_any_schema(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    r = ota_db_backup(db, pos[0]);
    ota_db_close(db);
    switch (r) {
    case 0:
        break;
    case -EEXIST:
        return adm_fail("%s exists: a backup never overwrites a file", pos[0]);
    case -ENOSPC:
        return adm_fail("backup to %s: no space left on device (nothing written)", pos[0]);
    case -EBUSY:
        return adm_fail("backup to %s: the database stayed locked (nothing written)", pos[0]);
    default:
        return adm_fail("backup to %s: %s (nothing written)", pos[0], strerror(-r));
    }
    if (stat(pos[0], &st) < 0)
        return adm_fail("backup to %s: %s", pos[0], strerror(errno));
    if (ctx->json)
        return adm_json_emit(
            json_pack("{s:s, s:I}", "file", pos[0], "bytes", (json_int_t)st.st_size));
    return printf("database backed up to %s (%lld bytes)\n", pos[0], (long long)st.st_size) < 0
               ? ADM_EXIT_FAIL
               : ADM_EXIT_OK;
}
