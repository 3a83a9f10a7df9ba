/* hawkBit DDI: parsing the request path /{tenant}/controller/v1/{controllerId}[/...]. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_util.h"

#define SRV_DDI_TENANT_MAX   64
#define SRV_DDI_FILENAME_MAX 255

enum srv_ddi_kind {
    SRV_DDI_POLL,                /* {base} */
    SRV_DDI_DEPLOYMENT,          /* {base}/deploymentBase/{actionId} */
    SRV_DDI_DEPLOYMENT_FEEDBACK, /* {base}/deploymentBase/{actionId}/feedback */
    SRV_DDI_CANCEL,              /* {base}/cancelAction/{actionId} */
    SRV_DDI_CANCEL_FEEDBACK,     /* {base}/cancelAction/{actionId}/feedback */
    SRV_DDI_CONFIG_DATA,         /* {base}/configData */
    SRV_DDI_ARTIFACT,            /* {base}/softwaremodules/{moduleId}/artifacts/{fileName} */
    SRV_DDI_ARTIFACT_MD5,        /* the same with ".MD5SUM" appended (filename without it) */
};

struct srv_ddi_path {
    enum srv_ddi_kind kind;
    char tenant[SRV_DDI_TENANT_MAX + 1];
    char controller[OTA_ID_MAX + 1];
    int64_t action; /* deploymentBase / cancelAction; 0 otherwise */
    int64_t module; /* softwaremodules; 0 otherwise */
    char filename[SRV_DDI_FILENAME_MAX + 1];
};

/* Parses an already percent-decoded URL path (as libmicrohttpd hands it over, without the
 * query). The tenant is [A-Za-z0-9._-]{1,64}, the controller id a valid client id, ids
 * decimal in 1..2^63-1, the file name 1..255 bytes without '/' or control bytes and not
 * "." or "..". Only a trailing ".MD5SUM" after a longer name selects SRV_DDI_ARTIFACT_MD5.
 * Returns 0 with *ret filled, or -EINVAL (not a DDI path: 404). */
int srv_ddi_path_parse(const char *url, struct srv_ddi_path *ret);

/* True if @tenant names the configured tenant @want; hawkBit tenants compare
 * case-insensitively ("DEFAULT" and "default" are the same tenant). */
bool srv_ddi_tenant_match(const char *tenant, const char *want);
