/* Fuzzes srv_ddi_feedback_parse() with hawkBit feedback bodies, then maps each accepted one
 * onto every deployment state with srv_ddi_feedback_map(): progress feedback (download,
 * downloaded, proceeding) never moves a deployment backwards or out of a final state. */
#include <errno.h>

#include "fuzz_util.h"
#include "ota_state.h"
#include "srv_ddi_feedback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_ddi_feedback f;
    char err[256] = "";
    int rc;

    rc = srv_ddi_feedback_parse((const char *)data, size, &f, err, sizeof(err));
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EMSGSIZE);
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(strcmp(srv_ddi_execution_name(f.execution), "?") != 0);
    FUZZ_CHECK(strcmp(srv_ddi_finished_name(f.finished), "?") != 0);
    FUZZ_CHECK(strlen(f.details) <= OTA_STATUS_DETAIL_MAX);
    FUZZ_CHECK(f.has_progress || (f.cnt == 0 && f.of == 0));
    FUZZ_CHECK(f.cnt <= INT64_MAX && f.of <= INT64_MAX);
    (void)srv_ddi_cancel_acknowledged(&f);

    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++) {
        enum ota_deploy_state cur = (enum ota_deploy_state)s, to = OTA_DEPLOY_STATE_COUNT;
        enum srv_ddi_effect e = srv_ddi_feedback_map(&f, cur, &to);
        bool progress = f.execution == SRV_DDI_EXEC_DOWNLOAD ||
                        f.execution == SRV_DDI_EXEC_DOWNLOADED ||
                        f.execution == SRV_DDI_EXEC_PROCEEDING;

        FUZZ_CHECK(e == SRV_DDI_EFFECT_EVENT || e == SRV_DDI_EFFECT_STATE);
        if (e == SRV_DDI_EFFECT_EVENT)
            continue;
        FUZZ_CHECK(to < OTA_DEPLOY_STATE_COUNT && to != OTA_DEPLOY_PENDING &&
                   to != OTA_DEPLOY_CANCELLED);
        if (progress)
            FUZZ_CHECK(!ota_deploy_state_final(cur) && ota_deploy_transition_ok(cur, to, NULL));
    }
    return 0;
}
