/* Fuzzes srv_tls_id_from_der() with DER certificates as a client presents them: what it
 * accepts must be one valid client id ([A-Za-z0-9._-]{1,64}). */
#include <errno.h>

#include "fuzz_util.h"
#include "srv_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[OTA_ID_MAX + 1];
    int rc;

    memset(id, 0x5a, sizeof(id));
    rc = srv_tls_id_from_der(data, size, id);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EKEYREJECTED || rc == -ENOMEM);
        return 0;
    }
    FUZZ_CHECK(memchr(id, '\0', sizeof(id)) != NULL);
    FUZZ_CHECK(ota_id_valid(id));
    return 0;
}
