/* Per-thread cache of client lookups and /v1/updates answers, valid for one data_version. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <microhttpd.h>
#include "ota_db.h"
#include "ota_util.h"
#include "srv_dbwatch.h"

/* Direct-mapped: a vehicle's entry is replaced by another that hashes to the same slot. */
#define SRV_CACHE_SLOTS 16384

enum srv_cache_update {
    SRV_CACHE_UPDATE_UNKNOWN = 0, /* not read yet */
    SRV_CACHE_UPDATE_NONE,        /* no current deployment: 204 */
    SRV_CACHE_UPDATE_BODY,        /* resp200/resp304 hold the answer */
};

/* One client's answers. Owned by the cache; valid until the next srv_cache_sync(),
 * srv_cache_flush() or srv_cache_entry() call on the same cache. */
struct srv_cache_entry {
    char id[OTA_ID_MAX + 1];
    uint64_t gen; /* the cache's generation it was filled in */
    bool known; /* lookup, kind and last_seen are filled in */
    int lookup; /* ota_db_client_lookup() result: 0, -ENOENT or -EACCES */
    enum ota_client_kind kind;
    int64_t last_seen;
    enum srv_cache_update update;
    struct MHD_Response *resp200; /* body, ETag, Content-Type, Cache-Control; cache's ref */
    struct MHD_Response *resp304; /* ETag, Cache-Control; cache's ref */
    char etag[40];
    size_t body_len;
    int64_t cdn_period; /* the body's CDN link belongs to this period (ota_cdn_period) */
};

struct srv_cache;

/* On success *ret is new (free with srv_cache_free()). Returns 0 or -ENOMEM. */
int srv_cache_new(struct srv_cache **ret);
/* Destroys every cached response (MHD keeps those still queued alive). NULL is a no-op. */
void srv_cache_free(struct srv_cache *c);

/* Compares @db's data_version (it changes when another connection commits) with the one
 * the entries were read under and drops them all on a difference; skips that read
 * transaction when the wal-index header is the one recorded at the last data_version
 * read (no commit since: srv_dbwatch.c). Call once per request, before any answer is
 * taken from the cache, always with the same connection, which must stay open until
 * srv_cache_free() (the cache keeps a pointer into its wal-index mapping): entries are
 * then at least as new as that check. Returns 0, or -EIO (the cache is then empty and
 * unusable until a later call succeeds). */
int srv_cache_sync(struct srv_cache *c, struct ota_db *db);
/* Drops everything: call after this thread wrote to the database (its own commits do not
 * change its data_version). */
void srv_cache_flush(struct srv_cache *c);

/* @id's entry, made empty (known false, update UNKNOWN) when missing, evicting whatever
 * held its slot. NULL on -ENOMEM, for an id longer than OTA_ID_MAX, or while the cache is
 * unusable (the last sync failed): the caller then reads the database. Borrowed. */
struct srv_cache_entry *srv_cache_entry(struct srv_cache *c, const char *id);

/* Sets @e's 200 and 304 answers: takes both responses always (destroys them on error or
 * when replaced). */
void srv_cache_set_update(struct srv_cache_entry *e, struct MHD_Response *resp200,
                          struct MHD_Response *resp304, const char *etag, size_t body_len);
