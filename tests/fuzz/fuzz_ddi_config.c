/* Fuzzes srv_ddi_config_data_apply(): the input is the stored attributes text, a NUL, and
 * the configData body a controller PUTs (no NUL: no stored attributes). What it accepts
 * must be a bounded object of strings, and applying the same body again changes nothing. */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>

#include "fuzz_util.h"
#include "srv_ddi_feedback.h"

/* At most SRV_DDI_ATTRIBUTES_MAX keys; a value is a bounded string from the body, or is
 * what @current stored under its key (only this function writes the stored text, so that
 * is a string too, but the harness does not assume it). */
static void check_attributes(const char *text, const char *current)
{
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *v;
    json_t *before = current ? json_loads(current, 0, NULL) : NULL;
    const char *key;

    FUZZ_CHECK(json_is_object(o));
    FUZZ_CHECK(json_object_size(o) <= SRV_DDI_ATTRIBUTES_MAX);
    json_object_foreach(o, key, v)
    {
        bool from_body = strlen(key) >= 1 && strlen(key) <= SRV_DDI_ATTR_VALUE_MAX &&
                         json_is_string(v) && json_string_length(v) <= SRV_DDI_ATTR_VALUE_MAX;

        FUZZ_CHECK(from_body ||
                   (json_is_object(before) && json_equal(v, json_object_get(before, key))));
    }
    json_decref(before);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    const char *body = (const char *)data; /* json_loadb(): no NUL needed, none added */
    char *current = NULL, *out = NULL, *again = NULL;
    size_t blen = size;
    char err[256] = "";
    int rc;

    if (nul) {
        current = fuzz_cstr(data, (size_t)(nul - data));
        body = (const char *)nul + 1;
        blen = size - (size_t)(nul - data) - 1;
    }
    rc = srv_ddi_config_data_apply(current, body, blen, &out, err, sizeof(err));
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EMSGSIZE || rc == -ENOMEM);
        FUZZ_CHECK(err[0] != '\0' || rc == -ENOMEM);
        goto out;
    }
    check_attributes(out, current);
    FUZZ_CHECK(srv_ddi_config_data_apply(out, body, blen, &again, err, sizeof(err)) == 0);
    FUZZ_CHECK(strcmp(out, again) == 0);
out:
    free(again);
    free(out);
    free(current);
    return 0;
}
