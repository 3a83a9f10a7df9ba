/* Artifact publishing: see ota_publish.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ota_publish.h"
#include "ota_util.h"

/* A metadata field of the trusted comment: 1..max-1 bytes, no space or control
 * character (the comment is "key:value" words separated by spaces). @may_be_empty for hw. */
static bool meta_field_valid(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strnlen(s, max);

    if (n >= max || (n == 0 && !may_be_empty))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

/* The name a vehicle stores the file under: one path component it can use as is. */
static bool plain_file_name(const char *s)
{
    return !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && s[0] != '-';
}

/* Fills @m from @p (sha256 and size later). 0 or -EINVAL with the reason. */
static int meta_check(const struct ota_publish *p, struct ota_sign_meta *m, char *err,
                      size_t errlen)
{
    const char *hw = p->hw ? p->hw : "";
    char tc[1024];

    memset(m, 0, sizeof(*m));
    if (!p->name || !meta_field_valid(p->name, sizeof(m->name), false) ||
        !plain_file_name(p->name)) {
        ota_errf(err, errlen, "--name: a plain file name of 1 to %zu bytes (no '/', spaces or "
                 "control characters, not '.', '..' or starting with '-')", sizeof(m->name) - 1);
        return -EINVAL;
    }
    if (!p->version || !meta_field_valid(p->version, sizeof(m->version), false)) {
        ota_errf(err, errlen, "--version: 1 to %zu bytes, no spaces or control characters",
                 sizeof(m->version) - 1);
        return -EINVAL;
    }
    if (!meta_field_valid(hw, sizeof(m->hw), true)) {
        ota_errf(err, errlen, "--hw: up to %zu bytes, no spaces or control characters",
                 sizeof(m->hw) - 1);
        return -EINVAL;
    }
    memcpy(m->name, p->name, strlen(p->name) + 1);
    memcpy(m->version, p->version, strlen(p->version) + 1);
    memcpy(m->hw, hw, strlen(hw) + 1);
    /* the comment must fit even for the largest size: found out now, before any work */
    memset(m->sha256, '0', 64);
    m->size = UINT64_MAX;
    if (ota_sign_trusted_comment(m, tc, sizeof(tc)) < 0) {
        ota_errf(err, errlen, "--name, --version and --hw do not fit a trusted comment");
        return -EINVAL;
    }
    return 0;
}

static bool same_meta(const struct ota_artifact *a, const struct ota_sign_meta *m)
{
    return a->size == m->size && strcmp(a->name, m->name) == 0 &&
           strcmp(a->version, m->version) == 0 && strcmp(a->hw, m->hw) == 0;
}

static void meta_clash(const struct ota_artifact *a, const struct ota_sign_meta *m, char *err,
                       size_t errlen)
{
    ota_errf(err, errlen,
             "artifact %s already exists with name:%s version:%s hw:%s; these bytes cannot be "
             "uploaded again as name:%s version:%s hw:%s",
             a->sha256, a->name, a->version, a->hw[0] ? a->hw : "(any)", m->name, m->version,
             m->hw[0] ? m->hw : "(any)");
}

const char *ota_publish_verify_error(int r)
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

static int key_file(const char *keys, const char *file, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "%s/%s", keys, file) >= len ? -ENAMETOOLONG : 0;
}

/* The signing key or the public key, whichever @p needs, before any byte is copied. */
static int load_keys(const struct ota_publish *p, struct ota_sign_key **ret_key,
                     struct ota_sign_pub *ret_pub, char *err, size_t errlen)
{
    char path[4096];
    int r;

    if (p->signature) {
        if ((r = key_file(p->keys, "ota.pub", path, sizeof(path))) == 0)
            r = ota_sign_pub_load(path, ret_pub);
        if (r < 0)
            ota_errf(err, errlen, "cannot load the public key %s: run 'ota-admin init'", path);
        return r < 0 ? -ENOENT : 0;
    }
    if ((r = key_file(p->keys, "ota.key", path, sizeof(path))) == 0)
        r = ota_sign_key_load(path, ret_key);
    if (r < 0)
        ota_errf(err, errlen, "cannot load the signing key %s: %s", path,
                 r == -ENOENT ? "missing, run 'ota-admin init'" : strerror(-r));
    return r == -ENOENT ? -ENOENT : r;
}

/* The row for the stored bytes, unless one exists: 0 (inserted, or existed with the same
 * metadata: *ret_existed), -EEXIST (other metadata). */
static int record(struct ota_db *db, const char *actor, const struct ota_store_digests *dg,
                  const struct ota_sign_meta *m, const char *signature, const char *tc,
                  bool *ret_existed, char *err, size_t errlen)
{
    struct ota_artifact *old = NULL;
    struct ota_artifact row = { 0 };
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = ota_db_artifact_get(db, dg->sha256, &old);
    if (r == 0) {
        if (!same_meta(old, m)) {
            meta_clash(old, m, err, errlen);
            r = -EEXIST;
        } else if (old->deleted_at) {
            /* deleted before: its bytes are back in the store now */
            if ((r = ota_db_artifact_revive(db, dg->sha256)) == 0)
                r = ota_db_audit(db, actor, "artifact.upload", NULL, 0, tc);
        } else {
            *ret_existed = true;
        }
        goto out;
    }
    if (r != -ENOENT)
        goto out;
    memcpy(row.sha256, dg->sha256, sizeof(row.sha256));
    memcpy(row.sha1, dg->sha1, sizeof(row.sha1));
    memcpy(row.md5, dg->md5, sizeof(row.md5));
    row.size = dg->size;
    row.name = (char *)m->name;
    row.version = (char *)m->version;
    row.hw = (char *)m->hw;
    row.signature = (char *)signature;
    row.created_at = ota_now();
    if ((r = ota_db_artifact_insert(db, &row)) == 0)
        r = ota_db_audit(db, actor, "artifact.upload", NULL, 0, tc);
out:
    if (r == 0)
        r = ota_db_commit(db);
    if (r < 0)
        ota_db_rollback(db);
    ota_artifact_free(old);
    return r;
}

int ota_publish_artifact(struct ota_db *db, const char *actor, const struct ota_publish *p,
                         struct ota_published *ret, char *err, size_t errlen)
{
    struct ota_published out = { 0 };
    struct ota_sign_key *key = NULL;
    struct ota_sign_pub pub;
    char tc[1024], *signature = NULL, *comment = NULL;
    struct stat st;
    int r;

    err[0] = '\0';
    if ((r = meta_check(p, &out.meta, err, errlen)) < 0)
        return r;
    if (fstat(p->fd, &st) < 0)
        return -errno;
    /* a regular file or a stream (a pipe: `artifact upload /dev/stdin`), never a folder
     * or a device; an empty one is refused here, a stream once it turned out empty */
    if ((!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) ||
        (S_ISREG(st.st_mode) && st.st_size == 0)) {
        ota_errf(err, errlen, "%s", S_ISREG(st.st_mode) ? "the file is empty: there is nothing to "
                                                          "install"
                                                        : "not a regular file or a pipe");
        return -EINVAL;
    }
    if ((r = load_keys(p, &key, &pub, err, errlen)) < 0)
        goto out;
    r = ota_store_ingest_fd(p->store, p->fd, p->progress, p->progress_ctx, &out.digests);
    if (r == -ESTALE)
        ota_errf(err, errlen, "the file changed while it was read (truncated, grown or "
                 "rewritten): nothing stored");
    else if (r == -ENOENT)
        ota_errf(err, errlen, "no store at %s: run 'ota-admin init'", p->store);
    else if (r < 0)
        ota_errf(err, errlen, "cannot store the file in %s: %s", p->store, strerror(-r));
    if (r < 0)
        goto out;
    if (out.digests.size == 0) {
        /* no artifact is empty, so no row names this file */
        (void)ota_store_remove(p->store, out.digests.sha256);
        ota_errf(err, errlen, "the file is empty: there is nothing to install");
        r = -EINVAL;
        goto out;
    }
    memcpy(out.meta.sha256, out.digests.sha256, sizeof(out.meta.sha256));
    out.meta.size = out.digests.size;
    if ((r = ota_sign_trusted_comment(&out.meta, tc, sizeof(tc))) < 0)
        goto out;
    if (p->signature) {
        r = ota_sign_verify(&pub, p->signature, p->signature_len, out.digests.blake2b, &comment);
        if (r < 0) {
            ota_errf(err, errlen, "--signature does not verify: %s", ota_publish_verify_error(r));
            if (r == -EINVAL)
                r = -EBADMSG; /* a bad file, not a bad argument */
            goto out;
        }
        if (strcmp(comment, tc) != 0) {
            ota_errf(err, errlen, "--signature has trusted comment '%s' but this upload's "
                     "metadata is '%s'", comment, tc);
            r = -EBADMSG;
            goto out;
        }
        signature = strndup(p->signature, p->signature_len);
        r = signature ? 0 : -ENOMEM;
    } else {
        r = ota_sign_minisig(key, out.digests.blake2b, tc, &signature);
    }
    if (r < 0)
        goto out;
    r = record(db, actor, &out.digests, &out.meta, signature, tc, &out.existed, err, errlen);
    if (r == 0)
        *ret = out;
out:
    free(comment);
    free(signature);
    ota_sign_key_free(key);
    return r;
}

/* @sha256's row, if it is in the store (not deleted): 0, or -ENOENT with @err saying so,
 * or the database's error. */
static int get_stored(struct ota_db *db, const char *sha256, struct ota_artifact **ret, char *err,
                      size_t errlen)
{
    int r = ota_db_artifact_get(db, sha256, ret);

    if (r == 0 && (*ret)->deleted_at)
        r = -ENOENT;
    if (r == -ENOENT)
        ota_errf(err, errlen, "no artifact %s", sha256);
    return r;
}

int ota_publish_delete(struct ota_db *db, const char *actor, const char *store,
                       const char *sha256, char *err, size_t errlen)
{
    struct ota_artifact *a = NULL;
    uint64_t users = 0;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = get_stored(db, sha256, &a, err, errlen)) < 0 ||
        (r = ota_db_artifact_in_use(db, sha256, &users)) < 0)
        goto out;
    if (users > 0) {
        ota_errf(err, errlen, "artifact %s is used by %llu campaign%s that ha%s not ended: "
                 "cancel or finish %s first", sha256, (unsigned long long)users,
                 users == 1 ? "" : "s", users == 1 ? "s" : "ve", users == 1 ? "it" : "them");
        r = -EINVAL;
        goto out;
    }
    if ((r = ota_db_artifact_delete(db, sha256, ota_now())) < 0 ||
        (r = ota_db_audit(db, actor, "artifact.delete", NULL, 0, sha256)) < 0)
        goto out;
    /* the row first: a crash between the two leaves a file that gc removes, never a row
     * that names missing bytes */
    if ((r = ota_db_commit(db)) < 0)
        goto out;
    r = ota_store_remove(store, sha256);
    if (r == -ENOENT)
        r = 0;
    if (r < 0)
        ota_errf(err, errlen, "artifact %s is deleted, but its file could not be removed (%s): "
                 "'store gc' removes it", sha256, strerror(-r));
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_artifact_free(a);
    return r;
}

/* The live artifacts, sorted, for the gc's keep(). */
struct live {
    char (*sha)[65];
    size_t n;
};

static int cmp_sha(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool keep_live(const char *sha256, void *ctx)
{
    const struct live *l = ctx;

    return l->n && bsearch(sha256, l->sha, l->n, sizeof(l->sha[0]), cmp_sha) != NULL;
}

int ota_publish_gc(struct ota_db *db, const char *actor, const char *store, bool dry_run,
                   struct ota_store_gc_report *ret, char *err, size_t errlen)
{
    struct live l = { NULL, 0 };
    const struct ota_artifact *a;
    struct ota_db_iter it;
    size_t cap = 0;
    char detail[160];
    int r;

    /* An upload racing this renames its file before it commits its row: ota_store_gc()
     * leaves files of the last minute alone, so that file is never taken for an orphan. */
    if ((r = ota_db_artifacts_begin(db, false, &it)) < 0)
        goto out;
    while ((r = ota_db_artifacts_next(&it, &a)) > 0) {
        if (l.n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char(*v)[65] = realloc(l.sha, ncap * sizeof(*v));
            if (!v) {
                r = -ENOMEM;
                break;
            }
            l.sha = v;
            cap = ncap;
        }
        memcpy(l.sha[l.n++], a->sha256, 65);
    }
    ota_db_iter_end(&it);
    if (r < 0)
        goto out;
    if (l.n) /* qsort's base may not be NULL, even for no elements */
        qsort(l.sha, l.n, sizeof(l.sha[0]), cmp_sha);
    r = ota_store_gc(store, keep_live, &l, dry_run, ret);
    if (r < 0)
        ota_errf(err, errlen, "store %s: %s", store, strerror(-r));
    if (dry_run || (ret->tmp_files == 0 && ret->orphan_files == 0))
        goto out;
    snprintf(detail, sizeof(detail), "%llu temp files, %llu orphan files removed",
             (unsigned long long)ret->tmp_files, (unsigned long long)ret->orphan_files);
    if (ota_db_begin(db) == 0) {
        if (ota_db_audit(db, actor, "store.gc", NULL, 0, detail) < 0 || ota_db_commit(db) < 0)
            ota_db_rollback(db);
    }
out:
    free(l.sha);
    return r;
}

int ota_publish_key_matches(struct ota_db *db, const struct ota_sign_pub *pub, char *err,
                            size_t errlen)
{
    uint8_t keyid[OTA_SIGN_KEYID_BYTES];
    char *sig = NULL, have[2 * OTA_SIGN_KEYID_BYTES + 1], want[2 * OTA_SIGN_KEYID_BYTES + 1];
    int r = ota_db_artifact_any_signature(db, &sig);

    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (ota_sign_minisig_keyid(sig, strlen(sig), keyid) < 0) {
        r = -EIO;
        goto out;
    }
    if (memcmp(keyid, pub->keyid, sizeof(keyid)) != 0) {
        /* minisign prints key ids as big-endian hex of the little-endian bytes */
        for (size_t i = 0; i < OTA_SIGN_KEYID_BYTES; i++) {
            snprintf(have + 2 * i, 3, "%02X", keyid[OTA_SIGN_KEYID_BYTES - 1 - i]);
            snprintf(want + 2 * i, 3, "%02X", pub->keyid[OTA_SIGN_KEYID_BYTES - 1 - i]);
        }
        ota_errf(err, errlen, "the stored artifacts are signed by key %s, but the keys folder "
                 "holds key %s", have, want);
        r = -EKEYREJECTED;
    }
out:
    free(sig);
    return r;
}

int ota_publish_set_public(struct ota_db *db, const char *actor, const char *sha256,
                           bool is_public, char *err, size_t errlen)
{
    struct ota_artifact *a = NULL;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = get_stored(db, sha256, &a, err, errlen)) < 0 || a->is_public == is_public)
        goto out; /* missing, or already so: nothing to record */
    if ((r = ota_db_artifact_set_public(db, sha256, is_public)) < 0 ||
        (r = ota_db_audit(db, actor, is_public ? "artifact.public" : "artifact.private", NULL, 0,
                          sha256)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    ota_db_rollback(db); /* a no-op once committed */
    ota_artifact_free(a);
    return r;
}
