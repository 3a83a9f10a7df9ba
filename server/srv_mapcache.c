/* Shared read-only mappings of store files: see srv_mapcache.h. */
#include "srv_mapcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "srv_metrics.h"

/* Mappings up to this size are populated at once (one call, not one fault per 64 KiB);
 * populating a large one up front would stall the thread's other connections. */
#define POPULATE_MAX (8u * 1024 * 1024)

struct entry {
    struct srv_map pub; /* first: srv_mapcache_put() gets back here */
    struct srv_mapcache *cache;
    char sha256[65];
    unsigned refs;
    struct entry *prev, *next; /* most recently used first */
};

struct srv_mapcache {
    pthread_mutex_t lock;
    struct entry *head, *tail;
    uint64_t mapped; /* bytes of every entry */
    uint64_t budget;
    unsigned idle, keep_idle;
    struct srv_metrics *metrics;
};

int srv_mapcache_new(struct srv_metrics *metrics, uint64_t budget, unsigned keep_idle,
                     struct srv_mapcache **ret)
{
    struct srv_mapcache *c = calloc(1, sizeof(*c));

    if (!c)
        return -ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return -ENOMEM;
    }
    c->budget = budget;
    c->keep_idle = keep_idle;
    c->metrics = metrics;
    *ret = c;
    return 0;
}

static void unlink_entry(struct srv_mapcache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct srv_mapcache *c, struct entry *e)
{
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* Called with the lock held, for an entry nobody uses. */
static void destroy(struct srv_mapcache *c, struct entry *e)
{
    unlink_entry(c, e);
    munmap((void *)e->pub.addr, (size_t)e->pub.size);
    c->mapped -= e->pub.size;
    c->idle--;
    srv_metrics_mapped(c->metrics, -(int64_t)e->pub.size);
    free(e);
}

/* Unmaps the least recently used idle mapping; false when there is none. */
static bool evict_one(struct srv_mapcache *c)
{
    for (struct entry *e = c->tail; e; e = e->prev)
        if (e->refs == 0) {
            destroy(c, e);
            return true;
        }
    return false;
}

void srv_mapcache_free(struct srv_mapcache *c)
{
    if (!c)
        return;
    while (evict_one(c))
        ;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static struct entry *map_new(struct srv_mapcache *c, const char *sha256, int fd, uint64_t size)
{
    struct entry *e;
    void *addr;

    if (size == 0 || size > SIZE_MAX)
        return NULL;
    while (c->mapped + size > c->budget && evict_one(c))
        ;
    if (c->mapped + size > c->budget)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    addr = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED | (size <= POPULATE_MAX ? MAP_POPULATE : 0),
                fd, 0);
    if (addr == MAP_FAILED) {
        free(e);
        return NULL;
    }
    e->pub.addr = addr;
    e->pub.size = size;
    e->cache = c;
    memcpy(e->sha256, sha256, sizeof(e->sha256) - 1);
    c->mapped += size;
    srv_metrics_mapped(c->metrics, (int64_t)size);
    push_front(c, e);
    return e;
}

struct srv_map *srv_mapcache_get(struct srv_mapcache *c, const char *sha256, int fd,
                                 uint64_t size)
{
    struct entry *e;

    if (strlen(sha256) != sizeof(e->sha256) - 1)
        return NULL;
    pthread_mutex_lock(&c->lock);
    for (e = c->head; e; e = e->next)
        if (e->pub.size == size && memcmp(e->sha256, sha256, sizeof(e->sha256) - 1) == 0)
            break;
    if (e) {
        if (e->refs == 0)
            c->idle--;
        unlink_entry(c, e);
        push_front(c, e);
    } else {
        e = map_new(c, sha256, fd, size);
    }
    if (e)
        e->refs++;
    pthread_mutex_unlock(&c->lock);
    return e ? &e->pub : NULL;
}

void srv_mapcache_put(struct srv_map *m)
{
    struct entry *e = (struct entry *)m;
    struct srv_mapcache *c;

    if (!e)
        return;
    c = e->cache;
    pthread_mutex_lock(&c->lock);
    if (--e->refs == 0) {
        c->idle++;
        while (c->idle > c->keep_idle && evict_one(c))
            ;
    }
    pthread_mutex_unlock(&c->lock);
}
