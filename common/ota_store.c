/* Content-addressed artifact store: streaming ingest that hashes while it copies, in parallel. */
#include "ota_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <sodium.h>

#include "ota_util.h"

/* Memory is STORE_NBUF * STORE_CHUNK (8 MiB) whatever the artifact's size. Eight slots give
 * the lanes (below) room to drift apart, so no thread waits on another for long. */
#define STORE_CHUNK      (1u << 20)
#define STORE_NBUF       8
#define STORE_TMP_PREFIX "ingest."
/* Files younger than this are never collected: an upload's temp file before it is locked,
 * or its store file before its row is committed (which waits up to the busy timeout). */
#define STORE_GC_MIN_AGE 60
/* O_DIRECT needs buffers, offsets and lengths aligned to the device's logical block. */
#define STORE_DIRECT_ALIGN 4096
/* Buffered fallback: start writeback every 8 MiB so the final fsync() has little to do. */
#define STORE_WRITEBACK_BYTES (8u << 20)
/* Artifacts are immutable once named by their hash: read-only for everyone, so no tool
 * (nor the server, which only reads) edits one in place; the store folder's own mode
 * decides who may read at all. */
#define STORE_FILE_MODE 0444

/* One pass, three threads. The calling thread reads chunks into a ring. Each digest is a
 * "lane" that consumes the chunks in order, and different lanes run at once: the calling
 * thread and one helper thread each take whichever digest lane is furthest behind, so the
 * hashing balances itself over two cores whatever the relative speeds (on a 2-core EPYC
 * with SHA-NI, MB/s on one core: SHA-256 1700, SHA-1 1800, BLAKE2b 1000, MD5 650, about
 * 3.7 s of CPU per GiB in all). Writing the copy is a fifth lane with its own thread, so
 * time blocked on the disk costs no hashing. The copy is written with O_DIRECT where the
 * filesystem allows it: no second copy through the page cache (half a second of CPU per
 * GiB here) and nothing left for fsync() to flush. */
enum store_lane {
    LANE_SHA256,
    LANE_SHA1,
    LANE_MD5,
    LANE_BLAKE2B,
    LANE_HASHES,
    LANE_WRITE = LANE_HASHES,
    LANE_COUNT
};

struct store_pipe {
    crypto_generichash_state blake2b; /* first: it needs 64-byte alignment */
    gnutls_hash_hd_t gnutls[LANE_HASHES];
    int out;                  /* the copy, or -1 (hash only: no write lane) */
    bool direct;              /* out has O_DIRECT; only the writer thread changes it */
    uint64_t written, kicked; /* writer thread only */
    pthread_mutex_t lock;
    pthread_cond_t work;       /* a chunk or a lane became available, or the end: workers wait */
    pthread_cond_t progress;   /* a lane finished a chunk: the reader waits for a free slot */
    uint64_t produced;         /* chunks in the ring so far; chunk k is in slot k % NBUF */
    uint64_t next[LANE_COUNT]; /* the next chunk of each lane */
    bool busy[LANE_COUNT];     /* a thread works on this lane (outside the lock) */
    int nlanes;                /* LANE_COUNT with a copy, LANE_HASHES without */
    bool eof;                  /* no more chunks will come */
    bool abort;                /* stop now, the result is thrown away */
    int err;                   /* why the writer aborted */
    size_t len[STORE_NBUF];
    uint8_t *buf; /* STORE_NBUF * STORE_CHUNK, aligned for O_DIRECT */
};

static void lane_update(struct store_pipe *p, enum store_lane lane, const uint8_t *data, size_t n)
{
    if (lane == LANE_BLAKE2B)
        crypto_generichash_update(&p->blake2b, data, n);
    else
        gnutls_hash(p->gnutls[lane], data, n);
}

/* With the lock held: the idle digest lane with a chunk waiting that is furthest behind, or
 * -1. */
static int lane_pick(const struct store_pipe *p)
{
    int best = -1;

    for (int lane = 0; lane < LANE_HASHES; lane++)
        if (!p->busy[lane] && p->next[lane] < p->produced &&
            (best < 0 || p->next[lane] < p->next[best]))
            best = lane;
    return best;
}

/* With the lock held: true when every lane has finished every chunk produced. */
static bool lanes_idle_done(const struct store_pipe *p)
{
    for (int lane = 0; lane < p->nlanes; lane++)
        if (p->busy[lane] || p->next[lane] != p->produced)
            return false;
    return true;
}

/* With the lock held: a chunk keeps its slot until every lane is past it. */
static bool ring_full(const struct store_pipe *p)
{
    uint64_t oldest = p->produced;

    for (int lane = 0; lane < p->nlanes; lane++)
        if (p->next[lane] < oldest)
            oldest = p->next[lane];
    return p->produced - oldest >= STORE_NBUF;
}

/* With the lock held (dropped meanwhile): hashes @lane's next chunk. The reader does not
 * reuse a slot until every lane has moved past it, so the bytes stay put. */
static void lane_run(struct store_pipe *p, int lane)
{
    size_t slot = p->next[lane] % STORE_NBUF, n = p->len[slot];

    p->busy[lane] = true;
    pthread_mutex_unlock(&p->lock);
    lane_update(p, lane, p->buf + slot * STORE_CHUNK, n);
    pthread_mutex_lock(&p->lock);
    p->busy[lane] = false;
    p->next[lane]++;
    pthread_cond_broadcast(&p->work); /* this lane may have more */
    pthread_cond_signal(&p->progress);
}

static void *helper_main(void *arg)
{
    struct store_pipe *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->abort) {
        int lane = lane_pick(p);

        if (lane >= 0)
            lane_run(p, lane);
        else if (p->eof && lanes_idle_done(p))
            break;
        else
            pthread_cond_wait(&p->work, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void direct_off(struct store_pipe *p)
{
    int fl = fcntl(p->out, F_GETFL);

    if (fl >= 0)
        fcntl(p->out, F_SETFL, fl & ~O_DIRECT);
    p->direct = false;
}

/* Writer thread only. A direct write needs an aligned length (the last chunk seldom has
 * one) and some filesystems refuse it at write time (EINVAL): both go buffered. */
static int write_chunk(struct store_pipe *p, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t put;

        if (p->direct && n % STORE_DIRECT_ALIGN != 0)
            direct_off(p);
        put = write(p->out, buf, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0 && errno == EINVAL && p->direct) {
            direct_off(p);
            continue;
        }
        if (put < 0)
            return -errno;
        buf += put;
        n -= (size_t)put;
        p->written += (uint64_t)put;
    }
    if (!p->direct && p->written - p->kicked >= STORE_WRITEBACK_BYTES) {
        /* Asynchronous: queues the range for writeback; errors surface at fsync(). */
        sync_file_range(p->out, (off_t)p->kicked, (off_t)(p->written - p->kicked),
                        SYNC_FILE_RANGE_WRITE);
        p->kicked = p->written;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct store_pipe *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->abort) {
        if (p->next[LANE_WRITE] < p->produced) {
            size_t slot = p->next[LANE_WRITE] % STORE_NBUF, n = p->len[slot];
            int r;

            p->busy[LANE_WRITE] = true;
            pthread_mutex_unlock(&p->lock);
            r = write_chunk(p, p->buf + slot * STORE_CHUNK, n);
            pthread_mutex_lock(&p->lock);
            p->busy[LANE_WRITE] = false;
            if (r < 0) {
                p->err = r;
                p->abort = true;
                pthread_cond_broadcast(&p->work);
            } else {
                p->next[LANE_WRITE]++;
            }
            pthread_cond_signal(&p->progress);
        } else if (p->eof) {
            break;
        } else {
            pthread_cond_wait(&p->work, &p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void pipe_free(struct store_pipe *p)
{
    if (!p)
        return;
    for (int lane = 0; lane < LANE_HASHES; lane++)
        if (p->gnutls[lane])
            gnutls_hash_deinit(p->gnutls[lane], NULL);
    pthread_cond_destroy(&p->progress);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->buf);
    free(p);
}

static int pipe_new(int out, struct store_pipe **ret)
{
    static const gnutls_digest_algorithm_t algs[LANE_HASHES] = {
        [LANE_SHA256] = GNUTLS_DIG_SHA256,
        [LANE_SHA1] = GNUTLS_DIG_SHA1,
        [LANE_MD5] = GNUTLS_DIG_MD5,
    };
    struct store_pipe *p = NULL;
    void *mem = NULL;
    int r = -ENOMEM, fl;

    /* libsodium picks its AVX2 BLAKE2b only after sodium_init(). */
    if (sodium_init() < 0)
        return -EIO;
    if (posix_memalign(&mem, 64, sizeof *p) != 0)
        return -ENOMEM;
    p = mem;
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->progress, NULL);
    p->out = out;
    fl = out >= 0 ? fcntl(out, F_GETFL) : 0;
    p->direct = fl > 0 && (fl & O_DIRECT);
    p->nlanes = out >= 0 ? LANE_COUNT : LANE_HASHES;
    if (posix_memalign(&mem, STORE_DIRECT_ALIGN, (size_t)STORE_NBUF * STORE_CHUNK) != 0)
        goto out;
    p->buf = mem;
    for (int lane = 0; lane < LANE_HASHES; lane++) {
        if (lane == LANE_BLAKE2B)
            continue;
        if (gnutls_hash_init(&p->gnutls[lane], algs[lane]) < 0) {
            p->gnutls[lane] = NULL;
            r = -EIO;
            goto out;
        }
    }
    crypto_generichash_init(&p->blake2b, NULL, 0, OTA_SIGN_BLAKE2B_BYTES);
    *ret = p;
    p = NULL;
    r = 0;
out:
    pipe_free(p);
    return r;
}

static void pipe_finish(struct store_pipe *p, uint64_t size, struct ota_store_digests *ret)
{
    uint8_t raw[32];

    gnutls_hash_deinit(p->gnutls[LANE_SHA256], raw);
    ota_hex(raw, 32, ret->sha256);
    gnutls_hash_deinit(p->gnutls[LANE_SHA1], raw);
    ota_hex(raw, 20, ret->sha1);
    gnutls_hash_deinit(p->gnutls[LANE_MD5], raw);
    ota_hex(raw, 16, ret->md5);
    memset(p->gnutls, 0, sizeof p->gnutls);
    crypto_generichash_final(&p->blake2b, ret->blake2b, OTA_SIGN_BLAKE2B_BYTES);
    ret->size = size;
}

/* Fills @buf up to @cap bytes (less only at end of file). */
static int read_full(int fd, uint8_t *buf, size_t cap, size_t *ret_n)
{
    size_t n = 0;

    while (n < cap) {
        ssize_t got = read(fd, buf + n, cap - n);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *ret_n = n;
    return 0;
}

/* Stops the workers (with the lock held); they exit once they notice. */
static void pipe_abort(struct store_pipe *p)
{
    p->abort = true;
    pthread_cond_broadcast(&p->work);
}

/* One pass over @in: every digest, and a copy to @out unless it is -1. */
static int pipe_run(int in, int out, ota_store_progress_fn *progress, void *ctx,
                    struct ota_store_digests *ret)
{
    struct store_pipe *p = NULL;
    pthread_t helper, writer;
    bool has_writer = false;
    uint64_t done = 0, total = 0;
    struct stat st;
    int r;

    if (fstat(in, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (S_ISREG(st.st_mode)) {
        total = (uint64_t)st.st_size;
        posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint: failure is harmless */
    }
    r = pipe_new(out, &p);
    if (r < 0)
        return r;
    r = -pthread_create(&helper, NULL, helper_main, p);
    if (r < 0)
        goto out;
    if (out >= 0) {
        r = -pthread_create(&writer, NULL, writer_main, p);
        has_writer = r == 0;
    }

    pthread_mutex_lock(&p->lock);
    while (r == 0) {
        int lane;

        if (p->abort) {
            r = p->err < 0 ? p->err : -EIO;
        } else if (!p->eof && !ring_full(p)) {
            /* Only this thread moves produced, so the slot stays ours while unlocked. */
            size_t slot = p->produced % STORE_NBUF, n = 0;

            pthread_mutex_unlock(&p->lock);
            r = read_full(in, p->buf + slot * STORE_CHUNK, STORE_CHUNK, &n);
            if (r == 0 && n > 0) {
                done += n;
                if (progress)
                    r = progress(done, total, ctx);
            }
            pthread_mutex_lock(&p->lock);
            if (r == 0 && n == 0) {
                p->eof = true;
            } else if (r == 0) {
                p->len[slot] = n;
                p->produced++;
            }
            pthread_cond_broadcast(&p->work);
        } else if ((lane = lane_pick(p)) >= 0) {
            lane_run(p, lane);
        } else if (p->eof && lanes_idle_done(p)) {
            break;
        } else {
            pthread_cond_wait(&p->progress, &p->lock);
        }
    }
    if (r < 0)
        pipe_abort(p);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    pthread_join(helper, NULL);
    if (has_writer)
        pthread_join(writer, NULL);
out:
    if (r == 0)
        pipe_finish(p, done, ret);
    pipe_free(p);
    return r;
}

static int mkdir_ok(const char *path, mode_t mode, bool *ret_created)
{
    if (mkdir(path, mode) == 0) {
        if (ret_created)
            *ret_created = true;
        return 0;
    }
    if (errno != EEXIST)
        return -errno;
    if (ret_created)
        *ret_created = false;
    return 0;
}

/* Whether @name in @dirfd is a temp file that no ingest holds: its lock can be had. */
static bool tmp_stale(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    bool stale;

    if (fd < 0)
        return false;
    stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return stale;
}

/* Best effort: removes ingest temp files left by a killed upload (no lock on them). */
static void remove_stale_tmp(const char *tmpdir)
{
    struct dirent *de;
    DIR *d = opendir(tmpdir);

    if (!d)
        return;
    while ((de = readdir(d))) {
        struct stat st;

        if (strncmp(de->d_name, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) != 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_mtime <= time(NULL) - STORE_GC_MIN_AGE && tmp_stale(dirfd(d), de->d_name))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

int ota_store_init(const char *store)
{
    char path[4096];
    int r;

    r = mkdir_ok(store, 0755, NULL);
    if (r < 0)
        return r;
    if ((size_t)snprintf(path, sizeof path, "%s/sha256", store) >= sizeof path)
        return -ENAMETOOLONG;
    r = mkdir_ok(path, 0755, NULL);
    if (r < 0)
        return r;
    if ((size_t)snprintf(path, sizeof path, "%s/tmp", store) >= sizeof path)
        return -ENAMETOOLONG;
    r = mkdir_ok(path, 0700, NULL);
    if (r < 0)
        return r;
    remove_stale_tmp(path);
    return ota_fsync_path(store, O_RDONLY | O_DIRECTORY);
}

int ota_store_ingest_fd(const char *store, int fd, ota_store_progress_fn *progress, void *ctx,
                        struct ota_store_digests *ret)
{
    struct ota_store_digests d;
    char tmp[4096], shadir[4096], fandir[4096], dst[4096];
    bool created = false;
    struct stat st, before, after;
    int out = -1, r;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/" STORE_TMP_PREFIX "XXXXXX", store) >=
            sizeof tmp ||
        (size_t)snprintf(shadir, sizeof shadir, "%s/sha256", store) >= sizeof shadir)
        return -ENAMETOOLONG;
    /* A bad input fd fails here, before a temp file exists (and could reuse its number). */
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (stat(shadir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    out = mkostemp(tmp, O_CLOEXEC | O_DIRECT);
    if (out < 0 && errno == EINVAL) {
        /* No O_DIRECT here (tmpfs before Linux 6.6, some FUSE): buffered it is. */
        snprintf(tmp, sizeof tmp, "%s/tmp/" STORE_TMP_PREFIX "XXXXXX", store);
        out = mkostemp(tmp, O_CLOEXEC);
    }
    if (out < 0)
        return -errno;
    /* held until the file is renamed or removed: a gc running meanwhile leaves it alone */
    if (flock(out, LOCK_EX) < 0) {
        r = -errno;
        goto out;
    }
    if (fstat(fd, &before) < 0) {
        r = -errno;
        goto out;
    }

    memset(&d, 0, sizeof d);
    r = pipe_run(fd, out, progress, ctx, &d);
    if (r < 0)
        goto out;
    /* A file truncated, grown or rewritten while it was read would be stored and signed
     * as something its owner never had. */
    if (S_ISREG(before.st_mode) &&
        (fstat(fd, &after) < 0 || after.st_size != before.st_size ||
         (uint64_t)before.st_size != d.size ||
         after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
         after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
         after.st_ctim.tv_nsec != before.st_ctim.tv_nsec)) {
        r = -ESTALE;
        goto out;
    }
    if (fsync(out) < 0 || fchmod(out, STORE_FILE_MODE) < 0) {
        r = -errno;
        goto out;
    }
    r = close(out) < 0 ? -errno : 0;
    out = -1;
    if (r < 0)
        goto out;

    r = ota_store_path(store, d.sha256, dst, sizeof dst);
    if (r < 0)
        goto out;
    /* dst is "<fandir>/<64 hex>": cut it there. */
    memcpy(fandir, dst, sizeof fandir);
    fandir[strlen(dst) - 65] = '\0';
    r = mkdir_ok(fandir, 0755, &created);
    if (r < 0)
        goto out;
    /* Same name means same bytes; a size mismatch would be a damaged copy, so replace it. */
    if (stat(dst, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == d.size) {
        r = 0;
        goto out; /* the temp copy is dropped below */
    }
    if (rename(tmp, dst) < 0) {
        r = -errno;
        goto out;
    }
    tmp[0] = '\0';
    r = ota_fsync_path(fandir, O_RDONLY | O_DIRECTORY);
    if (r == 0 && created)
        r = ota_fsync_path(shadir, O_RDONLY | O_DIRECTORY);
    /* After the rename the artifact is complete even if an fsync of its folder failed;
     * report the error, but it is not a partial file, so it stays. */
out:
    if (out >= 0)
        close(out);
    if (tmp[0])
        unlink(tmp);
    if (r == 0)
        *ret = d;
    return r;
}

int ota_store_hash_fd(int fd, struct ota_store_digests *ret)
{
    struct ota_store_digests d;
    int r;

    memset(&d, 0, sizeof d);
    r = pipe_run(fd, -1, NULL, NULL, &d);
    if (r == 0)
        *ret = d;
    return r;
}

int ota_store_path(const char *store, const char *sha256, char *buf, size_t len)
{
    int n;

    if (!sha256 || !ota_sha256_hex_valid(sha256))
        return -EINVAL;
    n = snprintf(buf, len, "%s/sha256/%.2s/%s", store, sha256, sha256);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int ota_store_open(const char *store, const char *sha256)
{
    char path[4096];
    int fd, r;

    r = ota_store_path(store, sha256, path, sizeof path);
    if (r < 0)
        return r;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : fd;
}

int ota_store_remove(const char *store, const char *sha256)
{
    char path[4096];
    int r = ota_store_path(store, sha256, path, sizeof path);

    if (r < 0)
        return r;
    return unlink(path) < 0 ? -errno : 0;
}

static void note_err(int *first, int r)
{
    if (*first == 0 && r < 0)
        *first = r;
}

/* Removes the temp files of killed uploads from @store/tmp. */
static int gc_tmp(const char *store, bool dry_run, struct ota_store_gc_report *rep)
{
    char path[4096];
    struct dirent *de;
    DIR *d;
    int r = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/tmp", store) >= sizeof path)
        return -ENAMETOOLONG;
    if (!(d = opendir(path)))
        return errno == ENOENT ? 0 : -errno;
    while ((de = readdir(d))) {
        struct stat st;

        /* a file a few seconds old may be an upload between creating and locking it */
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || st.st_mtime > time(NULL) - STORE_GC_MIN_AGE ||
            !tmp_stale(dirfd(d), de->d_name))
            continue;
        if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0) {
            note_err(&r, -errno);
            continue;
        }
        rep->tmp_files++;
        rep->tmp_bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    return r;
}

/* Removes the files of @store/sha256/<2 hex>/ that @keep does not want. */
static int gc_files(const char *store, bool (*keep)(const char *, void *), void *ctx,
                    bool dry_run, struct ota_store_gc_report *rep)
{
    char path[4096];
    struct dirent *fan;
    DIR *top;
    int r = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/sha256", store) >= sizeof path)
        return -ENAMETOOLONG;
    if (!(top = opendir(path)))
        return errno == ENOENT ? 0 : -errno;
    while ((fan = readdir(top))) {
        struct dirent *de;
        int fd;
        DIR *d;

        if (fan->d_name[0] == '.')
            continue;
        fd = openat(dirfd(top), fan->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || !(d = fdopendir(fd))) {
            note_err(&r, -errno);
            if (fd >= 0)
                close(fd);
            continue;
        }
        while ((de = readdir(d))) {
            struct stat st;

            if (de->d_name[0] == '.' ||
                fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            /* only what the store itself names: 64 hex digits under their first two; a
             * file of the last minute may be an upload whose row is not committed yet */
            if (S_ISREG(st.st_mode) && ota_sha256_hex_valid(de->d_name) &&
                strncmp(de->d_name, fan->d_name, 2) == 0 &&
                (keep(de->d_name, ctx) || st.st_mtime > time(NULL) - STORE_GC_MIN_AGE)) {
                rep->kept_files++;
                continue;
            }
            if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0) {
                note_err(&r, -errno);
                continue;
            }
            rep->orphan_files++;
            rep->orphan_bytes += (uint64_t)st.st_size;
        }
        closedir(d);
    }
    closedir(top);
    return r;
}

int ota_store_gc(const char *store, bool (*keep)(const char *sha256, void *ctx), void *ctx,
                 bool dry_run, struct ota_store_gc_report *ret)
{
    struct ota_store_gc_report rep = { 0 };
    int r = gc_tmp(store, dry_run, &rep), r2 = gc_files(store, keep, ctx, dry_run, &rep);

    *ret = rep;
    return r < 0 ? r : r2;
}
