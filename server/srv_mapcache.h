/* Shared read-only mappings of store files: one per file, used by every response that
 * sends from it, so GnuTLS encrypts straight from the page cache (no pread copy) and a
 * vehicle's run of Range requests pays mmap, page faults and munmap once, not per request.
 *
 * Store files are immutable (renamed into place whole, never truncated), so a mapping
 * stays valid as long as it exists. Mappings in flight plus a few idle ones are kept;
 * together they stay within a byte budget, which bounds the page tables they can cost
 * (about 2 MiB per GiB touched). The total is the ota_artifact_mapped_bytes gauge. */
#pragma once
#include <stdint.h>

struct srv_mapcache;
struct srv_metrics;

struct srv_map {
    const char *addr; /* the whole file */
    uint64_t size;
};

/* @budget: most bytes mapped at once; @keep_idle: unused mappings kept for reuse.
 * @metrics is borrowed (must outlive the cache). 0 or -ENOMEM. */
int srv_mapcache_new(struct srv_metrics *metrics, uint64_t budget, unsigned keep_idle,
                     struct srv_mapcache **ret);
/* Every mapping must have been released. */
void srv_mapcache_free(struct srv_mapcache *c);

/* The mapping of store file @fd, whose content is @sha256 (@size bytes), shared; a new
 * one when none is kept. NULL when the budget is spent or mmap fails (the caller streams
 * instead). Thread-safe. Release with srv_mapcache_put(). */
struct srv_map *srv_mapcache_get(struct srv_mapcache *c, const char *sha256, int fd,
                                 uint64_t size);
/* Releases @m (NULL is a no-op); the last user's release keeps it idle or unmaps it. */
void srv_mapcache_put(struct srv_map *m);
