/* srv_dbwatch: the wal-index header changes with every commit, and torn or invalid headers
 * are never taken; srv_cache keeps its entries only while no commit happened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_db.h"
#include "ota_test.h"
#include "srv_cache.h"
#include "srv_dbwatch.h"

/* A header SQLite would write: version, isInit, some frames, its checksum. */
static void make_hdr(uint32_t h[12], uint32_t mx)
{
    uint32_t s1 = 0, s2 = 0;

    memset(h, 0, 48);
    h[0] = 3007000;
    h[2] = 5;                   /* iChange */
    ((uint8_t *)h)[12] = 1;     /* isInit */
    h[4] = mx;                  /* mxFrame */
    h[8] = 0x1234;              /* salts */
    h[9] = 0x5678;
    for (int i = 0; i < 10; i += 2) {
        s1 += h[i] + s2;
        s2 += h[i + 1] + s1;
    }
    h[10] = s1;
    h[11] = s2;
}

/* The checks on a crafted wal-index: both copies equal, initialised, checksummed. */
static void test_crafted(void)
{
    static uint32_t shm[34]; /* two headers and more, 4-byte aligned */
    const struct ota_db *db = (const struct ota_db *)&shm[33]; /* any pointer: identity */
    struct srv_dbwatch w = { .db = db, .shm = shm };
    struct srv_dbwatch_hdr a, b;

    make_hdr(shm, 7);
    memcpy(shm + 12, shm, 48);
    CHECK_RC(srv_dbwatch_read(&w, db, &a), 0);
    CHECK_INT(a.w[4], 7);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), 0);
    CHECK(srv_dbwatch_same(&a, &b));

    /* A writer between the copies (copy 1 written first): torn, never taken. */
    make_hdr(shm + 12, 8);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -EAGAIN);
    make_hdr(shm, 8);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), 0);
    CHECK(!srv_dbwatch_same(&a, &b));

    /* Not initialised (all zero, or isInit 0), a wrong version or checksum. */
    memset(shm, 0, 96);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -EAGAIN);
    make_hdr(shm, 9);
    ((uint8_t *)shm)[12] = 0;
    memcpy(shm + 12, shm, 48);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -EAGAIN);
    make_hdr(shm, 9);
    shm[0] = 3007001;
    memcpy(shm + 12, shm, 48);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -EAGAIN);
    make_hdr(shm, 9);
    shm[11] ^= 1;
    memcpy(shm + 12, shm, 48);
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -EAGAIN);

    /* Another connection than the one the mapping belongs to, or none. */
    make_hdr(shm, 9);
    memcpy(shm + 12, shm, 48);
    CHECK_RC(srv_dbwatch_read(&w, (const struct ota_db *)shm, &b), -ENOTSUP);
    w.shm = NULL;
    CHECK_RC(srv_dbwatch_read(&w, db, &b), -ENOTSUP);
}

/* A real database: every commit, by either connection, changes the header. */
static void test_live(const char *path)
{
    struct ota_db *a = NULL, *b = NULL;
    struct srv_dbwatch w = { 0 };
    struct srv_dbwatch_hdr h0, h1, h2;

    CHECK_FATAL(ota_db_open(path, 0, &a) == 0 && ota_db_check_schema(a) == 0);
    CHECK_FATAL(ota_db_open(path, 0, &b) == 0 && ota_db_check_schema(b) == 0);
    CHECK_RC(srv_dbwatch_attach(&w, a), 0);
    CHECK_RC(srv_dbwatch_read(&w, b, &h0), -ENOTSUP);
    CHECK_RC(srv_dbwatch_read(&w, a, &h0), 0);
    CHECK_RC(srv_dbwatch_read(&w, a, &h1), 0);
    CHECK(srv_dbwatch_same(&h0, &h1));

    CHECK_RC(ota_db_vehicle_add(b, "VINB", "", "", NULL), 0);
    CHECK_RC(srv_dbwatch_read(&w, a, &h1), 0);
    CHECK(!srv_dbwatch_same(&h0, &h1));
    CHECK_RC(ota_db_vehicle_touch(a, "VINB", 100), 0);
    CHECK_RC(srv_dbwatch_read(&w, a, &h2), 0);
    CHECK(!srv_dbwatch_same(&h1, &h2));
    /* A read changes nothing. */
    {
        struct ota_vehicle *v = NULL;
        CHECK_RC(ota_db_vehicle_get(b, "VINB", &v), 0);
        ota_vehicle_free(v);
    }
    CHECK_RC(srv_dbwatch_read(&w, a, &h1), 0);
    CHECK(srv_dbwatch_same(&h1, &h2));
    ota_db_close(a);
    ota_db_close(b);
}

/* srv_cache on the fast path: entries stay while nothing commits, go at the next sync
 * after another connection's commit, however many syncs came before. */
static void test_cache(const char *path)
{
    struct ota_db *a = NULL, *b = NULL;
    struct srv_cache *c = NULL;
    struct srv_cache_entry *e;
    char id[16];

    CHECK_FATAL(ota_db_open(path, 0, &a) == 0 && ota_db_check_schema(a) == 0);
    CHECK_FATAL(ota_db_open(path, 0, &b) == 0 && ota_db_check_schema(b) == 0);
    CHECK_FATAL(srv_cache_new(&c) == 0);
    for (int round = 0; round < 20; round++) {
        CHECK_RC(srv_cache_sync(c, a), 0);
        e = srv_cache_entry(c, "VIN1");
        CHECK_FATAL(e != NULL);
        CHECK(!e->known);
        e->known = true;
        for (int i = 0; i < 5; i++) {
            CHECK_RC(srv_cache_sync(c, a), 0);
            e = srv_cache_entry(c, "VIN1");
            CHECK(e && e->known);
        }
        snprintf(id, sizeof(id), "VINX%d", round);
        CHECK_RC(ota_db_vehicle_add(b, id, "", "", NULL), 0);
        CHECK_RC(srv_cache_sync(c, a), 0);
        e = srv_cache_entry(c, "VIN1");
        CHECK(e && !e->known);
    }
    srv_cache_free(c);
    ota_db_close(a);
    ota_db_close(b);
}

int main(void)
{
    char dir[] = "/tmp/test_srv_dbwatch.XXXXXX", path[64];
    struct ota_db *db = NULL;

    test_crafted();
    CHECK_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ota.db", dir);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    ota_db_close(db);

    test_live(path);
    test_cache(path);

    ota_test_remove_db(path);
    rmdir(dir);
    TEST_DONE();
}
