/* ota-admin artifact upload|list|show|verify: signed, content-addressed update files.
 * Upload order is what makes a crash harmless: the bytes go into the store first (a
 * stored file without a database row is invisible to everyone), then the row is
 * inserted in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ota_sign.h"
#include "ota_store.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const sha_name[] = { "SHA256" };

/* A metadata field of the trusted comment: 1..max-1 bytes, no space or control
 * character (the comment is "key:value" words separated by spaces). @may_be_empty for hw. */
static bool meta_field_valid(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strlen(s);

    if (n >= max || (n == 0 && !may_be_empty))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

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
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "sha256", a->sha256, "size",
                  (json_int_t)a->size, "name", a->name, "version", a->version, "hw", a->hw, "sha1",
                  a->sha1, "md5", a->md5, "created_at", adm_json_time(a->created_at));

    if (o && with_signature && json_object_set_new(o, "signature", json_string(a->signature)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Whether an existing row carries exactly the metadata of this upload. */
static bool same_meta(const struct ota_artifact *a, const struct ota_sign_meta *m)
{
    return a->size == m->size && strcmp(a->name, m->name) == 0 &&
           strcmp(a->version, m->version) == 0 && strcmp(a->hw, m->hw) == 0;
}

static int print_uploaded(const struct adm_ctx *ctx, const struct ota_store_digests *dg,
                          const struct ota_sign_meta *m, bool existed)
{
    if (ctx->json)
        return adm_json_emit(json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:b}", "sha256",
                                       dg->sha256, "size", (json_int_t)dg->size, "name", m->name,
                                       "version", m->version, "hw", m->hw, "sha1", dg->sha1, "md5",
                                       dg->md5, "existed", existed));
    if (existed)
        fprintf(stderr, "ota-admin: artifact %s was already uploaded with this metadata\n",
                dg->sha256);
    printf("%s\n", dg->sha256);
    return ADM_EXIT_OK;
}

/* Explains a metadata clash with an existing row. Returns ADM_EXIT_FAIL. */
static int meta_clash(const struct ota_artifact *a, const struct ota_sign_meta *m)
{
    return adm_fail("artifact %s already exists with name:%s version:%s hw:%s; these bytes "
                    "cannot be uploaded again as name:%s version:%s hw:%s",
                    a->sha256, a->name, a->version, a->hw[0] ? a->hw : "(any)", m->name, m->version,
                    m->hw[0] ? m->hw : "(any)");
}

static const char *verify_error(int r)
{
    switch (r) {
    case -EKEYREJECTED:
        return "it was made with another key than ota.pub's";
    case -EBADMSG:
        return "the signature does not match the file's bytes or its trusted comment";
    case -EINVAL:
        return "not a minisign signature (or not a prehashed ED one)";
    default:
        return strerror(-r);
    }
}

int adm_artifact_upload(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.db", "paths.store", "paths.keys", NULL };
    static const char *const file_name[] = { "FILE" };
    const char *version = NULL, *name = NULL, *hw = NULL, *sigfile = NULL;
    const struct adm_opt opts[] = {
        { "--version", ADM_OPT_STRING, &version, NULL },
        { "--name", ADM_OPT_STRING, &name, NULL },
        { "--hw", ADM_OPT_STRING, &hw, NULL },
        { "--signature", ADM_OPT_STRING, &sigfile, NULL },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_sign_key *key = NULL;
    struct ota_sign_pub pub;
    struct ota_artifact *old = NULL;
    struct ota_store_digests dg;
    struct ota_sign_meta meta;
    struct adm_progress prog = { 0, 0 };
    struct ota_artifact row;
    char path[4096];
    char tc[1024];
    char *given_sig = NULL, *signature = NULL, *comment = NULL;
    size_t given_len = 0;
    struct stat st;
    int fd = -1;
    int ret;
    int r = -ENAMETOOLONG;

    ret = adm_args_parse(ctx, argc, argv, opts, 4, file_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!version)
        return adm_usage(ctx, "missing --version");
    if (!name) {
        const char *slash = strrchr(pos[0], '/');

        name = slash ? slash + 1 : pos[0];
        if (name[0] == '\0')
            return adm_usage(ctx, "FILE '%s' names no file: give --name", pos[0]);
    }
    memset(&meta, 0, sizeof(meta));
    if (!meta_field_valid(name, sizeof(meta.name), false))
        return adm_usage(ctx, "invalid name '%s' (1 to %zu bytes, no spaces or control characters)",
                         name, sizeof(meta.name) - 1);
    if (!meta_field_valid(version, sizeof(meta.version), false))
        return adm_usage(ctx,
                         "invalid --version '%s' (1 to %zu bytes, no spaces or control characters)",
                         version, sizeof(meta.version) - 1);
    if (hw && !meta_field_valid(hw, sizeof(meta.hw), true))
        return adm_usage(ctx,
                         "invalid --hw '%s' (up to %zu bytes, no spaces or control characters)", hw,
                         sizeof(meta.hw) - 1);
    memcpy(meta.name, name, strlen(name) + 1);
    memcpy(meta.version, version, strlen(version) + 1);
    memcpy(meta.hw, hw ? hw : "", strlen(hw ? hw : "") + 1);
    /* The comment must fit even for the largest size: find out now, before any work. */
    memset(meta.sha256, '0', 64);
    meta.size = UINT64_MAX;
    if (ota_sign_trusted_comment(&meta, tc, sizeof(tc)) < 0)
        return adm_usage(ctx, "name, --version and --hw do not fit a trusted comment");

    ret = ADM_EXIT_FAIL;
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        goto out;
    fd = open(pos[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        adm_fail("cannot open %s: %s", pos[0], strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        adm_fail("cannot upload %s: %s", pos[0],
                 S_ISDIR(st.st_mode) ? "it is a folder" : strerror(errno));
        goto out;
    }
    if (sigfile) {
        r = read_small_file(sigfile, &given_sig, &given_len);
        if (r < 0) {
            adm_fail("cannot read --signature %s: %s", sigfile,
                     r == -EFBIG ? "larger than a minisign signature can be" : strerror(-r));
            goto out;
        }
    }
    /* Everything that can fail cheaply is checked before the bytes are copied. */
    if (adm_ctx_open_db(ctx, &db) != ADM_EXIT_OK)
        goto out;
    if (sigfile) {
        if (key_path(ctx, "ota.pub", path, sizeof(path)) < 0 ||
            (r = ota_sign_pub_load(path, &pub)) < 0) {
            adm_fail("cannot load the public key %s/ota.pub: run 'ota-admin init'",
                     ctx->config.paths.keys);
            goto out;
        }
    } else {
        if (key_path(ctx, "ota.key", path, sizeof(path)) < 0 ||
            (r = ota_sign_key_load(path, &key)) < 0) {
            adm_fail("cannot load the signing key %s/ota.key: %s", ctx->config.paths.keys,
                     r == -ENOENT ? "missing, run 'ota-admin init'" : strerror(-r));
            goto out;
        }
    }

    r = ota_store_ingest_fd(ctx->config.paths.store, fd,
                            isatty(STDERR_FILENO) ? adm_progress_cb : NULL, &prog, &dg);
    adm_progress_end(&prog);
    if (r < 0) {
        adm_fail("cannot store %s in %s: %s", pos[0], ctx->config.paths.store,
                 r == -ENOENT ? "no store there, run 'ota-admin init'" : strerror(-r));
        goto out;
    }
    memcpy(meta.sha256, dg.sha256, sizeof(meta.sha256));
    meta.size = dg.size;
    if (ota_sign_trusted_comment(&meta, tc, sizeof(tc)) < 0) {
        adm_fail("cannot build the trusted comment");
        goto out;
    }

    if (sigfile) {
        r = ota_sign_verify(&pub, given_sig, given_len, dg.blake2b, &comment);
        if (r < 0) {
            adm_fail("--signature %s does not verify: %s", sigfile, verify_error(r));
            goto out;
        }
        if (strcmp(comment, tc) != 0) {
            adm_fail("--signature %s has trusted comment '%s' but this upload's metadata is "
                     "'%s'",
                     sigfile, comment, tc);
            goto out;
        }
    }

    r = ota_db_artifact_get(db, dg.sha256, &old);
    if (r == 0) {
        if (!same_meta(old, &meta)) {
            meta_clash(old, &meta);
            goto out;
        }
        ret = print_uploaded(ctx, &dg, &meta, true);
        goto out;
    }
    if (r != -ENOENT) {
        adm_db_fail(db, "reading the artifacts", r);
        goto out;
    }

    if (sigfile) {
        signature = given_sig;
        given_sig = NULL;
    } else {
        r = ota_sign_minisig(key, dg.blake2b, tc, &signature);
        if (r < 0) {
            adm_fail("cannot sign %s: %s", pos[0], strerror(-r));
            goto out;
        }
    }

    memset(&row, 0, sizeof(row));
    memcpy(row.sha256, dg.sha256, sizeof(row.sha256));
    memcpy(row.sha1, dg.sha1, sizeof(row.sha1));
    memcpy(row.md5, dg.md5, sizeof(row.md5));
    row.size = dg.size;
    row.name = meta.name;
    row.version = meta.version;
    row.hw = meta.hw;
    row.signature = signature;
    row.created_at = ota_now();
    r = ota_db_begin(db);
    if (r == 0) {
        r = ota_db_artifact_insert(db, &row);
        if (r == 0)
            r = adm_ctx_event(db, "artifact.upload", NULL, 0, tc);
        if (r == 0)
            r = ota_db_commit(db);
        if (r < 0)
            ota_db_rollback(db);
    }
    if (r == -EEXIST) {
        /* Another upload of the same bytes won the race: same answer as a repeat. */
        if (ota_db_artifact_get(db, dg.sha256, &old) == 0) {
            if (!same_meta(old, &meta)) {
                meta_clash(old, &meta);
                goto out;
            }
            ret = print_uploaded(ctx, &dg, &meta, true);
            goto out;
        }
    }
    if (r < 0) {
        adm_db_fail(db, "recording the artifact", r);
        goto out;
    }
    ret = print_uploaded(ctx, &dg, &meta, false);
out:
    free(comment);
    free(signature);
    free(given_sig);
    ota_artifact_free(old);
    ota_sign_key_free(key);
    ota_db_close(db);
    if (fd >= 0)
        close(fd);
    return ret;
}

static int list_cb(const struct ota_artifact *a, void *p)
{
    struct adm_list *l = p;
    char size[32], created[32];

    if (l->array)
        return adm_list_append(l, artifact_json(a, false));
    snprintf(size, sizeof(size), "%llu", (unsigned long long)a->size);
    const char *cells[] = { a->sha256,
                            size,
                            a->name,
                            a->version,
                            a->hw[0] ? a->hw : "-",
                            adm_time(a->created_at, created, sizeof(created)) };
    return adm_table_add(l->table, cells);
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_artifact_list(db, list_cb, l);
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
            snprintf(checks[nchecks].detail, sizeof(checks[0].detail), "%s", verify_error(r));
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
        adm_fail("artifact %s does NOT verify", a->sha256);
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
