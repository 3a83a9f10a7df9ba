/* The content-addressed artifact store: <store>/sha256/<2 hex>/<64 hex>, written through
 * <store>/tmp/ with fsync and rename so that no partial artifact is ever visible. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_sign.h"

/* Every digest the system keeps for an artifact, from one pass over its bytes. */
struct ota_store_digests {
    char sha256[65];
    char sha1[41];
    char md5[33];
    uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES]; /* what the minisign signature covers */
    uint64_t size;
};

/* Called during ingest with bytes copied so far (and the total, 0 if unknown). A non-zero
 * return (a negative errno, e.g. -EINTR for a signal the caller holds) stops the ingest
 * with that error, leaving nothing behind. */
typedef int ota_store_progress_fn(uint64_t done, uint64_t total, void *ctx);

/* Creates @store, @store/sha256 and @store/tmp if missing. Returns 0 or -errno. */
int ota_store_init(const char *store);

/* Copies everything readable from @fd into the store while computing every digest in the
 * same pass, with bounded memory whatever the size; fsyncs the file and its folder and
 * renames it into place. Identical bytes already stored are kept, and the copy dropped.
 * A regular file must not change while it is read: when its size, modification or change
 * time differ afterwards, or it yielded more or fewer bytes than its size, the ingest
 * fails with -ESTALE. The temp file is locked (flock) while it is written, so
 * ota_store_gc() can tell a live upload from a killed one's leftovers. @fd stays the
 * caller's. Returns 0, -ENOENT (no store: run init), -ESTALE, -ENOSPC, -EIO, the
 * progress callback's error or another -errno; nothing is left in the store on error. */
int ota_store_ingest_fd(const char *store, int fd, ota_store_progress_fn *progress, void *ctx,
                        struct ota_store_digests *ret);

/* Hashes an open file the same way (ota-admin artifact verify). Returns 0 or -errno. */
int ota_store_hash_fd(int fd, struct ota_store_digests *ret);

/* Writes the path of @sha256's file into @buf. Returns 0 or -ENAMETOOLONG/-EINVAL. */
int ota_store_path(const char *store, const char *sha256, char *buf, size_t len);

/* Opens @sha256's file read-only (O_CLOEXEC). Returns an fd, -ENOENT or -errno. */
int ota_store_open(const char *store, const char *sha256);

/* Removes @sha256's file (artifact delete). 0, -ENOENT or -errno. */
int ota_store_remove(const char *store, const char *sha256);

struct ota_store_gc_report {
    uint64_t tmp_files, tmp_bytes;       /* temp files of killed uploads removed */
    uint64_t orphan_files, orphan_bytes; /* store files no artifact names, removed */
    uint64_t kept_files;
};

/* Cleans the store: temp files that no upload holds locked, and files under sha256/ for
 * which @keep (the artifacts the database knows, not deleted) says false; none younger
 * than a minute (an upload in progress). With @dry_run
 * only counts. Returns 0 or -errno (the first error; what could be removed was). */
int ota_store_gc(const char *store, bool (*keep)(const char *sha256, void *ctx), void *ctx,
                 bool dry_run, struct ota_store_gc_report *ret);
