/* Artifacts as the operator publishes them: a file checked, stored (content-addressed),
 * signed or its given signature verified, and recorded; deleted when no unfinished
 * campaign needs it; the store cleaned of what no artifact names; the signing key checked
 * against what the fleet already trusts. The order that makes a crash harmless: bytes into
 * the store first (a stored file without a row is invisible), then the row. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "ota_db.h"
#include "ota_sign.h"
#include "ota_store.h"

struct ota_publish {
    int fd;            /* a regular file or a pipe, open for reading; stays the caller's */
    const char *name;  /* a plain file name: no '/', not "." or "..", no spaces */
    const char *version;
    const char *hw;    /* NULL or "": any hardware */
    /* a signature made elsewhere (minisign -S, an offline key): checked against
     * @keys/ota.pub and the metadata; NULL: signed here with @keys/ota.key */
    const char *signature;
    size_t signature_len;
    const char *store;
    const char *keys;
    ota_store_progress_fn *progress; /* may be NULL; may stop the upload (its error) */
    void *progress_ctx;
};

struct ota_published {
    struct ota_store_digests digests;
    struct ota_sign_meta meta;
    bool existed; /* the same bytes were uploaded before with this metadata */
};

/* Checks the metadata (before any byte is read), stores and signs the file, and records
 * it with an audit event. Refused, with the reason in @err and nothing recorded:
 * -EINVAL (a name, version or hw that cannot work, an input that is neither a regular
 * file nor a pipe, or is empty), -ESTALE (the file changed while it was read), -EKEYREJECTED / -EBADMSG (the
 * given signature: another key, or not over these bytes and metadata), -EEXIST (these
 * bytes exist with other metadata), -ENOENT (no store or key: run init). Otherwise 0,
 * the progress callback's error (-EINTR), -ENOSPC, -EBUSY or -EIO. */
int ota_publish_artifact(struct ota_db *db, const char *actor, const struct ota_publish *p,
                         struct ota_published *ret, char *err, size_t errlen);

/* Deletes @sha256's bytes from @store and marks its row deleted (campaigns keep naming
 * it). Refused with -EINVAL while a campaign that has not ended uses it; -ENOENT when
 * there is no such artifact (or it is deleted already). */
int ota_publish_delete(struct ota_db *db, const char *actor, const char *store,
                       const char *sha256, char *err, size_t errlen);

/* Makes @sha256 public (GET and HEAD without a client certificate, by anyone who knows
 * the sha256) or private again, with an audit event. 0 (also when it was so already),
 * -ENOENT (no such artifact, or deleted), -EBUSY, -EIO. */
int ota_publish_set_public(struct ota_db *db, const char *actor, const char *sha256,
                           bool is_public, char *err, size_t errlen);

/* ota_store_gc() with the artifacts the database knows (not deleted) kept. */
int ota_publish_gc(struct ota_db *db, const char *actor, const char *store, bool dry_run,
                   struct ota_store_gc_report *ret, char *err, size_t errlen);

/* Whether @pub is the key the stored artifacts were signed with: 0 (yes, or no artifact
 * yet), -EKEYREJECTED (another key signed them: @err says which), -EIO. */
int ota_publish_key_matches(struct ota_db *db, const struct ota_sign_pub *pub, char *err,
                            size_t errlen);

/* Why ota_sign_verify() refused a signature, in words. */
const char *ota_publish_verify_error(int r);
