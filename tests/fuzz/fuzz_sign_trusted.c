/* Fuzzes ota_sign_trusted_parse() with trusted comments ("sha256:<hex> size:<n> name:<name>
 * version:<v> hw:<compat>"). It promises one spelling per value, so what it accepts must
 * be rebuilt byte for byte by ota_sign_trusted_comment(). */
#include <errno.h>

#include "fuzz_util.h"
#include "ota_sign.h"
#include "ota_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_sign_meta m;
    char *comment = fuzz_cstr(data, size);
    char rebuilt[1024];

    memset(&m, 0x5a, sizeof(m));
    if (ota_sign_trusted_parse(comment, &m) == 0) {
        FUZZ_CHECK(ota_sha256_hex_valid(m.sha256));
        FUZZ_CHECK(m.name[0] != '\0' && m.version[0] != '\0');
        FUZZ_CHECK(memchr(m.hw, '\0', sizeof(m.hw)) != NULL);
        FUZZ_CHECK(ota_sign_trusted_comment(&m, rebuilt, sizeof(rebuilt)) == 0);
        FUZZ_CHECK(strcmp(rebuilt, comment) == 0);
    }
    free(comment);
    return 0;
}
