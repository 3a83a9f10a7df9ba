/* Unit tests for the hawkBit DDI modules: path parser, JSON answers, feedback parsing and
 * mapping, and the endpoint decisions (srv_ddi_action) on a temp database. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>
#include "ota_test.h"
#include "ota_test_db.h"
#include "ota_campaign.h"
#include "ota_db.h"
#include "srv_ddi_action.h"
#include "srv_ddi_feedback.h"
#include "srv_ddi_json.h"
#include "srv_ddi_path.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA1_A "0123456789abcdef0123456789abcdef01234567"
#define MD5_A "0123456789abcdef0123456789abcdef"

static const struct {
    const char *url;
    int ret;
    enum srv_ddi_kind kind;
    const char *tenant, *controller;
    int64_t action, module;
    const char *filename;
} path_cases[] = {
    { "/DEFAULT/controller/v1/VIN1", 0, SRV_DDI_POLL, "DEFAULT", "VIN1", 0, 0, "" },
    { "/default/controller/v1/a.b_c-d", 0, SRV_DDI_POLL, "default", "a.b_c-d", 0, 0, "" },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/17", 0, SRV_DDI_DEPLOYMENT, "DEFAULT", "VIN1",
      17, 0, "" },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/17/feedback", 0, SRV_DDI_DEPLOYMENT_FEEDBACK,
      "DEFAULT", "VIN1", 17, 0, "" },
    { "/DEFAULT/controller/v1/VIN1/cancelAction/3", 0, SRV_DDI_CANCEL, "DEFAULT", "VIN1", 3, 0,
      "" },
    { "/DEFAULT/controller/v1/VIN1/cancelAction/3/feedback", 0, SRV_DDI_CANCEL_FEEDBACK,
      "DEFAULT", "VIN1", 3, 0, "" },
    { "/DEFAULT/controller/v1/VIN1/configData", 0, SRV_DDI_CONFIG_DATA, "DEFAULT", "VIN1", 0, 0,
      "" },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/update.swu", 0, SRV_DDI_ARTIFACT,
      "DEFAULT", "VIN1", 0, 5, "update.swu" },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/update.swu.MD5SUM", 0,
      SRV_DDI_ARTIFACT_MD5, "DEFAULT", "VIN1", 0, 5, "update.swu" },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/my file.swu", 0,
      SRV_DDI_ARTIFACT, "DEFAULT", "VIN1", 0, 5, "my file.swu" },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/.MD5SUM", 0, SRV_DDI_ARTIFACT,
      "DEFAULT", "VIN1", 0, 5, ".MD5SUM" },
    /* refused */
    { "/DEFAULT/controller/v1/VIN1/", -EINVAL },
    { "/DEFAULT/controller/v1/", -EINVAL },
    { "/DEFAULT/controller/v2/VIN1", -EINVAL },
    { "/DEFAULT/controler/v1/VIN1", -EINVAL },
    { "//controller/v1/VIN1", -EINVAL },
    { "/DE FAULT/controller/v1/VIN1", -EINVAL },
    { "/DEFAULT/controller/v1/VIN 1", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/0", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/-1", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/9223372036854775808", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/1x", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/1/feedback/x", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/deploymentBase/1/fb", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/configData/x", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/..", -EINVAL },
    /* fuzz_ddi_path: the checksum of "." or ".." parsed with that file name */
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/..MD5SUM", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/...MD5SUM", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/....MD5SUM", 0,
      SRV_DDI_ARTIFACT_MD5, "DEFAULT", "VIN1", 0, 5, "..." },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/a/b", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifact/a", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/x/artifacts/a", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/softwaremodules/5/artifacts/a\x01", -EINVAL },
    { "/DEFAULT/controller/v1/VIN1/other", -EINVAL },
    { "/v1/updates", -EINVAL },
    { "", -EINVAL },
    { "/DEFAULT/controller/v1/0123456789012345678901234567890123456789012345678901234567890123"
      "4",
      -EINVAL },
};

static void test_path(void)
{
    for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
        struct srv_ddi_path p;
        int r = srv_ddi_path_parse(path_cases[i].url, &p);
        if (r != path_cases[i].ret) {
            fprintf(stderr, "case %zu %s: ", i, path_cases[i].url);
            CHECK_INT(r, path_cases[i].ret);
            continue;
        }
        if (r < 0)
            continue;
        CHECK_INT(p.kind, path_cases[i].kind);
        CHECK_STR(p.tenant, path_cases[i].tenant);
        CHECK_STR(p.controller, path_cases[i].controller);
        CHECK_INT(p.action, path_cases[i].action);
        CHECK_INT(p.module, path_cases[i].module);
        if (path_cases[i].kind == SRV_DDI_ARTIFACT || path_cases[i].kind == SRV_DDI_ARTIFACT_MD5)
            CHECK_STR(p.filename, path_cases[i].filename);
    }
    CHECK(srv_ddi_tenant_match("default", "DEFAULT"));
    CHECK(!srv_ddi_tenant_match("other", "DEFAULT"));
    CHECK(!srv_ddi_tenant_match(NULL, "DEFAULT"));
}

static json_t *load(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    CHECK_FATAL(j != NULL);
    return j;
}

static const char *jstr(json_t *root, const char *path)
{
    json_t *j = json_object_get(root, path);
    return json_is_string(j) ? json_string_value(j) : "(not a string)";
}

static void test_json(void)
{
    struct ota_artifact a = { .sha256 = SHA_A, .sha1 = SHA1_A, .md5 = MD5_A, .size = 4096,
                              .name = "up date.swu", .version = "2.1" };
    struct srv_ddi_poll p = { .sleep = 300, .deployment = 7, .deployment_c = "abc",
                              .config_data = 1 };
    char buf[64], *s = NULL, *base = NULL;
    json_t *root, *art, *links;

    srv_ddi_sleep_format(0, buf, sizeof(buf));
    CHECK_STR(buf, "00:00:00");
    srv_ddi_sleep_format(3725, buf, sizeof(buf));
    CHECK_STR(buf, "01:02:05");
    srv_ddi_sleep_format(1000000, buf, sizeof(buf));
    CHECK_STR(buf, "23:59:59");

    CHECK_INT(srv_ddi_base_url("https://ota.example:8443/", "DEFAULT", "VIN1", &base), 0);
    CHECK_STR(base, "https://ota.example:8443/DEFAULT/controller/v1/VIN1");

    CHECK_INT(srv_ddi_url_segment("a b/é.swu", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "a%20b%2F%C3%A9.swu");
    CHECK_INT(srv_ddi_url_segment("abcdef", buf, 6), -ENOSPC);

    srv_ddi_action_hash(7, SHA_A, buf, sizeof(buf));
    CHECK_INT(strlen(buf), 16);
    {
        char other[17];
        srv_ddi_action_hash(8, SHA_A, other, sizeof(other));
        CHECK(strcmp(buf, other) != 0);
    }

    CHECK_INT(srv_ddi_json_poll(base, &p, &s), 0);
    root = load(s);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(root, "config"), "polling"), "sleep")),
              "00:05:00");
    links = json_object_get(root, "_links");
    CHECK_STR(jstr(json_object_get(links, "deploymentBase"), "href"),
              "https://ota.example:8443/DEFAULT/controller/v1/VIN1/deploymentBase/7?c=abc");
    CHECK_STR(jstr(json_object_get(links, "configData"), "href"),
              "https://ota.example:8443/DEFAULT/controller/v1/VIN1/configData");
    CHECK(json_object_get(links, "cancelAction") == NULL);
    json_decref(root);
    free(s);

    p = (struct srv_ddi_poll){ .sleep = 10, .cancel = 9 };
    CHECK_INT(srv_ddi_json_poll(base, &p, &s), 0);
    root = load(s);
    links = json_object_get(root, "_links");
    CHECK_STR(jstr(json_object_get(links, "cancelAction"), "href"),
              "https://ota.example:8443/DEFAULT/controller/v1/VIN1/cancelAction/9");
    CHECK(json_object_get(links, "deploymentBase") == NULL);
    json_decref(root);
    free(s);

    /* a window: "available" installs as usual; "unavailable" says skip the update */
    {
        static const struct {
            enum srv_ddi_window w;
            const char *mw, *update;
        } t[] = { { SRV_DDI_WINDOW_AVAILABLE, "available", "forced" },
                  { SRV_DDI_WINDOW_UNAVAILABLE, "unavailable", "skip" } };
        for (size_t i = 0; i < 2; i++) {
            json_t *dep;
            CHECK_INT(srv_ddi_json_deployment(base, NULL, NULL, 7, 3, &a, t[i].w, &s), 0);
            root = load(s);
            dep = json_object_get(root, "deployment");
            CHECK_STR(jstr(dep, "maintenanceWindow"), t[i].mw);
            CHECK_STR(jstr(dep, "update"), t[i].update);
            CHECK_STR(jstr(dep, "download"), "forced");
            json_decref(root);
            free(s);
        }
    }
    CHECK_INT(srv_ddi_json_deployment(base, NULL, NULL, 7, 3, &a, SRV_DDI_WINDOW_NONE, &s), 0);
    root = load(s);
    CHECK_STR(jstr(root, "id"), "7");
    {
        json_t *dep = json_object_get(root, "deployment");
        json_t *chunk = json_array_get(json_object_get(dep, "chunks"), 0);
        CHECK_STR(jstr(dep, "download"), "forced");
        CHECK_STR(jstr(dep, "update"), "forced");
        CHECK(json_object_get(dep, "maintenanceWindow") == NULL);
        CHECK_STR(jstr(chunk, "part"), "os");
        CHECK_STR(jstr(chunk, "version"), "2.1");
        CHECK_STR(jstr(chunk, "name"), "up date.swu");
        art = json_array_get(json_object_get(chunk, "artifacts"), 0);
    }
    CHECK_STR(jstr(art, "filename"), "up date.swu");
    CHECK(json_is_integer(json_object_get(art, "size")));
    CHECK_INT(json_integer_value(json_object_get(art, "size")), 4096);
    CHECK_STR(jstr(json_object_get(art, "hashes"), "sha1"), SHA1_A);
    CHECK_STR(jstr(json_object_get(art, "hashes"), "md5"), MD5_A);
    CHECK_STR(jstr(json_object_get(art, "hashes"), "sha256"), SHA_A);
    links = json_object_get(art, "_links");
    CHECK_STR(jstr(json_object_get(links, "download"), "href"),
              "https://ota.example:8443/DEFAULT/controller/v1/VIN1/softwaremodules/3/artifacts/"
              "up%20date.swu");
    CHECK_STR(jstr(json_object_get(links, "md5sum"), "href"),
              "https://ota.example:8443/DEFAULT/controller/v1/VIN1/softwaremodules/3/artifacts/"
              "up%20date.swu.MD5SUM");
    json_decref(root);
    free(s);

    /* behind a CDN: the links given, verbatim (content-addressed, with the token) */
    CHECK_INT(srv_ddi_json_deployment(base, "https://cdn.example/v1/artifacts/" SHA_A "?md5=x&expires=9",
                                      "https://cdn.example/v1/artifacts/" SHA_A ".MD5SUM?md5=y&expires=9",
                                      7, 3, &a, SRV_DDI_WINDOW_NONE, &s), 0);
    root = load(s);
    art = json_array_get(json_object_get(json_array_get(json_object_get(json_object_get(root,
                         "deployment"), "chunks"), 0), "artifacts"), 0);
    links = json_object_get(art, "_links");
    CHECK_STR(jstr(json_object_get(links, "download"), "href"),
              "https://cdn.example/v1/artifacts/" SHA_A "?md5=x&expires=9");
    CHECK_STR(jstr(json_object_get(links, "md5sum"), "href"),
              "https://cdn.example/v1/artifacts/" SHA_A ".MD5SUM?md5=y&expires=9");
    CHECK_STR(jstr(art, "filename"), "up date.swu");
    json_decref(root);
    free(s);

    CHECK_INT(srv_ddi_json_cancel(9, &s), 0);
    CHECK_STR(s, "{\"id\":\"9\",\"cancelAction\":{\"stopId\":\"9\"}}");
    free(s);

    CHECK_INT(srv_ddi_md5sum_body(&a, &s), 0);
    CHECK_STR(s, MD5_A "  up date.swu\n");
    free(s);
    free(base);
}

/* SWUpdate 2022.12's bodies, verbatim in shape. */
#define SWU_PROCEEDING                                                                       \
    "{\"id\": 7, \"time\": \"20261126T101010\", \"status\": {\"result\": {\"progress\": "    \
    "{\"cnt\" : 0, \"of\" : 1}, \"finished\": \"none\"}, \"execution\": \"proceeding\", "   \
    "\"details\" : [ \"Installing Update Chunk Artifacts.\" ]}}"
#define SWU_CLOSED_OK                                                                        \
    "{\"id\": 7, \"time\": \"20261126T101010\", \"status\": {\"result\": {\"progress\": "    \
    "{\"cnt\" : 0, \"of\" : 0}, \"finished\": \"success\"}, \"execution\": \"closed\", "    \
    "\"details\" : [ \"Update Installed.\" ]}}"
#define SWU_CANCEL_ACK                                                                       \
    "{\"id\": 9, \"time\": \"20261126T101010\", \"status\": {\"result\": {\"finished\": "    \
    "\"success\"}, \"execution\": \"closed\", \"details\" : [ \"cancellation "              \
    "acknowledged.\" ]}}"

static const struct {
    const char *body;
    int ret;
    enum srv_ddi_execution exec;
    enum srv_ddi_finished fin;
} fb_cases[] = {
    { SWU_PROCEEDING, 0, SRV_DDI_EXEC_PROCEEDING, SRV_DDI_FIN_NONE },
    { SWU_CLOSED_OK, 0, SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_SUCCESS },
    { SWU_CANCEL_ACK, 0, SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_SUCCESS },
    { "{\"status\":{\"execution\":\"downloaded\"}}", 0, SRV_DDI_EXEC_DOWNLOADED,
      SRV_DDI_FIN_NONE },
    { "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"failure\"},\"x\":[1]},"
      "\"new\":{}}",
      0, SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_FAILURE },
    { "{\"status\":{\"execution\":\"rejected\",\"code\":12}}", 0, SRV_DDI_EXEC_REJECTED,
      SRV_DDI_FIN_NONE },
    /* refused: types, values, shape */
    { "", -EINVAL },
    { "[]", -EINVAL },
    { "{}", -EINVAL },
    { "{\"status\":\"closed\"}", -EINVAL },
    { "{\"status\":{}}", -EINVAL },
    { "{\"status\":{\"execution\":\"done\"}}", -EINVAL },
    { "{\"status\":{\"execution\":1}}", -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"result\":\"success\"}}", -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"yes\"}}}", -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"result\":{\"progress\":{\"cnt\":\"1\"}}}}",
      -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"result\":{\"progress\":{\"cnt\":-1}}}}",
      -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"details\":\"text\"}}", -EINVAL },
    { "{\"status\":{\"execution\":\"closed\",\"details\":[1]}}", -EINVAL },
    { "{\"status\":{\"execution\":\"closed\"},\"status\":{\"execution\":\"closed\"}}", -EINVAL },
};

static void test_feedback_parse(void)
{
    struct srv_ddi_feedback f;
    char err[128];
    char *big;

    for (size_t i = 0; i < sizeof(fb_cases) / sizeof(fb_cases[0]); i++) {
        int r = srv_ddi_feedback_parse(fb_cases[i].body, strlen(fb_cases[i].body), &f, err,
                                       sizeof(err));
        if (r != fb_cases[i].ret) {
            fprintf(stderr, "case %zu %s: ", i, fb_cases[i].body);
            CHECK_INT(r, fb_cases[i].ret);
            continue;
        }
        if (r < 0)
            continue;
        CHECK_INT(f.execution, fb_cases[i].exec);
        CHECK_INT(f.finished, fb_cases[i].fin);
    }
    CHECK_INT(srv_ddi_feedback_parse(SWU_PROCEEDING, strlen(SWU_PROCEEDING), &f, err,
                                     sizeof(err)), 0);
    CHECK(f.has_progress);
    CHECK_INT(f.of, 1);
    CHECK_STR(f.details, "Installing Update Chunk Artifacts.");
    /* details are joined and cut to the report's detail size */
    big = malloc(SRV_DDI_BODY_MAX + 2);
    CHECK_FATAL(big != NULL);
    {
        size_t o = (size_t)snprintf(big, 64, "{\"status\":{\"execution\":\"closed\",\"details\":[");
        for (int k = 0; k < 200; k++)
            o += (size_t)snprintf(big + o, 64, "%s\"detail-%03d\"", k ? "," : "", k);
        o += (size_t)snprintf(big + o, 64, "]}}");
        CHECK_INT(srv_ddi_feedback_parse(big, o, &f, err, sizeof(err)), 0);
        CHECK(strlen(f.details) <= OTA_STATUS_DETAIL_MAX);
        CHECK(strncmp(f.details, "detail-000; detail-001", 22) == 0);
    }
    memset(big, ' ', SRV_DDI_BODY_MAX + 1);
    CHECK_INT(srv_ddi_feedback_parse(big, SRV_DDI_BODY_MAX + 1, &f, err, sizeof(err)),
              -EMSGSIZE);
    free(big);
}

static void test_feedback_map(void)
{
    static const struct {
        enum srv_ddi_execution exec;
        enum srv_ddi_finished fin;
        enum ota_deploy_state current;
        enum srv_ddi_effect effect;
        enum ota_deploy_state state;
    } cases[] = {
        { SRV_DDI_EXEC_PROCEEDING, SRV_DDI_FIN_NONE, OTA_DEPLOY_PENDING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_DOWNLOADING },
        { SRV_DDI_EXEC_PROCEEDING, SRV_DDI_FIN_NONE, OTA_DEPLOY_DOWNLOADED,
          SRV_DDI_EFFECT_STATE, OTA_DEPLOY_DOWNLOADED },
        { SRV_DDI_EXEC_PROCEEDING, SRV_DDI_FIN_NONE, OTA_DEPLOY_INSTALLED, SRV_DDI_EFFECT_EVENT },
        { SRV_DDI_EXEC_DOWNLOAD, SRV_DDI_FIN_NONE, OTA_DEPLOY_PENDING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_DOWNLOADING },
        { SRV_DDI_EXEC_DOWNLOADED, SRV_DDI_FIN_NONE, OTA_DEPLOY_DOWNLOADING,
          SRV_DDI_EFFECT_STATE, OTA_DEPLOY_DOWNLOADED },
        { SRV_DDI_EXEC_DOWNLOADED, SRV_DDI_FIN_NONE, OTA_DEPLOY_INSTALLING,
          SRV_DDI_EFFECT_STATE, OTA_DEPLOY_INSTALLING },
        { SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_SUCCESS, OTA_DEPLOY_DOWNLOADING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_INSTALLED },
        { SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_FAILURE, OTA_DEPLOY_DOWNLOADING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_FAILED },
        { SRV_DDI_EXEC_CLOSED, SRV_DDI_FIN_NONE, OTA_DEPLOY_DOWNLOADING, SRV_DDI_EFFECT_EVENT },
        { SRV_DDI_EXEC_REJECTED, SRV_DDI_FIN_NONE, OTA_DEPLOY_PENDING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_FAILED },
        { SRV_DDI_EXEC_CANCELED, SRV_DDI_FIN_NONE, OTA_DEPLOY_DOWNLOADING, SRV_DDI_EFFECT_STATE,
          OTA_DEPLOY_FAILED },
        { SRV_DDI_EXEC_SCHEDULED, SRV_DDI_FIN_NONE, OTA_DEPLOY_PENDING, SRV_DDI_EFFECT_EVENT },
        { SRV_DDI_EXEC_RESUMED, SRV_DDI_FIN_NONE, OTA_DEPLOY_PENDING, SRV_DDI_EFFECT_EVENT },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct srv_ddi_feedback f = { .execution = cases[i].exec, .finished = cases[i].fin };
        enum ota_deploy_state st = OTA_DEPLOY_STATE_COUNT;
        enum srv_ddi_effect e = srv_ddi_feedback_map(&f, cases[i].current, &st);
        CHECK_INT(e, cases[i].effect);
        if (e == SRV_DDI_EFFECT_STATE)
            CHECK_INT(st, cases[i].state);
    }
    /* SWUpdate's "All Chunks Installed" (proceeding, 1/1): installing, awaiting the confirm;
     * a partial progress (0/1) stays where it is */
    {
        struct srv_ddi_feedback f = { .execution = SRV_DDI_EXEC_PROCEEDING, .has_progress = true,
                                      .cnt = 1, .of = 1 };
        enum ota_deploy_state st = OTA_DEPLOY_STATE_COUNT;
        CHECK_INT(srv_ddi_feedback_map(&f, OTA_DEPLOY_DOWNLOADING, &st), SRV_DDI_EFFECT_STATE);
        CHECK_INT(st, OTA_DEPLOY_INSTALLING);
        f.cnt = 0;
        CHECK_INT(srv_ddi_feedback_map(&f, OTA_DEPLOY_DOWNLOADING, &st), SRV_DDI_EFFECT_STATE);
        CHECK_INT(st, OTA_DEPLOY_DOWNLOADING);
        f.cnt = f.of = 0;
        CHECK_INT(srv_ddi_feedback_map(&f, OTA_DEPLOY_DOWNLOADING, &st), SRV_DDI_EFFECT_STATE);
        CHECK_INT(st, OTA_DEPLOY_DOWNLOADING);
    }
    {
        struct srv_ddi_feedback f = { .execution = SRV_DDI_EXEC_CLOSED };
        CHECK(srv_ddi_cancel_acknowledged(&f));
        f.execution = SRV_DDI_EXEC_CANCELED;
        CHECK(srv_ddi_cancel_acknowledged(&f));
        f.execution = SRV_DDI_EXEC_PROCEEDING;
        CHECK(!srv_ddi_cancel_acknowledged(&f));
    }
}

static void test_config_data(void)
{
    const char *swu = "{\"id\": \"\", \"time\": \"20261126T101010\", \"status\": {\"result\": "
                      "{\"finished\": \"success\"}, \"execution\": \"closed\", \"details\" : "
                      "[ \"\" ]}, \"data\" : { \"hwRevision\": \"2\", \"serial\": \"77\"}}";
    char err[128], *out = NULL;

    CHECK_INT(srv_ddi_config_data_apply("{}", swu, strlen(swu), &out, err, sizeof(err)), 0);
    CHECK_STR(out, "{\"hwRevision\":\"2\",\"serial\":\"77\"}");
    free(out);
    CHECK_INT(srv_ddi_config_data_apply("{\"a\":\"1\",\"serial\":\"1\"}", swu, strlen(swu), &out,
                                        err, sizeof(err)),
              0);
    CHECK_STR(out, "{\"a\":\"1\",\"hwRevision\":\"2\",\"serial\":\"77\"}");
    free(out);
    {
        const char *rep = "{\"data\":{\"x\":\"y\"},\"mode\":\"replace\"}";
        const char *rem = "{\"data\":{\"a\":\"\"},\"mode\":\"remove\"}";
        CHECK_INT(srv_ddi_config_data_apply("{\"a\":\"1\"}", rep, strlen(rep), &out, err,
                                            sizeof(err)), 0);
        CHECK_STR(out, "{\"x\":\"y\"}");
        free(out);
        CHECK_INT(srv_ddi_config_data_apply("{\"a\":\"1\",\"b\":\"2\"}", rem, strlen(rem), &out,
                                            err, sizeof(err)), 0);
        CHECK_STR(out, "{\"b\":\"2\"}");
        free(out);
    }
    out = NULL;
    CHECK_INT(srv_ddi_config_data_apply("{}", "{\"data\":{\"a\":1}}", 16, &out, err,
                                        sizeof(err)), -EINVAL);
    CHECK_INT(srv_ddi_config_data_apply("{}", "{\"data\":[]}", 11, &out, err, sizeof(err)),
              -EINVAL);
    CHECK_INT(srv_ddi_config_data_apply("{}", "{}", 2, &out, err, sizeof(err)), -EINVAL);
    CHECK_INT(srv_ddi_config_data_apply("{}", "{\"data\":{},\"mode\":\"x\"}", 22, &out, err,
                                        sizeof(err)), -EINVAL);
    CHECK(out == NULL);
}

/* ---- endpoint decisions on a temp database ---- */

static char dir[] = "/tmp/ota-test-ddi-XXXXXX";

static const struct srv_ddi_env env = {
    .public_url = "https://ota.test:8443",
    .tenant = "DEFAULT",
    .poll_after = 60,
};

static int64_t start_campaign(struct ota_db *db, const char *name, const char *vehicles)
{
    char err[256];
    int64_t id = 0;

    CHECK_FATAL(ota_db_campaign_insert(db, name, SHA_A, OTA_TARGET_VEHICLES, vehicles, 1, &id) ==
                0);
    CHECK_FATAL(ota_campaign_start(db, "test", id, OTA_START_REFUSE, 60, NULL, NULL, err,
                                   sizeof(err)) == 0);
    return id;
}

static void poll_links(struct ota_db *db, const char *vehicle, int64_t *ret_dep,
                       int64_t *ret_cancel)
{
    struct ota_vehicle *v = NULL;
    bool want_config;

    struct srv_ddi_answer a = { 0 };
    json_t *root, *links, *h;
    const char *s;

    *ret_dep = *ret_cancel = 0;
    CHECK_FATAL(ota_db_vehicle_get(db, vehicle, &v) == 0);
    want_config = strcmp(v->attributes, "{}") == 0;
    ota_vehicle_free(v);
    CHECK_INT(srv_ddi_poll(db, &env, vehicle, &a), 0);
    CHECK_INT(a.status, 200);
    CHECK_FATAL(a.body != NULL);
    root = load(a.body);
    links = json_object_get(root, "_links");
    CHECK_INT(json_object_get(links, "configData") != NULL, want_config);
    h = json_object_get(json_object_get(links, "deploymentBase"), "href");
    if (h) {
        s = strstr(json_string_value(h), "/deploymentBase/");
        CHECK_FATAL(s != NULL);
        *ret_dep = strtoll(s + 16, NULL, 10);
    }
    h = json_object_get(json_object_get(links, "cancelAction"), "href");
    if (h) {
        s = strstr(json_string_value(h), "/cancelAction/");
        CHECK_FATAL(s != NULL);
        *ret_cancel = strtoll(s + 14, NULL, 10);
    }
    json_decref(root);
    srv_ddi_answer_clear(&a);
}

static unsigned feedback(struct ota_db *db, const char *vehicle, int64_t action, bool cancel,
                         const char *body)
{
    struct srv_ddi_answer a = { 0 };
    unsigned st;

    CHECK_INT(srv_ddi_feedback(db, &env, vehicle, action, cancel, body, strlen(body), &a), 0);
    st = a.status;
    srv_ddi_answer_clear(&a);
    return st;
}

static enum ota_deploy_state dep_state(struct ota_db *db, int64_t id)
{
    struct ota_deployment *d = NULL;
    enum ota_deploy_state s;

    CHECK_FATAL(ota_db_deployment_get_by_id(db, id, &d) == 0);
    s = d->state;
    ota_deployment_free(d);
    return s;
}

static void test_actions(void)
{
    struct ota_artifact art = { .sha256 = SHA_A, .sha1 = SHA1_A, .md5 = MD5_A, .size = 10,
                                .name = "update.swu", .version = "1.0", .hw = "",
                                .signature = "sig", .created_at = 1 };
    struct srv_ddi_answer a = { 0 };
    struct ota_artifact *found = NULL;
    struct ota_db *db = NULL;
    struct ota_vehicle *v = NULL;
    char path[512], err[256];
    int64_t c1, c2, dep, can, dep2, dep3;

    ota_test_db_where(dir, "ddi.db", path, sizeof(path));
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VIN1", "m", "g", NULL) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VIN2", "m", "g", NULL) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VIN3", "m", "g", NULL) == 0);
    CHECK_FATAL(ota_db_artifact_insert(db, &art) == 0);

    /* nothing to do: only configData */
    poll_links(db, "VIN1", &dep, &can);
    CHECK_INT(dep, 0);
    CHECK_INT(can, 0);

    c1 = start_campaign(db, "c1", "VIN1,VIN2,VIN3");
    poll_links(db, "VIN1", &dep, &can);
    CHECK(dep > 0);
    CHECK_INT(can, 0);

    /* deploymentBase: own only */
    CHECK_INT(srv_ddi_deployment(db, &env, "VIN1", dep, &a), 0);
    CHECK_INT(a.status, 200);
    CHECK(a.body && strstr(a.body, "/softwaremodules/") && strstr(a.body, "update.swu"));
    srv_ddi_answer_clear(&a);
    CHECK_INT(srv_ddi_deployment(db, &env, "VIN2", dep, &a), 0);
    CHECK_INT(a.status, 404);
    srv_ddi_answer_clear(&a);
    CHECK_INT(srv_ddi_deployment(db, &env, "VIN1", 999, &a), 0);
    CHECK_INT(a.status, 404);
    srv_ddi_answer_clear(&a);

    /* artifact: module = campaign id, name must match, other vehicles' modules 404 */
    CHECK_INT(srv_ddi_artifact_find(db, "VIN1", c1, "update.swu", &found), 0);
    CHECK(found && strcmp(found->sha256, SHA_A) == 0);
    ota_artifact_free(found);
    found = NULL;
    CHECK_INT(srv_ddi_artifact_find(db, "VIN1", c1, "update", &found), -ENOENT);
    CHECK_INT(srv_ddi_artifact_find(db, "VIN1", c1 + 100, "update.swu", &found), -ENOENT);
    CHECK_INT(srv_ddi_artifact_find(db, "VIN4", c1, "update.swu", &found), -ENOENT);

    /* feedback: another vehicle's action is 404, bad bodies 400 */
    CHECK_INT(feedback(db, "VIN2", dep, false, SWU_PROCEEDING), 404);
    CHECK_INT(feedback(db, "VIN1", dep, false, "{\"status\":{}}"), 400);
    /* SWUpdate's sequence: proceeding..., then closed/success after the restart */
    CHECK_INT(feedback(db, "VIN1", dep, false, SWU_PROCEEDING), 200);
    CHECK_INT(dep_state(db, dep), OTA_DEPLOY_DOWNLOADING);
    CHECK_INT(feedback(db, "VIN1", dep, false, SWU_PROCEEDING), 200);
    CHECK_INT(dep_state(db, dep), OTA_DEPLOY_DOWNLOADING);
    CHECK_INT(feedback(db, "VIN1", dep, false, "{\"status\":{\"execution\":\"scheduled\"}}"),
              200);
    /* configData's "execution":"closed" does not close the action */
    {
        const char *cd = "{\"id\":\"\",\"status\":{\"result\":{\"finished\":\"success\"},"
                         "\"execution\":\"closed\"},\"data\":{\"hwRevision\":\"2\"}}";
        CHECK_INT(srv_ddi_config_data(db, "VIN1", cd, strlen(cd), &a), 0);
        CHECK_INT(a.status, 200);
        srv_ddi_answer_clear(&a);
        CHECK_INT(srv_ddi_config_data(db, "VIN1", "{\"data\":3}", 10, &a), 0);
        CHECK_INT(a.status, 400);
        srv_ddi_answer_clear(&a);
        CHECK_FATAL(ota_db_vehicle_get(db, "VIN1", &v) == 0);
        CHECK_STR(v->attributes, "{\"hwRevision\":\"2\"}");
        ota_vehicle_free(v);
        CHECK_INT(dep_state(db, dep), OTA_DEPLOY_DOWNLOADING);
    }
    /* still offered until closed */
    poll_links(db, "VIN1", &dep2, &can);
    CHECK_INT(dep2, dep);
    CHECK_INT(feedback(db, "VIN1", dep, false, SWU_CLOSED_OK), 200);
    CHECK_INT(dep_state(db, dep), OTA_DEPLOY_INSTALLED);
    CHECK_INT(feedback(db, "VIN1", dep, false, SWU_CLOSED_OK), 200); /* lost answer resent */
    CHECK_INT(feedback(db, "VIN1", dep, false, SWU_PROCEEDING), 410);
    poll_links(db, "VIN1", &dep2, &can);
    CHECK_INT(dep2, 0);

    /* cancel: VIN2 is announced cancelAction until it acknowledges */
    poll_links(db, "VIN2", &dep2, &can);
    CHECK(dep2 > 0 && dep2 != dep);
    poll_links(db, "VIN3", &dep3, &can);
    CHECK(dep3 > 0);
    CHECK_INT(feedback(db, "VIN3", dep3, false, SWU_PROCEEDING), 200);
    CHECK_INT(ota_campaign_cancel(db, "test", c1, err, sizeof(err)), 0);
    CHECK_INT(srv_ddi_artifact_find(db, "VIN2", c1, "update.swu", &found), -ENOENT);
    poll_links(db, "VIN2", &dep, &can);
    CHECK_INT(dep, 0);
    CHECK_INT(can, dep2);
    CHECK_INT(srv_ddi_cancel(db, "VIN2", can, &a), 0);
    CHECK_INT(a.status, 200);
    CHECK(a.body && strstr(a.body, "\"stopId\""));
    srv_ddi_answer_clear(&a);
    CHECK_INT(srv_ddi_cancel(db, "VIN1", can, &a), 0);
    CHECK_INT(a.status, 404);
    srv_ddi_answer_clear(&a);
    CHECK_INT(srv_ddi_deployment(db, &env, "VIN2", can, &a), 0);
    CHECK_INT(a.status, 410);
    srv_ddi_answer_clear(&a);
    /* hawkBit's "canceling": feedback is still taken until the cancel is acknowledged */
    CHECK_INT(feedback(db, "VIN2", can, false, SWU_PROCEEDING), 200);
    CHECK_INT(dep_state(db, can), OTA_DEPLOY_CANCELLED);
    CHECK_INT(feedback(db, "VIN2", can, true, SWU_CANCEL_ACK), 200);
    CHECK_INT(feedback(db, "VIN2", can, false, SWU_PROCEEDING), 410);
    poll_links(db, "VIN2", &dep, &can);
    CHECK_INT(dep, 0);
    CHECK_INT(can, 0);
    /* VIN3 installed before it heard of the cancel: its closed/success is recorded */
    CHECK_INT(feedback(db, "VIN3", dep3, false, SWU_CLOSED_OK), 200);
    CHECK_INT(dep_state(db, dep3), OTA_DEPLOY_INSTALLED);
    CHECK_FATAL(ota_db_vehicle_get(db, "VIN3", &v) == 0);
    CHECK_STR(v->installed_sha256, SHA_A);
    ota_vehicle_free(v);
    /* cancel feedback for an action that is not cancelled */
    c2 = start_campaign(db, "c2", "VIN2");
    poll_links(db, "VIN2", &dep, &can);
    CHECK(dep > 0);
    CHECK_INT(can, 0);
    CHECK_INT(feedback(db, "VIN2", dep, true, SWU_CANCEL_ACK), 410);
    CHECK_INT(feedback(db, "VIN2", dep, false,
                       "{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":"
                       "\"failure\"},\"details\":[\"no space\"]}}"),
              200);
    CHECK_INT(dep_state(db, dep), OTA_DEPLOY_FAILED);
    (void)c2;
    ota_db_close(db);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    test_path();
    test_json();
    test_feedback_parse();
    test_feedback_map();
    test_config_data();
    test_actions();
    {
        char path[300];
        snprintf(path, sizeof(path), "%s/ddi.db", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/ddi.db-wal", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/ddi.db-shm", dir);
        unlink(path);
        rmdir(dir);
    }
    TEST_DONE();
}
