/* Fuzzes ota_json_update_decode(), the update announcement a vehicle reads from
 * GET /v1/updates and from its retained MQTT topic, and checks that what it accepts is
 * bounded and survives ota_json_update_encode() and a second decode unchanged. */
#include <errno.h>

#include "fuzz_util.h"
#include "ota_json.h"
#include "ota_sign.h"
#include "ota_util.h"

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_update_info u = { 0 }, back = { 0 };
    char err[256] = "", *text = NULL;
    int rc;

    rc = ota_json_update_decode((const char *)data, size, &u, err, sizeof(err));
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM);
        FUZZ_CHECK(err[0] != '\0'); /* the vehicle logs it as the reason */
        FUZZ_CHECK(!u.name && !u.version && !u.url && !u.signature); /* untouched */
        return 0;
    }
    FUZZ_CHECK(u.campaign > 0);
    FUZZ_CHECK(ota_sha256_hex_valid(u.sha256));
    FUZZ_CHECK(u.size <= INT64_MAX);
    FUZZ_CHECK(u.poll_after <= 7 * 86400);
    FUZZ_CHECK(u.name && strlen(u.name) <= 255);
    FUZZ_CHECK(u.version && strlen(u.version) <= 127);
    FUZZ_CHECK(u.url && strlen(u.url) <= 1024);
    FUZZ_CHECK(u.signature && strlen(u.signature) <= OTA_SIGN_TEXT_MAX);
    FUZZ_CHECK(!u.hw && u.issued_at == 0); /* not read from the JSON */

    FUZZ_CHECK(ota_json_update_encode(&u, &text) == 0);
    rc = ota_json_update_decode(text, strlen(text), &back, err, sizeof(err));
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(back.campaign == u.campaign && back.size == u.size &&
               back.poll_after == u.poll_after && strcmp(back.sha256, u.sha256) == 0 &&
               same(back.name, u.name) && same(back.version, u.version) && same(back.url, u.url) &&
               same(back.signature, u.signature));
    free(text);
    ota_update_info_clear(&back);
    ota_update_info_clear(&u);
    return 0;
}
