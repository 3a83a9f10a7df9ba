/* Per-thread database connections for the MHD worker threads (struct ota_db is not shared). */
#include "srv_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_db {
    pthread_key_t key;
    char *path;
};

static void close_db(void *p)
{
    ota_db_close(p);
}

int srv_db_new(const char *path, struct srv_db **ret)
{
    struct srv_db *d = calloc(1, sizeof(*d));
    int r = -ENOMEM;

    if (!d)
        goto out;
    d->path = strdup(path);
    if (!d->path)
        goto out;
    if (pthread_key_create(&d->key, close_db) != 0) {
        r = -EAGAIN;
        goto out;
    }
    *ret = d;
    d = NULL;
    r = 0;
out:
    if (d)
        free(d->path);
    free(d);
    return r;
}

struct ota_db *srv_db_get(struct srv_db *d)
{
    struct ota_db *db = pthread_getspecific(d->key);

    if (db)
        return db;
    if (ota_db_open(d->path, 0, &db) < 0)
        return NULL;
    if (ota_db_check_schema(db) < 0 || pthread_setspecific(d->key, db) != 0) {
        ota_db_close(db);
        return NULL;
    }
    return db;
}

void srv_db_free(struct srv_db *d)
{
    if (!d)
        return;
    /* Worker threads have ended (their destructors closed their connections); the
     * calling thread may hold one too. */
    ota_db_close(pthread_getspecific(d->key));
    pthread_setspecific(d->key, NULL);
    pthread_key_delete(d->key);
    free(d->path);
    free(d);
}
