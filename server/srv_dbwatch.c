/* Reads SQLite's wal-index header to tell "no commit since" without a read transaction.
 *
 * Why this is enough to keep srv_cache's answers (the cache must never serve a cancelled
 * campaign or a revoked vehicle after the change was committed):
 *
 * 1. What we read. ota_db_wal_index() hands out the wal-index mapping of this thread's own
 *    connection, obtained from SQLite through its VFS (xShmMap on the connection's file):
 *    the same memory SQLite reads in walIndexTryHdr() to decide whether the database
 *    changed, the test behind PRAGMA data_version in WAL mode (a header that differs from
 *    the connection's copy resets its page cache and bumps data_version). So there is no
 *    second opening of "<db>-shm" that could name another file than the one the
 *    connection uses (a database file renamed or replaced under a running server, a shm
 *    file deleted and re-created): we watch exactly what the connection reads. The mapping
 *    lives as long as the connection (SQLite unmaps it only when the connection closes or
 *    leaves WAL mode; ota_db opens connections in WAL mode and nothing changes that on a
 *    server connection; while it is open it holds a SHARED lock on the database file, so
 *    no other connection can leave WAL mode, and its DMS lock keeps the file from being
 *    truncated or re-initialised).
 *
 * 2. Every commit changes the header. A commit by any connection of any process ends in
 *    walIndexWriteHdr(), before the commit returns and before the WAL write lock is
 *    released: iChange is incremented, mxFrame/aFrameCksum/nPage follow the new frames and
 *    aCksum covers it all; a WAL restart (the first write after a complete checkpoint, or
 *    wal_checkpoint(RESTART/TRUNCATE)) also writes a header with new salts and mxFrame 0.
 *    A checkpoint alone copies pages and changes no content, and only nBackfill (outside
 *    the header); a rolled-back write never writes the header. The same 48 bytes can only
 *    come back after 2^32 commits with identical salts and frame counts: not a concern.
 *
 * 3. Torn reads. walIndexWriteHdr() writes copy 1, a full barrier, then copy 0. We read
 *    copy 0, a barrier, then copy 1 (as walIndexTryHdr() does) and accept only equal
 *    copies with isInit set, the version SQLite writes and a matching checksum. If our read
 *    of copy 0 saw any store of a header write, the barriers make the whole of that write's
 *    copy 1 visible to our read of copy 1, which then differs from an older header. So two
 *    equal copies that also equal the header last recorded mean: every commit that had
 *    finished before this read had finished before that header was recorded. A commit
 *    still in flight is ordered after this request, as it would be under any lock.
 *
 * 4. How srv_cache uses it (srv_cache_sync()). The slow path reads the header FIRST, then
 *    PRAGMA data_version, which stays the source of truth: a changed data_version drops
 *    the cache. The header is recorded only if it was read consistently; entries kept or
 *    filled after the pragma reflect every commit before the pragma, hence every commit
 *    before the recorded header. The fast path keeps the cache only when a consistent
 *    header equals the recorded one: no commit since, so the entries are as current as the
 *    data_version path would have made them. Anything else (copies differ, no mapping,
 *    another connection, a failed read, the first request) takes the slow path. This
 *    thread's own commits change the header but not its data_version: they take the slow
 *    path once, and srv_route drops or corrects the cache after them as before.
 */
#include "srv_dbwatch.h"

#include <errno.h>
#include <string.h>

#define HDR_WORDS       12
#define WALINDEX_VERSION 3007000u /* WALINDEX_MAX_VERSION, the iVersion SQLite writes */

int srv_dbwatch_attach(struct srv_dbwatch *w, struct ota_db *db)
{
    const volatile void *p = NULL;

    w->db = NULL;
    w->shm = NULL;
    if (ota_db_wal_index(db, &p) < 0 || ((uintptr_t)p & 3) != 0)
        return -ENOTSUP;
    w->shm = p;
    w->db = db;
    return 0;
}

/* walChecksumBytes() over the first 40 bytes, native byte order, as SQLite checksums the
 * wal-index header. */
static bool checksum_ok(const uint32_t *h)
{
    uint32_t s1 = 0, s2 = 0;

    for (int i = 0; i < 10; i += 2) {
        s1 += h[i] + s2;
        s2 += h[i + 1] + s1;
    }
    return s1 == h[10] && s2 == h[11];
}

int srv_dbwatch_read(const struct srv_dbwatch *w, const struct ota_db *db,
                     struct srv_dbwatch_hdr *ret)
{
    uint32_t a[HDR_WORDS], b[HDR_WORDS];
    uint8_t is_init;

    if (!w->shm || w->db != db)
        return -ENOTSUP;
    /* Shared with writers in other processes: word loads (the mapping is page-aligned),
     * and a full barrier between the two copies, like SQLite's walShmBarrier(). */
    for (int i = 0; i < HDR_WORDS; i++)
        a[i] = __atomic_load_n(&w->shm[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (int i = 0; i < HDR_WORDS; i++)
        b[i] = __atomic_load_n(&w->shm[HDR_WORDS + i], __ATOMIC_RELAXED);
    if (memcmp(a, b, sizeof(a)) != 0)
        return -EAGAIN;
    memcpy(&is_init, (const uint8_t *)a + 12, 1); /* WalIndexHdr.isInit */
    if (a[0] != WALINDEX_VERSION || is_init != 1 || !checksum_ok(a))
        return -EAGAIN;
    memcpy(ret->w, a, sizeof(a));
    return 0;
}

bool srv_dbwatch_same(const struct srv_dbwatch_hdr *a, const struct srv_dbwatch_hdr *b)
{
    return memcmp(a->w, b->w, sizeof(a->w)) == 0;
}
