/* hawkBit DDI: parsing feedback and configData bodies, and mapping feedback onto our
 * deployment states. Pure: no database, no HTTP. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_json.h"
#include "ota_state.h"

#define SRV_DDI_BODY_MAX        (64 * 1024) /* feedback/configData bodies; larger get 413 */
#define SRV_DDI_DETAILS_MAX     64          /* entries of status.details kept */
#define SRV_DDI_ATTRIBUTES_MAX  64          /* keys in the stored configData */
#define SRV_DDI_ATTR_VALUE_MAX  512         /* bytes of one key or value */

enum srv_ddi_execution {
    SRV_DDI_EXEC_CLOSED,
    SRV_DDI_EXEC_PROCEEDING,
    SRV_DDI_EXEC_CANCELED,
    SRV_DDI_EXEC_SCHEDULED,
    SRV_DDI_EXEC_REJECTED,
    SRV_DDI_EXEC_RESUMED,
    SRV_DDI_EXEC_DOWNLOAD,
    SRV_DDI_EXEC_DOWNLOADED,
};

enum srv_ddi_finished {
    SRV_DDI_FIN_NONE, /* also when result/finished is absent */
    SRV_DDI_FIN_SUCCESS,
    SRV_DDI_FIN_FAILURE,
};

struct srv_ddi_feedback {
    enum srv_ddi_execution execution;
    enum srv_ddi_finished finished;
    bool has_progress;
    uint64_t cnt, of;
    /* status.details joined with "; ", cut on a UTF-8 boundary */
    char details[OTA_STATUS_DETAIL_MAX + 1];
};

const char *srv_ddi_execution_name(enum srv_ddi_execution e);
const char *srv_ddi_finished_name(enum srv_ddi_finished f);

/* Parses a feedback body: an object whose "status" object has a string "execution" (one
 * of hawkBit's values), optionally "result" {"finished": string, "progress": {"cnt": int,
 * "of": int}} and "details" (array of strings). Unknown keys anywhere are ignored; a
 * known key of the wrong type is an error. Returns 0, -EMSGSIZE (@len > SRV_DDI_BODY_MAX)
 * or -EINVAL (reason in @err). */
int srv_ddi_feedback_parse(const char *text, size_t len, struct srv_ddi_feedback *ret,
                           char *err, size_t errlen);

/* What a deploymentBase feedback does to the deployment. */
enum srv_ddi_effect {
    SRV_DDI_EFFECT_EVENT, /* record an event only */
    SRV_DDI_EFFECT_STATE, /* report *ret_state through ota_status_apply() */
};

/* Maps deploymentBase feedback onto our states, given the deployment's state @current:
 * closed+success -> installed, closed+failure / rejected / canceled -> failed,
 * downloaded -> downloaded, download -> downloading, proceeding -> downloading from
 * pending, else a progress repeat of @current (it never moves a deployment backwards,
 * and keeps it offered: SWUpdate says "proceeding" after installing and "closed" only
 * after the reboot); closed+none, scheduled and resumed record an event only.
 * Quirk: SWUpdate 2022.12 ends an install with "proceeding" and progress cnt == of > 0
 * ("All Chunks Installed"), then waits for its confirming restart: that is installing
 * (everything on the device, to be confirmed), which is also how a cancel that arrives
 * afterwards is known to have come too late (srv_ddi_action.c). */
enum srv_ddi_effect srv_ddi_feedback_map(const struct srv_ddi_feedback *f,
                                         enum ota_deploy_state current,
                                         enum ota_deploy_state *ret_state);

/* True if cancelAction feedback @f acknowledges the cancellation (closed, canceled or
 * rejected: the client is done with the action either way). */
bool srv_ddi_cancel_acknowledged(const struct srv_ddi_feedback *f);

enum srv_ddi_config_mode { SRV_DDI_MODE_MERGE, SRV_DDI_MODE_REPLACE, SRV_DDI_MODE_REMOVE };

/* Applies a configData body ({"data": {key: string, ...}, "mode": "merge"|"replace"|
 * "remove"}, default merge; "status" and other keys ignored) to the vehicle's current
 * attributes JSON text @current (NULL or "" = {}). *ret_json is the new attributes text,
 * compact with sorted keys (free()). Returns 0, -EMSGSIZE, -EINVAL (reason in @err; too
 * many keys, a key/value too long or not a string) or -ENOMEM. */
int srv_ddi_config_data_apply(const char *current, const char *text, size_t len,
                              char **ret_json, char *err, size_t errlen);
