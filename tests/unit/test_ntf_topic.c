/* Unit tests for ntf_topic.c: status topics must name exactly one valid vehicle id. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ntf_topic.h"

int main(void)
{
    static const struct {
        const char *prefix;
        const char *topic;
        const char *id; /* NULL = refused */
    } cases[] = {
        { "ota/v1", "ota/v1/vehicles/VIN1/status", "VIN1" },
        { "ota/v1", "ota/v1/vehicles/WDB-1.2_3/status", "WDB-1.2_3" },
        { "ota/v1", "ota/v1/vehicles//status", NULL },
        { "ota/v1", "ota/v1/vehicles/a/b/status", NULL },
        { "ota/v1", "ota/v1/vehicles/VIN1/update", NULL },
        { "ota/v1", "ota/v2/vehicles/VIN1/status", NULL },
        { "ota/v1", "ota/v1/vehicles/VIN 1/status", NULL },
        { "ota/v1", "ota/v1/vehicles/VIN1/statusx", NULL },
        { "ota/v1", "xota/v1/vehicles/VIN1/status", NULL },
        { "ota/v1", "ota/v1/vehicles/+/status", NULL },
        { "ota/v1", "ota/v1/vehicles/#/status", NULL },
        { "ota/v1", "ota/v1", NULL },
        { "ota/v1", "", NULL },
        { "fleet", "fleet/vehicles/X/status", "X" },
        { "ota/v1",
          "ota/v1/vehicles/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/status",
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { "ota/v1",
          "ota/v1/vehicles/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/"
          "status",
          NULL },
    };
    int failures = 0;
    char buf[NTF_TOPIC_MAX], small[8];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char id[OTA_ID_MAX + 1] = "untouched";
        int r = ntf_topic_status_vehicle(cases[i].prefix, cases[i].topic, id);
        if (cases[i].id ? (r != 0 || strcmp(id, cases[i].id) != 0)
                        : (r != -EINVAL || strcmp(id, "untouched") != 0)) {
            fprintf(stderr, "case %zu (%s): r=%d id=%s\n", i, cases[i].topic, r, id);
            failures++;
        }
    }
    if (ntf_topic_join("ota/v1", "vehicles/VIN1/update", buf, sizeof(buf)) != 0 ||
        strcmp(buf, "ota/v1/vehicles/VIN1/update") != 0) {
        fprintf(stderr, "join failed\n");
        failures++;
    }
    if (ntf_topic_join("ota/v1", "vehicles/VIN1/update", small, sizeof(small)) != -ENAMETOOLONG) {
        fprintf(stderr, "join into a small buffer must fail\n");
        failures++;
    }
    if (ntf_topic_status_sub("ota/v1", buf, sizeof(buf)) != 0 ||
        strcmp(buf, "ota/v1/vehicles/+/status") != 0) {
        fprintf(stderr, "status sub failed\n");
        failures++;
    }
    if (failures)
        return 1;
    printf("ok\n");
    return 0;
}
