/* Per-thread database connections and answer caches for the MHD worker threads (struct
 * ota_db is not shared). */
#include "srv_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct srv_db {
    pthread_key_t key;
    char *path;
};

/* What one thread owns; freed by the key's destructor when the thread ends. */
struct thread_state {
    struct ota_db *db;
    struct srv_cache *cache;
};

static void thread_state_free(void *p)
{
    struct thread_state *ts = p;

    if (!ts)
        return;
    srv_cache_free(ts->cache); /* first: it points into the connection's wal-index */
    ota_db_close(ts->db);
    free(ts);
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
    if (pthread_key_create(&d->key, thread_state_free) != 0) {
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

static struct thread_state *state(struct srv_db *d)
{
    struct thread_state *ts = pthread_getspecific(d->key);

    if (ts)
        return ts;
    ts = calloc(1, sizeof(*ts));
    if (!ts)
        return NULL;
    if (pthread_setspecific(d->key, ts) != 0) {
        free(ts);
        return NULL;
    }
    return ts;
}

struct ota_db *srv_db_get(struct srv_db *d)
{
    struct thread_state *ts = state(d);
    struct ota_db *db = NULL;

    if (!ts)
        return NULL;
    if (ts->db)
        return ts->db;
    if (ota_db_open(d->path, 0, &db) < 0)
        return NULL;
    if (ota_db_check_schema(db) < 0) {
        ota_db_close(db);
        return NULL;
    }
    ts->db = db;
    return db;
}

struct srv_cache *srv_db_cache(struct srv_db *d)
{
    struct thread_state *ts = state(d);

    if (!ts)
        return NULL;
    if (!ts->cache && srv_cache_new(&ts->cache) < 0)
        return NULL;
    return ts->cache;
}

void srv_db_free(struct srv_db *d)
{
    if (!d)
        return;
    /* Worker threads have ended (their destructors closed their connections); the
     * calling thread may hold one too. */
    thread_state_free(pthread_getspecific(d->key));
    pthread_setspecific(d->key, NULL);
    pthread_key_delete(d->key);
    free(d->path);
    free(d);
}
