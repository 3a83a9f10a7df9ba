/* srv_mapcache: one shared mapping per file, the right bytes, idle ones kept up to the
 * limit (least recently used unmapped first), the byte budget, and the gauge. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_test.h"
#include "srv_mapcache.h"
#include "srv_metrics.h"

#define SIZE 100000u

static const char *const names[] = { "r" }, *const methods[] = { "GET" };

/* A temp file of SIZE bytes, each byte (i + @seed) & 0xff; its fd (unlinked). */
static int make_file(unsigned seed)
{
    char path[] = "/tmp/test_srv_mapcache.XXXXXX";
    unsigned char buf[SIZE];
    int fd = mkstemp(path);

    CHECK_FATAL(fd >= 0);
    unlink(path);
    for (unsigned i = 0; i < SIZE; i++)
        buf[i] = (unsigned char)(i + seed);
    CHECK_FATAL(write(fd, buf, SIZE) == (ssize_t)SIZE);
    return fd;
}

/* A 64-hex-digit name, distinct per @n. */
static const char *sha(unsigned n, char buf[65])
{
    snprintf(buf, 65, "%064x", n);
    return buf;
}

static long long gauge(struct srv_metrics *m)
{
    return (long long)srv_metrics_mapped(m, 0);
}

int main(void)
{
    struct srv_metrics *metrics;
    struct srv_mapcache *c;
    struct srv_map *a, *a2, *b, *x, *d;
    char s[65];
    int fa = make_file(0), fb = make_file(7), fd3 = make_file(9);

    CHECK_FATAL(srv_metrics_new(names, methods, 1, &metrics) == 0);
    /* room for two files, one idle kept */
    CHECK_FATAL(srv_mapcache_new(metrics, 2 * SIZE, 1, &c) == 0);

    a = srv_mapcache_get(c, sha(1, s), fa, SIZE);
    CHECK_FATAL(a != NULL);
    CHECK_INT(a->size, SIZE);
    CHECK_INT((unsigned char)a->addr[0], 0);
    CHECK_INT((unsigned char)a->addr[SIZE - 1], (SIZE - 1) & 0xff);
    a2 = srv_mapcache_get(c, sha(1, s), fa, SIZE);
    CHECK(a2 == a); /* shared */
    CHECK_INT(gauge(metrics), SIZE);

    b = srv_mapcache_get(c, sha(2, s), fb, SIZE);
    CHECK_FATAL(b != NULL && b != a);
    CHECK_INT((unsigned char)b->addr[1], 8);
    CHECK_INT(gauge(metrics), 2 * SIZE);

    /* a third file while both are in use: over budget, nothing to evict */
    CHECK(srv_mapcache_get(c, sha(3, s), fd3, SIZE) == NULL);
    CHECK_INT(gauge(metrics), 2 * SIZE);
    /* a bad name is refused */
    CHECK(srv_mapcache_get(c, "abc", fd3, SIZE) == NULL);

    srv_mapcache_put(a2);
    srv_mapcache_put(a); /* idle, kept (keep_idle 1) */
    CHECK_INT(gauge(metrics), 2 * SIZE);
    x = srv_mapcache_get(c, sha(1, s), fa, SIZE);
    CHECK(x == a); /* reused, not mapped again */
    srv_mapcache_put(x);

    /* budget spent with 1 idle and b in use: the third file evicts the idle one */
    d = srv_mapcache_get(c, sha(3, s), fd3, SIZE);
    CHECK_FATAL(d != NULL);
    CHECK_INT((unsigned char)d->addr[2], 11);
    CHECK_INT(gauge(metrics), 2 * SIZE);

    /* two idle with keep_idle 1: the least recently used (b) goes */
    srv_mapcache_put(b);
    srv_mapcache_put(d);
    CHECK_INT(gauge(metrics), SIZE);
    x = srv_mapcache_get(c, sha(3, s), fd3, SIZE);
    CHECK(x == d); /* d was kept */
    srv_mapcache_put(x);

    srv_mapcache_put(NULL);
    srv_mapcache_free(c);
    CHECK_INT(gauge(metrics), 0);
    srv_metrics_free(metrics);
    close(fa);
    close(fb);
    close(fd3);
    TEST_DONE();
}
