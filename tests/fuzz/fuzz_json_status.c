/* Fuzzes ota_json_status_decode(), the status report a vehicle POSTs to /v1/status and
 * publishes over MQTT, and checks that whatever it accepts is in range and survives
 * ota_json_status_encode() and a second decode unchanged. */
#include <errno.h>

#include "fuzz_util.h"
#include "ota_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_status_report r, back;
    char err[256] = "", *text = NULL;
    int rc;

    rc = ota_json_status_decode((const char *)data, size, &r, err, sizeof(err));
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EMSGSIZE);
        FUZZ_CHECK(err[0] != '\0'); /* the 400 body says why */
        return 0;
    }
    FUZZ_CHECK(r.campaign > 0);
    FUZZ_CHECK(r.state == OTA_DEPLOY_DOWNLOADING || r.state == OTA_DEPLOY_DOWNLOADED ||
               r.state == OTA_DEPLOY_INSTALLING || r.state == OTA_DEPLOY_INSTALLED ||
               r.state == OTA_DEPLOY_FAILED);
    FUZZ_CHECK(r.bytes <= INT64_MAX);
    FUZZ_CHECK(strlen(r.detail) <= OTA_STATUS_DETAIL_MAX);

    FUZZ_CHECK(ota_json_status_encode(&r, &text) == 0);
    FUZZ_CHECK(ota_json_status_decode(text, strlen(text), &back, err, sizeof(err)) == 0);
    FUZZ_CHECK(back.campaign == r.campaign && back.state == r.state && back.bytes == r.bytes &&
               strcmp(back.detail, r.detail) == 0);
    free(text);
    return 0;
}
