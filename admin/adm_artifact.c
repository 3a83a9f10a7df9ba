/* ota-admin artifact upload|list|show|verify|delete and store gc: signed,
 * content-addressed update files. The rules are common/ota_publish.c's; this file
 * parses, prints, and holds the signals that stop an upload. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include "ota_publish.h"
#include "ota_sign.h"
#include "ota_store.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const sha_name[] = { "SHA256" };

static int key_path(const struct adm_ctx *ctx, const char *file, char *buf, size_t len)
{
    if ((size_t)snprintf(buf, len, "%s/%s", ctx->config.paths.keys, file) >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* Reads a whole .minisig file of at most OTA_SIGN_TEXT_MAX bytes. On success *ret is new
 * (free()), NUL-terminated, with its length in *ret_len. Returns 0, -EFBIG or -errno. */
static int read_small_file(const char *path, char **ret, size_t *ret_len)
{
    char *buf = NULL;
    size_t n = 0;
    int fd = -1;
    int r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    buf = malloc(OTA_SIGN_TEXT_MAX + 2);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t k = read(fd, buf + n, OTA_SIGN_TEXT_MAX + 1 - n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = -errno;
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
        if (n > OTA_SIGN_TEXT_MAX) {
            r = -EFBIG;
            goto out;
        }
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    buf = NULL;
    r = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return r;
}

static json_t *artifact_json(const struct ota_artifact *a, bool with_signature)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "sha256",
                          a->sha256, "size", (json_int_t)a->size, "name", a->name, "version",
                          a->version, "hw", a->hw, "sha1", a->sha1, "md5", a->md5, "created_at",
                          adm_json_time(a->created_at), "deleted_at",
                          adm_json_time(a->deleted_at), "public", a->is_public);

    if (o && with_signature && json_object_set_new(o, "signature", json_string(a->signature)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Whether an existing row carries exactly the metadata of this upload. */
static int print_uploaded(const struct adm_ctx *ctx, const struct ota_published *p)
{
    const struct ota_store_digests *dg = &p->digests;

    if (ctx->json)
        return adm_json_emit(json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:b}", "sha256",
                                       dg->sha256, "size", (json_int_t)dg->size, "name",
                                       p->meta.name, "version", p->meta.version, "hw", p->meta.hw,
                                       "sha1", dg->sha1, "md5", dg->md5, "existed", p->existed));
    if (p->existed)
        fprintf(stderr, "ota-admin: artifact %s was already uploaded with this metadata\n",
                dg->sha256);
    printf("%s\n", dg->sha256);
    return ADM_EXIT_OK;
}

/* The signals that end an upload early: held while it runs, and looked for between
 * chunks, so the upload stops with its temp file removed (SIGKILL leaves one, which
 * 'store gc' removes). */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

struct upload_progress {
    struct adm_progress bar;
    bool tty;
    int signo; /* the signal that stopped it */
};

static int upload_progress(uint64_t done, uint64_t total, void *ctx)
{
    struct upload_progress *p = ctx;
    sigset_t pending;

    if (sigpending(&pending) == 0)
        for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
            if (sigismember(&pending, stop_signals[i])) {
                p->signo = stop_signals[i];
                return -EINTR;
            }
    if (p->tty)
        adm_progress_cb(done, total, &p->bar);
    return 0;
}

int adm_artifact_upload(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.db", "paths.store", "paths.keys", NULL };
    static const char *const file_name[] = { "FILE" };
    const char *version = NULL, *name = NULL, *hw = NULL, *sigfile = NULL;
    bool is_public = false;
    const struct adm_opt opts[] = {
        { "--version", ADM_OPT_STRING, &version, NULL },
        { "--name", ADM_OPT_STRING, &name, NULL },
        { "--hw", ADM_OPT_STRING, &hw, NULL },
        { "--signature", ADM_OPT_STRING, &sigfile, NULL },
        { "--public", ADM_OPT_FLAG, NULL, &is_public },
    };
    const char *pos[1] = { NULL };
    struct upload_progress prog = { .tty = isatty(STDERR_FILENO) };
    struct ota_publish pub = { .fd = -1 };
    struct ota_published done;
    struct ota_db *db = NULL;
    sigset_t stop, old;
    char err[1024] = "", *given_sig = NULL;
    size_t given_len = 0;
    bool held = false;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 5, file_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!version)
        return adm_usage(ctx, "missing --version");
    if (!name) {
        const char *slash = strrchr(pos[0], '/');

        name = slash ? slash + 1 : pos[0];
        if (name[0] == '\0')
            return adm_usage(ctx, "FILE '%.200s' names no file: give --name", pos[0]);
    }
    ret = ADM_EXIT_FAIL;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        goto out;
    pub.fd = open(pos[0], O_RDONLY | O_CLOEXEC);
    if (pub.fd < 0) {
        adm_fail("cannot open %s: %s", pos[0], strerror(errno));
        goto out;
    }
    if (sigfile && (r = read_small_file(sigfile, &given_sig, &given_len)) < 0) {
        adm_fail("cannot read --signature %s: %s", sigfile,
                 r == -EFBIG ? "larger than a minisign signature can be" : strerror(-r));
        goto out;
    }
    if (adm_ctx_open_db(ctx, &db) != ADM_EXIT_OK)
        goto out;
    pub.name = name;
    pub.version = version;
    pub.hw = hw;
    pub.signature = given_sig;
    pub.signature_len = given_len;
    pub.store = ctx->config.paths.store;
    pub.keys = ctx->config.paths.keys;
    pub.progress = upload_progress;
    pub.progress_ctx = &prog;
    sigemptyset(&stop);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaddset(&stop, stop_signals[i]);
    held = sigprocmask(SIG_BLOCK, &stop, &old) == 0;
    r = ota_publish_artifact(db, ctx->actor, &pub, &done, err, sizeof(err));
    if (prog.tty)
        adm_progress_end(&prog.bar);
    if (r == -EINTR) {
        adm_fail("upload of %s stopped by signal %d: nothing stored", pos[0], prog.signo);
        goto out;
    }
    if (r == -EINVAL && strncmp(err, "--", 2) == 0) {
        ret = adm_usage(ctx, "%s", err);
        goto out;
    }
    if (r < 0) {
        adm_domain_fail(db, "uploading the artifact", r, err);
        goto out;
    }
    /* A second transaction: a failure here leaves the artifact stored and private, the
     * safe side, and says so. */
    if (is_public && (r = ota_publish_set_public(db, ctx->actor, done.digests.sha256, true, err,
                                                 sizeof(err))) < 0) {
        adm_domain_fail(db, "making the uploaded artifact public (it is stored, private)", r,
                        err);
        goto out;
    }
    ret = print_uploaded(ctx, &done);
out:
    if (held) {
        /* a signal that arrived after the last chunk still ends the program, as asked */
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    free(given_sig);
    ota_db_close(db);
    if (pub.fd >= 0)
        close(pub.fd);
    return ret;
}

int adm_artifact_delete(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.store", NULL };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    char err[512] = "";
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, sha_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_sha256_hex_valid(pos[0]))
        return adm_usage(ctx, "invalid SHA256 (64 lowercase hex digits)");
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK || adm_ctx_open_db(ctx, &db) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    r = ota_publish_delete(db, ctx->actor, ctx->config.paths.store, pos[0], err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, "deleting the artifact", r, err);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:s, s:b}", "sha256", pos[0], "deleted", 1));
    else
        ret = printf("artifact %s deleted\n", pos[0]) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
    ota_db_close(db);
    return ret;
}

int adm_artifact_public(struct adm_ctx *ctx, int argc, char **argv)
{
    bool off = false;
    const struct adm_opt opts[] = {
        { "--off", ADM_OPT_FLAG, NULL, &off },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    char err[512] = "";
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 1, sha_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_sha256_hex_valid(pos[0]))
        return adm_usage(ctx, "invalid SHA256 (64 lowercase hex digits)");
    if (adm_ctx_open_db(ctx, &db) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    r = ota_publish_set_public(db, ctx->actor, pos[0], !off, err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, off ? "making the artifact private" : "making the artifact public",
                              r, err);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:s, s:b}", "sha256", pos[0], "public", !off));
    else
        ret = printf("artifact %s is %s\n", pos[0],
                     off ? "private: a client certificate is needed again"
                         : "public: anyone who knows its sha256 may download it")
                      < 0
                  ? ADM_EXIT_FAIL
                  : ADM_EXIT_OK;
    ota_db_close(db);
    return ret;
}

int adm_store_gc(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.store", NULL };
    bool dry_run = false;
    const struct adm_opt opts[] = {
        { "--dry-run", ADM_OPT_FLAG, NULL, &dry_run },
    };
    struct ota_store_gc_report rep = { 0 };
    struct ota_db *db = NULL;
    char err[512] = "";
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 1, NULL, NULL, 0, 0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK || adm_ctx_open_db(ctx, &db) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    r = ota_publish_gc(db, ctx->actor, ctx->config.paths.store, dry_run, &rep, err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, "cleaning the store", r, err);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "dry_run", dry_run,
                                      "temp_files", (json_int_t)rep.tmp_files, "temp_bytes",
                                      (json_int_t)rep.tmp_bytes, "orphan_files",
                                      (json_int_t)rep.orphan_files, "orphan_bytes",
                                      (json_int_t)rep.orphan_bytes, "kept_files",
                                      (json_int_t)rep.kept_files));
    else
        ret = printf("%s %llu temp files (%llu bytes) and %llu orphan files (%llu bytes); "
                     "%llu artifacts kept\n", dry_run ? "would remove" : "removed",
                     (unsigned long long)rep.tmp_files, (unsigned long long)rep.tmp_bytes,
                     (unsigned long long)rep.orphan_files, (unsigned long long)rep.orphan_bytes,
                     (unsigned long long)rep.kept_files) < 0
                  ? ADM_EXIT_FAIL
                  : ADM_EXIT_OK;
    ota_db_close(db);
    return ret;
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    const struct ota_artifact *a;
    struct ota_db_iter it;
    int r = ota_db_artifacts_begin(db, false, &it);

    while (r == 0 && (r = ota_db_artifacts_next(&it, &a)) > 0) {
        char size[32], created[32];
        const char *cells[] = { a->sha256,
                                size,
                                a->name,
                                a->version,
                                a->hw[0] ? a->hw : "-",
                                adm_time(a->created_at, created, sizeof(created)) };

        snprintf(size, sizeof(size), "%llu", (unsigned long long)a->size);
        r = l->array ? adm_list_append(l, artifact_json(a, false)) : adm_table_add(l->table, cells);
    }
    ota_db_iter_end(&it);
    return r;
}

int adm_artifact_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "SHA256", "SIZE", "NAME", "VERSION", "HW", "CREATED" };
    static const struct adm_list_spec spec = { head, 6, "artifacts", "listing artifacts" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}

/* Parses SHA256, opens the db and reads the row: the start of show and verify. */
static int artifact_load(struct adm_ctx *ctx, int argc, char **argv, struct ota_db **ret_db,
                         struct ota_artifact **ret_art)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, sha_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_sha256_hex_valid(pos[0]))
        return adm_usage(ctx, "invalid SHA256 '%s' (64 lowercase hex digits)", pos[0]);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    r = ota_db_artifact_get(db, pos[0], ret_art);
    if (r == -ENOENT) {
        ota_db_close(db);
        return adm_fail("no artifact %s", pos[0]);
    }
    if (r < 0) {
        ret = adm_db_fail(db, "reading the artifact", r);
        ota_db_close(db);
        return ret;
    }
    *ret_db = db;
    return ADM_EXIT_OK;
}

int adm_artifact_show(struct adm_ctx *ctx, int argc, char **argv)
{
    struct ota_db *db = NULL;
    struct ota_artifact *a = NULL;
    char created[32];
    int ret;

    ret = artifact_load(ctx, argc, argv, &db, &a);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (ctx->json) {
        ret = adm_json_emit(artifact_json(a, true));
    } else {
        printf("sha256    %s\n", a->sha256);
        printf("sha1      %s\n", a->sha1);
        printf("md5       %s\n", a->md5);
        printf("size      %llu\n", (unsigned long long)a->size);
        printf("name      %s\n", a->name);
        printf("version   %s\n", a->version);
        printf("hw        %s\n", a->hw[0] ? a->hw : "(any)");
        printf("created   %s\n", adm_time(a->created_at, created, sizeof(created)));
        printf("public    %s\n", a->is_public ? "yes (no client certificate needed)" : "no");
        if (a->deleted_at)
            printf("deleted   %s (its bytes are gone from the store)\n",
                   adm_time(a->deleted_at, created, sizeof(created)));
        printf("signature\n%s", a->signature);
        if (a->signature[0] && a->signature[strlen(a->signature) - 1] != '\n')
            putchar('\n');
    }
    ota_artifact_free(a);
    ota_db_close(db);
    return ret;
}

/* One line of the verify report. */
struct check {
    const char *what;
    bool ok;
    char detail[1100];
};

int adm_artifact_verify(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.store", "paths.keys", NULL };
    struct ota_db *db = NULL;
    struct ota_artifact *a = NULL;
    struct ota_store_digests dg;
    struct ota_sign_pub pub;
    struct ota_sign_meta meta;
    struct check checks[7];
    size_t nchecks = 0;
    char path[4096];
    char tc[1024];
    char *comment = NULL;
    json_t *obj = NULL, *arr = NULL;
    bool all_ok = true;
    bool hashed = false;
    int fd = -1;
    int ret;
    int r;

    ret = artifact_load(ctx, argc, argv, &db, &a);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        goto out;
    memset(checks, 0, sizeof(checks));

    fd = ota_store_open(ctx->config.paths.store, a->sha256);
    checks[nchecks].what = "file";
    if (fd < 0) {
        snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "cannot open: %s",
                 strerror(-fd));
    } else if ((r = ota_store_hash_fd(fd, &dg)) < 0) {
        snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "cannot read: %s", strerror(-r));
    } else {
        checks[nchecks].ok = true;
        hashed = true;
    }
    nchecks++;
    if (hashed) {
        checks[nchecks].what = "size";
        checks[nchecks].ok = dg.size == a->size;
        snprintf(checks[nchecks++].detail, sizeof(checks[0].detail), "%llu",
                 (unsigned long long)dg.size);
        checks[nchecks].what = "sha256";
        checks[nchecks].ok = strcmp(dg.sha256, a->sha256) == 0;
        snprintf(checks[nchecks++].detail, sizeof(checks[0].detail), "%s", dg.sha256);
        checks[nchecks].what = "sha1";
        checks[nchecks].ok = strcmp(dg.sha1, a->sha1) == 0;
        snprintf(checks[nchecks++].detail, sizeof(checks[0].detail), "%s", dg.sha1);
        checks[nchecks].what = "md5";
        checks[nchecks].ok = strcmp(dg.md5, a->md5) == 0;
        snprintf(checks[nchecks++].detail, sizeof(checks[0].detail), "%s", dg.md5);

        checks[nchecks].what = "signature";
        if (key_path(ctx, "ota.pub", path, sizeof(path)) < 0 ||
            (r = ota_sign_pub_load(path, &pub)) < 0) {
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "cannot load %s/ota.pub",
                     ctx->config.paths.keys);
        } else if ((r = ota_sign_verify(&pub, a->signature, strlen(a->signature), dg.blake2b,
                                        &comment)) < 0) {
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "%s", ota_publish_verify_error(r));
        } else {
            checks[nchecks].ok = true;
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "ota.pub");
        }
        nchecks++;

        checks[nchecks].what = "trusted_comment";
        memset(&meta, 0, sizeof(meta));
        memcpy(meta.sha256, a->sha256, sizeof(meta.sha256));
        meta.size = a->size;
        snprintf(meta.name, sizeof(meta.name), "%s", a->name);
        snprintf(meta.version, sizeof(meta.version), "%s", a->version);
        snprintf(meta.hw, sizeof(meta.hw), "%s", a->hw);
        if (ota_sign_trusted_comment(&meta, tc, sizeof(tc)) < 0)
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "row metadata invalid");
        else if (!comment)
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "not verified");
        else if (strcmp(comment, tc) != 0)
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "'%s'", comment);
        else {
            checks[nchecks].ok = true;
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "%s", tc);
        }
        nchecks++;
    }
    for (size_t i = 0; i < nchecks; i++)
        all_ok = all_ok && checks[i].ok;

    if (ctx->json) {
        arr = json_object();
        obj = json_pack("{s:s, s:b, s:O}", "sha256", a->sha256, "ok", all_ok, "checks", arr);
        for (size_t i = 0; obj && arr && i < nchecks; i++)
            if (json_object_set_new(
                    json_object_get(obj, "checks"), checks[i].what,
                    json_pack("{s:b, s:s}", "ok", checks[i].ok, "detail", checks[i].detail)) < 0)
                break;
        if (adm_json_emit(obj) != ADM_EXIT_OK) {
            obj = NULL;
            goto out;
        }
        obj = NULL;
    } else {
        for (size_t i = 0; i < nchecks; i++)
            printf("%-16s %-4s %s\n", checks[i].what, checks[i].ok ? "ok" : "BAD",
                   checks[i].detail);
    }
    if (!all_ok) {
        /* stderr only: with --json the report above is the one object ("ok": false) */
        fprintf(stderr, "ota-admin: artifact %s does NOT verify\n", a->sha256);
        goto out;
    }
    if (!ctx->json)
        printf("artifact %s verified\n", a->sha256);
    ret = ADM_EXIT_OK;
out:
    json_decref(arr);
    free(comment);
    if (fd >= 0)
        close(fd);
    ota_artifact_free(a);
    ota_db_close(db);
    return ret;
}
