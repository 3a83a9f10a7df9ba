/* hawkBit DDI: the JSON answers (poll, deploymentBase, cancelAction), built with jansson. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_db.h"

#define SRV_DDI_SLEEP_MAX (23 * 3600 + 59 * 60 + 59) /* "23:59:59": strptime's %H stops at 23 */

/* Formats @seconds as "HH:MM:SS" (capped at SRV_DDI_SLEEP_MAX) into @buf (>= 9 bytes). */
void srv_ddi_sleep_format(unsigned seconds, char *buf, size_t len);

/* Builds the controller base URL "{public_url}/{tenant}/controller/v1/{controller}" (a
 * trailing '/' of public_url is dropped). *ret is new (free()). Returns 0 or -ENOMEM. */
int srv_ddi_base_url(const char *public_url, const char *tenant, const char *controller,
                     char **ret);

/* What a poll answer links to. */
struct srv_ddi_poll {
    unsigned sleep;            /* seconds, config.polling.sleep */
    int64_t deployment;        /* actionId of the pending deployment; 0 = none */
    const char *deployment_c;  /* the "?c=" value for the deploymentBase href; may be NULL */
    int64_t cancel;            /* actionId of a cancelled deployment to announce; 0 = none */
    int config_data;           /* non-zero: add the configData link */
};

/* GET {base}: {"config":{"polling":{"sleep":"HH:MM:SS"}},"_links":{...}} with absolute
 * hrefs under @base. *ret is new (free()). Returns 0 or -ENOMEM. */
int srv_ddi_json_poll(const char *base, const struct srv_ddi_poll *p, char **ret);

/* The hash in deploymentBase's "?c=": changes whenever the action (deployment id or the
 * artifact) changes, so a client can tell a new action from the one it knows. Writes 16
 * hex digits and a NUL into @buf (>= 17 bytes). */
void srv_ddi_action_hash(int64_t deployment, const char *sha256, char *buf, size_t len);

/* Writes @s percent-encoded as one URL path segment (RFC 3986 unreserved bytes kept).
 * Returns 0 or -ENOSPC. */
int srv_ddi_url_segment(const char *s, char *buf, size_t len);

/* The "download"/"update" values of a deployment answer. */
#define SRV_DDI_HANDLING "forced"

/* A deployment's maintenance window, as hawkBit reports it: none (no key), or
 * "maintenanceWindow": "available" / "unavailable" (then "update": "skip": hawkBit's way
 * to say "download, but install only inside the window"). */
enum srv_ddi_window { SRV_DDI_WINDOW_NONE, SRV_DDI_WINDOW_AVAILABLE, SRV_DDI_WINDOW_UNAVAILABLE };

/* GET {base}/deploymentBase/{action}: id, deployment.download/update (and
 * maintenanceWindow per @window), one chunk (part "os", version and name of @a) holding
 * @a with sha1/md5/sha256, integer size and the download + md5sum links to
 * {base}/softwaremodules/{module}/artifacts/{name}, or @download and @md5sum when not
 * NULL (CDN links). @a is borrowed. *ret is new (free()).
 * Returns 0, -EINVAL (file name too long) or -ENOMEM. */
int srv_ddi_json_deployment(const char *base, const char *download, const char *md5sum,
                            int64_t action, int64_t module,
                            const struct ota_artifact *a, enum srv_ddi_window window,
                            char **ret);

/* GET {base}/cancelAction/{action}: {"id":"N","cancelAction":{"stopId":"N"}}.
 * *ret is new (free()). Returns 0 or -ENOMEM. */
int srv_ddi_json_cancel(int64_t action, char **ret);

/* The .MD5SUM body: "<md5>  <name>\n" (md5sum's format). *ret is new (free()). */
int srv_ddi_md5sum_body(const struct ota_artifact *a, char **ret);
