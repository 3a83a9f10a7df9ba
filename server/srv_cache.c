/* Per-thread answer cache keyed by PRAGMA data_version, checked through the wal-index
 * header first (srv_dbwatch.c): a poll with no commit since costs no SQLite call at all. */
#include "srv_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct srv_cache {
    bool valid;                 /* the last sync succeeded */
    int64_t version;            /* data_version the entries were read under */
    struct srv_dbwatch watch;   /* the connection's wal-index */
    const struct ota_db *tried; /* the connection srv_dbwatch_attach() was tried on */
    bool have_hdr;              /* hdr was read just before that data_version */
    struct srv_dbwatch_hdr hdr;
    uint64_t gen; /* entries of an older generation are dropped: O(1) flush */
    struct srv_cache_entry *slot[SRV_CACHE_SLOTS];
};

/* FNV-1a: ids are short, and a client chooses only its own id (from its certificate). */
static size_t slot_of(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (SRV_CACHE_SLOTS - 1);
}

static void entry_clear_update(struct srv_cache_entry *e)
{
    if (e->resp200)
        MHD_destroy_response(e->resp200);
    if (e->resp304)
        MHD_destroy_response(e->resp304);
    e->resp200 = NULL;
    e->resp304 = NULL;
    e->update = SRV_CACHE_UPDATE_UNKNOWN;
    e->etag[0] = '\0';
    e->body_len = 0;
}

static void entry_free(struct srv_cache_entry *e)
{
    if (!e)
        return;
    entry_clear_update(e);
    free(e);
}

int srv_cache_new(struct srv_cache **ret)
{
    struct srv_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    *ret = c;
    return 0;
}

void srv_cache_flush(struct srv_cache *c)
{
    if (c)
        c->gen++;
}

void srv_cache_free(struct srv_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SRV_CACHE_SLOTS; i++)
        entry_free(c->slot[i]);
    free(c);
}

int srv_cache_sync(struct srv_cache *c, struct ota_db *db)
{
    struct srv_dbwatch_hdr h;
    bool have_h = srv_dbwatch_read(&c->watch, db, &h) == 0;
    int64_t v;

    /* Fast path: no commit by any connection since the header was recorded below. */
    if (c->valid && c->have_hdr && have_h && srv_dbwatch_same(&h, &c->hdr))
        return 0;
    /* The header was read before data_version: what data_version keeps or refills is at
     * least as new as that header (srv_dbwatch.c, point 4). */
    c->have_hdr = false;
    if (ota_db_data_version(db, &v) < 0) {
        srv_cache_flush(c);
        c->valid = false;
        return -EIO;
    }
    if (!c->valid || v != c->version)
        srv_cache_flush(c);
    c->version = v;
    c->valid = true;
    if (have_h) {
        c->hdr = h;
        c->have_hdr = true;
    } else if (c->tried != db) {
        /* First sync on this connection (a statement has run: its wal-index is mapped);
         * the next sync records a header. Unsupported: every sync stays on this path. */
        c->tried = db;
        (void)srv_dbwatch_attach(&c->watch, db);
    }
    return 0;
}

struct srv_cache_entry *srv_cache_entry(struct srv_cache *c, const char *id)
{
    size_t len = strlen(id), i;
    struct srv_cache_entry *e;

    if (!c->valid || len == 0 || len > OTA_ID_MAX)
        return NULL;
    i = slot_of(id);
    e = c->slot[i];
    if (e && e->gen == c->gen && strcmp(e->id, id) == 0)
        return e;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return NULL;
        c->slot[i] = e;
    } else {
        entry_clear_update(e); /* stale, or another client: reuse the memory */
        memset(e, 0, sizeof(*e));
    }
    e->gen = c->gen;
    memcpy(e->id, id, len + 1);
    return e;
}

void srv_cache_set_update(struct srv_cache_entry *e, struct MHD_Response *resp200,
                          struct MHD_Response *resp304, const char *etag, size_t body_len)
{
    entry_clear_update(e);
    if (!resp200 || !resp304 || strlen(etag) >= sizeof(e->etag)) {
        if (resp200)
            MHD_destroy_response(resp200);
        if (resp304)
            MHD_destroy_response(resp304);
        return;
    }
    e->resp200 = resp200;
    e->resp304 = resp304;
    memcpy(e->etag, etag, strlen(etag) + 1);
    e->body_len = body_len;
    e->update = SRV_CACHE_UPDATE_BODY;
}
