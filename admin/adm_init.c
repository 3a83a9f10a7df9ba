/* ota-admin init: creates (or migrates) the database, the artifact store and the signing
 * key. Idempotent: an existing key is kept, never overwritten. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ota_publish.h"
#include "ota_sign.h"
#include "ota_store.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_output.h"

static bool path_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Creates the keys folder (0700: it holds the secret key) if missing. */
static int keys_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(dir, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int adm_init(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.db", "paths.store", "paths.keys", NULL };
    const struct ota_config *c = &ctx->config;
    struct ota_db *db = NULL;
    char keyfile[4096], pubfile[4096];
    bool db_existed, store_existed, key_existed;
    char shown[512];
    int ret = ADM_EXIT_FAIL;
    int r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    if ((size_t)snprintf(keyfile, sizeof(keyfile), "%s/ota.key", c->paths.keys) >=
            sizeof(keyfile) ||
        (size_t)snprintf(pubfile, sizeof(pubfile), "%s/ota.pub", c->paths.keys) >= sizeof(pubfile))
        return adm_fail("paths.keys is too long");

    db_existed = path_exists(c->paths.db);
    ota_db_display(c->paths.db, shown, sizeof(shown));
    store_existed = path_exists(c->paths.store);
    key_existed = path_exists(keyfile);

    r = ota_db_open(c->paths.db, OTA_DB_CREATE, &db);
    if (r < 0 && ota_db_is_url(c->paths.db)) {
        char why[1024];
        adm_fail("paths.db: %s", ota_db_open_explain(r, c->paths.db, why, sizeof(why)));
        goto out;
    }
    if (r < 0) {
        adm_fail("database %s cannot be opened or created: %s", c->paths.db,
                 r == -EBADMSG  ? "it is not an ota-origin database, or it is corrupt"
                 : r == -ENOENT ? "its folder does not exist"
                 : r == -EACCES ? "permission denied"
                 : r == -EROFS  ? "it is read-only"
                                : strerror(-r));
        goto out;
    }
    /* a PostgreSQL database is made by its DBA: "created" means it had no schema yet */
    if (ota_db_is_url(c->paths.db))
        db_existed = ota_db_check_schema(db) == 0;
    r = ota_db_migrate(db);
    if (r == -EPROTO) {
        adm_fail("database %s has a newer schema than this ota-admin", shown);
        goto out;
    }
    if (r < 0) {
        adm_fail("database %s: migration failed: %s (%s)", shown, strerror(-r),
                 ota_db_errmsg(db));
        goto out;
    }
    r = ota_store_init(c->paths.store);
    if (r < 0) {
        adm_fail("store %s cannot be created: %s", c->paths.store, strerror(-r));
        goto out;
    }

    r = keys_dir(c->paths.keys);
    if (r < 0) {
        adm_fail("keys folder %s cannot be created: %s", c->paths.keys, strerror(-r));
        goto out;
    }
    /* A new key for a database whose artifacts another key signed would sign everything
     * from now on with a key the fleet does not trust: refuse, before any key is made. */
    if (!path_exists(keyfile) && !path_exists(pubfile)) {
        char *sig = NULL;
        r = ota_db_artifact_any_signature(db, &sig);
        free(sig);
        if (r == 0) {
            adm_fail("keys folder %s holds no key, but the database's artifacts are signed: "
                     "restore the signing key (ota.key and ota.pub) there instead of making a "
                     "new one", c->paths.keys);
            goto out;
        }
        if (r != -ENOENT) {
            adm_db_fail(db, "reading the artifacts", r);
            goto out;
        }
    }
    r = ota_sign_keygen(c->paths.keys);
    if (r == -EEXIST) {
        /* Both halves must be there: a lone ota.key or ota.pub is a broken install that
         * init must not paper over by writing the other half from a new key. */
        if (!path_exists(keyfile) || !path_exists(pubfile)) {
            adm_fail("keys folder %s holds only one of ota.key and ota.pub: restore the "
                     "other, or move both away to create a new key",
                     c->paths.keys);
            goto out;
        }
        key_existed = true;
    } else if (r < 0) {
        adm_fail("signing key in %s cannot be created: %s", c->paths.keys, strerror(-r));
        goto out;
    } else {
        key_existed = false;
    }
    /* and an existing key must be the one that signed what is stored */
    {
        struct ota_sign_pub pub;
        char err[256] = "";

        if ((r = ota_sign_pub_load(pubfile, &pub)) < 0) {
            adm_fail("public key %s is unreadable: %s", pubfile, strerror(-r));
            goto out;
        }
        if ((r = ota_publish_key_matches(db, &pub, err, sizeof(err))) < 0) {
            adm_fail("%s: the keys folder %s is not this database's (restore its key)",
                     err[0] ? err : strerror(-r), c->paths.keys);
            goto out;
        }
    }

    r = ota_db_begin(db);
    if (r == 0) {
        r = ota_db_audit(db, ctx->actor, "init", NULL, 0,
                         db_existed && store_existed && key_existed ? "already initialised"
                                                                    : "initialised");
        if (r == 0)
            r = ota_db_commit(db);
        else
            ota_db_rollback(db);
    }
    if (r < 0) {
        adm_db_fail(db, "recording the init event", r);
        goto out;
    }

    if (ctx->json) {
        if (adm_json_emit(json_pack("{s:s, s:b, s:I, s:s, s:b, s:s, s:s, s:b}", "db", shown,
                                    "db_created", !db_existed, "schema_version",
                                    (json_int_t)ota_db_schema_target(db), "store", c->paths.store,
                                    "store_created", !store_existed, "key", keyfile, "pub", pubfile,
                                    "key_created", !key_existed)) != ADM_EXIT_OK)
            goto out;
    } else {
        printf("database     %s (%s, schema version %u)\n", shown,
               db_existed ? "existing" : "created", ota_db_schema_target(db));
        printf("store        %s (%s)\n", c->paths.store, store_existed ? "existing" : "created");
        printf("signing key  %s (%s)\n", keyfile, key_existed ? "existing key kept" : "created");
        printf("public key   %s\n", pubfile);
        if (db_existed && store_existed && key_existed)
            printf("already initialised: nothing to do\n");
    }
    ret = ADM_EXIT_OK;
out:
    ota_db_close(db);
    return ret;
}

int adm_key_show(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.keys", NULL };
    struct ota_sign_pub pub;
    char path[4096], id[2 * OTA_SIGN_KEYID_BYTES + 1], *text = NULL;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    if ((size_t)snprintf(path, sizeof(path), "%s/ota.pub", ctx->config.paths.keys) >= sizeof(path))
        return adm_fail("paths.keys is too long");
    if ((r = ota_sign_pub_load(path, &pub)) < 0)
        return adm_fail("cannot read the public key %s: %s", path,
                        r == -ENOENT ? "missing, run 'ota-admin init'" : strerror(-r));
    if (ota_sign_pub_format(&pub, &text) < 0)
        return adm_fail("out of memory");
    /* minisign shows the key id as hex of its little-endian bytes, most significant first */
    for (size_t i = 0; i < OTA_SIGN_KEYID_BYTES; i++)
        snprintf(id + 2 * i, 3, "%02X", pub.keyid[OTA_SIGN_KEYID_BYTES - 1 - i]);
    if (ctx->json)
        ret = adm_json_emit(json_pack("{s:s, s:s, s:s}", "key_id", id, "public_key", text, "path",
                                      path));
    else
        ret = printf("key id      %s\npublic key  %s\n%s", id, path, text) < 0 ? ADM_EXIT_FAIL
                                                                          : ADM_EXIT_OK;
    free(text);
    return ret;
}
