/* Fuzzes srv_ddi_path_parse() with decoded request paths, and checks that what it accepts
 * is well-formed and that the canonical path built back from it parses to the same. */
#include <errno.h>
#include <inttypes.h>

#include "fuzz_util.h"
#include "srv_ddi_path.h"

static bool token_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static void check_filename(const char *f)
{
    size_t n = strlen(f);

    FUZZ_CHECK(n >= 1 && n <= SRV_DDI_FILENAME_MAX);
    FUZZ_CHECK(strcmp(f, ".") != 0 && strcmp(f, "..") != 0);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(f[i] != '/' && (unsigned char)f[i] >= 0x20 && f[i] != 0x7f);
}

/* The path srv_ddi.c would link to for @d (ids without leading zeros). */
static void build(const struct srv_ddi_path *d, char *buf, size_t len)
{
    int n = snprintf(buf, len, "/%s/controller/v1/%s", d->tenant, d->controller);

    FUZZ_CHECK(n > 0 && (size_t)n < len);
    buf += n, len -= (size_t)n;
    switch (d->kind) {
    case SRV_DDI_POLL:
        n = 0;
        break;
    case SRV_DDI_DEPLOYMENT:
        n = snprintf(buf, len, "/deploymentBase/%" PRId64, d->action);
        break;
    case SRV_DDI_DEPLOYMENT_FEEDBACK:
        n = snprintf(buf, len, "/deploymentBase/%" PRId64 "/feedback", d->action);
        break;
    case SRV_DDI_CANCEL:
        n = snprintf(buf, len, "/cancelAction/%" PRId64, d->action);
        break;
    case SRV_DDI_CANCEL_FEEDBACK:
        n = snprintf(buf, len, "/cancelAction/%" PRId64 "/feedback", d->action);
        break;
    case SRV_DDI_CONFIG_DATA:
        n = snprintf(buf, len, "/configData");
        break;
    case SRV_DDI_ARTIFACT:
        n = snprintf(buf, len, "/softwaremodules/%" PRId64 "/artifacts/%s", d->module, d->filename);
        break;
    case SRV_DDI_ARTIFACT_MD5:
        n = snprintf(buf, len, "/softwaremodules/%" PRId64 "/artifacts/%s.MD5SUM", d->module,
                     d->filename);
        break;
    default:
        FUZZ_CHECK(!"unknown kind");
    }
    FUZZ_CHECK(n >= 0 && (size_t)n < len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_ddi_path d, back;
    char *url = fuzz_cstr(data, size);
    char path[1024];
    bool has_action, has_module;
    int rc;

    rc = srv_ddi_path_parse(url, &d);
    free(url);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL);
        return 0;
    }
    FUZZ_CHECK(token_ok(d.tenant, SRV_DDI_TENANT_MAX));
    FUZZ_CHECK(ota_id_valid(d.controller));
    has_action = d.kind == SRV_DDI_DEPLOYMENT || d.kind == SRV_DDI_DEPLOYMENT_FEEDBACK ||
                 d.kind == SRV_DDI_CANCEL || d.kind == SRV_DDI_CANCEL_FEEDBACK;
    has_module = d.kind == SRV_DDI_ARTIFACT || d.kind == SRV_DDI_ARTIFACT_MD5;
    FUZZ_CHECK(has_action ? d.action > 0 : d.action == 0);
    FUZZ_CHECK(has_module ? d.module > 0 : d.module == 0);
    if (has_module)
        check_filename(d.filename);
    else
        FUZZ_CHECK(d.filename[0] == '\0');
    (void)srv_ddi_tenant_match(d.tenant, "DEFAULT");

    build(&d, path, sizeof(path));
    FUZZ_CHECK(srv_ddi_path_parse(path, &back) == 0);
    FUZZ_CHECK(back.kind == d.kind && strcmp(back.tenant, d.tenant) == 0 &&
               strcmp(back.controller, d.controller) == 0 && back.action == d.action &&
               back.module == d.module && strcmp(back.filename, d.filename) == 0);
    return 0;
}
