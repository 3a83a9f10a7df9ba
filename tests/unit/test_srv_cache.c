/* srv_cache: entries live for one data_version, flush drops them, slots never mix ids. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_db.h"
#include "ota_test.h"
#include "ota_test_db.h"
#include "srv_cache.h"

static struct MHD_Response *resp(const char *s)
{
    return MHD_create_response_from_buffer(strlen(s), (void *)s, MHD_RESPMEM_MUST_COPY);
}

/* A commit by another connection changes data_version: the cache must drop everything. */
static void test_versions(const char *path)
{
    struct ota_db *a = NULL, *b = NULL;
    struct srv_cache *c = NULL;
    struct srv_cache_entry *e;

    CHECK_FATAL(ota_db_open(path, 0, &a) == 0 && ota_db_check_schema(a) == 0);
    CHECK_FATAL(ota_db_open(path, 0, &b) == 0 && ota_db_check_schema(b) == 0);
    CHECK_FATAL(srv_cache_new(&c) == 0);

    CHECK(srv_cache_entry(c, "VIN1") == NULL); /* never synced: unusable */
    CHECK_RC(srv_cache_sync(c, a), 0);
    e = srv_cache_entry(c, "VIN1");
    CHECK_FATAL(e != NULL);
    CHECK(!e->known);
    CHECK_INT(e->update, SRV_CACHE_UPDATE_UNKNOWN);
    e->known = true;
    e->lookup = 0;
    e->kind = OTA_CLIENT_VEHICLE;
    srv_cache_set_update(e, resp("body"), resp(""), "\"u1\"", 4);
    CHECK_INT(e->update, SRV_CACHE_UPDATE_BODY);
    CHECK_STR(e->etag, "\"u1\"");

    /* Same version: kept. */
    CHECK_RC(srv_cache_sync(c, a), 0);
    e = srv_cache_entry(c, "VIN1");
    CHECK(e && e->known && e->update == SRV_CACHE_UPDATE_BODY);

    /* This connection's own write does not change its data_version (hence flush). */
    CHECK_RC(ota_db_vehicle_add(a, "VINA", "", "", NULL), 0);
    CHECK_RC(srv_cache_sync(c, a), 0);
    e = srv_cache_entry(c, "VIN1");
    CHECK(e && e->known);
    srv_cache_flush(c);
    e = srv_cache_entry(c, "VIN1");
    CHECK(e && !e->known && e->update == SRV_CACHE_UPDATE_UNKNOWN);
    e->known = true;

    /* Another connection's commit: dropped at the next sync. (PostgreSQL tells of it by
     * NOTIFY, which arrives a moment after the commit: there, the next syncs within 2 s;
     * SQLite's data_version knows at once.) */
    CHECK_RC(ota_db_vehicle_add(b, "VINB", "", "", NULL), 0);
    CHECK_RC(srv_cache_sync(c, a), 0);
    e = srv_cache_entry(c, "VIN1");
    for (int i = 0; ota_db_is_url(path) && e && e->known && i < 400; i++) {
        usleep(5000);
        CHECK_RC(srv_cache_sync(c, a), 0);
        e = srv_cache_entry(c, "VIN1");
    }
    CHECK(e && !e->known);

    /* Ids out of bounds are never cached. */
    CHECK(srv_cache_entry(c, "") == NULL);
    {
        char longid[OTA_ID_MAX + 2];
        memset(longid, 'x', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        CHECK(srv_cache_entry(c, longid) == NULL);
    }
    srv_cache_free(c);
    ota_db_close(a);
    ota_db_close(b);
}

/* More ids than slots: whatever comes back is always the id asked for. */
static void test_slots(const char *path)
{
    struct ota_db *db = NULL;
    struct srv_cache *c = NULL;
    char id[32];
    unsigned kept = 0;

    CHECK_FATAL(ota_db_open(path, 0, &db) == 0 && ota_db_check_schema(db) == 0);
    CHECK_FATAL(srv_cache_new(&c) == 0);
    CHECK_RC(srv_cache_sync(c, db), 0);
    for (unsigned i = 0; i < 3 * SRV_CACHE_SLOTS; i++) {
        struct srv_cache_entry *e;
        snprintf(id, sizeof(id), "VIN%u", i);
        e = srv_cache_entry(c, id);
        CHECK_FATAL(e != NULL);
        CHECK_STR(e->id, id);
        CHECK(!e->known);
        e->known = true;
        e->last_seen = i;
        if (i % 3 == 0)
            srv_cache_set_update(e, resp(id), resp(""), "\"e\"", strlen(id));
    }
    for (unsigned i = 0; i < 3 * SRV_CACHE_SLOTS; i++) {
        struct srv_cache_entry *e;
        snprintf(id, sizeof(id), "VIN%u", i);
        e = srv_cache_entry(c, id);
        CHECK_FATAL(e != NULL);
        CHECK_STR(e->id, id);
        if (e->known) {
            CHECK_INT(e->last_seen, i);
            kept++;
        }
    }
    CHECK(kept > 0);
    srv_cache_free(c);
    ota_db_close(db);
}

int main(void)
{
    char dir[] = "/tmp/test_srv_cache.XXXXXX", path[512];
    struct ota_db *db = NULL;

    CHECK_FATAL(mkdtemp(dir) != NULL);
    ota_test_db_where(dir, "ota.db", path, sizeof(path));
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    ota_db_close(db);

    test_versions(path);
    test_slots(path);

    if (!ota_db_is_url(path))
        ota_test_remove_db(path);
    rmdir(dir);
    TEST_DONE();
}
