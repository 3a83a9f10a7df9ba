/* Fuzzes ota_sign_pub_parse() with minisign public-key text (the ota.pub a vehicle is
 * provisioned with, or its bare base64 line); what it accepts must format back to text
 * that parses to the same key. */
#include <errno.h>

#include "fuzz_util.h"
#include "ota_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_sign_pub pub, back;
    char *text = NULL;
    int rc;

    rc = ota_sign_pub_parse((const char *)data, size, &pub);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL);
        return 0;
    }
    FUZZ_CHECK(ota_sign_pub_format(&pub, &text) == 0);
    FUZZ_CHECK(ota_sign_pub_parse(text, strlen(text), &back) == 0);
    FUZZ_CHECK(memcmp(&pub, &back, sizeof(pub)) == 0);
    free(text);
    return 0;
}
