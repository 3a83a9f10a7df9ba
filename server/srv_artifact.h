/* Artifact delivery: GET/HEAD of the bytes and the .minisig, with RFC 9110 conditionals,
 * single and multipart ranges, streamed from the store in large blocks. */
#pragma once
#include <stdbool.h>
#include "srv_route.h"

#define SRV_ARTIFACT_BLOCK (256 * 1024) /* bytes read per callback (one pread) */
/* Bodies (one range or a whole file) up to this size are sent from a file mapping, larger
 * ones streamed through SRV_ARTIFACT_BLOCK reads: at most this much mapped per request. */
#define SRV_ARTIFACT_MAP_MAX (8 * 1024 * 1024)

enum srv_artifact_part {
    SRV_ARTIFACT_BYTES,   /* the artifact itself */
    SRV_ARTIFACT_MINISIG, /* its minisign signature text */
};

/* Serves @sha256's bytes or signature to @req (GET or HEAD), already authorised by the
 * caller: 200/206/304/412/416, 404 if unknown, 503/500 on store or database trouble.
 * Reusable by other routes (hawkBit softwaremodules downloads). */
enum MHD_Result srv_artifact_serve(struct srv_req *req, const char *sha256,
                                   enum srv_artifact_part part);

/* Route handler for /v1/artifacts/{sha256}[.minisig]: vehicles may fetch only artifacts
 * of their own non-cancelled deployments (404 otherwise), edges any. */
srv_handler_fn srv_artifact_get;
