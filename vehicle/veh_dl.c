/* Artifact download attempts: resume, bounds and injected faults. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ota_util.h"
#include "veh_dl.h"

int veh_dl_open(struct veh_dl *dl, const char *path, const char *sha256, uint64_t size,
                const struct veh_faults *faults)
{
    struct stat st;

    memset(dl, 0, sizeof(*dl));
    dl->fd = -1;
    if (snprintf(dl->path, sizeof(dl->path), "%s", path) >= (int)sizeof(dl->path))
        return -ENAMETOOLONG;
    snprintf(dl->sha256, sizeof(dl->sha256), "%s", sha256);
    dl->size = size;
    dl->faults = faults;
    dl->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dl->fd < 0)
        return -errno;
    if (fstat(dl->fd, &st) < 0)
        return -errno;
    dl->have = veh_range_start((uint64_t)st.st_size, size);
    if (dl->have != (uint64_t)st.st_size && ftruncate(dl->fd, (off_t)dl->have) < 0)
        return -errno;
    return 0;
}

static void set_reason(struct veh_dl *dl, const char *fmt, const char *detail)
{
    snprintf(dl->reason, sizeof(dl->reason), fmt, detail);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Applies the decision for the response whose body starts now. Returns false to abort. */
static bool decide(struct veh_dl *dl)
{
    const char *why;

    dl->decided = true;
    dl->decision = veh_range_decide(&dl->resp, dl->offset, dl->size, dl->sha256, &why);
    switch (dl->decision) {
    case VEH_RESUME_APPEND:
        if (lseek(dl->fd, (off_t)dl->offset, SEEK_SET) < 0)
            goto io_error;
        return true;
    case VEH_RESUME_RESTART:
    case VEH_RESUME_DISCARD:
        if (ftruncate(dl->fd, 0) < 0 || lseek(dl->fd, 0, SEEK_SET) < 0)
            goto io_error;
        dl->have = 0;
        dl->offset = 0;
        set_reason(dl, "%s", why);
        return dl->decision == VEH_RESUME_RESTART;
    case VEH_RESUME_FAIL:
    default:
        snprintf(dl->reason, sizeof(dl->reason), "%s (HTTP %ld)", why, dl->resp.status);
        return false;
    }
io_error:
    dl->write_errno = errno;
    set_reason(dl, "partial file: %s", strerror(errno));
    return false;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userdata)
{
    struct veh_dl *dl = userdata;
    const struct veh_faults *f = dl->faults;
    size_t len = size * n, take = len;
    bool cut = false;
    int r;

    if (!dl->decided && !decide(dl))
        return 0;
    if (len > dl->size - dl->have) {
        dl->too_long = true;
        set_reason(dl, "%s", "server sent more than the announced size");
        return 0;
    }
    if (f && f->stall_s && !dl->stalled && dl->have >= dl->size / 2) {
        dl->stalled = true;
        dl->paused = true;
        dl->stall_until_ms = ota_monotonic_ms() + (int64_t)f->stall_s * 1000;
        return CURL_WRITEFUNC_PAUSE; /* the same data comes again after unpausing */
    }
    if (f && f->cut_after && dl->cuts_done < f->cuts && dl->got + len > f->cut_after) {
        take = (size_t)(f->cut_after - dl->got);
        cut = true;
    }
    if ((r = write_all(dl->fd, p, take)) < 0) {
        dl->write_errno = -r;
        set_reason(dl, "partial file: %s", strerror(-r));
        return 0;
    }
    if (f && f->corrupt_at >= 0 && (uint64_t)f->corrupt_at >= dl->have &&
        (uint64_t)f->corrupt_at < dl->have + take) {
        char c = (char)(p[(uint64_t)f->corrupt_at - dl->have] ^ 0x5a);

        if (pwrite(dl->fd, &c, 1, (off_t)f->corrupt_at) != 1) {
            dl->write_errno = errno;
            return 0;
        }
    }
    dl->have += take;
    dl->got += take;
    dl->received += take;
    if (dl->progress && take)
        dl->progress(dl->owner, dl->have);
    if (cut) {
        dl->cuts_done++;
        snprintf(dl->reason, sizeof(dl->reason), "fault injection: cut after %" PRIu64 " bytes",
                 f->cut_after);
        return take; /* short count: libcurl aborts and closes the connection */
    }
    return take;
}

int veh_dl_prepare(struct veh_dl *dl, CURL *easy, const char *url, const struct veh_tls *tls,
                   struct veh_xfer *x, bool verbose)
{
    char range[64], ifrange[96];
    CURLcode c;

    curl_slist_free_all(dl->hdrs);
    dl->hdrs = NULL;
    dl->offset = dl->have;
    dl->got = 0;
    dl->decided = false;
    dl->too_long = false;
    dl->write_errno = 0;
    dl->paused = false;
    dl->reason[0] = '\0';
    dl->attempts++;
    if (veh_http_setup(easy, url, tls, &dl->resp, x, verbose) < 0)
        return -EINVAL;
    if (dl->offset > 0) {
        /* If-Range with the strong ETag: if the artifact behind the URL changed, the
         * server answers 200 with all of it instead of a range of something else. */
        snprintf(range, sizeof(range), "%" PRIu64 "-", dl->offset);
        snprintf(ifrange, sizeof(ifrange), "If-Range: \"%s\"", dl->sha256);
        dl->hdrs = curl_slist_append(NULL, ifrange);
        if (!dl->hdrs)
            return -ENOMEM;
        if (curl_easy_setopt(easy, CURLOPT_RANGE, range) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, dl->hdrs) != CURLE_OK)
            return -EINVAL;
    }
    c = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
    if (c == CURLE_OK)
        c = curl_easy_setopt(easy, CURLOPT_WRITEDATA, dl);
    return c == CURLE_OK ? 0 : -EINVAL;
}

enum veh_dl_result veh_dl_finish(struct veh_dl *dl, CURLcode rc)
{
    long st = dl->resp.status;

    if (dl->too_long || dl->write_errno)
        return VEH_DL_FAIL;
    if (!dl->decided && rc == CURLE_OK) {
        decide(dl); /* a response without a body: 416, an empty error, ... */
        if (dl->write_errno)
            return VEH_DL_FAIL;
    }
    if (!dl->decided) {
        snprintf(dl->reason, sizeof(dl->reason), "%s", curl_easy_strerror(rc));
        return VEH_DL_RETRY;
    }
    switch (dl->decision) {
    case VEH_RESUME_DISCARD:
        return VEH_DL_RETRY;
    case VEH_RESUME_FAIL:
        if (st == 401 || st == 403 || st == 410)
            return VEH_DL_REFUSED;
        if (st == 404)
            return VEH_DL_GONE;
        if (st == 409)
            return VEH_DL_HELD;
        if (st >= 500 || st == 429 || st == 408)
            return VEH_DL_RETRY;
        return VEH_DL_FAIL;
    default:
        break;
    }
    if (rc != CURLE_OK) {
        if (!dl->reason[0])
            snprintf(dl->reason, sizeof(dl->reason), "%s", curl_easy_strerror(rc));
        return VEH_DL_RETRY;
    }
    if (dl->have < dl->size) {
        snprintf(dl->reason, sizeof(dl->reason), "connection ended at %" PRIu64 " of %" PRIu64,
                 dl->have, dl->size);
        return VEH_DL_RETRY;
    }
    if (fsync(dl->fd) < 0) {
        set_reason(dl, "partial file: %s", strerror(errno));
        return VEH_DL_FAIL;
    }
    return VEH_DL_COMPLETE;
}

bool veh_dl_unstall(struct veh_dl *dl, CURL *easy, int64_t now_ms)
{
    if (!dl->paused || now_ms < dl->stall_until_ms)
        return false;
    dl->paused = false;
    curl_easy_pause(easy, CURLPAUSE_CONT);
    return true;
}

void veh_dl_close(struct veh_dl *dl, bool unlink_partial)
{
    if (dl->fd >= 0)
        close(dl->fd);
    dl->fd = -1;
    curl_slist_free_all(dl->hdrs);
    dl->hdrs = NULL;
    if (unlink_partial && dl->path[0])
        unlink(dl->path);
}
