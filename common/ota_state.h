/* Deployment states and the order they may move in; shared by server, notifier and the
 * vehicle, so it needs nothing but libc. */
#pragma once
#include <stdbool.h>

enum ota_deploy_state {
    OTA_DEPLOY_PENDING,
    OTA_DEPLOY_DOWNLOADING,
    OTA_DEPLOY_DOWNLOADED,
    OTA_DEPLOY_INSTALLING,
    OTA_DEPLOY_INSTALLED,
    OTA_DEPLOY_FAILED,
    OTA_DEPLOY_CANCELLED,
    OTA_DEPLOY_STATE_COUNT
};

/* "pending", "downloading", ... */
const char *ota_deploy_state_name(enum ota_deploy_state s);
/* Returns 0 and *ret for a state name, or -EINVAL. */
int ota_deploy_state_parse(const char *name, enum ota_deploy_state *ret);
/* installed, failed and cancelled end a deployment. */
bool ota_deploy_state_final(enum ota_deploy_state s);
/* Whether a report of @to may follow @from: forward moves, failed from any unfinished
 * state, and a repeat of an unfinished state (progress: more bytes). A repeat of a final
 * state is reported as allowed-but-duplicate through *ret_duplicate (MQTT is
 * at-least-once). pending and cancelled are never reported by vehicles. */
bool ota_deploy_transition_ok(enum ota_deploy_state from, enum ota_deploy_state to,
                              bool *ret_duplicate);
