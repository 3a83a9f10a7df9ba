/* One artifact download into its partial file, attempt after attempt: ranged resume with
 * If-Range, bounds (never more than the announced size), and injected faults for tests
 * (cut the connection, corrupt a byte, stall). The caller runs the transfer. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "veh_http.h"
#include "veh_range.h"

struct veh_faults {
    uint64_t cut_after; /* 0 = off: abort an attempt after this many bytes of it... */
    unsigned cuts;      /* ...for the first this many attempts */
    int64_t corrupt_at; /* -1 = off: flip this byte offset of the artifact as it arrives */
    unsigned stall_s;   /* 0 = off: pause reading this long, once, at half the artifact */
};

enum veh_dl_result {
    VEH_DL_COMPLETE, /* all bytes are in the partial file (fsynced) */
    VEH_DL_RETRY,    /* interrupted; call veh_dl_prepare() again (reason says why) */
    VEH_DL_GONE,     /* 404: the server no longer offers it to us */
    VEH_DL_REFUSED,  /* 401/403/410: the link was refused (a CDN's expired or foreign
                      * token, or a vehicle the origin stopped serving): ask for a new one */
    VEH_DL_HELD,     /* 409: its campaign is paused: wait, poll, go on when it resumes */
    VEH_DL_FAIL,     /* give up (reason says why) */
};

struct veh_dl {
    char path[PATH_MAX];
    char sha256[65];
    uint64_t size;
    const struct veh_faults *faults; /* borrowed */
    int fd;
    uint64_t have;     /* bytes in the partial file */
    uint64_t offset;   /* where the current attempt started */
    uint64_t got;      /* bytes received in the current attempt */
    uint64_t received; /* bytes received over all attempts (statistics) */
    unsigned attempts;
    unsigned cuts_done;
    bool stalled; /* the --stall pause happened */
    bool paused;  /* the transfer is paused right now, until stall_until_ms */
    int64_t stall_until_ms;
    bool decided;
    enum veh_resume decision;
    bool too_long;
    int write_errno;
    struct veh_resp resp;
    struct curl_slist *hdrs;
    char reason[256];
    void (*progress)(void *owner, uint64_t have); /* called after bytes were written */
    void *owner;
};

/* Opens (creating, 0600) the partial file @path for artifact @sha256 of @size bytes and
 * sets dl->have to where a resume starts (a partial longer than @size is truncated).
 * @faults is borrowed, may be NULL. Returns 0 or -errno; veh_dl_close() in any case. */
int veh_dl_open(struct veh_dl *dl, const char *path, const char *sha256, uint64_t size,
                const struct veh_faults *faults);

/* Sets up @easy for the next attempt at @url (from dl->have, with Range and If-Range).
 * Returns 0 or -EINVAL/-ENOMEM. */
int veh_dl_prepare(struct veh_dl *dl, CURL *easy, const char *url, const struct veh_tls *tls,
                   struct veh_xfer *x, bool verbose);

/* Classifies the attempt that ended with @rc; fsyncs on VEH_DL_COMPLETE. dl->reason says
 * why for RETRY/GONE/REFUSED/FAIL. */
enum veh_dl_result veh_dl_finish(struct veh_dl *dl, CURLcode rc);

/* Resumes a paused (stalled) transfer if its time has come. Returns true if it did. */
bool veh_dl_unstall(struct veh_dl *dl, CURL *easy, int64_t now_ms);

/* Closes the file and frees headers; with @unlink_partial also deletes the partial. */
void veh_dl_close(struct veh_dl *dl, bool unlink_partial);
