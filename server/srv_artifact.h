/* Artifact delivery: GET/HEAD of the bytes and the .minisig, with RFC 9110 conditionals,
 * single and multipart ranges, sent from the store file's shared mapping or streamed
 * from it in large blocks. */
#pragma once
#include <stdbool.h>
#include "srv_route.h"

#define SRV_ARTIFACT_BLOCK (256 * 1024) /* bytes read per callback (one pread) */
/* Single-part bodies are sent from the store file's shared mapping (srv_mapcache) while
 * all mappings stay within this many bytes; beyond it, and for multipart, they are
 * streamed through SRV_ARTIFACT_BLOCK reads. */
#define SRV_ARTIFACT_MAP_BUDGET (16ull << 30)
#define SRV_ARTIFACT_MAP_IDLE   8 /* unused mappings kept for the next request */
/* Bodies from this size on are sent with the socket corked (srv_req_cork). */
#define SRV_ARTIFACT_CORK_MIN (64 * 1024)

enum srv_artifact_part {
    SRV_ARTIFACT_BYTES,   /* the artifact itself */
    SRV_ARTIFACT_MINISIG, /* its minisign signature text */
    SRV_ARTIFACT_MD5SUM,  /* "<md5>  <name>\n", as hawkBit's .MD5SUM */
};

/* Serves @sha256's bytes or signature to @req (GET or HEAD), already authorised by the
 * caller: 200/206/304/412/416, 404 if unknown, 503/500 on store or database trouble.
 * Reusable by other routes (hawkBit softwaremodules downloads). */
enum MHD_Result srv_artifact_serve(struct srv_req *req, const char *sha256,
                                   enum srv_artifact_part part);

/* Route handler for /v1/artifacts/{sha256}[.minisig|.MD5SUM]: vehicles may fetch only artifacts
 * of their own non-cancelled deployments (404 otherwise), edges any. */
srv_handler_fn srv_artifact_get;

/* The answer when a vehicle may not fetch an artifact (ota_db_vehicle_may_fetch): 404 for
 * -ENOENT (as a missing one: existence is not leaked), 409 {"error":"paused"} for -EAGAIN
 * (its deployment is held by a paused campaign), 503 otherwise. */
enum MHD_Result srv_artifact_refuse(struct srv_req *req, int r);
