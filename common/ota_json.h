/* JSON codecs (jansson) for the payloads of DESIGN.md that two programs share: the update
 * announcement (GET /v1/updates body and MQTT update message), the status report
 * (POST /v1/status body and MQTT status message) and the error body. Device-safe: needs
 * no database. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_state.h"

#define OTA_STATUS_BODY_MAX   4096 /* bytes accepted for one status report */
#define OTA_STATUS_DETAIL_MAX 1024 /* bytes of "detail" kept */

struct ota_update_info {
    int64_t campaign;
    char sha256[65];
    uint64_t size;
    char *name;
    char *version;
    char *hw;        /* from the signature's trusted comment on decode; may be NULL */
    char *url;       /* "/v1/artifacts/<sha256>" */
    char *signature; /* minisign text */
    unsigned poll_after;
    int64_t issued_at; /* 0 = not present (REST); set for MQTT */
};

/* Encodes compactly. @u->url may be NULL: it is then built from sha256.
 * On success *ret is a new NUL-terminated string (free()). Returns 0 or -ENOMEM. */
int ota_json_update_encode(const struct ota_update_info *u, char **ret);

/* Decodes and checks types and ranges; fills @u with new strings (free with
 * ota_update_info_clear()). Returns 0, or -EINVAL or -ENOMEM with a reason in @err. */
int ota_json_update_decode(const char *text, size_t len, struct ota_update_info *u, char *err,
                           size_t errlen);
void ota_update_info_clear(struct ota_update_info *u);

/* Writes the link to artifact @sha256 into @url (@len bytes). Returns 0 or negative. */
typedef int ota_json_link_fn(void *ctx, const char *sha256, char *url, size_t len);

/* The announcement @text with artifact.url replaced by what @link makes for its sha256,
 * everything else kept in its order (the notifier puts a fresh CDN link into a stored
 * message as it publishes it). *ret new. Returns 0, -EINVAL (not an announcement),
 * -ENOMEM or @link's error. */
int ota_json_update_relink(const char *text, size_t len, ota_json_link_fn *link, void *ctx,
                           char **ret);

struct ota_status_report {
    int64_t campaign;
    enum ota_deploy_state state;
    uint64_t bytes;
    char detail[OTA_STATUS_DETAIL_MAX + 1];
};

/* Strict: an object with integer campaign > 0, a known state string a vehicle may report
 * (not pending/cancelled), optional non-negative integer bytes and optional string
 * detail (cut to OTA_STATUS_DETAIL_MAX bytes on a UTF-8 boundary). Unknown keys are
 * ignored. Returns 0, -EINVAL (reason in @err) or -EMSGSIZE (len > OTA_STATUS_BODY_MAX). */
int ota_json_status_decode(const char *text, size_t len, struct ota_status_report *r, char *err,
                           size_t errlen);
/* On success *ret is new (free()). Returns 0 or -ENOMEM. */
int ota_json_status_encode(const struct ota_status_report *r, char **ret);

/* {"error":code,"message":message}; on success *ret is new (free()). 0 or -ENOMEM. */
int ota_json_error(const char *code, const char *message, char **ret);
