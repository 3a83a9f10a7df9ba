/* Deployment states and the order a vehicle may report them in. */
#include <errno.h>
#include <string.h>
#include "ota_state.h"

static const char *const state_names[OTA_DEPLOY_STATE_COUNT] = {
    [OTA_DEPLOY_PENDING] = "pending",       [OTA_DEPLOY_DOWNLOADING] = "downloading",
    [OTA_DEPLOY_DOWNLOADED] = "downloaded", [OTA_DEPLOY_INSTALLING] = "installing",
    [OTA_DEPLOY_INSTALLED] = "installed",   [OTA_DEPLOY_FAILED] = "failed",
    [OTA_DEPLOY_CANCELLED] = "cancelled",
};

const char *ota_deploy_state_name(enum ota_deploy_state s)
{
    return (unsigned)s < OTA_DEPLOY_STATE_COUNT ? state_names[s] : "unknown";
}

int ota_deploy_state_parse(const char *name, enum ota_deploy_state *ret)
{
    for (unsigned i = 0; name && i < OTA_DEPLOY_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *ret = (enum ota_deploy_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool ota_deploy_state_final(enum ota_deploy_state s)
{
    return s == OTA_DEPLOY_INSTALLED || s == OTA_DEPLOY_FAILED || s == OTA_DEPLOY_CANCELLED;
}

bool ota_deploy_transition_ok(enum ota_deploy_state from, enum ota_deploy_state to,
                              bool *ret_duplicate)
{
    bool duplicate = false, ok;

    if (to == OTA_DEPLOY_PENDING || to == OTA_DEPLOY_CANCELLED || from == OTA_DEPLOY_CANCELLED)
        ok = false;
    else if (ota_deploy_state_final(from))
        ok = duplicate = from == to; /* at-least-once delivery repeats the last report */
    else if (to == OTA_DEPLOY_FAILED)
        ok = true;
    else
        ok = to >= from; /* the enum is in life-cycle order; equal = progress */
    if (ret_duplicate)
        *ret_duplicate = duplicate;
    return ok;
}
